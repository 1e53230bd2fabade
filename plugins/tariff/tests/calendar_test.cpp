#include "tariff/calendar.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <string>

namespace tariff {
namespace {

constexpr std::int64_t kHour = 3600;

class CalendarTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto loaded = load_catalog(PROGRAMS_FILE);
        ASSERT_TRUE(loaded) << loaded.error().message;
        catalog_ = std::move(*loaded);
        calendar_ = std::make_unique<Calendar>(catalog_);
        ev_ = catalog_.find("EV-TOU");
        ASSERT_NE(ev_, nullptr);
    }

    // "2026-07-01 17:00" Los Angeles local time, as UTC seconds (the earlier instant when the hour repeats).
    static std::int64_t local(const std::string& text) {
        const auto when = date::local_days(date::days(day(text.substr(0, 10)))) +
                          std::chrono::hours(std::stoi(text.substr(11, 2))) +
                          std::chrono::minutes(std::stoi(text.substr(14, 2)));
        const auto zoned = date::make_zoned("America/Los_Angeles", when, date::choose::earliest);
        return zoned.get_sys_time().time_since_epoch().count();
    }
    // "2026-07-01" as days since 1970-01-01.
    static std::int32_t day(const std::string& text) {
        const date::year_month_day ymd(date::year(std::stoi(text.substr(0, 4))),
                                       date::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
                                       date::day(static_cast<unsigned>(std::stoi(text.substr(8, 2)))));
        EXPECT_TRUE(ymd.ok()) << text;
        return static_cast<std::int32_t>(date::sys_days(ymd).time_since_epoch().count());
    }

    std::string period_at(const std::string& text) const { return calendar_->rate_at(*ev_, local(text)).period->name; }
    std::int64_t price_at(const std::string& text) const { return calendar_->rate_at(*ev_, local(text)).period->price; }
    Catalog catalog_;
    std::unique_ptr<Calendar> calendar_;
    const Program* ev_ = nullptr;
};

TEST_F(CalendarTest, SummerWeekdayHasOnPeakEvenings) {
    // 2026-07-01 is a Wednesday.
    EXPECT_EQ(period_at("2026-07-01 15:45"), "off-peak");
    EXPECT_EQ(period_at("2026-07-01 16:00"), "on-peak");
    EXPECT_EQ(price_at("2026-07-01 20:45"), 56368);
    EXPECT_EQ(period_at("2026-07-01 21:00"), "off-peak");
    EXPECT_EQ(price_at("2026-07-01 03:00"), 26322);
}

TEST_F(CalendarTest, SummerWeekendsAndHolidaysHaveMidPeakEvenings) {
    EXPECT_EQ(period_at("2026-07-11 17:00"), "mid-peak");  // Saturday
    EXPECT_EQ(period_at("2026-09-07 17:00"), "mid-peak");  // Labor Day, first Monday of September
    EXPECT_EQ(period_at("2026-09-08 17:00"), "on-peak");   // the Tuesday after
    EXPECT_TRUE(calendar_->rate_at(*ev_, local("2026-09-07 17:00")).holiday);
    // Independence Day 2027 is a Sunday, observed on Monday the 5th.
    EXPECT_EQ(period_at("2027-07-05 17:00"), "mid-peak");
    EXPECT_EQ(period_at("2027-07-06 17:00"), "on-peak");
}

TEST_F(CalendarTest, WinterHasThreePeriodsEveryDay) {
    EXPECT_EQ(period_at("2026-12-02 07:45"), "off-peak");
    EXPECT_EQ(period_at("2026-12-02 08:00"), "super off-peak");
    EXPECT_EQ(period_at("2026-12-02 16:00"), "mid-peak");
    EXPECT_EQ(period_at("2026-12-05 16:00"), "mid-peak");  // Saturday: the same in winter
    EXPECT_EQ(period_at("2026-12-02 23:30"), "off-peak");
    EXPECT_EQ(price_at("2026-12-02 16:00"), 53340);
}

TEST_F(CalendarTest, SeasonsChangeAtLocalMidnight) {
    EXPECT_EQ(calendar_->rate_at(*ev_, local("2026-05-31 23:45")).season->name, "winter");
    EXPECT_EQ(calendar_->rate_at(*ev_, local("2026-06-01 00:00")).season->name, "summer");
    EXPECT_EQ(calendar_->rate_at(*ev_, local("2026-09-30 23:45")).season->name, "summer");
    EXPECT_EQ(calendar_->rate_at(*ev_, local("2026-10-01 00:00")).season->name, "winter");
}

TEST_F(CalendarTest, HolidaysFollowTheirRules) {
    EXPECT_TRUE(calendar_->is_holiday(day("2026-01-01")));
    EXPECT_TRUE(calendar_->is_holiday(day("2026-02-16")));  // third Monday of February
    EXPECT_TRUE(calendar_->is_holiday(day("2026-05-25")));  // last Monday of May
    EXPECT_TRUE(calendar_->is_holiday(day("2026-11-26")));  // fourth Thursday of November
    EXPECT_TRUE(calendar_->is_holiday(day("2026-11-11")));
    EXPECT_TRUE(calendar_->is_holiday(day("2026-12-25")));
    EXPECT_TRUE(calendar_->is_holiday(day("2022-12-26")));   // Christmas 2022 was a Sunday
    EXPECT_FALSE(calendar_->is_holiday(day("2026-12-26")));  // Christmas 2026 is a Friday
    EXPECT_FALSE(calendar_->is_holiday(day("2026-01-19")));  // MLK day is not in the shipped rules
    EXPECT_FALSE(calendar_->is_holiday(day("2026-11-27")));
}

TEST_F(CalendarTest, ExtraHolidayDatesCount) {
    Catalog catalog = catalog_;
    catalog.holidays.extra_days.push_back(day("2026-07-02"));
    const Calendar calendar(catalog);
    EXPECT_TRUE(calendar.is_holiday(day("2026-07-02")));
    EXPECT_EQ(calendar.rate_at(*catalog.find("EV-TOU"), local("2026-07-02 17:00")).period->name, "mid-peak");
}

TEST_F(CalendarTest, SpansCutASummerWeekdayAtItsPeriodEdges) {
    const auto spans = calendar_->spans(*ev_, local("2026-07-01 00:00"), local("2026-07-02 00:00"));
    ASSERT_EQ(spans.size(), 3U);
    EXPECT_EQ(spans[0].period->name, "off-peak");
    EXPECT_EQ(spans[0].end, local("2026-07-01 16:00"));
    EXPECT_EQ(spans[1].period->name, "on-peak");
    EXPECT_EQ(spans[1].end - spans[1].start, 5 * kHour);
    EXPECT_EQ(spans[2].period->name, "off-peak");
    EXPECT_EQ(spans[2].end, local("2026-07-02 00:00"));
}

TEST_F(CalendarTest, SpansFollowDaylightSavingTransitions) {
    // 2026-11-01: clocks fall back at 02:00 PDT, so the day has 25 hours and the evening peak starts at 00:00 UTC.
    const auto fall = calendar_->spans(*ev_, local("2026-11-01 00:00"), local("2026-11-02 00:00"));
    ASSERT_EQ(fall.size(), 4U);
    EXPECT_EQ(fall[0].period->name, "off-peak");
    EXPECT_EQ(fall[0].end - fall[0].start, 9 * kHour);  // 00:00-08:00 local holds the repeated hour
    EXPECT_EQ(fall[2].period->name, "mid-peak");
    EXPECT_EQ(fall[2].start, 1'793'577'600);  // 2026-11-02T00:00:00Z = 16:00 PST
    EXPECT_EQ(fall.back().end - fall.front().start, 25 * kHour);
    // 2026-03-08: clocks spring forward at 02:00 PST; the day has 23 hours.
    const auto spring = calendar_->spans(*ev_, local("2026-03-08 00:00"), local("2026-03-09 00:00"));
    ASSERT_EQ(spring.size(), 4U);
    EXPECT_EQ(spring[0].end - spring[0].start, 7 * kHour);
    EXPECT_EQ(spring.back().end - spring.front().start, 23 * kHour);
}

// From review: where clocks spring forward at midnight (America/Santiago, first Sunday of September), the day starts
// at 01:00; a span must still end with its day, or a flat rate's spans would run on across two days.
TEST_F(CalendarTest, ADayThatStartsAt0100StillEndsTheSpanBeforeIt) {
    Catalog catalog = catalog_;
    catalog.time_zone = "America/Santiago";
    const Calendar calendar(catalog);
    const auto santiago = [](const std::string& text) {
        const auto when =
            date::local_days(date::days(day(text.substr(0, 10)))) + std::chrono::hours(std::stoi(text.substr(11, 2)));
        return date::make_zoned("America/Santiago", when, date::choose::earliest)
            .get_sys_time()
            .time_since_epoch()
            .count();
    };
    const auto spans =
        calendar.spans(*catalog.find("DOM-FLAT"), santiago("2026-09-05 12:00"), santiago("2026-09-07 12:00"));
    ASSERT_EQ(spans.size(), 3U);
    EXPECT_EQ(spans[0].end, santiago("2026-09-06 01:00"));  // 00:00 does not exist that night
    EXPECT_EQ(spans[1].end - spans[1].start, 23 * kHour);
    EXPECT_EQ(spans[2].start, santiago("2026-09-07 00:00"));
}

TEST_F(CalendarTest, SpansOfAFlatRateAreOneALocalDay) {
    const auto spans =
        calendar_->spans(*catalog_.find("DOM-FLAT"), local("2026-07-01 09:30"), local("2026-07-04 12:00"));
    ASSERT_EQ(spans.size(), 4U);
    EXPECT_EQ(spans[0].start, local("2026-07-01 09:30"));
    EXPECT_EQ(spans[0].end, local("2026-07-02 00:00"));
    EXPECT_EQ(spans[1].start, local("2026-07-02 00:00"));
    EXPECT_EQ(spans[1].end - spans[1].start, 24 * kHour);
    EXPECT_EQ(spans[3].end, local("2026-07-04 12:00"));
    EXPECT_EQ(spans[0].period->price, 32000);
    EXPECT_TRUE(calendar_->spans(*ev_, 100, 100).empty());
}

}  // namespace
}  // namespace tariff
