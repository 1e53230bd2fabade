#include "vee.hpp"

#include "store.hpp"

#include <algorithm>

namespace intervals {

namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

bool in_one_period(const std::vector<Period>& periods, std::int64_t first, std::int64_t last) {
    return std::any_of(periods.begin(), periods.end(),
                       [&](const Period& period) { return first >= period.from && last < period.to; });
}

}  // namespace

std::int64_t interpolate(std::int64_t before, std::int64_t after, std::int64_t k, std::int64_t missing) {
    const std::int64_t parts = missing + 1;
    const std::int64_t scaled = before * (parts - k) + after * k;  // both ≥ 0
    return (2 * scaled + parts) / (2 * parts);
}

Result<VeeOutcome> validate_and_estimate(Transaction& tx, std::int64_t mmr_id, std::uint32_t interval_length,
                                         const std::vector<IntervalReading>& stored, bool limit_power,
                                         const std::vector<Period>& periods, const VeeSettings& settings,
                                         const calendar::LocalDays& days, std::int64_t at) {
    VeeOutcome outcome;
    if (stored.empty())
        return outcome;
    if (limit_power) {
        for (const auto& reading : stored) {
            if (reading.value_wh * 3600 <= settings.max_power_w * static_cast<std::int64_t>(reading.duration))
                continue;
            auto flagged = tx.execute(
                "UPDATE intervals SET vee_flags = vee_flags | ? WHERE mmr_id = ? AND start_at = ? AND value_wh = ?",
                std::vector<Value>{kVeeSpike, mmr_id, reading.start, reading.value_wh});
            if (!flagged)
                return flagged.error();
            outcome.spikes += static_cast<std::size_t>(*flagged);
        }
    }
    // Gaps next to and between the new readings: every stored interval within reach of them, in order.
    const std::int64_t length = interval_length;
    const std::int64_t from = stored.front().start - settings.longest_gap_s - length;
    const std::int64_t to = stored.back().start + settings.longest_gap_s + length;
    auto rows = tx.query(
        "SELECT start_at, value_wh FROM intervals WHERE mmr_id = ? AND start_at >= ? AND start_at <= ? "
        "ORDER BY start_at",
        std::vector<Value>{mmr_id, from, to});
    if (!rows)
        return rows.error();
    for (std::size_t i = 1; i < rows->size(); ++i) {
        const std::int64_t before_start = (*rows)[i - 1].integer(0);
        const std::int64_t after_start = (*rows)[i].integer(0);
        const std::int64_t missing = (after_start - before_start) / length - 1;
        if (missing < 1 || missing * length > settings.longest_gap_s)
            continue;
        // A PEV's gap is missing data only inside one of its binding periods; between them it was not charging here.
        if (!periods.empty() && !in_one_period(periods, before_start, after_start))
            continue;
        const std::int64_t before = (*rows)[i - 1].integer(1);
        const std::int64_t after = (*rows)[i].integer(1);
        for (std::int64_t k = 1; k <= missing; ++k) {
            const std::int64_t start = before_start + k * length;
            auto inserted = tx.execute(
                "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, "
                "source, received_at, vee_flags) VALUES (?, ?, ?, ?, ?, ?, 1, 'vee', ?, ?) "
                "ON CONFLICT (mmr_id, start_at) DO NOTHING",
                std::vector<Value>{mmr_id, start, length, static_cast<std::int64_t>(days.day_of(start)),
                                   interpolate(before, after, k, missing),
                                   static_cast<std::int64_t>(kQualityInterpolated), at, kVeeEstimated});
            if (!inserted)
                return inserted.error();
            if (*inserted == 0)
                continue;
            if (auto logged = store::log_change(tx, mmr_id, start, 1); !logged)
                return logged.error();
            ++outcome.estimated;
        }
    }
    return outcome;
}

}  // namespace intervals
