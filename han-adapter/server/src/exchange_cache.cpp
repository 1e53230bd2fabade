#include "han/exchange_cache.hpp"

#include <algorithm>
#include <iterator>

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
    const auto first = entries_.lower_bound(Key{session_key, 0});
    const auto last = entries_.upper_bound(Key{session_key, 0xFFFF});
    if (static_cast<std::size_t>(std::distance(first, last)) >= per_session_) {
        // The oldest answered exchange goes; one still waiting for its answer only when nothing else can (forgetting
        // it would let a retransmission run its handler again).
        const auto oldest = std::min_element(first, last, [](const auto& a, const auto& b) {
            const bool a_pending = a.second.response.code == 0;
            const bool b_pending = b.second.response.code == 0;
            return a_pending != b_pending ? b_pending : a.second.stored < b.second.stored;
        });
        entries_.erase(oldest);
    }
    entries_.emplace(k, Entry{std::move(response), now});
    order_.emplace_back(now, std::move(k));
}

void ExchangeCache::forget_session(const std::string& session_key) {
    entries_.erase(entries_.lower_bound(Key{session_key, 0}), entries_.upper_bound(Key{session_key, 0xFFFF}));
}

void ExchangeCache::expire(Clock::time_point now) {
    while (!order_.empty() && now - order_.front().first > lifetime_) {
        // Only the entry this record was made for: the key may have been evicted and used again since.
        const auto it = entries_.find(order_.front().second);
        if (it != entries_.end() && it->second.stored == order_.front().first)
            entries_.erase(it);
        order_.pop_front();
    }
}

}  // namespace han
