// A child process the benchmark starts, reads from and measures.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace bench {

class ChildProcess {
public:
    // Starts argv[0] (searched in PATH) with stdout on a pipe and stderr appended to stderr_file. Throws on failure.
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stderr_file);
    ~ChildProcess();  // SIGTERM, then SIGKILL if it has not exited after 5 s
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // The first stdout line starting with prefix, or nullopt on EOF or timeout.
    std::optional<std::string> wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout);
    bool running();
    // utime + stime from /proc/PID/stat.
    double cpu_seconds() const;
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
};

// Runs a shell command and returns its stdout.
std::string run_command(const std::string& command);

}  // namespace bench
