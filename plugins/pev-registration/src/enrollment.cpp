#include "pev/enrollment.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "pev/customer_records.hpp"
#include "pev/vin.hpp"

namespace pev {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Row;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr const char* kColumns =
    "enrollment_id, vin, account_id, customer_id, premises_id, program_id, allow_guest_charging, "
    "guest_charging_payer, allow_roaming, channel, enrolled_at, updated_at";

Enrollment from_row(const Row& row) {
    Enrollment enrollment;
    enrollment.id = row.integer(0);
    enrollment.vin = row.text(1);
    enrollment.account_id = row.text(2);
    enrollment.customer_id = row.text(3);
    enrollment.premises_id = row.text(4);
    enrollment.program_id = row.text(5);
    enrollment.preferences.allow_guest_charging = row.integer(6) != 0;
    enrollment.preferences.guest_charging_payer = parse_guest_payer(row.text(7)).value_or(GuestPayer::Owner);
    enrollment.preferences.allow_roaming = row.integer(8) != 0;
    enrollment.channel = row.text(9);
    enrollment.enrolled_at = row.integer(10);
    enrollment.updated_at = row.integer(11);
    return enrollment;
}

Result<std::optional<Enrollment>> current(Transaction& tx, const std::string& vin) {
    const std::vector<Value> key = {vin};
    auto rows =
        tx.query(std::string("SELECT ") + kColumns + " FROM enrollments WHERE vin = ? AND ended_at IS NULL", key);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<Enrollment>();
    return std::optional(from_row(rows->front()));
}

// The VIN's current enrollment, or enrollment.not_found.
Result<Enrollment> enrolled(Transaction& tx, const std::string& vin) {
    auto existing = current(tx, vin);
    if (!existing)
        return existing.error();
    if (!*existing)
        return make_error("enrollment.not_found", "VIN " + vin + " is not enrolled");
    return std::move(**existing);
}

Result<void> record_event(Transaction& tx, std::int64_t enrollment_id, std::int64_t at, const std::string& channel,
                          const std::string& action, const nlohmann::json& detail) {
    const std::vector<Value> values = {enrollment_id, at, channel, action, detail.dump()};
    auto inserted = tx.execute(
        "INSERT INTO enrollment_events(enrollment_id, at, channel, action, detail) VALUES (?, ?, ?, ?, ?)", values);
    if (!inserted)
        return inserted.error();
    return {};
}

nlohmann::json preferences_json(const Preferences& preferences) {
    return {{"allow_guest_charging", preferences.allow_guest_charging},
            {"guest_charging_payer", to_string(preferences.guest_charging_payer)},
            {"allow_roaming", preferences.allow_roaming}};
}

Result<std::string> require_vin(const std::string& text) {
    auto vin = validate_vin(text);
    if (!vin)
        return vin.error();
    return std::move(*vin);
}

// The account exists, the customer holds it, and the premises is one of its premises.
Result<void> authenticate(Transaction& tx, const EnrollmentRequest& request) {
    const std::vector<Value> account_key = {request.account_id};
    auto account = tx.query("SELECT customer_id FROM cis_accounts WHERE account_id = ?", account_key);
    if (!account)
        return account.error();
    if (account->empty())
        return make_error("enrollment.unknown_account",
                          "account '" + request.account_id + "' is not in the customer records");
    if (account->front().text(0) != request.customer_id)
        return make_error("enrollment.customer_mismatch",
                          "customer '" + request.customer_id + "' does not hold account '" + request.account_id + "'");
    const std::vector<Value> premises_key = {request.premises_id};
    auto premises = tx.query("SELECT account_id FROM cis_premises WHERE premises_id = ?", premises_key);
    if (!premises)
        return premises.error();
    if (premises->empty())
        return make_error("enrollment.unknown_premises",
                          "premises '" + request.premises_id + "' is not in the customer records");
    if (premises->front().text(0) != request.account_id)
        return make_error(
            "enrollment.premises_mismatch",
            "premises '" + request.premises_id + "' does not belong to account '" + request.account_id + "'");
    return {};
}

}  // namespace

std::string_view to_string(GuestPayer payer) {
    return payer == GuestPayer::Owner ? "owner" : "host";
}

std::optional<GuestPayer> parse_guest_payer(std::string_view text) {
    if (text == "owner")
        return GuestPayer::Owner;
    if (text == "host")
        return GuestPayer::Host;
    return std::nullopt;
}

std::vector<headend::storage::Migration> enrollment_migrations() {
    return {
        {2, "PEV enrollments, their history, and the view other plugins read",
         R"(CREATE TABLE enrollments(
                  enrollment_id INTEGER PRIMARY KEY,
                  vin TEXT NOT NULL,
                  account_id TEXT NOT NULL REFERENCES cis_accounts(account_id),
                  customer_id TEXT NOT NULL,
                  premises_id TEXT NOT NULL REFERENCES cis_premises(premises_id),
                  program_id TEXT NOT NULL,
                  allow_guest_charging INTEGER NOT NULL CHECK (allow_guest_charging IN (0, 1)),
                  guest_charging_payer TEXT NOT NULL CHECK (guest_charging_payer IN ('owner', 'host')),
                  allow_roaming INTEGER NOT NULL CHECK (allow_roaming IN (0, 1)),
                  channel TEXT NOT NULL,
                  enrolled_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL,
                  ended_at INTEGER);
                -- One current enrollment per VIN; ended ones stay for history.
                CREATE UNIQUE INDEX enrollments_current_vin ON enrollments(vin) WHERE ended_at IS NULL;
                CREATE INDEX enrollments_by_premises ON enrollments(premises_id) WHERE ended_at IS NULL;
                CREATE TABLE enrollment_events(
                  event_id INTEGER PRIMARY KEY,
                  enrollment_id INTEGER NOT NULL REFERENCES enrollments(enrollment_id),
                  at INTEGER NOT NULL,
                  channel TEXT NOT NULL,
                  action TEXT NOT NULL CHECK (action IN ('enrolled', 'changed', 'unenrolled')),
                  detail TEXT NOT NULL);
                CREATE VIEW pev_enrollments_v1 AS
                  SELECT enrollment_id, vin, account_id, customer_id, premises_id, program_id, allow_guest_charging,
                         guest_charging_payer, allow_roaming, enrolled_at
                  FROM enrollments WHERE ended_at IS NULL;)"},
        {3, "the premises view other plugins read",
         R"(-- hosts_guests: a current enrollment of the premises allows guest charging, so the premises hosts guests.
                CREATE VIEW pev_premises_v1 AS
                  SELECT p.premises_id, p.account_id, p.default_rate,
                         EXISTS(SELECT 1 FROM enrollments e WHERE e.premises_id = p.premises_id AND e.ended_at IS NULL
                                AND e.allow_guest_charging = 1) AS hosts_guests
                  FROM cis_premises p;)"}};
}

std::vector<headend::storage::Migration> registration_migrations() {
    auto all = customer_record_migrations();
    for (auto& migration : enrollment_migrations())
        all.push_back(std::move(migration));
    for (auto& migration : catalog_version_migrations())
        all.push_back(std::move(migration));
    // One numbering for the component, whichever file a migration lives in.
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return all;
}

Result<void> Enrollments::check_program(const std::string& program_id) const {
    // Versions keep every program of the ones before, so the latest names them all.
    const tariff::Versions versions = catalog_.snapshot();
    const tariff::Program* program = versions.latest().catalog().find(program_id);
    if (program == nullptr)
        return make_error("enrollment.unknown_program", "no program '" + program_id + "'");
    if (!program->enrollable)
        return make_error("enrollment.program_not_enrollable",
                          "program '" + program_id + "' is a premises rate, not a PEV program");
    return {};
}

Result<Enrolled> Enrollments::enroll(const EnrollmentRequest& request) {
    auto vin = require_vin(request.vin);
    if (!vin)
        return vin.error();
    if (auto program = check_program(request.program_id); !program)
        return program.error();
    const std::int64_t now = clock_.now();
    Enrolled outcome;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        if (auto authentic = authenticate(tx, request); !authentic)
            return authentic;
        auto existing = current(tx, *vin);
        if (!existing)
            return existing.error();
        if (*existing) {
            const Enrollment& found = **existing;
            if (found.account_id == request.account_id && found.customer_id == request.customer_id &&
                found.premises_id == request.premises_id && found.program_id == request.program_id &&
                found.preferences == request.preferences) {
                outcome = {found, false};
                return {};
            }
            return make_error("enrollment.already_enrolled", "VIN " + *vin + " is already enrolled at premises '" +
                                                                 found.premises_id + "'; change or unenroll it first");
        }
        const auto& preferences = request.preferences;
        const std::vector<Value> values = {*vin,
                                           request.account_id,
                                           request.customer_id,
                                           request.premises_id,
                                           request.program_id,
                                           std::int64_t{preferences.allow_guest_charging},
                                           std::string(to_string(preferences.guest_charging_payer)),
                                           std::int64_t{preferences.allow_roaming},
                                           request.channel,
                                           now,
                                           now};
        auto inserted = tx.execute(
            "INSERT INTO enrollments(vin, account_id, customer_id, premises_id, program_id, allow_guest_charging, "
            "guest_charging_payer, allow_roaming, channel, enrolled_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values);
        if (!inserted)
            return inserted.error();
        const std::int64_t id = tx.last_insert_id();
        nlohmann::json detail = preferences_json(preferences);
        detail["program_id"] = request.program_id;
        detail["premises_id"] = request.premises_id;
        if (auto event = record_event(tx, id, now, request.channel, "enrolled", detail); !event)
            return event;
        auto stored = current(tx, *vin);
        if (!stored)
            return stored.error();
        outcome = {**stored, true};
        return {};
    });
    if (!written)
        return written.error();
    return outcome;
}

Result<Enrollment> Enrollments::find(const std::string& vin_text) const {
    auto vin = require_vin(vin_text);
    if (!vin)
        return vin.error();
    std::optional<Enrollment> found;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto existing = current(tx, *vin);
        if (!existing)
            return existing.error();
        found = std::move(*existing);
        return {};
    });
    if (!read)
        return read.error();
    if (!found)
        return make_error("enrollment.not_found", "VIN " + *vin + " is not enrolled");
    return std::move(*found);
}

Result<std::vector<Enrollment>> Enrollments::list(const EnrollmentFilter& filter) const {
    std::vector<Enrollment> enrollments;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        // NULL filters match everything.
        const std::vector<Value> params = {
            filter.account_id ? Value(*filter.account_id) : Value(),
            filter.premises_id ? Value(*filter.premises_id) : Value(),
        };
        auto rows = tx.query(std::string("SELECT ") + kColumns +
                                 " FROM enrollments WHERE ended_at IS NULL AND (?1 IS NULL OR account_id = ?1) AND "
                                 "(?2 IS NULL OR premises_id = ?2) ORDER BY premises_id, vin",
                             params);
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            enrollments.push_back(from_row(row));
        return {};
    });
    if (!read)
        return read.error();
    return enrollments;
}

Result<Enrollment> Enrollments::change(const std::string& vin_text, const EnrollmentChange& change) {
    auto vin = require_vin(vin_text);
    if (!vin)
        return vin.error();
    if (change.program_id) {
        if (auto program = check_program(*change.program_id); !program)
            return program.error();
    }
    const std::int64_t now = clock_.now();
    Enrollment result;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto existing = enrolled(tx, *vin);
        if (!existing)
            return existing.error();
        Enrollment updated = *existing;
        updated.program_id = change.program_id.value_or(updated.program_id);
        auto& preferences = updated.preferences;
        preferences.allow_guest_charging = change.allow_guest_charging.value_or(preferences.allow_guest_charging);
        preferences.guest_charging_payer = change.guest_charging_payer.value_or(preferences.guest_charging_payer);
        preferences.allow_roaming = change.allow_roaming.value_or(preferences.allow_roaming);
        if (updated.program_id == existing->program_id && preferences == existing->preferences) {
            result = *existing;
            return {};
        }
        const std::vector<Value> values = {updated.program_id,
                                           std::int64_t{preferences.allow_guest_charging},
                                           std::string(to_string(preferences.guest_charging_payer)),
                                           std::int64_t{preferences.allow_roaming},
                                           now,
                                           updated.id};
        auto changed = tx.execute(
            "UPDATE enrollments SET program_id = ?, allow_guest_charging = ?, guest_charging_payer = ?, "
            "allow_roaming = ?, updated_at = ? WHERE enrollment_id = ?",
            values);
        if (!changed)
            return changed.error();
        nlohmann::json detail = preferences_json(preferences);
        detail["program_id"] = updated.program_id;
        if (auto event = record_event(tx, updated.id, now, change.channel, "changed", detail); !event)
            return event;
        updated.updated_at = now;
        result = std::move(updated);
        return {};
    });
    if (!written)
        return written.error();
    return result;
}

Result<Enrollment> Enrollments::unenroll(const std::string& vin_text, const std::string& channel) {
    auto vin = require_vin(vin_text);
    if (!vin)
        return vin.error();
    const std::int64_t now = clock_.now();
    Enrollment ended;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto existing = enrolled(tx, *vin);
        if (!existing)
            return existing.error();
        const std::vector<Value> values = {now, now, existing->id};
        auto changed =
            tx.execute("UPDATE enrollments SET ended_at = ?, updated_at = ? WHERE enrollment_id = ?", values);
        if (!changed)
            return changed.error();
        if (auto event = record_event(tx, existing->id, now, channel, "unenrolled", nlohmann::json::object()); !event)
            return event;
        ended = std::move(*existing);
        return {};
    });
    if (!written)
        return written.error();
    return ended;
}

}  // namespace pev
