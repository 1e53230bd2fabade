#include "correlation.hpp"

#include <algorithm>
#include <set>
#include <tuple>

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
    // The premises-meter intervals to check, once each.
    std::set<std::int64_t> seen;
    std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> meter;  // start, duration, Wh
    for (const auto& one : touched) {
        auto rows = tx.query(std::string("SELECT i.start_at, i.duration, i.value_wh ") + kOfPremises +
                                 "AND i.start_at < ? AND i.start_at + i.duration > ?",
                             std::vector<Value>{premises_id, kPremisesRole, one.start + one.duration, one.start});
        if (!rows)
            return rows.error();
        for (const auto& row : *rows) {
            if (seen.insert(row.integer(0)).second)
                meter.emplace_back(row.integer(0), row.integer(1), row.integer(2));
        }
    }
    std::size_t found = 0;
    for (const auto& [start, duration, premises_wh] : meter) {
        const std::int64_t end = start + duration;
        auto pev = tx.query(std::string("SELECT COALESCE(SUM(i.value_wh), 0), "
                                        "COALESCE(SUM(CASE WHEN i.start_at < ? OR i.start_at + i.duration > ? "
                                        "THEN 1 ELSE 0 END), 0) ") +
                                kOfPremises + "AND i.start_at < ? AND i.start_at + i.duration > ?",
                            std::vector<Value>{start, end, premises_id, kPevRole, end, start});
        if (!pev)
            return pev.error();
        const std::int64_t pev_wh = pev->front().integer(0);
        if (pev->front().integer(1) > 0)
            continue;  // PEV intervals on another grid than the meter's: not comparable interval by interval
        if (!mismatched(pev_wh, premises_wh, tolerance)) {
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
            std::vector<Value>{premises_id, start, duration, pev_wh, premises_wh, at});
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
