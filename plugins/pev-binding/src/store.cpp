#include "store.hpp"

namespace binding::store {

namespace {

using headend::storage::Row;
using headend::storage::Value;

constexpr const char* kBindingColumns =
    "binding_id, mrid, lfdi, vin, premises_id, kind, rebind, program_id, payer_account, home_utility, status, "
    "reason, esci_device_id, requested_at, updated_at, credential_identity, credential_key, credential_installed, "
    "credential_expiry";

Binding binding_from(const Row& row) {
    Binding binding;
    binding.id = row.integer(0);
    binding.mrid = row.text(1);
    binding.lfdi = row.text(2);
    binding.vin = row.optional_text(3);
    binding.premises_id = row.text(4);
    binding.kind = row.text(5);
    binding.rebind = row.integer(6) != 0;
    binding.program_id = row.text(7);
    binding.payer_account = row.optional_text(8);
    binding.home_utility = row.optional_text(9);
    binding.status = row.text(10);
    binding.reason = row.optional_text(11);
    binding.esci_device_id = row.integer(12);
    binding.requested_at = row.integer(13);
    binding.updated_at = row.integer(14);
    binding.credential_identity = row.optional_text(15);
    if (!row.is_null(16))
        binding.credential_key = row.blob(16).bytes;
    binding.credential_installed = row.integer(17) != 0;
    binding.credential_expiry = row.optional_integer(18);
    return binding;
}

Value optional_value(const std::optional<std::string>& text) {
    return text ? Value(*text) : Value();
}

}  // namespace

std::vector<headend::storage::Migration> migrations() {
    return {{1, "bindings, LFDI pins, audit trail, fallbacks, alarms, EUMD settings, PEV presence",
             R"(CREATE TABLE pev_pins(
                  vin TEXT PRIMARY KEY,
                  lfdi TEXT NOT NULL UNIQUE,
                  premises_id TEXT NOT NULL,
                  pinned_at INTEGER NOT NULL);
                CREATE TABLE bindings(
                  binding_id INTEGER PRIMARY KEY,
                  mrid TEXT NOT NULL UNIQUE,
                  lfdi TEXT NOT NULL,
                  vin TEXT,
                  premises_id TEXT NOT NULL,
                  kind TEXT NOT NULL CHECK (kind IN ('home', 'guest', 'roaming')),
                  rebind INTEGER NOT NULL CHECK (rebind IN (0, 1)),
                  program_id TEXT NOT NULL,
                  payer_account TEXT,
                  home_utility TEXT,
                  status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'acknowledged', 'active', 'ended',
                                                         'refused', 'fallback')),
                  reason TEXT,
                  esci_device_id INTEGER NOT NULL,
                  requested_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL,
                  credential_identity TEXT,
                  credential_key BLOB,
                  credential_installed INTEGER NOT NULL DEFAULT 0,
                  credential_expiry INTEGER);
                -- A PEV has at most one binding in progress or active.
                CREATE UNIQUE INDEX bindings_open_per_pev ON bindings(lfdi)
                  WHERE status IN ('requested', 'confirmed', 'acknowledged', 'active');
                CREATE INDEX bindings_by_vin ON bindings(vin);
                CREATE INDEX bindings_by_premises ON bindings(premises_id, binding_id);
                CREATE TABLE binding_events(
                  event_id INTEGER PRIMARY KEY,
                  binding_id INTEGER REFERENCES bindings(binding_id),
                  vin TEXT,
                  lfdi TEXT,
                  premises_id TEXT NOT NULL,
                  at INTEGER NOT NULL,
                  step TEXT NOT NULL,
                  detail TEXT NOT NULL);
                CREATE INDEX binding_events_by_vin ON binding_events(vin, event_id);
                CREATE INDEX binding_events_by_lfdi ON binding_events(lfdi, event_id);
                CREATE TABLE fallbacks(
                  fallback_id INTEGER PRIMARY KEY,
                  binding_id INTEGER NOT NULL UNIQUE REFERENCES bindings(binding_id),
                  premises_id TEXT NOT NULL,
                  lfdi TEXT NOT NULL,
                  vin TEXT,
                  at INTEGER NOT NULL,
                  reason TEXT NOT NULL);
                CREATE TABLE alarms(
                  alarm_id INTEGER PRIMARY KEY,
                  at INTEGER NOT NULL,
                  kind TEXT NOT NULL,
                  vin TEXT,
                  lfdi TEXT,
                  premises_id TEXT,
                  detail TEXT NOT NULL);
                CREATE TABLE eumd_settings(
                  premises_id TEXT PRIMARY KEY,
                  interval_length INTEGER NOT NULL,
                  config_mrid TEXT NOT NULL,
                  pev_lfdi TEXT,
                  binding_id INTEGER REFERENCES bindings(binding_id),
                  configured_at INTEGER NOT NULL,
                  acknowledged_mrid TEXT,
                  acknowledged_at INTEGER,
                  read_mrid TEXT,
                  reconfigured INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE pev_presence(
                  lfdi TEXT PRIMARY KEY,
                  plugged_in INTEGER NOT NULL,
                  changed_at INTEGER NOT NULL,
                  document TEXT NOT NULL);)"},
            {2, "index bindings by PEV; remember which binding an EUMD acknowledged",
             R"(CREATE INDEX bindings_by_lfdi ON bindings(lfdi, binding_id);
                ALTER TABLE eumd_settings ADD COLUMN acknowledged_binding_id INTEGER;)"},
            {3, "every configuration a premises' EUMD has acknowledged, so a re-binding needs no new one",
             R"(CREATE TABLE eumd_acknowledgements(
                  premises_id TEXT NOT NULL,
                  config_mrid TEXT NOT NULL,
                  acknowledged_at INTEGER NOT NULL,
                  PRIMARY KEY (premises_id, config_mrid));)"},
            {4, "alarms move to the head-end's alarm log, which operators list and clear",
             R"(INSERT INTO alarms_log(raised_at, source, kind, vin, lfdi, premises_id, detail)
                  SELECT at, 'pev-binding', kind, vin, lfdi, premises_id, detail FROM alarms ORDER BY alarm_id;
                DROP TABLE alarms;)"},
            {5, "views for the interval plugin: bindings, and the interval each premises' EUMD is configured for",
             R"(CREATE TABLE binding_defaults(
                  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                  interval_length INTEGER NOT NULL);
                CREATE VIEW pev_bindings_v1 AS
                  SELECT binding_id, lfdi, vin, premises_id, kind, program_id, payer_account, home_utility, status,
                         requested_at, updated_at
                  FROM bindings;
                CREATE VIEW pev_eumd_intervals_v1 AS
                  SELECT p.premises_id, COALESCE(s.interval_length, d.interval_length) AS interval_length
                  FROM pev_premises_v1 p CROSS JOIN binding_defaults d
                  LEFT JOIN eumd_settings s ON s.premises_id = p.premises_id;)"},
            {6, "when each binding was validated (became active), and bindings by payer, for billing",
             // One row per time a binding became active (once, in practice); readers take the earliest. Indexed by
             // binding so a reader asking about one binding reads one row, not the log.
             R"(CREATE INDEX binding_events_by_binding ON binding_events(binding_id, step);
                CREATE INDEX bindings_by_payer ON bindings(payer_account, premises_id);
                CREATE VIEW pev_binding_validations_v1 AS
                  SELECT binding_id, at AS active_at FROM binding_events
                  WHERE step = 'binding.active' AND binding_id IS NOT NULL;)"},
            {7, "a view of each PEV's last PowerStatus (the document as the PEV put it), for the customer portal",
             R"(CREATE VIEW pev_power_status_v1 AS
                  SELECT lfdi, plugged_in, changed_at, document FROM pev_presence;)"}};
}

Result<std::optional<Binding>> binding_where(Transaction& tx, const std::string& condition, std::vector<Value> params) {
    auto rows = tx.query(std::string("SELECT ") + kBindingColumns + " FROM bindings WHERE " + condition +
                             " ORDER BY binding_id DESC LIMIT 1",
                         params);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Binding>();
    return std::optional(binding_from(rows->front()));
}

Result<std::optional<Binding>> open_binding(Transaction& tx, const std::string& lfdi) {
    return binding_where(tx, std::string("lfdi = ? AND status IN ") + kOpen, {lfdi});
}

Result<std::optional<Binding>> latest_binding(Transaction& tx, const std::string& lfdi) {
    return binding_where(tx, "lfdi = ?", {lfdi});
}

Result<std::optional<Binding>> binding_by_id(Transaction& tx, std::int64_t id) {
    return binding_where(tx, "binding_id = ?", {id});
}

Result<std::optional<EumdSettings>> eumd_settings(Transaction& tx, const std::string& premises_id) {
    const std::vector<Value> params = {premises_id};
    auto rows = tx.query(
        "SELECT premises_id, interval_length, config_mrid, pev_lfdi, binding_id, acknowledged_mrid, read_mrid, "
        "reconfigured, acknowledged_binding_id FROM eumd_settings WHERE premises_id = ?",
        params);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<EumdSettings>();
    const Row& row = rows->front();
    EumdSettings settings;
    settings.premises_id = row.text(0);
    settings.interval_length = static_cast<std::uint32_t>(row.integer(1));
    settings.config_mrid = row.text(2);
    settings.pev_lfdi = row.optional_text(3);
    settings.binding_id = row.optional_integer(4);
    settings.acknowledged_mrid = row.optional_text(5);
    settings.read_mrid = row.optional_text(6);
    settings.reconfigured = row.integer(7) != 0;
    settings.acknowledged_binding_id = row.optional_integer(8);
    return std::optional(settings);
}

Result<void> record(Transaction& tx, const Binding* binding, std::int64_t at, const std::string& step,
                    const nlohmann::json& detail) {
    const std::vector<Value> params = {binding ? Value(binding->id) : Value(),
                                       binding ? optional_value(binding->vin) : Value(),
                                       binding ? Value(binding->lfdi) : Value(),
                                       binding ? Value(binding->premises_id) : Value(std::string()),
                                       at,
                                       step,
                                       detail.dump()};
    auto inserted = tx.execute(
        "INSERT INTO binding_events(binding_id, vin, lfdi, premises_id, at, step, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        params);
    if (!inserted)
        return inserted.error();
    return {};
}

Result<void> record_unbound(Transaction& tx, const std::optional<std::string>& lfdi, const std::string& premises_id,
                            std::int64_t at, const std::string& step, const nlohmann::json& detail) {
    const std::vector<Value> params = {optional_value(lfdi), premises_id, at, step, detail.dump()};
    auto inserted = tx.execute(
        "INSERT INTO binding_events(binding_id, vin, lfdi, premises_id, at, step, detail) "
        "VALUES (NULL, NULL, ?, ?, ?, ?, ?)",
        params);
    if (!inserted)
        return inserted.error();
    return {};
}

Result<void> set_status(Transaction& tx, Binding& binding, const std::string& status, std::int64_t at,
                        const std::optional<std::string>& reason, nlohmann::json detail) {
    const std::vector<Value> params = {status, optional_value(reason), at, binding.id};
    auto changed =
        tx.execute("UPDATE bindings SET status = ?, reason = ?, updated_at = ? WHERE binding_id = ?", params);
    if (!changed)
        return changed.error();
    binding.status = status;
    binding.reason = reason;
    binding.updated_at = at;
    if (reason)
        detail["reason"] = *reason;
    return record(tx, &binding, at, "binding." + status, detail);
}

Result<void> record_fallback(Transaction& tx, const Binding& binding, std::int64_t at, const std::string& reason) {
    const std::vector<Value> params = {binding.id, binding.premises_id, binding.lfdi, optional_value(binding.vin), at,
                                       reason};
    auto inserted = tx.execute(
        "INSERT INTO fallbacks(binding_id, premises_id, lfdi, vin, at, reason) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(binding_id) DO NOTHING",
        params);
    if (!inserted)
        return inserted.error();
    return record(tx, &binding, at, "fallback.recorded", {{"reason", reason}});
}

Result<std::map<std::string, std::int64_t>> bindings_by_status(Transaction& tx) {
    auto rows = tx.query("SELECT status, COUNT(*) FROM bindings GROUP BY status");
    if (!rows)
        return rows.error();
    std::map<std::string, std::int64_t> counts;
    for (const auto& row : *rows)
        counts[row.text(0)] = row.integer(1);
    return counts;
}

}  // namespace binding::store
