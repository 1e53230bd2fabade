#include "charts.hpp"

#include <gtest/gtest.h>

namespace portal {
namespace {

constexpr const char* kZone = "America/Los_Angeles";

class ChartsTest : public ::testing::Test {
protected:
    std::int32_t day(const char* text) { return *calendar::LocalDays::parse(text); }
    calendar::LocalDays days_{kZone};
};

TEST_F(ChartsTest, ADayIsCutIntoItsLocalHoursTwentyThreeOrTwentyFiveOnClockChanges) {
    const auto normal = usage_buckets(days_, kZone, UsageView::Day, day("2026-07-15"), {});
    ASSERT_EQ(normal.size(), 24U);
    EXPECT_EQ(normal.front().label, "00:00");
    EXPECT_EQ(normal.back().label, "23:00");

    const auto spring = usage_buckets(days_, kZone, UsageView::Day, day("2026-03-08"), {});
    ASSERT_EQ(spring.size(), 23U);
    EXPECT_EQ(spring[1].label, "01:00");
    EXPECT_EQ(spring[2].label, "03:00");  // 02:00 does not exist that night

    const auto fall = usage_buckets(days_, kZone, UsageView::Day, day("2026-11-01"), {});
    ASSERT_EQ(fall.size(), 25U);
    EXPECT_EQ(fall[1].label, "01:00 PDT");
    EXPECT_EQ(fall[2].label, "01:00 PST");
    EXPECT_EQ(fall[3].label, "02:00");
    EXPECT_EQ(fall.back().end - fall.front().start, 25 * 3600);
}

TEST_F(ChartsTest, IntervalsAddUpInTheBucketThatHoldsTheirStart) {
    const auto [from, to] = days_.bounds(day("2026-11-01"));
    std::vector<UsageInterval> intervals;
    for (std::int64_t start = from - 900; start < to + 900; start += 900)
        intervals.push_back({start, 100, start >= from + 3600 && start < from + 3 * 3600 ? 40 : 0});
    const auto fall = usage_buckets(days_, kZone, UsageView::Day, day("2026-11-01"), intervals);
    std::int64_t total = 0;
    for (const auto& bucket : fall) {
        EXPECT_EQ(bucket.premises_wh, 400) << bucket.label;  // four quarters each, nothing from the days around
        total += bucket.premises_wh;
    }
    EXPECT_EQ(total, 25 * 400);
    EXPECT_EQ(fall[1].pev_wh, 160);  // both 01:00 hours
    EXPECT_EQ(fall[2].pev_wh, 160);
    EXPECT_EQ(fall[3].pev_wh, 0);
}

TEST_F(ChartsTest, WeeksAndMonthsAreCutIntoLocalDays) {
    const auto week = usage_buckets(days_, kZone, UsageView::Week, day("2026-10-29"), {});
    ASSERT_EQ(week.size(), 7U);
    EXPECT_EQ(week.front().label, "Thu 29");
    EXPECT_EQ(week[3].end - week[3].start, 25 * 3600);  // Sunday 1 November
    const auto month = usage_buckets(days_, kZone, UsageView::Month, day("2026-02-17"), {});
    ASSERT_EQ(month.size(), 28U);
    EXPECT_EQ(month.front().label, "Sun 1");
    EXPECT_EQ(usage_buckets(days_, kZone, UsageView::Month, day("2026-03-31"), {}).size(), 31U);
}

TEST_F(ChartsTest, TheUsageChartIsLabelledAndEscapesItsText) {
    auto buckets = usage_buckets(days_, kZone, UsageView::Day, day("2026-07-15"), {});
    buckets[0].premises_wh = 2500;
    buckets[0].pev_wh = 1200;
    const std::string svg = usage_svg(buckets, "Usage <b>&");
    EXPECT_NE(svg.find("role=\"img\""), std::string::npos);
    EXPECT_NE(svg.find("<title id=\"chart-title\">Usage &lt;b&gt;&amp;</title>"), std::string::npos);
    EXPECT_EQ(svg.find("<b>"), std::string::npos);
    EXPECT_NE(svg.find("whole premises 2.500 kWh, of which PEV charging 1.200 kWh"), std::string::npos);
    EXPECT_NE(svg.find("00:00: premises 2.500 kWh, PEV 1.200 kWh"), std::string::npos);
    EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 24, true);
}

TEST_F(ChartsTest, TheTimelineDrawsEachRunOfAPeriodOnce) {
    tariff::Season season;
    season.name = "Summer";
    season.periods = {{"on-peak", tariff::DaySet::Weekdays, 16 * 60, 21 * 60, 40000, 3},
                      {"off-peak", tariff::DaySet::All, 21 * 60, 16 * 60, 20000, 1},
                      {"off-peak", tariff::DaySet::WeekendsAndHolidays, 16 * 60, 21 * 60, 20000, 1}};
    const std::string weekdays = timeline_svg(season, tariff::DaySet::Weekdays, "Weekdays");
    EXPECT_NE(weekdays.find("<title>on-peak 16:00 to 21:00</title>"), std::string::npos) << weekdays;
    EXPECT_NE(weekdays.find("<title>off-peak 00:00 to 16:00</title>"), std::string::npos);
    EXPECT_NE(weekdays.find("<title>off-peak 21:00 to 00:00</title>"), std::string::npos);
    const std::string weekends = timeline_svg(season, tariff::DaySet::WeekendsAndHolidays, "Weekends");
    EXPECT_NE(weekends.find("<title>off-peak 00:00 to 00:00</title>"), std::string::npos) << weekends;
    EXPECT_EQ(weekends.find("on-peak"), std::string::npos);
}

}  // namespace
}  // namespace portal
