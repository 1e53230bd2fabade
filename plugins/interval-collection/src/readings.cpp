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
    if (*reading.value < 0)
        return refused(describe(reading) + " has negative energy " + std::to_string(*reading.value));
    const auto wh = watt_hours(*reading.value, type.power_of_ten);
    if (!wh)
        return refused(describe(reading) + ": " + wh.error().message);
    if (period.start > std::numeric_limits<std::int64_t>::max() - period.duration ||
        period.start + period.duration > limits.now + limits.future_skew_s)
        return refused(describe(reading) + " ends in the future (now is " + std::to_string(limits.now) + ")");
    if (period.start < limits.now - limits.backfill_s)
        return refused(describe(reading) + " is older than the backfill window of " +
                       std::to_string(limits.backfill_s / 86400) + " days");
    return IntervalReading{period.start, period.duration, *wh, reading.quality_flags.value_or(0)};
}

}  // namespace

Result<IntervalType> interval_type(const sep::ReadingType& type, std::optional<std::uint32_t> expected_interval) {
    if (type.uom != kUomWattHours)
        return refused("the reading type's uom must be 72 (Wh), not " +
                       (type.uom ? std::to_string(*type.uom) : std::string("missing")));
    if (type.kind != kKindEnergy)
        return refused("the reading type's kind must be 12 (energy), not " +
                       (type.kind ? std::to_string(*type.kind) : std::string("missing")));
    if (type.accumulation_behaviour != kAccumulationDeltaData)
        return refused(
            "the reading type's accumulationBehaviour must be 4 (deltaData: energy per interval), not " +
            (type.accumulation_behaviour ? std::to_string(*type.accumulation_behaviour) : std::string("missing")));
    if (type.flow_direction && *type.flow_direction != kFlowForward)
        return refused("the reading type's flowDirection must be 1 (forward), not " +
                       std::to_string(*type.flow_direction));
    if (!type.interval_length)
        return refused("the reading type has no intervalLength");
    const std::uint32_t length = *type.interval_length;
    if (expected_interval && length != *expected_interval)
        return refused("the interval length " + std::to_string(length) + " s is not the configured " +
                       std::to_string(*expected_interval) + " s");
    if (length < 60 || length > kLongestInterval || kLongestInterval % length != 0)
        return refused("the interval length must be 60 to 3600 s and divide the hour, not " + std::to_string(length));
    const std::int8_t power = type.power_of_ten_multiplier.value_or(0);
    if (power < -3 || power > 6)
        return refused("the reading type's powerOfTenMultiplier must be -3 to 6, not " + std::to_string(power));
    return IntervalType{length, power};
}

Result<std::vector<IntervalReading>> interval_readings(const sep::MirrorMeterReading& reading, const IntervalType& type,
                                                       const IngestLimits& limits) {
    std::vector<IntervalReading> readings;
    auto add = [&](const sep::Reading& one) -> Result<void> {
        auto converted = interval_reading(one, type, limits);
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
    std::sort(readings.begin(), readings.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < readings.size(); ++i) {
        if (readings[i].start == readings[i - 1].start && readings[i] != readings[i - 1])
            return refused("the interval starting at " + std::to_string(readings[i].start) +
                           " is in the request twice with different values");
    }
    readings.erase(std::unique(readings.begin(), readings.end()), readings.end());
    return readings;
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

Period binding_period(const BindingSpan& binding, const BindingSpan* next, std::uint32_t interval_length) {
    const std::int64_t length = interval_length;
    const auto interval_start = [length](std::int64_t at) { return at - ((at % length) + length) % length; };
    const std::int64_t from = interval_start(binding.requested_at);
    std::int64_t to = std::numeric_limits<std::int64_t>::max();
    if (binding.status == "ended")
        to = binding.updated_at;
    else if (next)
        to = next->requested_at;
    // At the same premises the next binding's period begins at the start of its interval, and the same EUMD's
    // intervals are one binding's: this one ends there at the latest (one superseded within its first interval keeps
    // none). At another premises another EUMD measures; each keeps the interval it measured in.
    if (next && next->premises_id == binding.premises_id)
        to = std::min(to, interval_start(next->requested_at));
    return {from, std::max(from, to)};
}

std::vector<Period> metered_periods(const std::vector<BindingSpan>& bindings, const std::string& premises_id,
                                    std::uint32_t interval_length) {
    std::vector<Period> periods;
    for (std::size_t i = 0; i < bindings.size(); ++i) {
        if (bindings[i].premises_id != premises_id || bindings[i].status == "refused")
            continue;
        periods.push_back(
            binding_period(bindings[i], i + 1 < bindings.size() ? &bindings[i + 1] : nullptr, interval_length));
    }
    return periods;
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
