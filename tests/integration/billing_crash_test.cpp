// kill -9 of the daemon while the operator runs bill cycles (issue 11, faults): a cycle issues bills in batches, each
// batch one transaction, so a kill loses at most the batch in progress; the run after the restart issues the rest.
// The operator bills months in order, each again after every kill until a run completes. At the end every account
// has its bill for each month exactly once, with its postings once and the amounts the data say, each bill queued for
// delivery once and filed whole. CI kills 20 runs; HEADEND_CRASH_CYCLES sets more for a long run by hand.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "cmep/cmep.hpp"
#include "daemon_process.hpp"
#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::DaemonProcess;
using headend::testing::run;

int cycle_count() {
    const char* text = std::getenv("HEADEND_CRASH_CYCLES");
    return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : 20;
}
constexpr int kAccounts = 600;
// Months billed in order: the last with energy, those before without; enough that the kills land in runs.
int month_count() {
    return cycle_count() / 3 + 1;
}
constexpr std::int64_t kQuarter = 900;
constexpr int kQuarters = 8;  // per premises: two hours on the month's last day

std::int64_t value_at(int premises, int quarter) {
    return 200 + (premises * 37 + quarter * 11) % 900;
}

std::string account_id(int n) {
    char text[16];
    std::snprintf(text, sizeof text, "A%04d", n);
    return text;
}

// "YYYY-MM" of the month `back` months before `month`.
std::string months_before(const std::string& month, int back) {
    int year = std::stoi(month.substr(0, 4));
    int number = std::stoi(month.substr(5, 2)) - back;
    for (; number < 1; number += 12)
        --year;
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d", year, number);
    return text;
}

// The month before this one in America/Los_Angeles (the daemon's default territory; its date is about UTC − 8 h) as
// "YYYY-MM", and 12:00 UTC on that month's last day (04:00 or 05:00 there, the same local day): over, and recent
// enough for the AMI import's backfill window.
std::pair<std::string, std::int64_t> previous_month(std::int64_t now) {
    const std::int64_t anchor = now - 8 * 3600;
    const std::time_t t = static_cast<std::time_t>(anchor);
    std::tm utc{};
    gmtime_r(&t, &utc);
    const std::int64_t last_day = anchor - anchor % 86400 - static_cast<std::int64_t>(utc.tm_mday) * 86400;
    const std::time_t last = static_cast<std::time_t>(last_day);
    std::tm day{};
    gmtime_r(&last, &day);
    char month[32];
    std::snprintf(month, sizeof month, "%04d-%02d", day.tm_year + 1900, day.tm_mon + 1);
    return {month, last_day + 12 * 3600};
}

TEST(BillingCrash, KilledDuringBillRunsEveryAccountIsBilledOnceWithItsPostingsOnce) {
    const fs::path dir = fs::temp_directory_path() / ("headend-bill-crash-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[[plugins]]\nname = \"pev-binding\"\n"
                                        << "library = \"" << PEV_BINDING_PLUGIN << "\"\n[[plugins]]\n"
                                        << "name = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
                                        << "\"\n[[plugins]]\nname = \"billing\"\nlibrary = \"" << BILLING_PLUGIN
                                        << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE
                                        << "\"\n[plugin.billing]\ndelivery_poll_s = 1\n";
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto [month, first] = previous_month(now);
    {
        std::ofstream cis(dir / "cis.csv");
        cis << "account_id,customer_id,customer_name,premises_id,service_address,default_rate\n";
        std::ofstream ami(dir / "ami.cmep");
        for (int n = 1; n <= kAccounts; ++n) {
            cis << account_id(n) << ",C" << n << ",Customer " << n << ",P" << n << "," << n << " Main St,DOM-FLAT\n";
            cmep::Record record;
            record.sender_id = "AMI";
            record.receiver_id = "PEVHEADEND";
            record.timestamp = now;
            record.meter_id = "P" + std::to_string(n);
            record.purpose = "OK";
            record.interval_s = kQuarter;
            for (int q = 0; q < kQuarters; ++q)
                record.values.push_back({first + (q + 1) * kQuarter, cmep::Flag::Actual, value_at(n, q)});
            ami << cmep::format_record(record) << "\r\n";
        }
    }
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto customers = run(daemon.ctl("import customers " + (dir / "cis.csv").string()));
        ASSERT_EQ(customers.exit_code, 0) << customers.output;
        auto intervals = run(daemon.ctl("import intervals " + (dir / "ami.cmep").string()));
        ASSERT_EQ(intervals.exit_code, 0) << intervals.output;
        EXPECT_EQ(daemon.terminate(), 0);
    }

    std::vector<std::string> months;
    const int month_total = month_count();
    for (int back = month_total - 1; back >= 0; --back)
        months.push_back(months_before(month, back));
    std::mt19937 random(4711);
    int interrupted = 0;
    std::size_t billing = 0;  // the month being billed
    const int wanted = cycle_count();
    for (int cycle = 0; cycle < wanted && billing < months.size(); ++cycle) {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        std::atomic<bool> finished{false};
        std::thread runner([&] {
            const auto result = run(daemon.ctl("bill run --month " + months[billing]));
            finished = result.exit_code == 0;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + random() % 120));
        daemon.kill_hard();
        runner.join();
        if (finished)
            ++billing;
        else
            ++interrupted;
    }
    {
        // A last start finishes what the kills interrupted, month by month, and the delivery worker files every bill.
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        for (const auto& one : months) {
            auto last = run(daemon.ctl("--json bill run --month " + one));
            ASSERT_EQ(last.exit_code, 0) << last.output;
        }
        for (const auto& one : months)
            for (int i = 0; i < 1200; ++i) {
                auto listed = run(daemon.curl("/api/v1/bills?month=" + one));
                if (listed.output.find("\"filed_at\":null") == std::string::npos)
                    break;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        EXPECT_EQ(daemon.terminate(), 0);
    }
    std::cout << "bill runs killed mid-run: " << interrupted << ", months completed before the last start: " << billing
              << " of " << months.size() << '\n';
    EXPECT_GT(interrupted, 0) << "no kill landed during a run: nothing was tested";

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "data" / "headend.db").c_str(), &db), SQLITE_OK);
    const auto rows = [&](const std::string& sql) {
        std::vector<std::vector<std::string>> result;
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            std::vector<std::string> row;
            for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
                const auto* text = sqlite3_column_text(stmt, i);
                row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
            }
            result.push_back(std::move(row));
        }
        sqlite3_finalize(stmt);
        return result;
    };
    EXPECT_EQ(rows("PRAGMA integrity_check")[0][0], "ok");
    for (const auto& one : months)
        EXPECT_EQ(rows("SELECT COUNT(*) FROM bills WHERE month = '" + one + "'")[0][0], std::to_string(kAccounts))
            << one;
    EXPECT_EQ(rows("SELECT COUNT(*) FROM bill_deliveries WHERE filed_at IS NOT NULL")[0][0],
              std::to_string(kAccounts * month_total));
    // The months without energy: bills with no posting and a total of 0.
    EXPECT_EQ(rows("SELECT COUNT(*) FROM postings p JOIN bills b ON b.bill_id = p.bill_id WHERE b.month <> '" + month +
                   "'")[0][0],
              "0");
    // Each bill: one posting, the premises energy, with the energy imported and its cost at DOM-FLAT (0.32 $/kWh);
    // the total is that line rounded to cents.
    const auto postings = rows(
        "SELECT b.account_id, b.total, COUNT(p.posting_id), SUM(p.wh), SUM(p.amount), SUM(p.billed), MIN(p.source) "
        "FROM bills b LEFT JOIN postings p ON p.bill_id = b.bill_id WHERE b.month = '" +
        month + "' GROUP BY b.bill_id ORDER BY b.account_id");
    ASSERT_EQ(postings.size(), static_cast<std::size_t>(kAccounts));
    for (int n = 1; n <= kAccounts; ++n) {
        const auto& row = postings[static_cast<std::size_t>(n - 1)];
        std::int64_t wh = 0;
        for (int q = 0; q < kQuarters; ++q)
            wh += value_at(n, q);
        const std::int64_t exact = wh * 32;  // Wh × 32 000 / 1000, exactly
        const std::int64_t billed = (exact + 500) / 1000 * 1000;
        ASSERT_EQ(row[0], account_id(n));
        EXPECT_EQ(row[2], "1") << row[0];
        EXPECT_EQ(row[3], std::to_string(wh)) << row[0];
        EXPECT_EQ(row[4], std::to_string(exact)) << row[0];
        EXPECT_EQ(row[5], std::to_string(billed)) << row[0];
        EXPECT_EQ(row[1], std::to_string(billed)) << row[0];
        EXPECT_EQ(row[6], "premises:P" + std::to_string(n) + ":energy") << row[0];
    }
    // Every bill's files whole: the JSON parses and names its account.
    for (const auto& bill : rows("SELECT bill_id, account_id, month FROM bills")) {
        const fs::path json = dir / "data" / "bills" / bill[2] / ("bill-" + bill[0] + "-" + bill[1] + ".json");
        std::ifstream in(json);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_NE(text.find("\"account_id\": \"" + bill[1] + "\""), std::string::npos) << json;
    }
    sqlite3_close(db);
    fs::remove_all(dir);
}

}  // namespace
