// The rules that refuse a request before anything is stored, and the readings a mirror meter reading carries.
#include "intervals/readings.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace intervals {
namespace {

constexpr std::int64_t kNow = 1'764'547'200;  // 2025-12-01T00:00:00Z, on every grid
constexpr std::uint32_t kQuarter = 900;

sep::ReadingType energy_type(std::uint32_t interval = kQuarter) {
    sep::ReadingType type;
    type.accumulation_behaviour = kAccumulationDeltaData;
    type.flow_direction = kFlowForward;
    type.interval_length = interval;
    type.kind = kKindEnergy;
    type.uom = kUomWattHours;
    return type;
}

sep::Reading reading(std::int64_t start, std::int64_t value, std::uint32_t duration = kQuarter,
                     std::uint16_t quality = 0) {
    sep::Reading one;
    one.time_period = sep::DateTimeInterval{duration, start};
    one.value = value;
    if (quality != 0)
        one.quality_flags = quality;
    return one;
}

sep::MirrorMeterReading with(std::vector<sep::Reading> readings) {
    sep::MirrorMeterReading document;
    document.mrid = "00000000000000000000000000000001";
    sep::MirrorReadingSet set;
    set.mrid = "00000000000000000000000000000002";
    set.time_period = {static_cast<std::uint32_t>(readings.size() * kQuarter),
                       readings.empty() ? kNow : readings.front().time_period->start};
    set.readings = std::move(readings);
    document.mirror_reading_sets.push_back(std::move(set));
    return document;
}

const IntervalType kType{kQuarter, 0};
const IngestLimits kLimits{kNow, 300, 60 * 86400};

std::string refusal(const sep::MirrorMeterReading& document, const IntervalType& type = kType) {
    auto result = interval_readings(document, type, kLimits);
    if (result)
        return "accepted";
    EXPECT_EQ(result.error().code, "reading.refused");
    return result.error().message;
}

TEST(IntervalType, EnergyInWhPerIntervalIsAccepted) {
    auto type = interval_type(energy_type(), kQuarter);
    ASSERT_TRUE(type) << type.error().message;
    EXPECT_EQ(*type, (IntervalType{kQuarter, 0}));
    auto scaled = energy_type();
    scaled.power_of_ten_multiplier = 3;
    EXPECT_EQ(interval_type(scaled, std::nullopt)->power_of_ten, 3);
}

TEST(IntervalType, EachWrongFieldIsRefusedNamingIt) {
    const std::vector<std::pair<std::function<void(sep::ReadingType&)>, std::string>> cases = {
        {[](auto& t) { t.uom = 38; }, "uom must be 72"},
        {[](auto& t) { t.uom.reset(); }, "uom must be 72 (Wh), not missing"},
        {[](auto& t) { t.kind = 37; }, "kind must be 12"},
        {[](auto& t) { t.accumulation_behaviour = 9; }, "accumulationBehaviour must be 4"},
        {[](auto& t) { t.flow_direction = 19; }, "flowDirection must be 1"},
        {[](auto& t) { t.interval_length.reset(); }, "no intervalLength"},
        {[](auto& t) { t.interval_length = 300; }, "not the configured 900 s"},
        {[](auto& t) { t.power_of_ten_multiplier = -4; }, "powerOfTenMultiplier must be -3 to 6"},
    };
    for (const auto& [change, expected] : cases) {
        auto type = energy_type();
        change(type);
        auto result = interval_type(type, kQuarter);
        ASSERT_FALSE(result) << expected;
        EXPECT_EQ(result.error().code, "reading.refused");
        EXPECT_NE(result.error().message.find(expected), std::string::npos) << result.error().message;
    }
}

TEST(IntervalType, WithoutAConfiguredIntervalTheLengthMustDivideTheHour) {
    EXPECT_TRUE(interval_type(energy_type(300), std::nullopt));
    EXPECT_TRUE(interval_type(energy_type(3600), std::nullopt));
    for (std::uint32_t length : {0U, 59U, 420U, 7200U}) {
        auto result = interval_type(energy_type(length), std::nullopt);
        ASSERT_FALSE(result) << length;
        EXPECT_NE(result.error().message.find("divide the hour"), std::string::npos) << result.error().message;
    }
}

TEST(RegisterType, ASummationOrCumulativeEnergyTotalIsARegisterAtItsScale) {
    auto summation = energy_type();
    summation.accumulation_behaviour = kAccumulationSummation;
    summation.interval_length.reset();
    summation.power_of_ten_multiplier = 3;
    ASSERT_TRUE(is_register_type(summation));
    auto type = register_type(summation);
    ASSERT_TRUE(type) << type.error().message;
    EXPECT_TRUE(type->is_register());
    EXPECT_EQ(type->resolution_wh(), 1000);
    auto cumulative = summation;
    cumulative.accumulation_behaviour = kAccumulationCumulative;
    EXPECT_TRUE(register_type(cumulative));
    EXPECT_FALSE(is_register_type(energy_type()));
    auto power = summation;
    power.kind = 37;
    auto refused = register_type(power);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("kind must be 12"), std::string::npos) << refused.error().message;
}

TEST(RegisterReadings, EachTotalIsAtTheEndOfItsPeriodOrAtTheLastUpdateTime) {
    auto document = with({reading(kNow - 1800, 1200, 0), reading(kNow - 3600, 1000, 900)});
    sep::Reading loose;
    loose.value = 1500;
    document.reading = loose;
    document.last_update_time = kNow - 60;
    auto readings = register_readings(document, IntervalType{0, 0}, kLimits);
    ASSERT_TRUE(readings) << readings.error().message;
    EXPECT_EQ(*readings, (std::vector<RegisterReading>{{kNow - 2700, 1000}, {kNow - 1800, 1200}, {kNow - 60, 1500}}));
}

TEST(RegisterReadings, EachBadTotalRefusesTheWholeRequest) {
    sep::Reading no_time;
    no_time.value = 5;
    const std::vector<std::pair<sep::MirrorMeterReading, std::string>> cases = {
        {with({reading(kNow - 900, 5, 0), no_time}), "neither a timePeriod nor the meter reading's lastUpdateTime"},
        {with({reading(kNow - 900, -5, 0)}), "negative energy"},
        {with({reading(kNow + 900, 5, 0)}), "ends in the future"},
        {with({reading(kNow - 61 * 86400, 5, 0)}), "older than the backfill window"},
        {with({reading(kNow - 900, 5, 0), reading(kNow - 900, 6, 0)}), "twice with different values"},
        {with({reading(std::numeric_limits<std::int64_t>::max(), 5, 10)}), "beyond any time"},
    };
    for (const auto& [document, expected] : cases) {
        auto result = register_readings(document, IntervalType{0, 0}, kLimits);
        ASSERT_FALSE(result) << expected;
        EXPECT_EQ(result.error().code, "reading.refused");
        EXPECT_NE(result.error().message.find(expected), std::string::npos) << result.error().message;
    }
    auto scaled = register_readings(with({reading(kNow - 900, 12345, 0)}), IntervalType{0, -3}, kLimits);
    ASSERT_FALSE(scaled);
    EXPECT_NE(scaled.error().message.find("whole number of Wh"), std::string::npos);
}

TEST(IntervalReadings, ReadingsOfEverySetAndTheDirectOneAreSortedAndConverted) {
    auto document = with({reading(kNow - 900, 1800), reading(kNow - 2700, 0)});
    sep::MirrorReadingSet second;
    second.mrid = "00000000000000000000000000000003";
    second.time_period = {900, kNow - 1800};
    second.readings.push_back(reading(kNow - 1800, 1700, kQuarter, kQualityInterpolated));
    document.mirror_reading_sets.push_back(second);
    document.reading = reading(kNow - 3600, 5);
    auto result = interval_readings(document, IntervalType{kQuarter, 1}, kLimits);
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_EQ(result->size(), 4U);
    EXPECT_EQ((*result)[0], (IntervalReading{kNow - 3600, kQuarter, 50, 0}));
    EXPECT_EQ((*result)[1], (IntervalReading{kNow - 2700, kQuarter, 0, 0}));
    EXPECT_EQ((*result)[2], (IntervalReading{kNow - 1800, kQuarter, 17000, kQualityInterpolated}));
    EXPECT_TRUE((*result)[2].estimated());
    EXPECT_EQ((*result)[3], (IntervalReading{kNow - 900, kQuarter, 18000, 0}));
}

TEST(IntervalReadings, TheSameReadingTwiceInOneRequestIsKeptOnce) {
    auto result = interval_readings(with({reading(kNow - 900, 10), reading(kNow - 900, 10)}), kType, kLimits);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->size(), 1U);
}

TEST(IntervalReadings, NegativeMultipliersMustLeaveWholeWattHours) {
    auto exact = interval_readings(with({reading(kNow - 900, 12000)}), IntervalType{kQuarter, -3}, kLimits);
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->front().value_wh, 12);
    EXPECT_NE(refusal(with({reading(kNow - 900, 12345)}), IntervalType{kQuarter, -3}).find("whole number of Wh"),
              std::string::npos);
}

TEST(IntervalReadings, EachBadReadingRefusesTheWholeRequest) {
    const auto good = reading(kNow - 1800, 100);
    sep::Reading no_period = reading(kNow - 900, 1);
    no_period.time_period.reset();
    sep::Reading no_value = reading(kNow - 900, 1);
    no_value.value.reset();
    const std::vector<std::pair<sep::Reading, std::string>> cases = {
        {no_period, "has no timePeriod"},
        {no_value, "has no value"},
        {reading(kNow - 900, 1, 300), "lasts 300 s, not the interval of 900 s"},
        {reading(kNow - 899, 1), "not on the 900 s interval grid"},
        {reading(kNow - 900, -5), "negative energy"},
        {reading(kNow, 1), "ends in the future"},
        {reading(kNow - 61 * 86400, 1), "older than the backfill window of 60 days"},
    };
    for (const auto& [bad, expected] : cases) {
        const std::string message = refusal(with({good, bad}));
        EXPECT_NE(message.find(expected), std::string::npos) << expected << " / " << message;
    }
    EXPECT_NE(refusal(with({good, reading(kNow - 1800, 101)})).find("twice with different values"), std::string::npos);
    EXPECT_NE(refusal(with({reading(kNow - 900, std::int64_t{1} << 46)}), IntervalType{kQuarter, 2})
                  .find("beyond the Int48 range"),
              std::string::npos);
}

TEST(IntervalReadings, TheEdgesOfTheWindowAreInside) {
    // Ends exactly at now + skew; starts exactly at now − backfill; one second later or earlier is out.
    const IngestLimits limits{kNow, 900, 60 * 86400};
    EXPECT_TRUE(interval_readings(with({reading(kNow, 1)}), kType, limits));
    EXPECT_FALSE(interval_readings(with({reading(kNow, 1)}), kType, IngestLimits{kNow - 1, 900, 60 * 86400}));
    EXPECT_TRUE(interval_readings(with({reading(kNow - 60 * 86400, 1)}), kType, limits));
    EXPECT_FALSE(
        interval_readings(with({reading(kNow - 60 * 86400, 1)}), kType, IngestLimits{kNow + 1, 900, 60 * 86400}));
}

}  // namespace
}  // namespace intervals
