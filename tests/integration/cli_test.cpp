// The real binaries as an operator runs them: the headend daemon as a child process, headendctl against it, and
// coap-client-openssl as a device.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run_command.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

namespace {

namespace fs = std::filesystem;

using headend::testing::run;

fs::path temp_dir() {
    std::random_device random;
    auto dir = fs::temp_directory_path() / ("headend-cli-" + std::to_string(random()));
    fs::create_directories(dir);
    return dir;
}

// The daemon as a child process; its stdout goes to a file where the ready line appears.
class DaemonProcess {
public:
    explicit DaemonProcess(const fs::path& dir) : dir_(dir) {
        const fs::path log = dir / "daemon.out";
        pid_ = fork();
        if (pid_ == 0) {
            std::freopen(log.c_str(), "w", stdout);
            std::freopen((dir / "daemon.err").c_str(), "w", stderr);
            execl(HEADEND_BIN, HEADEND_BIN, "--data-dir", (dir / "data").c_str(), "--listen", "127.0.0.1",
                  "--coaps-port", "0", "--admin-port", "0", static_cast<char*>(nullptr));
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
        if (pid_ > 0 && !stopped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
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
    std::string ctl(const std::string& arguments) const {
        return std::string(HEADENDCTL_BIN) + " --admin http://127.0.0.1:" + std::to_string(admin_port_) +
               " --token-file " + (dir_ / "data" / "admin.token").string() + " " + arguments;
    }
    std::string stderr_text() const {
        std::ifstream in(dir_ / "daemon.err");
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

private:
    fs::path dir_;
    pid_t pid_ = -1;
    int coaps_port_ = 0;
    int admin_port_ = 0;
    bool stopped_ = false;
};

TEST(Cli, OperatorRegistersAPskDeviceAndTheDeviceReadsTime) {
    const fs::path dir = temp_dir();
    {
        DaemonProcess daemon(dir);
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();

        // "device-key-123456" in hex.
        const std::string key_hex = "6465766963652d6b65792d313233343536";
        auto added =
            run(daemon.ctl("--json device add --type esci --premises P1 --psk-identity esci-cli --psk-key " + key_hex));
        ASSERT_EQ(added.exit_code, 0) << added.output;
        const auto device = nlohmann::json::parse(added.output)["device"];
        EXPECT_EQ(device["type"], "esci");
        EXPECT_EQ(device["psk_identity"], "esci-cli");

        auto time = run("coap-client-openssl -B 5 -m get -u esci-cli -k device-key-123456 coaps://127.0.0.1:" +
                        std::to_string(daemon.coaps_port()) + "/tm");
        EXPECT_EQ(time.exit_code, 0) << time.output;
        EXPECT_NE(time.output.find("<Time xmlns=\"urn:ieee:std:2030.5:ns\""), std::string::npos) << time.output;

        auto duplicate =
            run(daemon.ctl("device add --type esci --premises P1 --psk-identity esci-cli --psk-key " + key_hex));
        EXPECT_EQ(duplicate.exit_code, 1) << duplicate.output;
        EXPECT_NE(duplicate.output.find("already registered"), std::string::npos) << duplicate.output;

        auto listed = run(daemon.ctl("--json device list"));
        ASSERT_EQ(listed.exit_code, 0) << listed.output;
        EXPECT_EQ(nlohmann::json::parse(listed.output)["devices"].size(), 1U);

        auto health = run(daemon.ctl("--json health"));
        ASSERT_EQ(health.exit_code, 0) << health.output;
        const auto report = nlohmann::json::parse(health.output);
        EXPECT_EQ(report["status"], "ok");
        EXPECT_EQ(report["coaps"]["port"], daemon.coaps_port());
        EXPECT_EQ(report["devices"], 1);

        auto removed = run(daemon.ctl("device remove " + device["id"].dump()));
        EXPECT_EQ(removed.exit_code, 0) << removed.output;
        auto refused = run("coap-client-openssl -B 3 -m get -u esci-cli -k device-key-123456 coaps://127.0.0.1:" +
                           std::to_string(daemon.coaps_port()) + "/tm");
        EXPECT_EQ(refused.output.find("<Time"), std::string::npos) << refused.output;

        EXPECT_EQ(daemon.terminate(), 0);
        EXPECT_NE(daemon.stderr_text().find("[HEADEND_STOPPED] clean shutdown"), std::string::npos)
            << daemon.stderr_text();
    }
    fs::remove_all(dir);
}

TEST(Cli, ABadConfigKeyStopsTheDaemonNamingTheKey) {
    const fs::path dir = temp_dir();
    std::ofstream(dir / "bad.toml") << "[limits]\nmax_sesions = 10\n";
    auto result = run(std::string(HEADEND_BIN) + " --config " + (dir / "bad.toml").string());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("limits.max_sesions"), std::string::npos) << result.output;
    EXPECT_FALSE(fs::exists(dir / "data"));
    fs::remove_all(dir);
}

TEST(Cli, HelpAndDefaultConfig) {
    auto help = run(std::string(HEADEND_BIN) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("--coaps-port"), std::string::npos);
    auto defaults = run(std::string(HEADEND_BIN) + " --print-default-config");
    EXPECT_EQ(defaults.exit_code, 0);
    EXPECT_NE(defaults.output.find("coaps_port = 5684"), std::string::npos);
}

}  // namespace
