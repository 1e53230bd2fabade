#include "han/exchange_cache.hpp"

namespace han {

const CachedResponse* ExchangeCache::find(const std::string& session_key, std::uint16_t mid, Clock::time_point now) {
    expire(now);
    auto it = entries_.find(Key{session_key, mid});
    return it == entries_.end() ? nullptr : &it->second.response;
}

void ExchangeCache::put(const std::string& session_key, std::uint16_t mid, CachedResponse response,
                        Clock::time_point now) {
    expire(now);
    Key k{session_key, mid};
    auto it = entries_.find(k);
    if (it != entries_.end()) {
        it->second.response = std::move(response);  // pending → final; the exchange's lifetime runs from its start
        return;
    }
    entries_.emplace(k, Entry{std::move(response), now});
    order_.emplace_back(now, std::move(k));
}

void ExchangeCache::forget_session(const std::string& session_key) {
    entries_.erase(entries_.lower_bound(Key{session_key, 0}), entries_.upper_bound(Key{session_key, 0xFFFF}));
}

void ExchangeCache::expire(Clock::time_point now) {
    while (!order_.empty() && now - order_.front().first > lifetime_) {
        entries_.erase(order_.front().second);
        order_.pop_front();
    }
}

}  // namespace han
