// Rating to the 10^-5 unit and bill lines to the cent, on the program catalog the demo and the tests use
// (config/programs.toml, ../shared/reference/tariffs.md); every expected figure worked out by hand in the comments.
#include "billing/rating.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <string>

namespace billing {
namespace {

constexpr std::int64_t kQuarter = 900;

// "2026-07-01 17:00" Los Angeles local time as UTC seconds (the earlier instant where the hour repeats).
std::int64_t local(const std::string& text) {
    const auto ymd = date::year_month_day(date::year(std::stoi(text.substr(0, 4))),
                                          date::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
                                          date::day(static_cast<unsigned>(std::stoi(text.substr(8, 2)))));
    const auto when = date::local_days(ymd) + std::chrono::hours(std::stoi(text.substr(11, 2))) +
                      std::chrono::minutes(std::stoi(text.substr(14, 2)));
    return date::make_zoned("America/Los_Angeles", when, date::choose::earliest)
        .get_sys_time()
        .time_since_epoch()
        .count();
}

class RatingTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto loaded = tariff::load_catalog(PROGRAMS_FILE);
        ASSERT_TRUE(loaded) << loaded.error().message;
        catalog_ = *loaded;
        versions_ = tariff::Versions({std::make_shared<const tariff::Version>(1, std::move(*loaded))});
        calendar_ = &versions_[0].calendar();
        ev_ = versions_[0].catalog().find("EV-TOU");
        ASSERT_NE(ev_, nullptr);
    }

    // The shipped catalog as version 1 in force from `first`, and a copy of it from `second` with `change` applied.
    template <typename Change>
    tariff::Versions two_versions(std::int64_t first, std::int64_t second, Change change) const {
        auto v1 = catalog_;
        v1.effective_from = first;
        auto v2 = catalog_;
        v2.effective_from = second;
        change(v2);
        return tariff::Versions({std::make_shared<const tariff::Version>(1, std::move(v1)),
                                 std::make_shared<const tariff::Version>(2, std::move(v2))});
    }

    // `count` quarter hours of `wh` each from `start`.
    static std::vector<Interval> quarters(std::int64_t start, int count, std::int64_t wh) {
        std::vector<Interval> intervals;
        for (int i = 0; i < count; ++i)
            intervals.push_back({start + i * kQuarter, wh});
        return intervals;
    }
    static std::int64_t total(const std::vector<RatedInterval>& rated) {
        return std::accumulate(rated.begin(), rated.end(), std::int64_t{0},
                               [](std::int64_t sum, const RatedInterval& one) { return sum + one.cost; });
    }

    tariff::Catalog catalog_;
    tariff::Versions versions_;
    const tariff::Calendar* calendar_ = nullptr;
    const tariff::Program* ev_ = nullptr;
};

TEST(Money, AnIntervalsCostIsRoundedHalfAwayFromZeroToTheHundredThousandth) {
    // 1800 Wh at $0.56368/kWh = $1.014624 → 101462 (10^-5 $).
    EXPECT_EQ(interval_cost(1800, 56368), 101462);
    // 1 Wh at 0.00500 $/kWh is half a unit: away from zero; 0.00499 rounds down.
    EXPECT_EQ(interval_cost(1, 500), 1);
    EXPECT_EQ(interval_cost(1, 499), 0);
    EXPECT_EQ(interval_cost(-1, 500), -1);
    EXPECT_EQ(interval_cost(0, 56368), 0);
    // Beyond 64 bits in the product: 2^47 Wh at $10/kWh = 2^47 × 10^6 / 1000 units, exact.
    EXPECT_EQ(interval_cost(std::int64_t{1} << 47, 1'000'000), (std::int64_t{1} << 47) * 1000);
}

TEST(Money, ABillLineIsRoundedOnceToCentsHalfAwayFromZero) {
    EXPECT_EQ(round_to_cents(101462), 101000);  // $1.01462 → $1.01
    EXPECT_EQ(round_to_cents(101500), 102000);  // $1.015 → $1.02
    EXPECT_EQ(round_to_cents(101499), 101000);
    EXPECT_EQ(round_to_cents(-101500), -102000);  // a credit rounds away from zero too
    EXPECT_EQ(round_to_cents(0), 0);
}

TEST_F(RatingTest, ASummerWeekdayEveningIsOnPeakAndAWeekendHolidayEveningMidPeak) {
    const Rater rater(versions_, "EV-TOU", local("2026-07-01 00:00"), local("2026-07-06 00:00"));
    std::vector<RatedInterval> rated;
    // Wednesday 1 July 17:00: on-peak, 1800 Wh × 0.56368 = 101462.4 → 101462.
    // Friday 3 July 17:00: a weekday (the 4th is a Saturday, and only Sundays move): on-peak again.
    // Saturday 4 July 17:00: weekend and Independence Day, mid-peak: 1800 × 0.38128 = 68630.4 → 68630.
    // Saturday 4 July 21:00: off-peak, 1800 × 0.26322 = 47379.6 → 47380.
    ASSERT_TRUE(rater.rate(std::vector<Interval>{{local("2026-07-01 17:00"), 1800},
                                                 {local("2026-07-03 17:00"), 1800},
                                                 {local("2026-07-04 17:00"), 1800},
                                                 {local("2026-07-04 21:00"), 1800}},
                           rated));
    ASSERT_EQ(rated.size(), 4U);
    EXPECT_EQ(rated[0].period->name, "on-peak");
    EXPECT_EQ(rated[0].cost, 101462);
    EXPECT_EQ(rated[1].period->name, "on-peak");
    EXPECT_EQ(rated[2].period->name, "mid-peak");
    EXPECT_EQ(rated[2].cost, 68630);
    EXPECT_EQ(rated[3].period->name, "off-peak");
    EXPECT_EQ(rated[3].cost, 47380);
}

TEST_F(RatingTest, TheSpringForwardDayHas92QuartersRatedByTheirLocalTime) {
    // Sunday 8 March 2026: clocks go from 02:00 to 03:00, a 23-hour winter day. 1000 Wh per quarter hour:
    // mid-peak 16:00–21:00 is 20 quarters × $0.53340 = 53 340 units each, 1 066 800; off-peak 00:00–08:00 (7 real
    // hours) and 21:00–24:00 is 28 + 12 = 40 quarters, super off-peak 08:00–16:00 32 quarters, 72 × 24 490 =
    // 1 763 280.
    // Total 2 830 080 (10^-5 $) = $28.3008, one line: $28.30.
    const std::int64_t from = local("2026-03-08 00:00");
    const std::int64_t to = local("2026-03-09 00:00");
    ASSERT_EQ(to - from, 23 * 3600);
    const Rater rater(versions_, "EV-TOU", from, to);
    std::vector<RatedInterval> rated;
    ASSERT_TRUE(rater.rate(quarters(from, 92, 1000), rated));
    ASSERT_EQ(rated.size(), 92U);
    std::map<std::string, int> per_period;
    for (const auto& one : rated)
        ++per_period[one.period->name];
    EXPECT_EQ(per_period, (std::map<std::string, int>{{"mid-peak", 20}, {"off-peak", 40}, {"super off-peak", 32}}));
    EXPECT_EQ(total(rated), 2'830'080);
    EXPECT_EQ(round_to_cents(total(rated)), 2'830'000);
}

TEST_F(RatingTest, TheRepeatedFallBackHourIsRatedTwiceAsTheOffPeakItIs) {
    // Sunday 1 November 2026: 01:00–02:00 happens twice, a 25-hour day of 100 quarters, 503 Wh each:
    // mid-peak 503 × 0.53340 = $0.2683002 → 26830 units, × 20 = 536 600; the other 80 (off-peak and super off-peak,
    // the repeated hour among them) 503 × 0.24490 = $0.1231847 → 12318, × 80 = 985 440.
    // Total 1 522 040 = $15.2204 → $15.22.
    const std::int64_t from = local("2026-11-01 00:00");
    const std::int64_t to = local("2026-11-02 00:00");
    ASSERT_EQ(to - from, 25 * 3600);
    const Rater rater(versions_, "EV-TOU", from, to);
    std::vector<RatedInterval> rated;
    ASSERT_TRUE(rater.rate(quarters(from, 100, 503), rated));
    ASSERT_EQ(rated.size(), 100U);
    EXPECT_EQ(total(rated), 1'522'040);
    EXPECT_EQ(round_to_cents(total(rated)), 1'522'000);
}

TEST_F(RatingTest, IntervalsFromANewVersionsEffectiveInstantAreRatedOnItAndEarlierOnesAreNot) {
    const std::int64_t change = local("2026-07-15 17:30");
    const auto versions = two_versions(0, change, [](tariff::Catalog& raised) {
        for (auto& program : raised.programs)
            for (auto& season : program.seasons)
                for (auto& period : season.periods)
                    if (period.name == "on-peak")
                        period.price = 60000;
    });
    const Rater rater(versions, "EV-TOU", local("2026-07-01 00:00"), local("2026-08-01 00:00"));
    std::vector<RatedInterval> rated;
    // 17:00 and 17:15 on the old version (101462 each at 1800 Wh), 17:30 and 17:45 on the new: 1800 × 0.6 = 108000.
    ASSERT_TRUE(rater.rate(quarters(local("2026-07-15 17:00"), 4, 1800), rated));
    ASSERT_EQ(rated.size(), 4U);
    EXPECT_EQ(rated[0].version, 0U);
    EXPECT_EQ(rated[1].cost, 101462);
    EXPECT_EQ(rated[2].version, 1U);
    EXPECT_EQ(rated[2].cost, 108000);
    EXPECT_EQ(rated[3].cost, 108000);
}

TEST_F(RatingTest, IntervalsOutsideTheWindowBeforeTheFirstVersionOrOutOfOrderAreRefusedWhole) {
    const std::int64_t from = local("2026-07-01 00:00");
    const std::int64_t to = local("2026-07-02 00:00");
    auto late = catalog_;
    late.effective_from = from + kQuarter;
    const tariff::Versions versions({std::make_shared<const tariff::Version>(1, std::move(late))});
    const Rater rater(versions, "EV-TOU", from, to);
    std::vector<RatedInterval> rated{{}};
    EXPECT_FALSE(rater.rate(quarters(from, 2, 100), rated));           // before the first version
    EXPECT_FALSE(rater.rate(quarters(to - kQuarter, 2, 100), rated));  // past the window
    EXPECT_FALSE(rater.rate(std::vector<Interval>{{from + 2 * kQuarter, 1}, {from + kQuarter, 1}}, rated));
    EXPECT_EQ(rated.size(), 1U) << "nothing appended";
}

// Property: however a day of charging is cut into batches (sessions split at random, rated in any grouping), every
// interval is rated once, and the total is the same.
TEST_F(RatingTest, SplittingIntervalsDifferentlyNeverChangesTheirTotalAndRatesEachOnce) {
    std::mt19937_64 random(20261201);
    const std::int64_t from = local("2026-06-28 00:00");
    const std::int64_t to = local("2026-07-06 00:00");
    const Rater rater(versions_, "EV-TOU", from, to);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<Interval> intervals;
        for (std::int64_t at = from; at < to; at += kQuarter)
            if (random() % 3 == 0)
                intervals.push_back({at, static_cast<std::int64_t>(random() % 2000)});
        std::vector<RatedInterval> whole;
        ASSERT_TRUE(rater.rate(intervals, whole));
        std::vector<RatedInterval> pieces;
        for (std::size_t at = 0; at < intervals.size();) {
            const std::size_t length = std::min<std::size_t>(1 + random() % 40, intervals.size() - at);
            ASSERT_TRUE(rater.rate(std::span(intervals).subspan(at, length), pieces));
            at += length;
        }
        ASSERT_EQ(whole.size(), intervals.size());
        ASSERT_EQ(pieces.size(), intervals.size());
        for (std::size_t i = 0; i < intervals.size(); ++i) {
            EXPECT_EQ(whole[i].start, intervals[i].start);
            EXPECT_EQ(pieces[i].start, intervals[i].start);
            EXPECT_EQ(pieces[i].cost, whole[i].cost);
            // Each as the calendar rates it on its own.
            EXPECT_EQ(whole[i].period, calendar_->rate_at(*ev_, intervals[i].start).period);
        }
        EXPECT_EQ(total(pieces), total(whole));
    }
}

}  // namespace
}  // namespace billing
