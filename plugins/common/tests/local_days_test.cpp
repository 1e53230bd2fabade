#include "calendar/local_days.hpp"

#include <gtest/gtest.h>

namespace calendar {
namespace {

// America/Los_Angeles, 2026: DST from 2026-03-08 02:00 PST to 2026-11-01 02:00 PDT.
const LocalDays kPacific("America/Los_Angeles");

TEST(LocalDays, DaysAreLocalAndTheirLengthFollowsDst) {
    const auto normal = *LocalDays::parse("2026-06-15");
    EXPECT_EQ(kPacific.bounds(normal), (std::pair<std::int64_t, std::int64_t>{1781506800, 1781593200}));  // 07:00Z
    const auto spring = kPacific.bounds(*LocalDays::parse("2026-03-08"));
    EXPECT_EQ(spring.first, 1772956800);  // 2026-03-08T08:00:00Z, midnight PST
    EXPECT_EQ(spring.second - spring.first, 23 * 3600);
    const auto fall = kPacific.bounds(*LocalDays::parse("2026-11-01"));
    EXPECT_EQ(fall.first, 1793516400);  // 2026-11-01T07:00:00Z, midnight PDT
    EXPECT_EQ(fall.second - fall.first, 25 * 3600);
}

TEST(LocalDays, AnInstantBelongsToTheLocalDayItFallsIn) {
    const auto day = *LocalDays::parse("2026-11-01");
    const auto [start, end] = kPacific.bounds(day);
    EXPECT_EQ(kPacific.day_of(start), day);
    EXPECT_EQ(kPacific.day_of(end - 1), day);
    EXPECT_EQ(kPacific.day_of(end), day + 1);
    EXPECT_EQ(kPacific.day_of(start - 1), day - 1);
}

TEST(LocalDays, TheLocalWallClockRepeatsTheFallBackHour) {
    const std::int64_t fall = 1793516400;  // 2026-11-01T00:00 PDT
    EXPECT_EQ(kPacific.local_seconds(fall) % 86400, 0);
    // 01:00 PDT is 08:00Z; 01:00 PST is 09:00Z: both read 01:00 on the wall.
    EXPECT_EQ(kPacific.local_seconds(fall + 3600), kPacific.local_seconds(fall + 7200));
    EXPECT_EQ(kPacific.local_seconds(fall + 3 * 3600) - kPacific.local_seconds(fall), 2 * 3600);
}

TEST(LocalDays, AWallClockTimeNamesNoneOneOrTwoInstants) {
    const std::int64_t fall = 1793516400;  // 2026-11-01T00:00 PDT
    const std::int64_t wall = kPacific.local_seconds(fall);
    EXPECT_EQ(kPacific.utc_instants(wall), (std::vector<std::int64_t>{fall}));
    EXPECT_EQ(kPacific.utc_instants(wall + 5400), (std::vector<std::int64_t>{fall + 5400, fall + 9000}));  // 01:30
    const std::int64_t spring = 1772956800;                                             // 2026-03-08T00:00 PST
    EXPECT_TRUE(kPacific.utc_instants(kPacific.local_seconds(spring) + 9000).empty());  // 02:30 does not exist
}

TEST(LocalDays, DatesParseOnlyInTheirOneForm) {
    EXPECT_EQ(LocalDays::format(*LocalDays::parse("2026-02-28")), "2026-02-28");
    for (const char* bad : {"2026-02-29", "2026-2-28", "20260228", "2026-02-28x", "", "2026-13-01", "-026-01-01"})
        EXPECT_FALSE(LocalDays::parse(bad)) << bad;
}

}  // namespace
}  // namespace calendar
