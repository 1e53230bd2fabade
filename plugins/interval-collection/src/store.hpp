// SQL of the interval plugin: mirrors, their reading types, and the intervals, each stored once under
// (mirror meter reading, interval start).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "calendar/local_days.hpp"
#include "headend/plugin/alarms.hpp"
#include "headend/plugin/storage.hpp"
#include "intervals/readings.hpp"
#include "sep/types.hpp"

namespace intervals::store {

using headend::Result;
using headend::storage::Transaction;

std::vector<headend::storage::Migration> migrations();

struct Mirror {
    std::int64_t id = 0;
    std::int64_t owner_device_id = 0;
    std::string premises_id;
    sep::MirrorUsagePoint document;  // first-level elements only (no MirrorMeterReadings)
    std::int64_t created_at = 0;
};

struct MeterReading {
    std::int64_t id = 0;
    std::int64_t mirror_id = 0;
    std::string mrid;
    std::optional<std::string> description;
    sep::ReadingType reading_type;
    IntervalType type;
};

Result<std::optional<Mirror>> mirror_by_id(Transaction& tx, std::int64_t id);
// mRIDs are the creating device's: one device's mRID never reaches or reveals another's mirror.
Result<std::optional<Mirror>> mirror_by_mrid(Transaction& tx, std::int64_t owner_device_id, const std::string& mrid);
// The owner's mirrors by id, `start` skipped, at most `limit`; and how many it has.
Result<std::vector<Mirror>> mirrors_of(Transaction& tx, std::int64_t owner_device_id, std::size_t start,
                                       std::size_t limit);
Result<std::int64_t> count_mirrors_of(Transaction& tx, std::int64_t owner_device_id);
Result<std::int64_t> insert_mirror(Transaction& tx, const Mirror& mirror);

Result<std::optional<MeterReading>> meter_reading(Transaction& tx, std::int64_t mirror_id, const std::string& mrid);
Result<std::int64_t> insert_meter_reading(Transaction& tx, const MeterReading& reading, std::int64_t at);

// What storing a batch of readings did. Conflicts are not stored; each raised (at most) one alarm.
struct Applied {
    std::size_t stored = 0;     // new intervals
    std::size_t unchanged = 0;  // the same value again: nothing to do
    std::size_t replaced = 0;   // an actual replacing an estimate (the estimate kept as a version)
    std::size_t conflicts = 0;  // a different value for a stored interval: kept aside, alarm, never overwritten
    std::size_t estimated = 0;  // gap intervals the head-end estimated (VEE)
    std::size_t spikes = 0;     // readings flagged above the power limit (VEE)
    std::size_t registers = 0;  // new register readings (a meter's running total)
    std::size_t sum_check_failures = 0;  // spans between register readings whose intervals do not add up
};

struct Origin {
    const Mirror& mirror;
    const MeterReading& meter_reading;
    std::string source;  // "device" or "file"
    std::int64_t at = 0;
    const calendar::LocalDays& days;  // each interval is filed under the territory's local day it starts on
};

// A premises' own limit of its EV circuit (W), when the operator set one; nothing removes it.
Result<std::optional<std::int64_t>> ev_limit(Transaction& tx, const std::string& premises_id);
Result<void> set_ev_limit(Transaction& tx, const std::string& premises_id, std::optional<std::int64_t> max_power_w,
                          std::int64_t at);

// Every value an interval takes is logged under the next change number (the MDM export's cursor).
Result<void> log_change(Transaction& tx, std::int64_t meter_reading_id, std::int64_t start, std::int64_t version);

Result<Applied> apply(Transaction& tx, headend::plugin::Alarms& alarms, const Origin& origin,
                      const std::vector<IntervalReading>& readings);

// One alarm of `kind` for a value received at `at_key` (an interval start, a register instant) that differs from the
// one stored, which stands; the same value again raises no second alarm.
Result<void> raise_conflict(Transaction& tx, headend::plugin::Alarms& alarms, const Origin& origin,
                            const std::string& kind, const std::string& what, std::int64_t at_key,
                            std::int64_t received_wh, std::int64_t kept_wh);

// ---- The utility's view (/upt): what a device may read.

// Who reads: a mirror is visible to the device that created it, to the device it meters (deviceLFDI) and to the
// display devices of its premises.
struct Viewer {
    std::int64_t device_id = 0;
    std::string lfdi;
    std::optional<std::string> display_premises;  // set for a display device
};
bool may_view(const Mirror& mirror, const Viewer& viewer);
Result<std::vector<Mirror>> visible_mirrors(Transaction& tx, const Viewer& viewer, std::size_t start,
                                            std::size_t limit);
Result<std::int64_t> count_visible_mirrors(Transaction& tx, const Viewer& viewer);

Result<std::vector<MeterReading>> meter_readings_of(Transaction& tx, std::int64_t mirror_id);

struct StoredInterval {
    std::int64_t start = 0;
    std::uint32_t duration = 0;
    std::int64_t value_wh = 0;
    std::uint16_t quality_flags = 0;
};
// The latest interval, or for a register its latest total (at an instant: duration 0).
Result<std::optional<StoredInterval>> latest_reading(Transaction& tx, const MeterReading& meter_reading);
// Local days that hold intervals, newest first, paged; and how many there are.
Result<std::vector<std::int32_t>> days_with_data(Transaction& tx, std::int64_t meter_reading_id, std::size_t start,
                                                 std::size_t limit);
Result<std::int64_t> count_days(Transaction& tx, std::int64_t meter_reading_id);
Result<bool> day_has_data(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day);
// One local day's intervals in time order, paged; and how many it has.
Result<std::vector<StoredInterval>> intervals_of_day(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day,
                                                     std::size_t start, std::size_t limit);
Result<std::int64_t> count_intervals_of_day(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day);

}  // namespace intervals::store
