// Validation, estimation and editing of a mirror meter reading's intervals after each store (issue 10): a reading
// whose average power exceeds the circuit's limit is flagged (spike), and a gap of up to two hours between stored
// intervals is filled by linear interpolation, marked estimated (qualityFlags bit 3, ESPI quality 9), until the
// actual readings arrive and replace the estimates.
#pragma once

#include <cstdint>
#include <vector>

#include "calendar/local_days.hpp"
#include "headend/plugin/storage.hpp"
#include "intervals/readings.hpp"
#include "intervals/vee_settings.hpp"

namespace intervals {

// vee_flags of an interval.
inline constexpr std::int64_t kVeeSpike = 1;      // average power above the limit: questionable
inline constexpr std::int64_t kVeeEstimated = 2;  // made by the head-end to fill a gap

struct VeeOutcome {
    std::size_t spikes = 0;
    std::size_t estimated = 0;
};

// The estimate of the k-th of `missing` intervals between the values before and after a gap, rounded to the nearest
// Wh (halves up).
std::int64_t interpolate(std::int64_t before, std::int64_t after, std::int64_t k, std::int64_t missing);

// After `stored` (the readings just applied) for meter reading `mmr_id` of `interval_length` s: flags spikes among
// them when `limit_power` (EV circuits), and fills gaps around them inside `periods` (a PEV's binding periods; empty
// means no bound: a premises meter reports every interval).
headend::Result<VeeOutcome> validate_and_estimate(headend::storage::Transaction& tx, std::int64_t mmr_id,
                                                  std::uint32_t interval_length,
                                                  const std::vector<IntervalReading>& stored, bool limit_power,
                                                  const std::vector<Period>& periods, const VeeSettings& settings,
                                                  const calendar::LocalDays& days, std::int64_t at);

}  // namespace intervals
