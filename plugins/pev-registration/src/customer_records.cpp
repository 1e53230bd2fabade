#include "pev/customer_records.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "admin/json_reply.hpp"

namespace pev {

namespace {

using headend::storage::Value;

headend::http::Response storage_failure(const headend::Error& error) {
    return admin_replies::error_reply(500, error);
}

}  // namespace

std::vector<headend::storage::Migration> customer_record_migrations() {
    return {{1, "CIS accounts and premises",
             R"(CREATE TABLE cis_accounts(
                  account_id TEXT PRIMARY KEY,
                  customer_id TEXT NOT NULL,
                  customer_name TEXT NOT NULL,
                  updated_at INTEGER NOT NULL);
                CREATE TABLE cis_premises(
                  premises_id TEXT PRIMARY KEY,
                  account_id TEXT NOT NULL REFERENCES cis_accounts(account_id),
                  service_address TEXT NOT NULL,
                  default_rate TEXT NOT NULL,
                  updated_at INTEGER NOT NULL);
                CREATE INDEX cis_premises_by_account ON cis_premises(account_id);)"},
            {4, "the account's e-mail address for bills, and the accounts view other plugins read",
             R"(ALTER TABLE cis_accounts ADD COLUMN email TEXT;
                CREATE VIEW pev_accounts_v1 AS
                  SELECT account_id, customer_id, customer_name, email FROM cis_accounts;)"},
            {6, "what billing reads of premises (address, default rate) and of enrollments past and present",
             // Billing reads enrollments past and present by premises (the partial index covers current ones only).
             R"(CREATE INDEX enrollments_history_by_premises ON enrollments(premises_id, enrolled_at);
                CREATE VIEW pev_billing_premises_v1 AS
                  SELECT premises_id, account_id, default_rate, service_address FROM cis_premises;
                CREATE VIEW pev_enrollment_history_v1 AS
                  SELECT enrollment_id, vin, account_id, premises_id, program_id, allow_roaming, enrolled_at, ended_at
                  FROM enrollments;)"}};
}

headend::Result<ImportSummary> store_records(headend::storage::Database& database,
                                             const std::vector<CisRecord>& records, std::int64_t now) {
    ImportSummary summary;
    auto stored = database.write_sync([&](headend::storage::Transaction& tx) -> headend::Result<void> {
        summary = {};
        for (const auto& record : records) {
            // A file without the email column leaves the stored addresses as they are; "" in it removes one.
            const Value email = !record.email ? Value() : record.email->empty() ? Value() : Value(*record.email);
            const std::vector<Value> account = {record.account_id,
                                                record.customer_id,
                                                record.customer_name,
                                                email,
                                                now,
                                                std::int64_t{record.email.has_value()}};
            auto accounts = tx.execute(
                "INSERT INTO cis_accounts(account_id, customer_id, customer_name, email, updated_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(account_id) DO UPDATE SET customer_id = excluded.customer_id, "
                "customer_name = excluded.customer_name, "
                "email = CASE WHEN ?6 = 1 THEN excluded.email ELSE cis_accounts.email END, "
                "updated_at = excluded.updated_at "
                "WHERE customer_id IS NOT excluded.customer_id OR customer_name IS NOT excluded.customer_name OR "
                "(?6 = 1 AND cis_accounts.email IS NOT excluded.email)",
                account);
            if (!accounts)
                return accounts.error();
            const std::vector<Value> key = {record.premises_id};
            auto existing = tx.query("SELECT 1 FROM cis_premises WHERE premises_id = ?", key);
            if (!existing)
                return existing.error();
            const std::vector<Value> premises = {record.premises_id, record.account_id, record.service_address,
                                                 record.default_rate, now};
            auto changed = tx.execute(
                "INSERT INTO cis_premises(premises_id, account_id, service_address, default_rate, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(premises_id) DO UPDATE SET account_id = excluded.account_id, "
                "service_address = excluded.service_address, default_rate = excluded.default_rate, "
                "updated_at = excluded.updated_at WHERE account_id IS NOT excluded.account_id OR "
                "service_address IS NOT excluded.service_address OR default_rate IS NOT excluded.default_rate",
                premises);
            if (!changed)
                return changed.error();
            if (existing->empty())
                ++summary.added;
            else if (*changed > 0 || *accounts > 0)
                ++summary.updated;
            else
                ++summary.unchanged;
        }
        return {};
    });
    if (!stored)
        return stored.error();
    return summary;
}

void add_customer_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database,
                         const headend::plugin::Clock& clock, const CatalogVersions& catalog) {
    routes.add(
        "POST", "/api/v1/customers/import", [&database, &clock, &catalog](const headend::http::Request& request) {
            // A premises default rate must be a program of the catalog, or its energy could not be billed.
            const tariff::Versions versions = catalog.snapshot();
            const CisParse parsed = parse_cis_csv(request.body, [&versions](std::string_view rate) {
                return versions.latest().catalog().find(rate) != nullptr;
            });
            if (!parsed.errors.empty()) {
                nlohmann::json rows = nlohmann::json::array();
                for (const auto& error : parsed.errors)
                    rows.push_back({{"line", error.line}, {"reason", error.reason}});
                const std::string message = std::to_string(parsed.errors.size()) + " bad row(s); nothing was imported";
                return admin_replies::json_reply(
                    400, {{"error", {{"code", "cis.invalid"}, {"message", message}}}, {"rows", rows}});
            }
            auto summary = store_records(database, parsed.records, clock.now());
            if (!summary)
                return storage_failure(summary.error());
            return admin_replies::json_reply(
                200, {{"added", summary->added}, {"updated", summary->updated}, {"unchanged", summary->unchanged}});
        });

    routes.add("GET", "/api/v1/premises", [&database](const headend::http::Request& request) {
        // enrolled=false: premises without a current PEV enrollment (and so the customers not enrolled).
        std::optional<bool> enrolled;
        for (const auto& [key, value] : request.query) {
            if (key != "enrolled" || (value != "true" && value != "false")) {
                return admin_replies::error_reply(
                    400, headend::make_error("request.invalid", "the only query parameter is enrolled=true|false"));
            }
            enrolled = value == "true";
        }
        nlohmann::json premises = nlohmann::json::array();
        auto read = database.read([&](headend::storage::Transaction& tx) -> headend::Result<void> {
            const std::vector<Value> params = {enrolled ? Value(std::int64_t{*enrolled}) : Value()};
            auto rows = tx.query(
                "SELECT p.premises_id, p.account_id, a.customer_id, a.customer_name, p.service_address, "
                "p.default_rate, a.email, (SELECT count(*) FROM enrollments e WHERE e.premises_id = p.premises_id AND "
                "e.ended_at IS NULL) AS pevs FROM cis_premises p JOIN cis_accounts a USING (account_id) "
                "WHERE ?1 IS NULL OR (pevs > 0) = ?1 ORDER BY p.premises_id",
                params);
            if (!rows)
                return rows.error();
            for (const auto& row : *rows) {
                premises.push_back({{"premises_id", row.text(0)},
                                    {"account_id", row.text(1)},
                                    {"customer_id", row.text(2)},
                                    {"customer_name", row.text(3)},
                                    {"service_address", row.text(4)},
                                    {"default_rate", row.text(5)},
                                    {"email", row.is_null(6) ? nlohmann::json(nullptr) : nlohmann::json(row.text(6))},
                                    {"enrolled_pevs", row.integer(7)}});
            }
            return {};
        });
        if (!read)
            return storage_failure(read.error());
        return admin_replies::json_reply(200, {{"premises", premises}});
    });
}

}  // namespace pev
