// A real SQLite database with the schemas of every component billing reads (core alarms, pev-registration,
// pev-binding, interval-collection, billing), the shipped program catalog as tariff version 1, and helpers that write
// the rows those components would write: customers, enrollments, bindings, metering channels, intervals.
#pragma once

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "bill_cycle.hpp"
#include "binding/service.hpp"
#include "headend/core/alarm_store.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "intervals/service.hpp"
#include "ledger.hpp"
#include "pev/catalog_versions.hpp"
#include "pev/enrollment.hpp"

namespace billing::testing {

using headend::storage::Transaction;
using headend::storage::Value;

constexpr const char* kZone = "America/Los_Angeles";
constexpr std::int64_t kQuarter = 900;

// "2026-07-01 17:00", the territory's local time, as UTC seconds (the earlier instant where the hour repeats).
inline std::int64_t local(const std::string& text) {
    const auto ymd = date::year_month_day(date::year(std::stoi(text.substr(0, 4))),
                                          date::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
                                          date::day(static_cast<unsigned>(std::stoi(text.substr(8, 2)))));
    const auto when = date::local_days(ymd) + std::chrono::hours(std::stoi(text.substr(11, 2))) +
                      std::chrono::minutes(std::stoi(text.substr(14, 2)));
    return date::make_zoned(kZone, when, date::choose::earliest).get_sys_time().time_since_epoch().count();
}

class BillingFixture : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "headend.db");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto core = headend::core::alarm_migrations();
        ASSERT_TRUE(database_->migrate("alarms", core));
        const auto registration = pev::registration_migrations();
        ASSERT_TRUE(database_->migrate("pev-registration", registration));
        const auto binding = binding::binding_migrations();
        ASSERT_TRUE(database_->migrate("pev-binding", binding));
        const auto intervals = intervals::interval_migrations();
        ASSERT_TRUE(database_->migrate("interval-collection", intervals));
        const auto billing = billing_migrations();
        ASSERT_TRUE(database_->migrate("billing", billing));
        auto versions = pev::CatalogLoader::open(*database_, PROGRAMS_FILE, kZone, 0);
        ASSERT_TRUE(versions) << versions.error().message;
        cycle_ = std::make_unique<BillCycle>(*database_, kZone, clock_, logger_, 2);
    }

    void sql(const std::string& statement, std::vector<Value> params = {}) {
        auto done = database_->write_sync([&](Transaction& tx) -> headend::Result<void> {
            auto run = tx.execute(statement, params);
            if (!run)
                return run.error();
            return {};
        });
        ASSERT_TRUE(done) << done.error().message << "\n" << statement;
    }
    std::int64_t scalar(const std::string& query, std::vector<Value> params = {}) {
        std::int64_t value = -1;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> headend::Result<void> {
            auto rows = tx.query(query, params);
            if (!rows)
                return rows.error();
            value = rows->front().is_null(0) ? 0 : rows->front().integer(0);
            return {};
        }));
        return value;
    }

    void account(const std::string& id, const std::string& name, const std::string& email = "") {
        sql("INSERT INTO cis_accounts(account_id, customer_id, customer_name, updated_at, email) VALUES (?, ?, ?, 0, "
            "?)",
            {id, "C-" + id, name, email.empty() ? Value() : Value(email)});
    }
    void premises(const std::string& id, const std::string& account_id, const std::string& address,
                  const std::string& rate = "DOM-FLAT") {
        sql("INSERT INTO cis_premises(premises_id, account_id, service_address, default_rate, updated_at) "
            "VALUES (?, ?, ?, ?, 0)",
            {id, account_id, address, rate});
    }
    void enroll(const std::string& vin, const std::string& account_id, const std::string& premises_id, std::int64_t at,
                std::optional<std::int64_t> ended = std::nullopt) {
        sql("INSERT INTO enrollments(vin, account_id, customer_id, premises_id, program_id, allow_guest_charging, "
            "guest_charging_payer, allow_roaming, channel, enrolled_at, updated_at, ended_at) "
            "VALUES (?, ?, ?, ?, 'EV-TOU', 1, 'owner', 1, 'test', ?, ?, ?)",
            {vin, account_id, "C-" + account_id, premises_id, at, at, ended ? Value(*ended) : Value()});
    }
    struct BindingRow {
        std::string lfdi = {};
        std::string vin = {};
        std::string premises_id = {};
        std::string kind = "home";
        std::optional<std::string> payer = std::nullopt;
        std::string status = "ended";
        std::int64_t requested_at = 0;
        std::int64_t updated_at = 0;  // when it ended, for an ended binding
        bool validated = true;        // it became active
        std::string program = "EV-TOU";
        std::optional<std::string> home_utility = std::nullopt;
    };
    std::int64_t bind(const BindingRow& row) {
        const std::int64_t id = ++bindings_;
        sql("INSERT INTO bindings(binding_id, mrid, lfdi, vin, premises_id, kind, rebind, program_id, payer_account, "
            "home_utility, status, esci_device_id, requested_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 1, ?, ?)",
            {id, "B" + std::to_string(id), row.lfdi, row.vin.empty() ? Value() : Value(row.vin), row.premises_id,
             row.kind, row.program, row.payer ? Value(*row.payer) : Value(),
             row.home_utility ? Value(*row.home_utility) : Value(), row.status, row.requested_at, row.updated_at});
        if (row.validated)
            sql("INSERT INTO binding_events(binding_id, vin, lfdi, premises_id, at, step, detail) "
                "VALUES (?, ?, ?, ?, ?, 'binding.active', '{}')",
                {id, row.vin, row.lfdi, row.premises_id, row.requested_at + 30});
        return id;
    }
    // A metering channel (mirror usage point and its interval reading) as interval collection stores it.
    std::int64_t channel(const std::string& premises_id, const std::string& lfdi, bool pev) {
        const std::int64_t id = ++channels_;
        sql("INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, role_flags, "
            "service_category_kind, status, created_at) VALUES (?, ?, 1, ?, ?, ?, 0, 1, 0)",
            {id, "MUP" + std::to_string(id), premises_id, lfdi, std::int64_t{pev ? 0x45 : 0x03}});
        sql("INSERT INTO mirror_meter_readings(mmr_id, mup_id, mrid, accumulation_behaviour, interval_length, kind, "
            "power_of_ten_multiplier, uom, created_at) VALUES (?, ?, ?, 4, 900, 12, 0, 72, 0)",
            {id, id, "MMR" + std::to_string(id)});
        return id;
    }
    // `count` quarter hours of `wh` each from `start`, each a new interval in the change log.
    void intervals(std::int64_t channel_id, std::int64_t start, int count, std::int64_t wh) {
        for (int i = 0; i < count; ++i) {
            const std::int64_t at = start + i * kQuarter;
            sql("INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, "
                "source, received_at) VALUES (?, ?, 900, 0, ?, 0, 1, 'test', ?)",
                {channel_id, at, wh, clock_.now()});
            sql("INSERT INTO interval_changes(mmr_id, start_at, version) VALUES (?, ?, 1)", {channel_id, at});
        }
    }
    // An actual replacing an estimate: version 2 of the interval.
    void replace(std::int64_t channel_id, std::int64_t start, std::int64_t wh) {
        sql("INSERT INTO interval_versions(mmr_id, start_at, version, value_wh, quality_flags, source, received_at, "
            "replaced_at) SELECT mmr_id, start_at, version, value_wh, quality_flags, source, received_at, ? "
            "FROM intervals WHERE mmr_id = ? AND start_at = ?",
            {clock_.now(), channel_id, start});
        sql("UPDATE intervals SET value_wh = ?, version = version + 1 WHERE mmr_id = ? AND start_at = ?",
            {wh, channel_id, start});
        sql("INSERT INTO interval_changes(mmr_id, start_at, version) SELECT mmr_id, start_at, version FROM intervals "
            "WHERE mmr_id = ? AND start_at = ?",
            {channel_id, start});
    }
    // A load mismatch at `start` and its open alarm, as load correlation raises them.
    void hold(const std::string& premises_id, std::int64_t start) {
        sql("INSERT INTO load_mismatches(premises_id, start_at, duration, pev_wh, premises_wh, detected_at) "
            "VALUES (?, ?, 900, 2000, 1000, ?)",
            {premises_id, start, clock_.now()});
        sql("INSERT INTO alarms_log(raised_at, source, kind, alarm_key, premises_id, detail) "
            "VALUES (?, 'interval-collection', 'load_mismatch', ?, ?, 'test')",
            {clock_.now(), "load:" + premises_id + ":" + std::to_string(start), premises_id});
    }
    void clear_hold(const std::string& premises_id, std::int64_t start) {
        sql("UPDATE alarms_log SET cleared_at = ? WHERE alarm_key = ?",
            {clock_.now(), "load:" + premises_id + ":" + std::to_string(start)});
    }

    RunSummary run(const std::string& month, const std::optional<std::string>& account_id = std::nullopt) {
        auto summary = cycle_->run({*Month::parse(month), account_id});
        EXPECT_TRUE(summary) << (summary ? "" : summary.error().message);
        return summary ? *summary : RunSummary{};
    }
    // The issued bill of an account's month and its postings.
    std::pair<IssuedBill, std::vector<Posting>> issued(const std::string& account_id, const std::string& month) {
        std::pair<IssuedBill, std::vector<Posting>> found;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> headend::Result<void> {
            auto bills = bills_of(tx, account_id);
            if (!bills)
                return bills.error();
            for (const auto& one : *bills)
                if (one.month == month) {
                    found.first = one;
                    auto postings = postings_of(tx, one.bill_id);
                    if (!postings)
                        return postings.error();
                    found.second = *postings;
                }
            return {};
        }));
        EXPECT_NE(found.first.bill_id, 0) << "no bill for " << account_id << " " << month;
        return found;
    }
    static const Posting* posting(const std::vector<Posting>& postings, const std::string& source,
                                  const std::string& usage_month = "") {
        for (const auto& one : postings)
            if (one.source == source && (usage_month.empty() || one.usage_month == usage_month))
                return &one;
        return nullptr;
    }

    headend::testing::TempDir dir_;
    headend::testing::FixedClock clock_{local("2026-08-01 12:00")};
    headend::testing::RecordingLogger logger_;
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    std::unique_ptr<BillCycle> cycle_;
    std::int64_t bindings_ = 0;
    std::int64_t channels_ = 0;
};

}  // namespace billing::testing
