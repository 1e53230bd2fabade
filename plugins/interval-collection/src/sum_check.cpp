#include "sum_check.hpp"

#include <cstdlib>

namespace intervals {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

// The interval series of a mirror (its meter readings of interval data), each checked as one.
constexpr const char* kSeriesOf = "SELECT mmr_id FROM mirror_meter_readings WHERE mup_id = ? AND interval_length > 0";

struct Span {
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::int64_t register_wh = 0;  // how far the register moved
};

// Consecutive register readings of register `mmr_id` whose span touches [from, to]: from the last one before `from`
// to the first one after `to` (a new reading at t closes the span before it and opens the one after).
Result<std::vector<Span>> spans_touching(Transaction& tx, std::int64_t mmr_id, std::int64_t from, std::int64_t to) {
    auto rows = tx.query(
        "SELECT read_at, value_wh FROM register_readings WHERE mmr_id = ? "
        "AND read_at >= COALESCE((SELECT MAX(read_at) FROM register_readings WHERE mmr_id = ? AND read_at < ?), ?) "
        "AND read_at <= COALESCE((SELECT MIN(read_at) FROM register_readings WHERE mmr_id = ? AND read_at > ?), ?) "
        "ORDER BY read_at",
        std::vector<Value>{mmr_id, mmr_id, from, from, mmr_id, to, to});
    if (!rows)
        return rows.error();
    std::vector<Span> spans;
    for (std::size_t i = 1; i < rows->size(); ++i)
        spans.push_back(
            {(*rows)[i - 1].integer(0), (*rows)[i].integer(0), (*rows)[i].integer(1) - (*rows)[i - 1].integer(1)});
    return spans;
}

}  // namespace

Result<void> check_register_grid(Transaction& tx, std::int64_t mirror_id,
                                 const std::vector<RegisterReading>& readings) {
    auto lengths =
        tx.query("SELECT DISTINCT interval_length FROM mirror_meter_readings WHERE mup_id = ? AND interval_length > 0",
                 std::vector<Value>{mirror_id});
    if (!lengths)
        return lengths.error();
    for (const auto& row : *lengths) {
        const std::int64_t length = row.integer(0);
        for (const auto& reading : readings) {
            if (reading.at % length != 0)
                return make_error("reading.refused", "the register reading at " + std::to_string(reading.at) +
                                                         " is not on the " + std::to_string(length) +
                                                         " s grid of this mirror's intervals");
        }
    }
    return {};
}

Result<void> check_new_meter_reading(Transaction& tx, std::int64_t mirror_id, const IntervalType& type) {
    if (type.is_register()) {
        auto existing =
            tx.query("SELECT mrid FROM mirror_meter_readings WHERE mup_id = ? AND interval_length = 0 LIMIT 1",
                     std::vector<Value>{mirror_id});
        if (!existing)
            return existing.error();
        if (!existing->empty())
            return make_error("reading.refused", "this mirror has a register already (meter reading " +
                                                     existing->front().text(0) + "); one register per mirror");
        return {};
    }
    const std::int64_t length = type.interval_length;
    auto off_grid = tx.query(
        "SELECT r.read_at FROM register_readings r JOIN mirror_meter_readings m ON m.mmr_id = r.mmr_id "
        "WHERE m.mup_id = ? AND r.read_at % ? <> 0 LIMIT 1",
        std::vector<Value>{mirror_id, length});
    if (!off_grid)
        return off_grid.error();
    if (!off_grid->empty())
        return make_error("reading.refused", "the register reading at " + std::to_string(off_grid->front().integer(0)) +
                                                 " is not on the " + std::to_string(length) +
                                                 " s grid of the new interval series");
    return {};
}

Result<RegistersApplied> apply_registers(Transaction& tx, headend::plugin::Alarms& alarms, const store::Origin& origin,
                                         const std::vector<RegisterReading>& readings) {
    RegistersApplied applied;
    const std::int64_t mmr = origin.meter_reading.id;
    for (const auto& reading : readings) {
        auto inserted = tx.execute(
            "INSERT INTO register_readings(mmr_id, read_at, value_wh, source, received_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (mmr_id, read_at) DO NOTHING",
            std::vector<Value>{mmr, reading.at, reading.value_wh, origin.source, origin.at});
        if (!inserted)
            return inserted.error();
        if (*inserted == 1) {
            ++applied.stored;
            continue;
        }
        auto stored = tx.query("SELECT value_wh FROM register_readings WHERE mmr_id = ? AND read_at = ?",
                               std::vector<Value>{mmr, reading.at});
        if (!stored)
            return stored.error();
        const std::int64_t kept = stored->front().integer(0);
        if (kept == reading.value_wh) {
            ++applied.unchanged;
            continue;
        }
        if (auto raised =
                raise_conflict(tx, alarms, origin, "register_conflict", "register", reading.at, reading.value_wh, kept);
            !raised)
            return raised.error();
        ++applied.conflicts;
    }
    return applied;
}

Result<std::size_t> check_sums(Transaction& tx, headend::plugin::Alarms& alarms, const store::Mirror& mirror,
                               std::int64_t from, std::int64_t to, const SumCheckSettings& settings, std::int64_t at) {
    auto registers = tx.query(
        "SELECT mmr_id, mrid, power_of_ten_multiplier FROM mirror_meter_readings WHERE mup_id = ? "
        "AND interval_length = 0",
        std::vector<Value>{mirror.id});
    if (!registers)
        return registers.error();
    std::size_t failures = 0;
    for (const auto& register_row : *registers) {
        const std::int64_t mmr = register_row.integer(0);
        const IntervalType type{0, static_cast<std::int8_t>(register_row.integer(2))};
        auto spans = spans_touching(tx, mmr, from, to);
        if (!spans)
            return spans.error();
        for (const auto& span : *spans) {
            auto done = tx.query("SELECT 1 FROM sum_checks WHERE mmr_id = ? AND from_at = ? AND to_at = ?",
                                 std::vector<Value>{mmr, span.from, span.to});
            if (!done)
                return done.error();
            if (!done->empty())
                continue;
            auto sums = tx.query(std::string("SELECT COALESCE(SUM(duration), 0), COALESCE(SUM(value_wh), 0), "
                                             "COALESCE(SUM(CASE WHEN (quality_flags & 12) <> 0 THEN 1 ELSE 0 END), 0) "
                                             "FROM intervals WHERE mmr_id IN (") +
                                     kSeriesOf + ") AND start_at >= ? AND start_at < ? AND start_at + duration <= ?",
                                 std::vector<Value>{mirror.id, span.from, span.to, span.to});
            if (!sums)
                return sums.error();
            const auto& row = sums->front();
            // Only a span of actual readings, all there, says anything about the meter.
            if (row.integer(0) != span.to - span.from || row.integer(2) != 0)
                continue;
            const std::int64_t interval_wh = row.integer(1);
            const bool passed =
                std::llabs(span.register_wh - interval_wh) <= type.resolution_wh() + settings.tolerance_wh;
            auto recorded = tx.execute(
                "INSERT INTO sum_checks(mmr_id, from_at, to_at, register_wh, interval_wh, passed, checked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                std::vector<Value>{mmr, span.from, span.to, span.register_wh, interval_wh,
                                   static_cast<std::int64_t>(passed ? 1 : 0), at});
            if (!recorded)
                return recorded.error();
            if (passed)
                continue;
            ++failures;
            auto flagged = tx.execute(std::string("UPDATE intervals SET vee_flags = vee_flags | ? WHERE mmr_id IN (") +
                                          kSeriesOf + ") AND start_at >= ? AND start_at < ?",
                                      std::vector<Value>{kVeeSumCheck, mirror.id, span.from, span.to});
            if (!flagged)
                return flagged.error();
            auto raised = alarms.raise(
                tx,
                {.kind = "sum_check",
                 .detail = "mirror " + mirror.document.mrid + " register " + register_row.text(1) + ": " +
                           std::to_string(span.register_wh) + " Wh from " + std::to_string(span.from) + " to " +
                           std::to_string(span.to) + ", but its intervals sum to " + std::to_string(interval_wh) +
                           " Wh",
                 .key = "sum:" + std::to_string(mmr) + ":" + std::to_string(span.from) + ":" + std::to_string(span.to),
                 .vin = std::nullopt,
                 .lfdi = mirror.document.device_lfdi,
                 .premises_id = mirror.premises_id,
                 .at = at});
            if (!raised)
                return raised.error();
        }
    }
    return failures;
}

}  // namespace intervals
