// Register readings and the sum check (issue 10, VEE): where a meter also sends its running total (a register), the
// energy between two register readings must equal the sum of the intervals between them. A span is checked once,
// when every interval in it is an actual reading; a mismatch beyond the register's resolution plus a tolerance
// flags those intervals (vee_flags kVeeSumCheck) and raises a `sum_check` alarm.
#pragma once

#include <cstdint>
#include <vector>

#include "headend/plugin/alarms.hpp"
#include "headend/plugin/storage.hpp"
#include "store.hpp"

namespace intervals {

// vee_flags of an interval whose span failed the sum check.
inline constexpr std::int64_t kVeeSumCheck = 4;

struct RegistersApplied {
    std::size_t stored = 0;
    std::size_t unchanged = 0;
    std::size_t conflicts = 0;  // a different total for a stored instant: alarm, the first kept
};

// Refuses ("reading.refused") register instants off the grid of the mirror's interval series: the intervals between
// two registers must be whole for the sum to compare.
headend::Result<void> check_register_grid(headend::storage::Transaction& tx, std::int64_t mirror_id,
                                          const std::vector<RegisterReading>& readings);

// A new meter reading of the mirror must fit its registers: one register per mirror (each sum check is then one walk
// per request), and a new interval series on the grid of every register instant stored (else its spans could never be
// checked). Refusals have code "reading.refused".
headend::Result<void> check_new_meter_reading(headend::storage::Transaction& tx, std::int64_t mirror_id,
                                              const IntervalType& type);

headend::Result<RegistersApplied> apply_registers(headend::storage::Transaction& tx, headend::plugin::Alarms& alarms,
                                                  const store::Origin& origin,
                                                  const std::vector<RegisterReading>& readings);

struct SumCheckSettings {
    std::int64_t tolerance_wh = 10;  // besides the register's resolution: devices round each interval to Wh
};

// Checks every span between consecutive register readings of the mirror that touches [from, to] and is not checked
// yet; returns how many failed.
headend::Result<std::size_t> check_sums(headend::storage::Transaction& tx, headend::plugin::Alarms& alarms,
                                        const store::Mirror& mirror, std::int64_t from, std::int64_t to,
                                        const SumCheckSettings& settings, std::int64_t at);

}  // namespace intervals
