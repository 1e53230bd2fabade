// The bill cycle for a territory (issue 11: 10,000 accounts with a month of 15-minute PEV and premises data), beside
// its floor in the same run: one SQL query that sums the same energy per account and time-of-use period. Reports
// both wall times and the ratio query / cycle (goal ≥ 0.5: the cycle takes at most twice the one query).
//   build/plugins/billing/billing-cycle-bench --accounts 10000 --db /tmp/bill-bench.db [--json]
// (--cycle-only runs the cycle alone, for a profiler; it reports no ratio worth reading.)
// The database is built once (July 2026: every account a premises meter's 2976 quarter hours and a PEV charging
// three hours every evening, 372 quarter hours, one binding a day) and reused by later runs with the same --accounts.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bill_cycle.hpp"
#include "binding/service.hpp"
#include "headend/core/alarm_store.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "intervals/service.hpp"
#include "ledger.hpp"
#include "pev/catalog_versions.hpp"
#include "pev/enrollment.hpp"
#include "tariff/versions.hpp"

namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;
namespace fs = std::filesystem;

constexpr const char* kZone = "America/Los_Angeles";
constexpr std::int64_t kJuly = 1'782'889'200;    // 2026-07-01 00:00 PDT
constexpr std::int64_t kAugust = 1'785'567'600;  // 2026-08-01 00:00 PDT
constexpr std::int64_t kQuarter = 900;
constexpr int kRowsPerStatement = 64;

class QuietLogger final : public headend::plugin::Logger {
public:
    void log(headend::plugin::LogLevel, std::string_view, std::string_view) override {}
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Multi-row INSERTs of `columns` values per row, 64 rows a statement.
class BulkInsert {
public:
    BulkInsert(Transaction& tx, std::string head, int columns) : tx_(tx), head_(std::move(head)), columns_(columns) {}
    Result<void> add(std::vector<Value> row) {
        for (auto& value : row)
            values_.push_back(std::move(value));
        if (++rows_ == kRowsPerStatement)
            return flush();
        return {};
    }
    Result<void> flush() {
        if (rows_ == 0)
            return {};
        std::string sql = head_ + " VALUES ";
        std::string one = "(";
        for (int c = 0; c < columns_; ++c)
            one += c == 0 ? "?" : ", ?";
        one += ")";
        for (int r = 0; r < rows_; ++r)
            sql += (r == 0 ? "" : ", ") + one;
        auto done = tx_.execute(sql, values_);
        values_.clear();
        rows_ = 0;
        if (!done)
            return done.error();
        return {};
    }

private:
    Transaction& tx_;
    std::string head_;
    int columns_;
    int rows_ = 0;
    std::vector<Value> values_;
};

Result<void> build(headend::storage::Database& database, int accounts) {
    auto catalog = pev::CatalogLoader::open(database, PROGRAMS_FILE, kZone, 0);
    if (!catalog)
        return catalog.error();
    constexpr int kPerTransaction = 200;  // accounts
    for (int first = 1; first <= accounts; first += kPerTransaction) {
        auto written = database.write_sync([&](Transaction& tx) -> Result<void> {
            BulkInsert intervals(
                tx,
                "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, "
                "version, source, received_at)",
                9);
            for (int n = first; n < std::min(accounts + 1, first + kPerTransaction); ++n) {
                const std::string id = std::to_string(n);
                const std::int64_t premises_channel = 2 * n - 1;
                const std::int64_t pev_channel = 2 * n;
                for (
                    const auto& [sql, params] : std::vector<std::pair<std::string, std::vector<Value>>>{
                        {"INSERT INTO cis_accounts(account_id, customer_id, customer_name, updated_at, email) "
                         "VALUES (?, ?, ?, 0, NULL)",
                         {"A" + id, "C" + id, "Customer " + id}},
                        {"INSERT INTO cis_premises(premises_id, account_id, service_address, default_rate, updated_at) "
                         "VALUES (?, ?, ?, 'DOM-FLAT', 0)",
                         {"P" + id, "A" + id, id + " Main St"}},
                        {"INSERT INTO enrollments(vin, account_id, customer_id, premises_id, program_id, "
                         "allow_guest_charging, guest_charging_payer, allow_roaming, channel, enrolled_at, updated_at) "
                         "VALUES (?, ?, ?, ?, 'EV-TOU', 0, 'owner', 0, 'bench', ?, ?)",
                         {"V" + id, "A" + id, "C" + id, "P" + id, kJuly - 86400, kJuly - 86400}},
                        {"INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, "
                         "role_flags, service_category_kind, status, created_at) VALUES (?, ?, 1, ?, ?, 3, 0, 1, 0)",
                         {premises_channel, "M" + std::to_string(premises_channel), "P" + id, "E" + id}},
                        {"INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, "
                         "role_flags, service_category_kind, status, created_at) VALUES (?, ?, 1, ?, ?, 69, 0, 1, 0)",
                         {pev_channel, "M" + std::to_string(pev_channel), "P" + id, "L" + id}},
                    }) {
                    auto done = tx.execute(sql, params);
                    if (!done)
                        return done.error();
                }
                for (const std::int64_t channel : {premises_channel, pev_channel}) {
                    auto done = tx.execute(
                        "INSERT INTO mirror_meter_readings(mmr_id, mup_id, mrid, accumulation_behaviour, "
                        "interval_length, kind, power_of_ten_multiplier, uom, created_at) "
                        "VALUES (?, ?, ?, 4, 900, 12, 0, 72, 0)",
                        std::vector<Value>{channel, channel, "R" + std::to_string(channel)});
                    if (!done)
                        return done.error();
                }
                for (std::int64_t at = kJuly; at < kAugust; at += kQuarter)
                    if (auto added = intervals.add(
                            {premises_channel, at, kQuarter, 0, 200 + (at / kQuarter + n) % 700, 0, 1, "bench", 0});
                        !added)
                        return added;
                // Every evening 19:00–22:00 local (PDT, UTC-7: 02:00–05:00 UTC the next day), one binding each.
                for (int day = 0; day < 31; ++day) {
                    const std::int64_t evening = kJuly + day * 86400 + 19 * 3600;
                    const std::int64_t binding = static_cast<std::int64_t>(n) * 100 + day;
                    auto bound = tx.execute(
                        "INSERT INTO bindings(binding_id, mrid, lfdi, vin, premises_id, kind, rebind, program_id, "
                        "payer_account, status, esci_device_id, requested_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, 'home', 0, 'EV-TOU', ?, 'ended', 1, ?, ?)",
                        std::vector<Value>{binding, "B" + std::to_string(binding), "L" + id, "V" + id, "P" + id,
                                           "A" + id, evening - 120, evening + 3 * 3600 + 120});
                    if (!bound)
                        return bound.error();
                    auto active = tx.execute(
                        "INSERT INTO binding_events(binding_id, vin, lfdi, premises_id, at, step, detail) "
                        "VALUES (?, ?, ?, ?, ?, 'binding.active', '{}')",
                        std::vector<Value>{binding, "V" + id, "L" + id, "P" + id, evening - 60});
                    if (!active)
                        return active.error();
                    for (int q = 0; q < 12; ++q)
                        if (auto added = intervals.add({pev_channel, evening + q * kQuarter, kQuarter, 0,
                                                        1800 - (q * 97 + n) % 400, 0, 1, "bench", 0});
                            !added)
                            return added;
                }
            }
            return intervals.flush();
        });
        if (!written)
            return written.error();
        std::cerr << "\rbuilding: " << std::min(accounts, first + kPerTransaction - 1) << " of " << accounts
                  << " accounts" << std::flush;
    }
    std::cerr << '\n';
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    int accounts = 10000;
    std::string db_path = "/tmp/billing-cycle-bench.db";
    bool json = false;
    bool cycle_only = false;
    CLI::App app{
        "The bill cycle for N accounts beside one SQL query summing the same energy per account and "
        "time-of-use period, in one run."};
    app.add_option("--accounts", accounts, "Accounts, each with a month of premises and PEV quarter hours")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--db", db_path, "The benchmark's database, built on the first run")->capture_default_str();
    app.add_flag("--json", json, "One JSON document on stdout");
    app.add_flag("--cycle-only", cycle_only, "Run the bill cycle alone, no ratio (to profile it)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;
    }
    const fs::path db_file = db_path + "." + std::to_string(accounts);
    const bool fresh = !fs::exists(db_file);
    auto opened = headend::storage::SqliteDatabase::open(db_file);
    if (!opened) {
        std::cerr << "billing-cycle-bench: " << opened.error().message << '\n';
        return 3;
    }
    auto& database = **opened;
    const auto migrate = [&](const std::string& component, const std::vector<headend::storage::Migration>& list) {
        auto done = database.migrate(component, list);
        if (!done) {
            std::cerr << "billing-cycle-bench: " << component << ": " << done.error().message << '\n';
            std::exit(3);
        }
    };
    migrate("alarms", headend::core::alarm_migrations());
    migrate("pev-registration", pev::registration_migrations());
    migrate("pev-binding", binding::binding_migrations());
    migrate("interval-collection", intervals::interval_migrations());
    migrate("billing", billing::billing_migrations());
    const auto build_start = std::chrono::steady_clock::now();
    if (fresh) {
        if (auto built = build(database, accounts); !built) {
            std::cerr << "billing-cycle-bench: " << built.error().message << '\n';
            fs::remove(db_file);
            return 3;
        }
    }
    const double build_s = fresh ? seconds_since(build_start) : 0;

    // The floor: one query, the month's time-of-use spans of EV-TOU joined to every interval.
    auto versions = pev::CatalogLoader::open(database, PROGRAMS_FILE, kZone, 0);
    if (!versions)
        return 3;
    auto spans_written = database.write_sync([&](Transaction& tx) -> Result<void> {
        for (const char* sql :
             {"DROP TABLE IF EXISTS bench_tou_spans",
              "CREATE TABLE bench_tou_spans(start_at INTEGER PRIMARY KEY, end_at INTEGER, period TEXT)",
              "DELETE FROM bill_deliveries", "DELETE FROM postings", "DELETE FROM bills"})
            if (auto done = tx.execute(sql); !done)
                return done.error();
        for (const auto& span : versions->spans("EV-TOU", kJuly, kAugust))
            if (auto done = tx.execute("INSERT INTO bench_tou_spans VALUES (?, ?, ?)",
                                       std::vector<Value>{span.start, span.end, span.period->name});
                !done)
                return done.error();
        return {};
    });
    if (!spans_written)
        return 3;
    std::int64_t groups = 0;
    std::int64_t energy = 0;
    const auto query_start = std::chrono::steady_clock::now();
    auto queried = cycle_only ? Result<void>() : database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT p.account_id, s.period, SUM(i.value_wh) FROM intervals i "
            "JOIN mirror_meter_readings r ON r.mmr_id = i.mmr_id JOIN mirror_usage_points u ON u.mup_id = r.mup_id "
            "JOIN cis_premises p ON p.premises_id = u.premises_id "
            "JOIN bench_tou_spans s ON s.start_at = (SELECT MAX(t.start_at) FROM bench_tou_spans t "
            "WHERE t.start_at <= i.start_at) "
            "WHERE i.start_at >= ? AND i.start_at < ? GROUP BY p.account_id, s.period",
            std::vector<Value>{kJuly, kAugust});
        if (!rows)
            return rows.error();
        groups = static_cast<std::int64_t>(rows->size());
        for (const auto& row : *rows)
            energy += row.integer(2);
        return {};
    });
    const double query_s = seconds_since(query_start);
    if (!queried) {
        std::cerr << "billing-cycle-bench: " << queried.error().message << '\n';
        return 3;
    }

    headend::testing::FixedClock clock(kAugust + 86400);
    QuietLogger logger;
    billing::BillCycle cycle(database, kZone, clock, logger);
    const auto cycle_start = std::chrono::steady_clock::now();
    auto summary = cycle.run({*billing::Month::parse("2026-07"), std::nullopt});
    const double cycle_s = seconds_since(cycle_start);
    if (!summary) {
        std::cerr << "billing-cycle-bench: " << summary.error().message << '\n';
        return 3;
    }
    std::int64_t billed_wh = 0;
    std::int64_t postings = 0;
    (void)database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT COUNT(*), SUM(wh) FROM postings WHERE kind <> 'host_credit'");
        if (rows) {
            postings = rows->front().integer(0);
            billed_wh = rows->front().integer(1);
        }
        return {};
    });
    const double ratio = query_s / cycle_s;
    if (json) {
        std::cout << nlohmann::json{{"accounts", accounts},   {"intervals_per_account", 2976 + 31 * 12},
                                    {"build_s", build_s},     {"query_s", query_s},
                                    {"query_groups", groups}, {"query_wh", energy},
                                    {"cycle_s", cycle_s},     {"bills", summary->issued},
                                    {"postings", postings},   {"billed_wh", billed_wh},
                                    {"ratio", ratio}}
                         .dump(2)
                  << '\n';
    } else {
        std::cout << "accounts " << accounts << ", intervals " << static_cast<std::int64_t>(accounts) * (2976 + 372)
                  << (fresh ? " (built in " + std::to_string(build_s) + " s)" : "") << '\n'
                  << "one query:  " << query_s << " s, " << groups << " account × period sums, " << energy << " Wh\n"
                  << "bill cycle: " << cycle_s << " s, " << summary->issued << " bills, " << postings << " postings, "
                  << billed_wh << " Wh billed (debits and premises)\n"
                  << "ratio query/cycle: " << ratio << " (goal >= 0.5)\n";
    }
    return 0;
}
