#include "headend/core/time_info.hpp"

#include <gtest/gtest.h>

namespace headend::core {
namespace {

// 2026-07-01T12:00:00Z
constexpr std::int64_t kJuly2026 = 1782907200;
// 2026-01-15T12:00:00Z
constexpr std::int64_t kJanuary2026 = 1768478400;

TEST(TimeInfo, LosAngelesInSummer) {
    auto info = time_info("America/Los_Angeles", kJuly2026);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->current_time, kJuly2026);
    EXPECT_EQ(info->tz_offset, -8 * 3600);
    EXPECT_EQ(info->dst_offset, 3600);
    EXPECT_EQ(info->dst_start_time, 1772964000);  // 2026-03-08T10:00:00Z, 02:00 PST
    EXPECT_EQ(info->dst_end_time, 1793523600);    // 2026-11-01T09:00:00Z, 02:00 PDT
    EXPECT_EQ(info->local_time, kJuly2026 - 7 * 3600);
}

TEST(TimeInfo, NextChangeIsTheNextTransitionOrTheNewYear) {
    EXPECT_EQ(time_info("America/Los_Angeles", kJanuary2026)->next_change, 1772964000);  // DST starts
    EXPECT_EQ(time_info("America/Los_Angeles", kJuly2026)->next_change, 1793523600);     // DST ends
    EXPECT_EQ(time_info("America/Los_Angeles", 1793523600)->next_change, 1798790400);    // local New Year, 08:00Z
    EXPECT_EQ(time_info("UTC", kJuly2026)->next_change, 1798761600);
}

// New Year's Eve evening in Los Angeles is already 1 January in UTC: the values stay 2026's until local midnight.
TEST(TimeInfo, TheYearIsTheTerritorysLocalYear) {
    auto evening = time_info("America/Los_Angeles", 1798776000);  // 2027-01-01T04:00:00Z, 20:00 PST on 31 Dec
    ASSERT_TRUE(evening);
    EXPECT_EQ(evening->dst_start_time, 1772964000);  // 2026-03-08T10:00:00Z
    EXPECT_EQ(evening->dst_end_time, 1793523600);    // 2026-11-01T09:00:00Z
    EXPECT_EQ(evening->next_change, 1798790400);     // 2027-01-01T08:00:00Z, local midnight
    auto last_second = time_info("America/Los_Angeles", 1798790399);
    ASSERT_TRUE(last_second);
    EXPECT_EQ(last_second->dst_start_time, 1772964000);
    auto new_year = time_info("America/Los_Angeles", 1798790400);
    ASSERT_TRUE(new_year);
    EXPECT_EQ(new_year->dst_start_time, 1805018400);  // 2027-03-14T10:00:00Z
    EXPECT_EQ(new_year->dst_end_time, 1825578000);    // 2027-11-07T09:00:00Z
    EXPECT_EQ(new_year->next_change, 1805018400);
}

TEST(TimeInfo, LosAngelesInWinterUsesTheStandardOffset) {
    auto info = time_info("America/Los_Angeles", kJanuary2026);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->local_time, kJanuary2026 - 8 * 3600);
    EXPECT_EQ(info->dst_start_time, 1772964000);
}

TEST(TimeInfo, SouthernHemisphereStartsAfterItEnds) {
    auto info = time_info("Australia/Sydney", kJuly2026);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->tz_offset, 10 * 3600);
    EXPECT_EQ(info->dst_offset, 3600);
    EXPECT_LT(info->dst_end_time, info->dst_start_time);
}

TEST(TimeInfo, ZoneWithoutDst) {
    auto info = time_info("UTC", kJuly2026);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->tz_offset, 0);
    EXPECT_EQ(info->dst_offset, 0);
    EXPECT_EQ(info->dst_start_time, info->dst_end_time);
}

TEST(TimeInfo, UnknownZoneIsAnError) {
    EXPECT_FALSE(time_info("Nowhere/Nothing", kJuly2026));
}

}  // namespace
}  // namespace headend::core
