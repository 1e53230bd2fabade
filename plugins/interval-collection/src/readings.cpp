#include "intervals/readings.hpp"

#include <algorithm>
#include <limits>

namespace intervals {

namespace {

using headend::make_error;
using headend::Result;

constexpr std::int64_t kLargestInt48 = (std::int64_t{1} << 47) - 1;

headend::Error refused(std::string reason) {
    return make_error("reading.refused", std::move(reason));
}

std::string describe(const sep::Reading& reading) {
    return reading.time_period ? "the reading starting at " + std::to_string(reading.time_period->start) : "a reading";
}

// value × 10^power in whole Wh, or why not.
Result<std::int64_t> watt_hours(std::int64_t value, std::int8_t power) {
    std::int64_t result = value;
    for (int i = 0; i < power; ++i) {
        if (result > kLargestInt48 / 10)
            return refused(std::to_string(value) + " × 10^" + std::to_string(power) + " Wh is beyond the Int48 range");
        result *= 10;
    }
    for (int i = 0; i > power; --i) {
        if (result % 10 != 0)
            return refused(std::to_string(value) + " × 10^" + std::to_string(power) + " is not a whole number of Wh");
        result /= 10;
    }
    return result;
}

// What a reading's value is in whole Wh, or why it is refused.
Result<std::int64_t> checked_energy(const std::string& what, std::int64_t value, std::int8_t power) {
    if (value < 0)
        return refused(what + " has negative energy " + std::to_string(value));
    const auto wh = watt_hours(value, power);
    if (!wh)
        return refused(what + ": " + wh.error().message);
    return *wh;
}

// A reading covering [start, end] must end by now + skew and start within the backfill window.
Result<void> check_window(const std::string& what, std::int64_t start, std::int64_t end, const IngestLimits& limits) {
    if (end > limits.now + limits.future_skew_s)
        return refused(what + " ends in the future (now is " + std::to_string(limits.now) + ")");
    if (start < limits.now - limits.backfill_s)
        return refused(what + " is older than the backfill window of " + std::to_string(limits.backfill_s / 86400) +
                       " days");
    return {};
}

// What interval energy and registers share: energy (kind 12) in Wh (uom 72), delivered, a sane scale.
Result<std::int8_t> energy_scale(const sep::ReadingType& type) {
    if (type.uom != kUomWattHours)
        return refused("the reading type's uom must be 72 (Wh), not " +
                       (type.uom ? std::to_string(*type.uom) : std::string("missing")));
    if (type.kind != kKindEnergy)
        return refused("the reading type's kind must be 12 (energy), not " +
                       (type.kind ? std::to_string(*type.kind) : std::string("missing")));
    if (type.flow_direction && *type.flow_direction != kFlowForward)
        return refused("the reading type's flowDirection must be 1 (forward), not " +
                       std::to_string(*type.flow_direction));
    const std::int8_t power = type.power_of_ten_multiplier.value_or(0);
    if (power < -3 || power > 6)
        return refused("the reading type's powerOfTenMultiplier must be -3 to 6, not " + std::to_string(power));
    return power;
}

Result<IntervalReading> interval_reading(const sep::Reading& reading, const IntervalType& type,
                                         const IngestLimits& limits) {
    if (!reading.time_period)
        return refused(describe(reading) + " has no timePeriod: interval data needs one per reading");
    if (!reading.value)
        return refused(describe(reading) + " has no value");
    const auto& period = *reading.time_period;
    if (period.duration != type.interval_length)
        return refused(describe(reading) + " lasts " + std::to_string(period.duration) + " s, not the interval of " +
                       std::to_string(type.interval_length) + " s");
    if (period.start % type.interval_length != 0)
        return refused(describe(reading) + " is not on the " + std::to_string(type.interval_length) +
                       " s interval grid");
    const auto wh = checked_energy(describe(reading), *reading.value, type.power_of_ten);
    if (!wh)
        return wh.error();
    if (period.start > std::numeric_limits<std::int64_t>::max() - period.duration)
        return refused(describe(reading) + " ends in the future (now is " + std::to_string(limits.now) + ")");
    if (auto in_window = check_window(describe(reading), period.start, period.start + period.duration, limits);
        !in_window)
        return in_window.error();
    return IntervalReading{period.start, period.duration, *wh, reading.quality_flags.value_or(0)};
}

// Every Reading of a MirrorMeterReading (its MirrorReadingSets' and its own) as `convert` makes it, sorted by `key`,
// a reading repeated inside the request kept once; the whole request refused by the first reading `convert` refuses,
// or when one key comes twice with different values.
template <typename T, typename Convert>
Result<std::vector<T>> collect(const sep::MirrorMeterReading& reading, const Convert& convert, std::int64_t T::*key,
                               const std::string& what) {
    std::vector<T> readings;
    const auto add = [&](const sep::Reading& one) -> Result<void> {
        auto converted = convert(one);
        if (!converted)
            return converted.error();
        readings.push_back(*converted);
        return {};
    };
    for (const auto& set : reading.mirror_reading_sets) {
        for (const auto& one : set.readings) {
            if (auto added = add(one); !added)
                return added.error();
        }
    }
    if (reading.reading) {
        if (auto added = add(*reading.reading); !added)
            return added.error();
    }
    std::sort(readings.begin(), readings.end(), [key](const T& a, const T& b) { return a.*key < b.*key; });
    for (std::size_t i = 1; i < readings.size(); ++i) {
        if (readings[i].*key == readings[i - 1].*key && readings[i] != readings[i - 1])
            return refused(what + std::to_string(readings[i].*key) + " is in the request twice with different values");
    }
    readings.erase(std::unique(readings.begin(), readings.end()), readings.end());
    return readings;
}

}  // namespace

std::int64_t IntervalType::resolution_wh() const {
    std::int64_t unit = 1;
    for (int i = 0; i < power_of_ten; ++i)
        unit *= 10;
    return unit;
}

Result<IntervalType> interval_type(const sep::ReadingType& type, std::optional<std::uint32_t> expected_interval) {
    if (type.accumulation_behaviour != kAccumulationDeltaData)
        return refused(
            "the reading type's accumulationBehaviour must be 4 (deltaData: energy per interval), not " +
            (type.accumulation_behaviour ? std::to_string(*type.accumulation_behaviour) : std::string("missing")));
    auto power = energy_scale(type);
    if (!power)
        return power.error();
    if (!type.interval_length)
        return refused("the reading type has no intervalLength");
    const std::uint32_t length = *type.interval_length;
    if (expected_interval && length != *expected_interval)
        return refused("the interval length " + std::to_string(length) + " s is not the configured " +
                       std::to_string(*expected_interval) + " s");
    if (length < 60 || length > kLongestInterval || kLongestInterval % length != 0)
        return refused("the interval length must be 60 to 3600 s and divide the hour, not " + std::to_string(length));
    return IntervalType{length, *power};
}

bool is_register_type(const sep::ReadingType& type) {
    return type.accumulation_behaviour == kAccumulationSummation ||
           type.accumulation_behaviour == kAccumulationCumulative;
}

Result<IntervalType> register_type(const sep::ReadingType& type) {
    if (!is_register_type(type))
        return refused("a register's accumulationBehaviour must be 9 (summation) or 3 (cumulative)");
    auto power = energy_scale(type);
    if (!power)
        return power.error();
    return IntervalType{0, *power};
}

Result<std::vector<RegisterReading>> register_readings(const sep::MirrorMeterReading& reading, const IntervalType& type,
                                                       const IngestLimits& limits) {
    const auto convert = [&](const sep::Reading& one) -> Result<RegisterReading> {
        std::optional<std::int64_t> at = reading.last_update_time;
        if (one.time_period) {
            if (one.time_period->start > std::numeric_limits<std::int64_t>::max() - one.time_period->duration)
                return refused("a register reading's timePeriod ends beyond any time");
            at = one.time_period->start + one.time_period->duration;
        }
        if (!at)
            return refused("a register reading has neither a timePeriod nor the meter reading's lastUpdateTime");
        const std::string what = "the register reading at " + std::to_string(*at);
        if (!one.value)
            return refused(what + " has no value");
        auto wh = checked_energy(what, *one.value, type.power_of_ten);
        if (!wh)
            return wh.error();
        if (auto in_window = check_window(what, *at, *at, limits); !in_window)
            return in_window.error();
        return RegisterReading{*at, *wh};
    };
    return collect<RegisterReading>(reading, convert, &RegisterReading::at, "the register reading at ");
}

Result<std::vector<IntervalReading>> interval_readings(const sep::MirrorMeterReading& reading, const IntervalType& type,
                                                       const IngestLimits& limits) {
    return collect<IntervalReading>(
        reading, [&](const sep::Reading& one) { return interval_reading(one, type, limits); }, &IntervalReading::start,
        "the interval starting at ");
}

Result<std::vector<sep::MirrorMeterReading>> merge_by_mrid(std::vector<sep::MirrorMeterReading> readings) {
    std::vector<sep::MirrorMeterReading> merged;
    for (auto& reading : readings) {
        auto same = std::find_if(merged.begin(), merged.end(), [&](const auto& m) { return m.mrid == reading.mrid; });
        if (same == merged.end()) {
            merged.push_back(std::move(reading));
            continue;
        }
        if (reading.reading_type) {
            if (same->reading_type && *same->reading_type != *reading.reading_type)
                return refused("meter reading " + reading.mrid +
                               " is in the request twice with different ReadingTypes");
            same->reading_type = reading.reading_type;
        }
        for (auto& set : reading.mirror_reading_sets)
            same->mirror_reading_sets.push_back(std::move(set));
        if (reading.reading) {
            sep::MirrorReadingSet loose;
            loose.readings.push_back(std::move(*reading.reading));
            same->mirror_reading_sets.push_back(std::move(loose));
        }
    }
    return merged;
}

Result<void> check_periods(const std::vector<IntervalReading>& readings, const std::vector<Period>& periods) {
    for (const auto& reading : readings) {
        const bool inside = std::any_of(periods.begin(), periods.end(), [&](const Period& period) {
            return reading.start >= period.from && reading.start < period.to;
        });
        if (!inside)
            return refused("the interval starting at " + std::to_string(reading.start) +
                           " is outside every binding of the PEV at this premises: nothing shows the PEV was "
                           "charging there then");
    }
    return {};
}

}  // namespace intervals
