#include "correlation.hpp"

#include <algorithm>
#include <tuple>

#include "intervals/readings.hpp"

namespace intervals {

namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

// Intervals of a premises' mirrors of one kind: PEV mirrors (roleFlags bit 2) or the premises meter's (bit 1).
constexpr const char* kOfPremises =
    "FROM intervals i JOIN mirror_meter_readings m ON m.mmr_id = i.mmr_id "
    "JOIN mirror_usage_points u ON u.mup_id = m.mup_id WHERE u.premises_id = ? AND (u.role_flags & ?) <> 0 ";
constexpr std::int64_t kPevRole = 4;
constexpr std::int64_t kPremisesRole = 2;

}  // namespace

bool mismatched(std::int64_t pev_wh, std::int64_t premises_wh, const Tolerance& tolerance) {
    const std::int64_t allowed = std::max(tolerance.wh, premises_wh * tolerance.percent / 100);
    return pev_wh > premises_wh + allowed;
}

Result<std::size_t> correlate(Transaction& tx, headend::plugin::Alarms& alarms, const std::string& premises_id,
                              const std::vector<Touched>& touched, const Tolerance& tolerance, std::int64_t at) {
    if (touched.empty())
        return std::size_t{0};
    // One query per side over the span the request covers, then the sums here: a day's POST is two queries, not two
    // per reading.
    std::int64_t low = touched.front().start;
    std::int64_t high = low;
    for (const auto& one : touched) {
        low = std::min(low, one.start);
        high = std::max(high, one.start + one.duration);
    }
    const auto overlapping = [&](std::int64_t role, std::int64_t from, std::int64_t to) {
        return tx.query(std::string("SELECT i.start_at, i.duration, i.value_wh ") + kOfPremises +
                            "AND i.start_at < ? AND i.start_at > ? AND i.start_at + i.duration > ? ORDER BY i.start_at",
                        std::vector<Value>{premises_id, role, to, from - kLongestInterval, from});
    };
    auto meter = overlapping(kPremisesRole, low, high);
    if (!meter)
        return meter.error();
    if (meter->empty())
        return std::size_t{0};
    const std::int64_t meter_low = meter->front().integer(0);
    std::int64_t meter_high = meter_low;
    for (const auto& row : *meter)
        meter_high = std::max(meter_high, row.integer(0) + row.integer(1));
    auto pev = overlapping(kPevRole, meter_low, meter_high);
    if (!pev)
        return pev.error();
    // Mismatches found before in the span: one that is consistent now is cleared (a late meter reading, say).
    auto recorded = tx.query(
        "SELECT start_at FROM load_mismatches WHERE premises_id = ? AND start_at >= ? AND start_at < ? "
        "ORDER BY start_at",
        std::vector<Value>{premises_id, meter_low, meter_high});
    if (!recorded)
        return recorded.error();
    std::vector<std::int64_t> stale;
    for (const auto& row : *recorded)
        stale.push_back(row.integer(0));
    std::size_t found = 0;
    for (const auto& window : *meter) {
        const std::int64_t start = window.integer(0);
        const std::int64_t end = start + window.integer(1);
        const std::int64_t premises_wh = window.integer(2);
        std::int64_t pev_wh = 0;
        bool other_grid = false;
        for (const auto& row : *pev) {
            const std::int64_t pev_start = row.integer(0);
            const std::int64_t pev_end = pev_start + row.integer(1);
            if (pev_end <= start || pev_start >= end)
                continue;
            if (pev_start < start || pev_end > end)
                other_grid = true;
            pev_wh += row.integer(2);
        }
        if (other_grid)
            continue;  // PEV intervals on another grid than the meter's: not comparable interval by interval
        if (!mismatched(pev_wh, premises_wh, tolerance)) {
            if (!std::binary_search(stale.begin(), stale.end(), start))
                continue;
            auto cleared = tx.execute("DELETE FROM load_mismatches WHERE premises_id = ? AND start_at = ?",
                                      std::vector<Value>{premises_id, start});
            if (!cleared)
                return cleared.error();
            continue;
        }
        ++found;
        auto kept = tx.execute(
            "INSERT INTO load_mismatches(premises_id, start_at, duration, pev_wh, premises_wh, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (premises_id, start_at) DO UPDATE SET pev_wh = excluded.pev_wh, "
            "premises_wh = excluded.premises_wh, detected_at = excluded.detected_at",
            std::vector<Value>{premises_id, start, end - start, pev_wh, premises_wh, at});
        if (!kept)
            return kept.error();
        auto raised =
            alarms.raise(tx, {.kind = "load_mismatch",
                              .detail = "premises " + premises_id + " interval " + std::to_string(start) +
                                        ": PEVs took " + std::to_string(pev_wh) + " Wh, the premises meter measured " +
                                        std::to_string(premises_wh) + " Wh",
                              .key = "load:" + premises_id + ":" + std::to_string(start),
                              .vin = std::nullopt,
                              .lfdi = std::nullopt,
                              .premises_id = premises_id,
                              .at = at});
        if (!raised)
            return raised.error();
    }
    return found;
}

}  // namespace intervals
