// Sign-in failures counted per client address (beside the per-account count in Logins): one address trying many
// accounts is slowed down too. Kept in memory, bounded: a flood of addresses evicts the oldest entries.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace portal {

class AddressThrottle {
public:
    // `limit` failures within `window_s` close the address to signing in until the window has passed.
    AddressThrottle(int limit, std::int64_t window_s, std::size_t max_addresses = 10000)
        : limit_(limit), window_s_(window_s), max_addresses_(max_addresses) {}

    // Seconds until the address may try again; 0 = now.
    std::int64_t wait(const std::string& address, std::int64_t now);
    void failed(const std::string& address, std::int64_t now);

private:
    struct Entry {
        std::int64_t window_start = 0;
        int failures = 0;
    };
    std::mutex mutex_;
    int limit_;
    std::int64_t window_s_;
    std::size_t max_addresses_;
    std::map<std::string, Entry> entries_;
};

}  // namespace portal
