#include "worker.hpp"

namespace billing {

void Worker::start() {
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            for (const auto& pass : passes_)
                if (auto done = pass.run(); !done)
                    logger_.error(pass.failure_id, done.error().message);
            lock.lock();
            woken_.wait_for(lock, poll_, [this] { return wake_ || stopping_; });
            wake_ = false;
        }
    });
}

void Worker::wake() {
    {
        const std::lock_guard lock(mutex_);
        wake_ = true;
    }
    woken_.notify_one();
}

void Worker::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    woken_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

}  // namespace billing
