#include "address_throttle.hpp"

#include <algorithm>

namespace portal {

std::int64_t AddressThrottle::wait(const std::string& address, std::int64_t now) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(address);
    if (it == entries_.end() || it->second.failures < limit_)
        return 0;
    const std::int64_t until = it->second.window_start + window_s_;
    if (until <= now) {
        entries_.erase(it);
        return 0;
    }
    return until - now;
}

void AddressThrottle::failed(const std::string& address, std::int64_t now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(address);
    if (it == entries_.end()) {
        if (entries_.size() >= max_addresses_) {
            // Drop what has aged out; when nothing has, the oldest window.
            std::erase_if(entries_, [&](const auto& entry) { return entry.second.window_start + window_s_ <= now; });
            if (entries_.size() >= max_addresses_)
                entries_.erase(std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
                    return a.second.window_start < b.second.window_start;
                }));
        }
        it = entries_.emplace(address, Entry{now, 0}).first;
    }
    if (it->second.window_start + window_s_ <= now)
        it->second = Entry{now, 0};
    ++it->second.failures;
}

}  // namespace portal
