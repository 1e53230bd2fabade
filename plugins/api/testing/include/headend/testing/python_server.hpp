// A test's server process (an SMTP sink or a rogue MDM in Python, the clearinghouse tool): started in the background
// with its arguments, it writes the port it listens on to a file; stopped when this object goes.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace headend::testing {

class BackgroundServer {
public:
    // Runs `program arguments --port-file <dir>/port`, its output in <dir>/server.log; waits up to 10 s for the port.
    BackgroundServer(const std::string& program, const std::string& arguments, const std::filesystem::path& dir)
        : port_file_(dir / "port") {
        std::filesystem::remove(port_file_);
        const std::string command = program + " " + arguments + " --port-file " + port_file_.string() + " > " +
                                    (dir / "server.log").string() + " 2>&1 & echo $!";
        if (FILE* pipe = popen(command.c_str(), "r"); pipe != nullptr) {
            long pid = 0;
            if (std::fscanf(pipe, "%ld", &pid) == 1)
                pid_ = static_cast<pid_t>(pid);
            pclose(pipe);
        }
        for (int i = 0; i < 200 && !std::filesystem::exists(port_file_); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::ifstream(port_file_) >> port_;
    }
    ~BackgroundServer() {
        if (pid_ > 0)
            ::kill(pid_, SIGTERM);
    }
    BackgroundServer(const BackgroundServer&) = delete;
    BackgroundServer& operator=(const BackgroundServer&) = delete;

    // 0 when the server never said its port.
    int port() const { return port_; }

private:
    std::filesystem::path port_file_;
    pid_t pid_ = 0;
    int port_ = 0;
};

// A server written in Python: Debian's own python3, whatever else is on the PATH (the packages the tests need,
// python3-aiosmtpd, are installed for it).
class PythonServer : public BackgroundServer {
public:
    PythonServer(const std::filesystem::path& script, const std::string& arguments, const std::filesystem::path& dir)
        : BackgroundServer("/usr/bin/python3 " + script.string(), arguments, dir) {}
};

}  // namespace headend::testing
