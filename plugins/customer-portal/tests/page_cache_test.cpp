#include "page_cache.hpp"

#include <gtest/gtest.h>

namespace portal {
namespace {

TEST(PageCache, AnEntryIsReturnedOnlyForItsVersion) {
    PageCache cache(4);
    cache.put("A1 day 20758", 7, "chart of version 7");
    EXPECT_EQ(cache.find("A1 day 20758", 7), "chart of version 7");
    EXPECT_FALSE(cache.find("A1 day 20758", 8));  // new intervals arrived
    EXPECT_FALSE(cache.find("A2 day 20758", 7));  // another account's page is another key
    cache.put("A1 day 20758", 8, "chart of version 8");
    EXPECT_EQ(cache.find("A1 day 20758", 8), "chart of version 8");
    EXPECT_FALSE(cache.find("A1 day 20758", 7));
}

TEST(PageCache, TheLeastRecentlyUsedEntryGoesWhenFull) {
    PageCache cache(2);
    cache.put("a", 1, "A");
    cache.put("b", 1, "B");
    EXPECT_TRUE(cache.find("a", 1));  // a is now the most recent
    cache.put("c", 1, "C");
    EXPECT_TRUE(cache.find("a", 1));
    EXPECT_FALSE(cache.find("b", 1));
    EXPECT_TRUE(cache.find("c", 1));
}

TEST(PageCache, CapacityZeroKeepsNothing) {
    PageCache cache(0);
    cache.put("a", 1, "A");
    EXPECT_FALSE(cache.find("a", 1));
}

}  // namespace
}  // namespace portal
