// The headend binary as its own process for tests that stop it the hard way: started with a data folder (and a
// configuration), its ports read from its "ready" line, killed with SIGKILL unless terminated. Test targets that
// include it define HEADEND_BIN and HEADENDCTL_BIN.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace headend::testing {

class DaemonProcess {
public:
    // `config`, when given, is passed with --config; the flags still choose ports and folder. `extra` flags follow.
    explicit DaemonProcess(const std::filesystem::path& dir, const std::filesystem::path& config = {},
                           const std::vector<std::string>& extra = {})
        : dir_(dir) {
        const std::filesystem::path log = dir / "daemon.out";
        std::vector<std::string> arguments = {HEADEND_BIN, "--data-dir",   (dir / "data").string(),
                                              "--listen",  "127.0.0.1",    "--coaps-port",
                                              "0",         "--admin-port", "0"};
        if (!config.empty()) {
            arguments.emplace_back("--config");
            arguments.push_back(config.string());
        }
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& argument : arguments)
            argv.push_back(argument.data());
        argv.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {
            std::freopen(log.c_str(), "w", stdout);
            std::freopen((dir / "daemon.err").c_str(), "w", stderr);
            execv(HEADEND_BIN, argv.data());
            _exit(127);
        }
        const std::regex ready("headend ready coaps_port=(\\d+) admin_port=(\\d+)");
        for (int i = 0; i < 100 && coaps_port_ == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::ifstream in(log);
            std::string line;
            std::smatch match;
            while (std::getline(in, line)) {
                if (std::regex_search(line, match, ready)) {
                    coaps_port_ = std::stoi(match[1]);
                    admin_port_ = std::stoi(match[2]);
                }
            }
        }
    }
    ~DaemonProcess() {
        if (pid_ > 0 && !stopped_)
            kill_hard();
    }
    // kill -9: no shutdown of any kind.
    void kill_hard() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        stopped_ = true;
    }
    // SIGTERM and the exit status.
    int terminate() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        stopped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    int coaps_port() const { return coaps_port_; }
    std::string admin_url() const { return "http://127.0.0.1:" + std::to_string(admin_port_); }
    std::filesystem::path token_file() const { return dir_ / "data" / "admin.token"; }
    // A curl command line for an admin route, with the token unless told otherwise.
    std::string curl(const std::string& path, bool with_token = true) const {
        const std::string token = "-H \"Authorization: Bearer $(cat " + token_file().string() + ")\" ";
        return "curl -sS " + (with_token ? token : std::string()) + admin_url() + path;
    }
    std::string ctl(const std::string& arguments) const {
        return std::string(HEADENDCTL_BIN) + " --admin " + admin_url() + " --token-file " + token_file().string() +
               " " + arguments;
    }
    std::string stderr_text() const {
        std::ifstream in(dir_ / "daemon.err");
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int coaps_port_ = 0;
    int admin_port_ = 0;
    bool stopped_ = false;
};

}  // namespace headend::testing
