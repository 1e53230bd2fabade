// Responses remembered per (session, message id) for EXCHANGE_LIFETIME, so a retransmitted confirmable write gets
// the first answer and the handler's effect happens once (RFC 7252 §4.5). A session keeps its most recent
// exchanges only: a device waits for each answer (NSTART 1), so one that piles up more is misbehaving, and
// memory stays bounded by the session count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace han {

struct CachedOption {
    std::uint16_t number;
    std::string value;
};

struct CachedResponse {
    int code = 0;  // class*100 + detail; 0 while the handler has not answered yet
    std::vector<CachedOption> options;
    std::string payload;
};

class ExchangeCache {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kExchangeLifetime{247};

    static constexpr std::size_t kPerSession = 32;

    explicit ExchangeCache(std::chrono::seconds lifetime = kExchangeLifetime, std::size_t per_session = kPerSession)
        : lifetime_(lifetime), per_session_(std::max<std::size_t>(per_session, 1)) {}

    // Null when the exchange is new.
    const CachedResponse* find(const std::string& session_key, std::uint16_t mid, Clock::time_point now);
    // Records an exchange (pending when response.code == 0), replacing an earlier record.
    void put(const std::string& session_key, std::uint16_t mid, CachedResponse response, Clock::time_point now);
    void forget_session(const std::string& session_key);
    std::size_t size() const { return entries_.size(); }

private:
    // Ordered by session first, so a session's exchanges are one range to drop when it closes.
    using Key = std::pair<std::string, std::uint16_t>;
    void expire(Clock::time_point now);

    struct Entry {
        CachedResponse response;
        Clock::time_point stored;
    };
    std::chrono::seconds lifetime_;
    std::size_t per_session_;
    std::map<Key, Entry> entries_;
    std::deque<std::pair<Clock::time_point, Key>> order_;  // insertion order, for expiry
};

}  // namespace han
