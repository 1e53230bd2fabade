// The billing plugin's background thread: runs its passes (bill delivery, the clearinghouse outbox) at start, after
// each wake() and every poll interval, one after another, never on the host's event loop (they wait on SMTP and
// HTTP peers).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "headend/plugin/plugin.hpp"

namespace billing {

class Worker {
public:
    struct Pass {
        std::string failure_id;  // the log message id when the pass fails
        std::function<headend::Result<void>()> run;
    };

    Worker(std::vector<Pass> passes, std::chrono::seconds poll, headend::plugin::Logger& logger)
        : passes_(std::move(passes)), poll_(poll), logger_(logger) {}
    ~Worker() { stop(); }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void start();
    void wake();
    void stop();

private:
    std::vector<Pass> passes_;
    std::chrono::seconds poll_;
    headend::plugin::Logger& logger_;
    std::mutex mutex_;
    std::condition_variable woken_;
    bool wake_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace billing
