#include "store.hpp"

#include <algorithm>
#include <functional>
#include <string_view>

namespace intervals::store {

namespace {

using headend::make_error;
using headend::storage::Row;
using headend::storage::Value;

constexpr const char* kMirrorColumns =
    "mup_id, mrid, owner_device_id, premises_id, device_lfdi, role_flags, service_category_kind, status, description, "
    "version, post_rate, created_at";

Mirror mirror_from(const Row& row) {
    Mirror mirror;
    mirror.id = row.integer(0);
    mirror.document.mrid = row.text(1);
    mirror.owner_device_id = row.integer(2);
    mirror.premises_id = row.text(3);
    mirror.document.device_lfdi = row.text(4);
    mirror.document.role_flags = static_cast<std::uint16_t>(row.integer(5));
    mirror.document.service_category_kind = static_cast<std::uint8_t>(row.integer(6));
    mirror.document.status = static_cast<std::uint8_t>(row.integer(7));
    mirror.document.description = row.optional_text(8);
    if (!row.is_null(9))
        mirror.document.version = static_cast<std::uint16_t>(row.integer(9));
    if (!row.is_null(10))
        mirror.document.post_rate = static_cast<std::uint32_t>(row.integer(10));
    mirror.created_at = row.integer(11);
    mirror.document.href = "/mup/" + std::to_string(mirror.id);
    return mirror;
}

Result<std::optional<Mirror>> one_mirror(Transaction& tx, const std::string& condition, std::vector<Value> keys) {
    auto rows =
        tx.query(std::string("SELECT ") + kMirrorColumns + " FROM mirror_usage_points WHERE " + condition, keys);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Mirror>();
    return std::optional(mirror_from(rows->front()));
}

template <typename T>
Value optional_number(const std::optional<T>& number) {
    return number ? Value(static_cast<std::int64_t>(*number)) : Value();
}

template <typename T>
std::optional<T> optional_as(const Row& row, std::size_t i) {
    return row.is_null(i) ? std::nullopt : std::optional(static_cast<T>(row.integer(i)));
}

Value optional_text(const std::optional<std::string>& text) {
    return text ? Value(*text) : Value();
}

constexpr const char* kMeterReadingColumns =
    "mmr_id, mup_id, mrid, description, accumulation_behaviour, commodity, data_qualifier, flow_direction, "
    "interval_length, kind, phase, power_of_ten_multiplier, uom";

MeterReading meter_reading_from(const Row& row) {
    MeterReading reading;
    reading.id = row.integer(0);
    reading.mirror_id = row.integer(1);
    reading.mrid = row.text(2);
    reading.description = row.optional_text(3);
    auto& type = reading.reading_type;
    type.accumulation_behaviour = optional_as<std::uint8_t>(row, 4);
    type.commodity = optional_as<std::uint8_t>(row, 5);
    type.data_qualifier = optional_as<std::uint8_t>(row, 6);
    type.flow_direction = optional_as<std::uint8_t>(row, 7);
    type.interval_length = optional_as<std::uint32_t>(row, 8);
    if (type.interval_length == 0U)
        type.interval_length.reset();  // a register
    type.kind = optional_as<std::uint8_t>(row, 9);
    type.phase = optional_as<std::uint8_t>(row, 10);
    type.power_of_ten_multiplier = optional_as<std::int8_t>(row, 11);
    type.uom = optional_as<std::uint8_t>(row, 12);
    reading.type = IntervalType{type.interval_length.value_or(0), *type.power_of_ten_multiplier};
    return reading;
}

// The viewer's mirrors: its own, the PEV mirrors of it (only those: their deviceLFDI was checked against a binding,
// a premises mirror's is the ESCI's word), its premises' when it is a display.
constexpr const char* kVisible =
    "(owner_device_id = ? OR (device_lfdi = ? AND (role_flags & 4) <> 0) OR (? IS NOT NULL AND premises_id = ?))";

std::vector<Value> visible_params(const Viewer& viewer) {
    const Value premises = viewer.display_premises ? Value(*viewer.display_premises) : Value();
    return {viewer.device_id, viewer.lfdi, premises, premises};
}

StoredInterval interval_from(const Row& row) {
    return {row.integer(0), static_cast<std::uint32_t>(row.integer(1)), row.integer(2),
            static_cast<std::uint16_t>(row.integer(3))};
}

Result<std::int64_t> single_count(Transaction& tx, std::string_view sql, std::vector<Value> params) {
    auto rows = tx.query(sql, params);
    if (!rows)
        return rows.error();
    return rows->front().integer(0);
}

// Runs `statement(first, count)` over [0, total) in chunks of 64, 32, …, 1 rows: multi-row statements of a handful of
// sizes, each prepared once and kept in the connection's statement cache.
Result<void> in_chunks(std::size_t total, const std::function<Result<void>(std::size_t, std::size_t)>& statement) {
    std::size_t done = 0;
    for (std::size_t chunk = 64; chunk > 0; chunk /= 2) {
        for (; total - done >= chunk; done += chunk) {
            if (auto ran = statement(done, chunk); !ran)
                return ran;
        }
    }
    return {};
}

// "row, row, …" `count` times: the VALUES list of a multi-row INSERT.
std::string repeated_rows(std::string_view row, std::size_t count) {
    std::string rows;
    rows.reserve(count * (row.size() + 2));
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0)
            rows += ", ";
        rows += row;
    }
    return rows;
}

}  // namespace

std::vector<headend::storage::Migration> migrations() {
    return {
        {1, "metering mirrors, their reading types, and interval energy stored once per interval",
         R"(CREATE TABLE mirror_usage_points(
                  mup_id INTEGER PRIMARY KEY,
                  mrid TEXT NOT NULL,
                  owner_device_id INTEGER NOT NULL,
                  premises_id TEXT NOT NULL,
                  device_lfdi TEXT NOT NULL,
                  role_flags INTEGER NOT NULL,
                  service_category_kind INTEGER NOT NULL,
                  status INTEGER NOT NULL,
                  description TEXT,
                  version INTEGER,
                  post_rate INTEGER,
                  created_at INTEGER NOT NULL,
                  UNIQUE (owner_device_id, mrid));
                CREATE INDEX mirror_usage_points_by_owner ON mirror_usage_points(owner_device_id, mup_id);
                CREATE INDEX mirror_usage_points_by_device ON mirror_usage_points(device_lfdi);
                CREATE INDEX mirror_usage_points_by_premises ON mirror_usage_points(premises_id, mup_id);
                CREATE TABLE mirror_meter_readings(
                  mmr_id INTEGER PRIMARY KEY,
                  mup_id INTEGER NOT NULL REFERENCES mirror_usage_points(mup_id),
                  mrid TEXT NOT NULL,
                  description TEXT,
                  accumulation_behaviour INTEGER NOT NULL,
                  commodity INTEGER,
                  data_qualifier INTEGER,
                  flow_direction INTEGER,
                  interval_length INTEGER NOT NULL,
                  kind INTEGER NOT NULL,
                  phase INTEGER,
                  power_of_ten_multiplier INTEGER NOT NULL,
                  uom INTEGER NOT NULL,
                  created_at INTEGER NOT NULL,
                  UNIQUE (mup_id, mrid));
                CREATE TABLE intervals(
                  mmr_id INTEGER NOT NULL REFERENCES mirror_meter_readings(mmr_id),
                  start_at INTEGER NOT NULL,
                  duration INTEGER NOT NULL,
                  local_day INTEGER NOT NULL,
                  value_wh INTEGER NOT NULL CHECK (value_wh >= 0),
                  quality_flags INTEGER NOT NULL,
                  version INTEGER NOT NULL,
                  source TEXT NOT NULL,
                  received_at INTEGER NOT NULL,
                  vee_flags INTEGER NOT NULL DEFAULT 0,
                  PRIMARY KEY (mmr_id, start_at));
                CREATE INDEX intervals_by_day ON intervals(mmr_id, local_day, start_at);
                CREATE TABLE interval_versions(
                  mmr_id INTEGER NOT NULL,
                  start_at INTEGER NOT NULL,
                  version INTEGER NOT NULL,
                  value_wh INTEGER NOT NULL,
                  quality_flags INTEGER NOT NULL,
                  source TEXT NOT NULL,
                  received_at INTEGER NOT NULL,
                  replaced_at INTEGER NOT NULL,
                  PRIMARY KEY (mmr_id, start_at, version));
                CREATE TABLE interval_conflicts(
                  mmr_id INTEGER NOT NULL,
                  start_at INTEGER NOT NULL,
                  value_wh INTEGER NOT NULL,
                  quality_flags INTEGER NOT NULL,
                  source TEXT NOT NULL,
                  received_at INTEGER NOT NULL,
                  PRIMARY KEY (mmr_id, start_at, value_wh));
                CREATE TABLE load_mismatches(
                  premises_id TEXT NOT NULL,
                  start_at INTEGER NOT NULL,
                  duration INTEGER NOT NULL,
                  pev_wh INTEGER NOT NULL,
                  premises_wh INTEGER NOT NULL,
                  detected_at INTEGER NOT NULL,
                  PRIMARY KEY (premises_id, start_at));)"},
        {2, "a change log of interval values in commit order, read by the MDM export through views",
         // One row per value an interval takes (its first, and each actual replacing an estimate), numbered by
         // the single writer in commit order: whatever reads up to change N has seen every change before N. The
         // views look up old versions only for the rare value that was replaced (CASE evaluates lazily).
         R"(CREATE TABLE interval_changes(
                  change_id INTEGER PRIMARY KEY,
                  mmr_id INTEGER NOT NULL,
                  start_at INTEGER NOT NULL,
                  version INTEGER NOT NULL,
                  UNIQUE (mmr_id, start_at, version));
                INSERT INTO interval_changes(mmr_id, start_at, version)
                  SELECT mmr_id, start_at, version FROM (
                    SELECT mmr_id, start_at, version, received_at FROM interval_versions
                    UNION ALL SELECT mmr_id, start_at, version, received_at FROM intervals) AS every_version
                  ORDER BY received_at, mmr_id, start_at, version;
                CREATE VIEW interval_changes_v1 AS
                  SELECT c.change_id, c.mmr_id, c.start_at, i.duration,
                         CASE WHEN c.version = i.version THEN i.value_wh
                              ELSE (SELECT v.value_wh FROM interval_versions v WHERE v.mmr_id = c.mmr_id
                                      AND v.start_at = c.start_at AND v.version = c.version) END AS value_wh,
                         CASE WHEN c.version = i.version THEN i.quality_flags
                              ELSE (SELECT v.quality_flags FROM interval_versions v WHERE v.mmr_id = c.mmr_id
                                      AND v.start_at = c.start_at AND v.version = c.version) END AS quality_flags,
                         c.version,
                         CASE WHEN c.version = 1 THEN c.change_id
                              ELSE (SELECT MIN(f.change_id) FROM interval_changes f
                                      WHERE f.mmr_id = c.mmr_id AND f.start_at = c.start_at) END AS first_change,
                         CASE WHEN c.version = i.version THEN NULL
                              ELSE (SELECT MIN(n.change_id) FROM interval_changes n WHERE n.mmr_id = c.mmr_id
                                      AND n.start_at = c.start_at AND n.version > c.version) END AS next_change
                  FROM interval_changes c
                  JOIN intervals i ON i.mmr_id = c.mmr_id AND i.start_at = c.start_at;
                CREATE VIEW interval_changes_head_v1 AS
                  SELECT COALESCE(MAX(change_id), 0) AS last_change FROM interval_changes;
                CREATE VIEW intervals_v1 AS
                  SELECT mmr_id, start_at, duration, value_wh, quality_flags, version FROM intervals;
                CREATE VIEW interval_channels_v1 AS
                  SELECT r.mmr_id, u.mup_id, u.mrid AS usage_point_mrid, r.mrid AS meter_reading_mrid, u.premises_id,
                         u.device_lfdi, u.role_flags, r.interval_length
                  FROM mirror_meter_readings r
                  JOIN mirror_usage_points u ON u.mup_id = r.mup_id;)"},
        {3, "per-premises limits of the EV circuit for the spike check",
         R"(CREATE TABLE premises_ev_limits(
                  premises_id TEXT PRIMARY KEY,
                  max_power_w INTEGER NOT NULL CHECK (max_power_w > 0),
                  updated_at INTEGER NOT NULL);)"},
        {4, "register readings (a meter's running total) and the sum checks of the intervals between them",
         // A register is a meter reading of interval_length 0. Each span between two of its readings is checked
         // once, when its intervals are all actual readings.
         R"(CREATE TABLE register_readings(
                  mmr_id INTEGER NOT NULL REFERENCES mirror_meter_readings(mmr_id),
                  read_at INTEGER NOT NULL,
                  value_wh INTEGER NOT NULL CHECK (value_wh >= 0),
                  source TEXT NOT NULL,
                  received_at INTEGER NOT NULL,
                  PRIMARY KEY (mmr_id, read_at));
                CREATE TABLE sum_checks(
                  mmr_id INTEGER NOT NULL REFERENCES mirror_meter_readings(mmr_id),
                  from_at INTEGER NOT NULL,
                  to_at INTEGER NOT NULL,
                  register_wh INTEGER NOT NULL,
                  interval_wh INTEGER NOT NULL,
                  passed INTEGER NOT NULL,
                  checked_at INTEGER NOT NULL,
                  PRIMARY KEY (mmr_id, from_at, to_at));)"},
        {5, "the load mismatches that hold a premises' PEV incentive until an operator clears their alarm (billing)",
         R"(CREATE VIEW interval_load_holds_v1 AS
                  SELECT m.premises_id, m.start_at, m.duration, a.raised_at, a.cleared_at
                  FROM load_mismatches m
                  JOIN alarms_log a ON a.source = 'interval-collection'
                   AND a.alarm_key = 'load:' || m.premises_id || ':' || CAST(m.start_at AS TEXT);)"}};
}

Result<std::optional<std::int64_t>> ev_limit(Transaction& tx, const std::string& premises_id) {
    auto rows =
        tx.query("SELECT max_power_w FROM premises_ev_limits WHERE premises_id = ?", std::vector<Value>{premises_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<std::int64_t>();
    return std::optional(rows->front().integer(0));
}

Result<void> set_ev_limit(Transaction& tx, const std::string& premises_id, std::optional<std::int64_t> max_power_w,
                          std::int64_t at) {
    auto changed =
        max_power_w
            ? tx.execute(
                  "INSERT INTO premises_ev_limits(premises_id, max_power_w, updated_at) VALUES (?, ?, ?) "
                  "ON CONFLICT (premises_id) DO UPDATE SET max_power_w = excluded.max_power_w, "
                  "updated_at = excluded.updated_at",
                  std::vector<Value>{premises_id, *max_power_w, at})
            : tx.execute("DELETE FROM premises_ev_limits WHERE premises_id = ?", std::vector<Value>{premises_id});
    if (!changed)
        return changed.error();
    return {};
}

Result<void> log_change(Transaction& tx, std::int64_t meter_reading_id, std::int64_t start, std::int64_t version) {
    auto logged = tx.execute("INSERT INTO interval_changes(mmr_id, start_at, version) VALUES (?, ?, ?)",
                             std::vector<Value>{meter_reading_id, start, version});
    if (!logged)
        return logged.error();
    return {};
}

Result<std::optional<Mirror>> mirror_by_id(Transaction& tx, std::int64_t id) {
    return one_mirror(tx, "mup_id = ?", {id});
}

Result<std::optional<Mirror>> mirror_by_mrid(Transaction& tx, std::int64_t owner_device_id, const std::string& mrid) {
    return one_mirror(tx, "owner_device_id = ? AND mrid = ?", {owner_device_id, mrid});
}

Result<std::vector<Mirror>> mirrors_of(Transaction& tx, std::int64_t owner_device_id, std::size_t start,
                                       std::size_t limit) {
    auto rows = tx.query(
        std::string("SELECT ") + kMirrorColumns +
            " FROM mirror_usage_points WHERE owner_device_id = ? ORDER BY mup_id LIMIT ? OFFSET ?",
        std::vector<Value>{owner_device_id, static_cast<std::int64_t>(limit), static_cast<std::int64_t>(start)});
    if (!rows)
        return rows.error();
    std::vector<Mirror> mirrors;
    for (const auto& row : *rows)
        mirrors.push_back(mirror_from(row));
    return mirrors;
}

Result<std::int64_t> count_mirrors_of(Transaction& tx, std::int64_t owner_device_id) {
    auto rows = tx.query("SELECT COUNT(*) FROM mirror_usage_points WHERE owner_device_id = ?",
                         std::vector<Value>{owner_device_id});
    if (!rows)
        return rows.error();
    return rows->front().integer(0);
}

Result<std::int64_t> insert_mirror(Transaction& tx, const Mirror& mirror) {
    const auto& document = mirror.document;
    auto rows = tx.query(
        "INSERT INTO mirror_usage_points(mrid, owner_device_id, premises_id, device_lfdi, role_flags, "
        "service_category_kind, status, description, version, post_rate, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING mup_id",
        std::vector<Value>{document.mrid, mirror.owner_device_id, mirror.premises_id, document.device_lfdi,
                           static_cast<std::int64_t>(document.role_flags),
                           static_cast<std::int64_t>(document.service_category_kind),
                           static_cast<std::int64_t>(document.status), optional_text(document.description),
                           optional_number(document.version), optional_number(document.post_rate), mirror.created_at});
    if (!rows)
        return rows.error();
    return rows->front().integer(0);
}

Result<std::optional<MeterReading>> meter_reading(Transaction& tx, std::int64_t mirror_id, const std::string& mrid) {
    auto rows = tx.query(
        std::string("SELECT ") + kMeterReadingColumns + " FROM mirror_meter_readings WHERE mup_id = ? AND mrid = ?",
        std::vector<Value>{mirror_id, mrid});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<MeterReading>();
    return std::optional(meter_reading_from(rows->front()));
}

Result<std::vector<MeterReading>> meter_readings_of(Transaction& tx, std::int64_t mirror_id) {
    auto rows = tx.query(
        std::string("SELECT ") + kMeterReadingColumns + " FROM mirror_meter_readings WHERE mup_id = ? ORDER BY mmr_id",
        std::vector<Value>{mirror_id});
    if (!rows)
        return rows.error();
    std::vector<MeterReading> readings;
    for (const auto& row : *rows)
        readings.push_back(meter_reading_from(row));
    return readings;
}

Result<std::int64_t> insert_meter_reading(Transaction& tx, const MeterReading& reading, std::int64_t at) {
    const auto& type = reading.reading_type;
    auto rows = tx.query(
        "INSERT INTO mirror_meter_readings(mup_id, mrid, description, accumulation_behaviour, commodity, "
        "data_qualifier, flow_direction, interval_length, kind, phase, power_of_ten_multiplier, uom, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING mmr_id",
        std::vector<Value>{reading.mirror_id, reading.mrid, optional_text(reading.description),
                           optional_number(type.accumulation_behaviour), optional_number(type.commodity),
                           optional_number(type.data_qualifier), optional_number(type.flow_direction),
                           static_cast<std::int64_t>(reading.type.interval_length), optional_number(type.kind),
                           optional_number(type.phase), static_cast<std::int64_t>(reading.type.power_of_ten),
                           optional_number(type.uom), at});
    if (!rows)
        return rows.error();
    return rows->front().integer(0);
}

Result<Applied> apply(Transaction& tx, headend::plugin::Alarms& alarms, const Origin& origin,
                      const std::vector<IntervalReading>& readings) {
    Applied applied;
    const std::int64_t mmr = origin.meter_reading.id;
    // The common case, new intervals, is two multi-row statements per chunk: insert those not stored yet, then log
    // them in start order. Only the rest is looked at one by one.
    std::vector<std::int64_t> new_starts;
    auto inserted = in_chunks(readings.size(), [&](std::size_t first, std::size_t count) -> Result<void> {
        std::vector<Value> values;
        values.reserve(count * 8);
        for (std::size_t i = first; i < first + count; ++i) {
            const auto& reading = readings[i];
            values.insert(values.end(), {mmr, reading.start, static_cast<std::int64_t>(reading.duration),
                                         static_cast<std::int64_t>(origin.days.day_of(reading.start)), reading.value_wh,
                                         static_cast<std::int64_t>(reading.quality_flags), origin.source, origin.at});
        }
        auto rows = tx.query(
            "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, "
            "version, source, received_at) VALUES " +
                repeated_rows("(?, ?, ?, ?, ?, ?, 1, ?, ?)", count) +
                " ON CONFLICT (mmr_id, start_at) DO NOTHING RETURNING start_at",
            values);
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            new_starts.push_back(row.integer(0));
        return {};
    });
    if (!inserted)
        return inserted.error();
    std::sort(new_starts.begin(), new_starts.end());
    auto changes_logged = in_chunks(new_starts.size(), [&](std::size_t first, std::size_t count) -> Result<void> {
        std::vector<Value> values;
        values.reserve(count * 2);
        for (std::size_t i = first; i < first + count; ++i)
            values.insert(values.end(), {mmr, new_starts[i]});
        auto done = tx.execute(
            "INSERT INTO interval_changes(mmr_id, start_at, version) VALUES " + repeated_rows("(?, ?, 1)", count),
            values);
        if (!done)
            return done.error();
        return {};
    });
    if (!changes_logged)
        return changes_logged.error();
    applied.stored = new_starts.size();
    for (const auto& reading : readings) {
        if (std::binary_search(new_starts.begin(), new_starts.end(), reading.start))
            continue;
        auto rows = tx.query("SELECT value_wh, quality_flags, version FROM intervals WHERE mmr_id = ? AND start_at = ?",
                             std::vector<Value>{mmr, reading.start});
        if (!rows)
            return rows.error();
        const IntervalReading stored{reading.start, reading.duration, rows->front().integer(0),
                                     static_cast<std::uint16_t>(rows->front().integer(1))};
        const std::int64_t version = rows->front().integer(2);
        if (stored.estimated() && !reading.estimated()) {
            auto kept = tx.execute(
                "INSERT INTO interval_versions(mmr_id, start_at, version, value_wh, quality_flags, source, "
                "received_at, replaced_at) SELECT mmr_id, start_at, version, value_wh, quality_flags, source, "
                "received_at, ? FROM intervals WHERE mmr_id = ? AND start_at = ?",
                std::vector<Value>{origin.at, mmr, reading.start});
            if (!kept)
                return kept.error();
            auto updated = tx.execute(
                "UPDATE intervals SET value_wh = ?, quality_flags = ?, version = ?, source = ?, received_at = ?, "
                "vee_flags = 0 WHERE mmr_id = ? AND start_at = ?",
                std::vector<Value>{reading.value_wh, static_cast<std::int64_t>(reading.quality_flags), version + 1,
                                   origin.source, origin.at, mmr, reading.start});
            if (!updated)
                return updated.error();
            if (auto logged = log_change(tx, mmr, reading.start, version + 1); !logged)
                return logged.error();
            ++applied.replaced;
            continue;
        }
        // The same value again, or an estimate where an actual stands: nothing changes.
        if (stored.value_wh == reading.value_wh || (reading.estimated() && !stored.estimated())) {
            ++applied.unchanged;
            continue;
        }
        auto kept = tx.execute(
            "INSERT INTO interval_conflicts(mmr_id, start_at, value_wh, quality_flags, source, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mmr_id, start_at, value_wh) DO NOTHING",
            std::vector<Value>{mmr, reading.start, reading.value_wh, static_cast<std::int64_t>(reading.quality_flags),
                               origin.source, origin.at});
        if (!kept)
            return kept.error();
        if (auto raised = raise_conflict(tx, alarms, origin, "interval_conflict", "reading", reading.start,
                                         reading.value_wh, stored.value_wh);
            !raised)
            return raised.error();
        ++applied.conflicts;
    }
    return applied;
}

Result<void> raise_conflict(Transaction& tx, headend::plugin::Alarms& alarms, const Origin& origin,
                            const std::string& kind, const std::string& what, std::int64_t at_key,
                            std::int64_t received_wh, std::int64_t kept_wh) {
    const std::string where = "mirror " + origin.mirror.document.mrid + " " + what + " " + origin.meter_reading.mrid +
                              " at " + std::to_string(at_key);
    auto raised = alarms.raise(tx, {.kind = kind,
                                    .detail = where + ": " + std::to_string(received_wh) + " Wh received, " +
                                              std::to_string(kept_wh) + " Wh stored and kept",
                                    .key = kind + ":" + std::to_string(origin.meter_reading.id) + ":" +
                                           std::to_string(at_key) + ":" + std::to_string(received_wh),
                                    .vin = std::nullopt,
                                    .lfdi = origin.mirror.document.device_lfdi,
                                    .premises_id = origin.mirror.premises_id,
                                    .at = origin.at});
    if (!raised)
        return raised.error();
    return {};
}

bool may_view(const Mirror& mirror, const Viewer& viewer) {
    const bool pev_mirror = (mirror.document.role_flags & sep::kRoleIsPev) != 0;
    return mirror.owner_device_id == viewer.device_id || (pev_mirror && mirror.document.device_lfdi == viewer.lfdi) ||
           (viewer.display_premises && mirror.premises_id == *viewer.display_premises);
}

Result<std::vector<Mirror>> visible_mirrors(Transaction& tx, const Viewer& viewer, std::size_t start,
                                            std::size_t limit) {
    auto params = visible_params(viewer);
    params.emplace_back(static_cast<std::int64_t>(limit));
    params.emplace_back(static_cast<std::int64_t>(start));
    auto rows = tx.query(std::string("SELECT ") + kMirrorColumns + " FROM mirror_usage_points WHERE " + kVisible +
                             " ORDER BY mup_id LIMIT ? OFFSET ?",
                         params);
    if (!rows)
        return rows.error();
    std::vector<Mirror> mirrors;
    for (const auto& row : *rows)
        mirrors.push_back(mirror_from(row));
    return mirrors;
}

Result<std::int64_t> count_visible_mirrors(Transaction& tx, const Viewer& viewer) {
    return single_count(tx, std::string("SELECT COUNT(*) FROM mirror_usage_points WHERE ") + kVisible,
                        visible_params(viewer));
}

Result<std::optional<StoredInterval>> latest_reading(Transaction& tx, const MeterReading& meter_reading) {
    auto rows = tx.query(meter_reading.type.is_register()
                             ? "SELECT read_at, 0, value_wh, 0 FROM register_readings WHERE mmr_id = ? "
                               "ORDER BY read_at DESC LIMIT 1"
                             : "SELECT start_at, duration, value_wh, quality_flags FROM intervals WHERE mmr_id = ? "
                               "ORDER BY start_at DESC LIMIT 1",
                         std::vector<Value>{meter_reading.id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<StoredInterval>();
    return std::optional(interval_from(rows->front()));
}

Result<std::vector<std::int32_t>> days_with_data(Transaction& tx, std::int64_t meter_reading_id, std::size_t start,
                                                 std::size_t limit) {
    auto rows = tx.query(
        "SELECT DISTINCT local_day FROM intervals WHERE mmr_id = ? ORDER BY local_day DESC LIMIT ? OFFSET ?",
        std::vector<Value>{meter_reading_id, static_cast<std::int64_t>(limit), static_cast<std::int64_t>(start)});
    if (!rows)
        return rows.error();
    std::vector<std::int32_t> days;
    for (const auto& row : *rows)
        days.push_back(static_cast<std::int32_t>(row.integer(0)));
    return days;
}

Result<std::int64_t> count_days(Transaction& tx, std::int64_t meter_reading_id) {
    return single_count(tx, "SELECT COUNT(DISTINCT local_day) FROM intervals WHERE mmr_id = ?", {meter_reading_id});
}

Result<bool> day_has_data(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day) {
    auto count = count_intervals_of_day(tx, meter_reading_id, day);
    if (!count)
        return count.error();
    return *count > 0;
}

Result<std::vector<StoredInterval>> intervals_of_day(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day,
                                                     std::size_t start, std::size_t limit) {
    auto rows = tx.query(
        "SELECT start_at, duration, value_wh, quality_flags FROM intervals WHERE mmr_id = ? AND local_day = ? "
        "ORDER BY start_at LIMIT ? OFFSET ?",
        std::vector<Value>{meter_reading_id, static_cast<std::int64_t>(day), static_cast<std::int64_t>(limit),
                           static_cast<std::int64_t>(start)});
    if (!rows)
        return rows.error();
    std::vector<StoredInterval> intervals;
    for (const auto& row : *rows)
        intervals.push_back(interval_from(row));
    return intervals;
}

Result<std::int64_t> count_intervals_of_day(Transaction& tx, std::int64_t meter_reading_id, std::int32_t day) {
    return single_count(tx, "SELECT COUNT(*) FROM intervals WHERE mmr_id = ? AND local_day = ?",
                        {meter_reading_id, static_cast<std::int64_t>(day)});
}

}  // namespace intervals::store
