#include "han/exchange_cache.hpp"

#include <gtest/gtest.h>

namespace han {
namespace {

TEST(ExchangeCache, RemembersAnswersPerSessionAndMessageId) {
    ExchangeCache cache;
    const auto now = ExchangeCache::Clock::now();
    EXPECT_EQ(cache.find("s1", 7, now), nullptr);
    cache.put("s1", 7, CachedResponse{201, {{8, "edev"}}, ""}, now);
    const CachedResponse* hit = cache.find("s1", 7, now);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->code, 201);
    EXPECT_EQ(cache.find("s2", 7, now), nullptr);
    EXPECT_EQ(cache.find("s1", 8, now), nullptr);
}

TEST(ExchangeCache, PendingBecomesFinalWithoutExtendingTheLifetime) {
    ExchangeCache cache(std::chrono::seconds(10));
    const auto start = ExchangeCache::Clock::now();
    cache.put("s1", 1, CachedResponse{}, start);
    EXPECT_EQ(cache.find("s1", 1, start)->code, 0);
    cache.put("s1", 1, CachedResponse{204, {}, ""}, start + std::chrono::seconds(5));
    EXPECT_EQ(cache.find("s1", 1, start + std::chrono::seconds(9))->code, 204);
    EXPECT_EQ(cache.find("s1", 1, start + std::chrono::seconds(11)), nullptr);
}

TEST(ExchangeCache, ExpiresAfterTheExchangeLifetime) {
    ExchangeCache cache;
    const auto start = ExchangeCache::Clock::now();
    cache.put("s1", 1, CachedResponse{205, {}, "x"}, start);
    EXPECT_NE(cache.find("s1", 1, start + std::chrono::seconds(246)), nullptr);
    EXPECT_EQ(cache.find("s1", 1, start + std::chrono::seconds(248)), nullptr);
    EXPECT_EQ(cache.size(), 0U);
}

TEST(ExchangeCache, ForgetsAClosedSession) {
    ExchangeCache cache;
    const auto now = ExchangeCache::Clock::now();
    for (const std::uint16_t mid : {0, 1, 0xFFFF})
        cache.put("s1", mid, CachedResponse{205, {}, ""}, now);
    cache.put("s10", 1, CachedResponse{205, {}, ""}, now);
    cache.put("s0", 0xFFFF, CachedResponse{205, {}, ""}, now);
    cache.forget_session("s1");
    for (const std::uint16_t mid : {0, 1, 0xFFFF})
        EXPECT_EQ(cache.find("s1", mid, now), nullptr) << mid;
    EXPECT_NE(cache.find("s10", 1, now), nullptr);
    EXPECT_NE(cache.find("s0", 0xFFFF, now), nullptr);
    EXPECT_EQ(cache.size(), 2U);
}

// From the adversarial review: one session could fill memory with 65,536 remembered exchanges for 247 s.
TEST(ExchangeCache, ASessionKeepsItsMostRecentExchangesOnly) {
    ExchangeCache cache(ExchangeCache::kExchangeLifetime, 4);
    const auto start = ExchangeCache::Clock::now();
    for (std::uint16_t mid = 0; mid < 10; ++mid)
        cache.put("s1", mid, CachedResponse{204, {}, std::to_string(mid)}, start + std::chrono::milliseconds(mid));
    cache.put("s2", 0, CachedResponse{204, {}, "other"}, start);
    const auto now = start + std::chrono::seconds(1);
    EXPECT_EQ(cache.size(), 5U);
    for (std::uint16_t mid = 0; mid < 6; ++mid)
        EXPECT_EQ(cache.find("s1", mid, now), nullptr) << mid;
    for (std::uint16_t mid = 6; mid < 10; ++mid)
        EXPECT_NE(cache.find("s1", mid, now), nullptr) << mid;
    EXPECT_NE(cache.find("s2", 0, now), nullptr);  // another session's are not touched
}

TEST(ExchangeCache, AnExchangeEvictedAndUsedAgainLivesItsOwnLifetime) {
    ExchangeCache cache(std::chrono::seconds(10), 1);
    const auto start = ExchangeCache::Clock::now();
    cache.put("s1", 7, CachedResponse{204, {}, "first"}, start);
    cache.put("s1", 8, CachedResponse{204, {}, "evicts 7"}, start + std::chrono::seconds(1));
    cache.put("s1", 7, CachedResponse{204, {}, "again"}, start + std::chrono::seconds(5));  // evicts 8
    // The first 7's lifetime ends at 10 s; the second's runs to 15 s.
    const CachedResponse* again = cache.find("s1", 7, start + std::chrono::seconds(12));
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->payload, "again");
}

// From review: the cap once dropped an exchange still waiting for its answer, so a retransmission ran its handler
// again.
TEST(ExchangeCache, ThePerSessionCapSparesAnExchangeStillWaitingForItsAnswer) {
    ExchangeCache cache(ExchangeCache::kExchangeLifetime, 2);
    const auto start = ExchangeCache::Clock::now();
    cache.put("s1", 1, CachedResponse{}, start);  // pending: the handler has not answered
    cache.put("s1", 2, CachedResponse{204, {}, "two"}, start + std::chrono::milliseconds(1));
    cache.put("s1", 3, CachedResponse{204, {}, "three"}, start + std::chrono::milliseconds(2));
    const auto now = start + std::chrono::seconds(1);
    ASSERT_NE(cache.find("s1", 1, now), nullptr);
    EXPECT_EQ(cache.find("s1", 1, now)->code, 0);
    EXPECT_EQ(cache.find("s1", 2, now), nullptr);
    EXPECT_NE(cache.find("s1", 3, now), nullptr);
}

}  // namespace
}  // namespace han
