// What the head-end accepts as interval energy from a metering mirror (DESIGN §6, scenario 3): the checks that refuse
// a whole request before anything is stored, and the readings it stores, in Wh. Pure logic: no storage, no CoAP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "charging/binding_period.hpp"
#include "headend/plugin/result.hpp"
#include "sep/types.hpp"

namespace intervals {

// No reading type has a longer interval (interval_type refuses them): an interval overlapping [t, …) starts after
// t − 1 h, which keeps lookups of overlapping intervals a key range.
inline constexpr std::int64_t kLongestInterval = 3600;

// ReadingType codes (../shared/reference/sep2-fields.md).
inline constexpr std::uint8_t kUomWattHours = 72;
inline constexpr std::uint8_t kKindEnergy = 12;
inline constexpr std::uint8_t kAccumulationDeltaData = 4;
inline constexpr std::uint8_t kAccumulationCumulative = 3;
inline constexpr std::uint8_t kAccumulationSummation = 9;
inline constexpr std::uint8_t kFlowForward = 1;
// qualityFlags bits 2 and 3: estimated using a reference day, by linear interpolation.
inline constexpr std::uint16_t kQualityEstimated = (1U << 2) | (1U << 3);
inline constexpr std::uint16_t kQualityInterpolated = 1U << 3;

// The reading type of one mirror meter reading, as stored when the mirror first named it: interval energy, or a
// register (interval_length 0) whose values are the meter's running total at instants, used for the sum check.
struct IntervalType {
    std::uint32_t interval_length = 0;  // seconds; 0 for a register
    std::int8_t power_of_ten = 0;       // the values are value × 10^power_of_ten Wh
    bool is_register() const { return interval_length == 0; }
    // The register's resolution: a total read in kWh is only known to 1 kWh.
    std::int64_t resolution_wh() const;
    bool operator==(const IntervalType&) const = default;
};

struct IntervalReading {
    std::int64_t start = 0;  // UTC seconds, on the interval grid
    std::uint32_t duration = 0;
    std::int64_t value_wh = 0;
    std::uint16_t quality_flags = 0;
    bool estimated() const { return (quality_flags & kQualityEstimated) != 0; }
    bool operator==(const IntervalReading&) const = default;
};

struct IngestLimits {
    std::int64_t now = 0;
    std::int64_t future_skew_s = 300;                    // a reading may end at most this far after now
    std::int64_t backfill_s = std::int64_t{60} * 86400;  // and start at most this long before now
};

// A ReadingType the head-end stores interval energy for: energy (kind 12) in Wh (uom 72), delta data per interval
// (accumulationBehaviour 4), delivered (flowDirection 1 when given), an interval of `expected_interval` seconds when
// that is known (the EUMD's configured one), else one from 60 s to an hour that divides the hour. Errors carry code
// "reading.refused" and a reason fit for the device.
headend::Result<IntervalType> interval_type(const sep::ReadingType& type,
                                            std::optional<std::uint32_t> expected_interval);

// A register's total at one instant, in Wh.
struct RegisterReading {
    std::int64_t at = 0;  // UTC seconds
    std::int64_t value_wh = 0;
    bool operator==(const RegisterReading&) const = default;
};

// True for a ReadingType of totals (accumulationBehaviour 9 summation or 3 cumulative) rather than interval data.
bool is_register_type(const sep::ReadingType& type);

// A register the head-end keeps for the sum check: energy (kind 12) in Wh (uom 72), summation or cumulative,
// delivered (flowDirection 1 when given). Refusals as for interval_type.
headend::Result<IntervalType> register_type(const sep::ReadingType& type);

// Every register reading of one MirrorMeterReading, sorted by instant, a repeated one kept once. A Reading's instant
// is the end of its timePeriod, else the MirrorMeterReading's lastUpdateTime. Refused ("reading.refused") as a whole
// when any reading has no instant or value, a negative value or not a whole number of Wh, is beyond now + skew or
// before now − backfill, or when one instant has two values.
headend::Result<std::vector<RegisterReading>> register_readings(const sep::MirrorMeterReading& reading,
                                                                const IntervalType& type, const IngestLimits& limits);

// Every interval reading of one MirrorMeterReading (its MirrorReadingSets' Readings and its own Reading), in Wh,
// sorted by start, a reading repeated inside the request kept once. The whole request is refused (code
// "reading.refused") when any reading is: no timePeriod or value, a duration other than the interval, a start off the
// interval grid, a negative value, a value not a whole number of Wh, ending past now + skew, starting before now −
// backfill; or the same interval twice with different values.
headend::Result<std::vector<IntervalReading>> interval_readings(const sep::MirrorMeterReading& reading,
                                                                const IntervalType& type, const IngestLimits& limits);

// One MirrorMeterReading per mRID: a request naming one twice (in a list, or in a MirrorUsagePoint) has its readings
// joined, so its intervals are checked together ("reading.refused" when the two name different ReadingTypes).
headend::Result<std::vector<sep::MirrorMeterReading>> merge_by_mrid(std::vector<sep::MirrorMeterReading> readings);

// When the EUMD at a premises measured a PEV (plugin_common charging/binding_period.hpp).
using charging::binding_period;
using charging::BindingSpan;
using charging::metered_periods;
using charging::Period;

// Refuses ("reading.refused") a reading whose interval starts outside every period.
headend::Result<void> check_periods(const std::vector<IntervalReading>& readings, const std::vector<Period>& periods);

}  // namespace intervals
