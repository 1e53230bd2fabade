// kill -9 of the daemon while billing works (issue 11, faults).
// Bill runs: a cycle issues bills in batches, each batch one transaction, so a kill loses at most the batch in
// progress; the run after the restart issues the rest. The operator bills months in order, each again after every
// kill until a run completes. At the end every account has its bill for each month exactly once, with its postings
// once and the amounts the data say, each bill queued for delivery once and filed whole.
// Delivery: while the worker pushes visiting PEVs' CDRs to the clearinghouse and mails bills, kills land between a
// push (or a mail) and its record; the restarted worker sends that one again. Nothing is lost, and at most the one send
// in flight per kill is repeated: the hub applies a CDR once by its id; a repeated mail reaches the mailbox again,
// under the same Message-ID.
// CI kills 20 runs of each; HEADEND_CRASH_CYCLES sets more for a long run by hand.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "cmep/cmep.hpp"
#include "daemon_process.hpp"
#include "headend/testing/python_server.hpp"
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

// The four plugins billing needs, the shipped catalog, and `billing` as the billing plugin's settings.
void write_config(const fs::path& dir, const std::string& billing) {
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[[plugins]]\nname = \"pev-binding\"\n"
                                        << "library = \"" << PEV_BINDING_PLUGIN << "\"\n[[plugins]]\n"
                                        << "name = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
                                        << "\"\n[[plugins]]\nname = \"billing\"\nlibrary = \"" << BILLING_PLUGIN
                                        << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE
                                        << "\"\n[plugin.billing]\n"
                                        << billing;
}

// The daemon's database file, opened while the daemon is stopped (to write) or running (to read: WAL).
class DatabaseFile {
public:
    explicit DatabaseFile(const fs::path& file) {
        EXPECT_EQ(sqlite3_open(file.c_str(), &db_), SQLITE_OK) << file;
        sqlite3_busy_timeout(db_, 5000);
    }
    ~DatabaseFile() { sqlite3_close(db_); }
    DatabaseFile(const DatabaseFile&) = delete;
    DatabaseFile& operator=(const DatabaseFile&) = delete;

    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        std::vector<std::vector<std::string>> result;
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
            << sql << ": " << sqlite3_errmsg(db_);
        int step = SQLITE_OK;
        while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            std::vector<std::string> row;
            for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
                const auto* text = sqlite3_column_text(stmt, i);
                row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
            }
            result.push_back(std::move(row));
        }
        EXPECT_EQ(step, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db_);
        sqlite3_finalize(stmt);
        return result;
    }
    std::string scalar(const std::string& sql) {
        const auto found = rows(sql);
        return found.empty() || found[0].empty() ? "" : found[0][0];
    }
    void execute(const std::string& sql) {
        char* error = nullptr;
        EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
            << sql << ": " << (error != nullptr ? error : "");
        sqlite3_free(error);
    }

private:
    sqlite3* db_ = nullptr;
};

TEST(BillingCrash, KilledDuringBillRunsEveryAccountIsBilledOnceWithItsPostingsOnce) {
    const fs::path dir = fs::temp_directory_path() / ("headend-bill-crash-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    write_config(dir, "delivery_poll_s = 1\n");
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

    DatabaseFile db(dir / "data" / "headend.db");
    const auto rows = [&](const std::string& sql) { return db.rows(sql); };
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
    fs::remove_all(dir);
}

// Visiting sessions of another utility's PEVs, one at each premises, written as pev-binding and interval collection
// store them: the roaming binding that became active and ended, the EUMD's PEV channel and its quarter hours.
void add_visiting_sessions(DatabaseFile& db, int count, std::int64_t start) {
    db.execute("BEGIN");
    for (int n = 1; n <= count; ++n) {
        const std::string id = std::to_string(n);
        const std::string lfdi = "'VL" + id + "'";
        const std::string premises = "'P" + id + "'";
        const std::int64_t channel = 1000 + n;
        const std::int64_t end = start + kQuarters * kQuarter;
        db.execute(
            "INSERT INTO bindings(binding_id, mrid, lfdi, vin, premises_id, kind, rebind, program_id, "
            "payer_account, home_utility, status, esci_device_id, requested_at, updated_at) VALUES (" +
            id + ", 'B" + id + "', " + lfdi + ", 'VISITOR" + id + "', " + premises +
            ", 'roaming', 0, 'EV-TOU', NULL, 'US*OTH', 'ended', 1, " + std::to_string(start - 60) + ", " +
            std::to_string(end) + ")");
        db.execute("INSERT INTO binding_events(binding_id, vin, lfdi, premises_id, at, step, detail) VALUES (" + id +
                   ", 'VISITOR" + id + "', " + lfdi + ", " + premises + ", " + std::to_string(start - 30) +
                   ", 'binding.active', '{}')");
        db.execute(
            "INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, "
            "role_flags, service_category_kind, status, created_at) VALUES (" +
            std::to_string(channel) + ", 'MUP" + id + "', 1, " + premises + ", " + lfdi + ", 69, 0, 1, 0)");
        db.execute(
            "INSERT INTO mirror_meter_readings(mmr_id, mup_id, mrid, accumulation_behaviour, interval_length, "
            "kind, power_of_ten_multiplier, uom, created_at) VALUES (" +
            std::to_string(channel) + ", " + std::to_string(channel) + ", 'MMR" + id + "', 4, 900, 12, 0, 72, 0)");
        for (int q = 0; q < kQuarters; ++q) {
            const std::string at = std::to_string(start + q * kQuarter);
            db.execute(
                "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, "
                "source, received_at) VALUES (" +
                std::to_string(channel) + ", " + at + ", 900, 0, " + std::to_string(value_at(n, q)) +
                ", 0, 1, 'eumd', " + std::to_string(end) + ")");
            db.execute("INSERT INTO interval_changes(mmr_id, start_at, version) VALUES (" + std::to_string(channel) +
                       ", " + at + ", 1)");
        }
    }
    db.execute("COMMIT");
}

// Each file in `folder` (a maildir's new/ or the hub's inbox) as its text.
std::vector<std::string> texts_in(const fs::path& folder) {
    std::vector<std::string> texts;
    if (fs::exists(folder))
        for (const auto& entry : fs::directory_iterator(folder)) {
            std::ifstream in(entry.path(), std::ios::binary);
            texts.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    return texts;
}

TEST(BillingCrash, KilledWhileCdrsArePushedAndBillsMailedEachArrivesOnceByItsId) {
    // Accounts, each with a bill to mail and a visiting session at its premises: enough work for the kills to land in.
    const int kSessions = 8 * cycle_count();
    const fs::path dir = fs::temp_directory_path() / ("headend-push-crash-" + std::to_string(std::random_device()()));
    fs::create_directories(dir / "hub");
    fs::create_directories(dir / "smtp");
    std::ofstream(dir / "hub.token") << "hub-token-0123456789\n";
    headend::testing::BackgroundServer hub(
        CLEARINGHOUSE_BIN,
        "serve --token-file " + (dir / "hub.token").string() + " --inbox " + (dir / "hub-inbox").string(), dir / "hub");
    ASSERT_NE(hub.port(), 0) << "the clearinghouse did not start";
    headend::testing::PythonServer smtp(SMTP_SINK, "--maildir " + (dir / "maildir").string(), dir / "smtp");
    ASSERT_NE(smtp.port(), 0) << "the SMTP server did not start";
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string month = previous_month(now).first;
    {
        std::ofstream cis(dir / "cis.csv");
        cis << "account_id,customer_id,customer_name,premises_id,service_address,default_rate,email\n";
        for (int n = 1; n <= kSessions; ++n)
            cis << account_id(n) << ",C" << n << ",Customer " << n << ",P" << n << "," << n << " Main St,DOM-FLAT,"
                << "customer" << n << "@example.test\n";
    }
    // First without the relay and the hub: the bills issued and queued, nothing sent yet.
    write_config(dir, "delivery_poll_s = 1\n");
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto customers = run(daemon.ctl("import customers " + (dir / "cis.csv").string()));
        ASSERT_EQ(customers.exit_code, 0) << customers.output;
        auto bills = run(daemon.ctl("bill run --month " + month));
        ASSERT_EQ(bills.exit_code, 0) << bills.output;
        EXPECT_EQ(daemon.terminate(), 0);
    }
    {
        DatabaseFile db(dir / "data" / "headend.db");
        add_visiting_sessions(db, kSessions, now - now % kQuarter - 2 * 86400);
    }
    write_config(dir, "delivery_poll_s = 1\nocpi_settle_s = 60\nsmtp_url = \"smtp://127.0.0.1:" +
                          std::to_string(smtp.port()) + "\"\nsmtp_from = \"billing@utility.test\"\n" +
                          "ocpi_hub_cdrs_url = \"http://127.0.0.1:" + std::to_string(hub.port()) +
                          "/ocpi/2.2.1/cdrs\"\nocpi_hub_token_file = \"" + (dir / "hub.token").string() + "\"\n");
    // Mails sent and CDRs the hub accepted, as the daemon recorded them.
    const auto delivered = [&] {
        DatabaseFile db(dir / "data" / "headend.db");
        return std::stoi(
            db.scalar("SELECT (SELECT COUNT(*) FROM bill_deliveries WHERE mail_state = 'sent') + "
                      "(SELECT COUNT(*) FROM cdrs_out WHERE state = 'accepted')"));
    };
    // What reached the hub and the relay, repeats included: CDR receipts and mails kept.
    const auto arrived = [&] {
        int count = 0;
        std::ifstream log(dir / "hub-inbox" / "receipts.log");
        for (std::string key, kind; log >> key >> kind;)
            count += kind == "conflict" ? 0 : 1;
        return count + static_cast<int>(texts_in(dir / "maildir" / "new").size());
    };
    std::mt19937 random(815);
    int interrupted = 0;  // kills that landed after some of the work and before the end of it
    int kills = 0;
    for (; kills < cycle_count(); ++kills) {
        const int before = delivered();
        if (before == 2 * kSessions)
            break;
        const int arrived_before = arrived();
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 400));
        daemon.kill_hard();
        const int after = delivered();
        if (after > before && after < 2 * kSessions)
            ++interrupted;
        // One worker sends one thing at a time and records it before the next: a kill leaves at most the one in
        // flight sent and not recorded; never one recorded and not sent.
        const int unrecorded = (arrived() - arrived_before) - (after - before);
        EXPECT_GE(unrecorded, 0) << "kill " << kills << ": recorded as sent but never arrived";
        EXPECT_LE(unrecorded, 1) << "kill " << kills << ": more than the send in flight went unrecorded";
    }
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        for (int i = 0; i < 600 && delivered() < 2 * kSessions; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        EXPECT_EQ(daemon.terminate(), 0);
    }
    std::cout << "runs killed: " << kills << ", of them while sending: " << interrupted << '\n';
    EXPECT_GT(interrupted, 0) << "no kill landed while the worker sent: nothing was tested";

    DatabaseFile db(dir / "data" / "headend.db");
    EXPECT_EQ(db.scalar("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM bill_deliveries WHERE mail_state = 'sent'"), std::to_string(kSessions));
    // One CDR per session, made once however often the daemon restarted, each accepted.
    EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM cdrs_out"), std::to_string(kSessions));
    EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM cdrs_out WHERE state = 'accepted' AND revision = 1"),
              std::to_string(kSessions));

    // The hub holds each session's CDR with its energy; a repeat is acknowledged, never a second CDR.
    std::map<std::string, int> receipts;
    int repeats = 0;
    {
        std::ifstream log(dir / "hub-inbox" / "receipts.log");
        for (std::string key, kind; log >> key >> kind;) {
            EXPECT_NE(kind, "conflict") << key;
            ++receipts[key];
            repeats += kind == "repeat" ? 1 : 0;
        }
    }
    ASSERT_EQ(receipts.size(), static_cast<std::size_t>(kSessions));
    // The hub's own report agrees (its --json after the subcommand, as an operator types it).
    const auto report =
        run(std::string(CLEARINGHOUSE_BIN) + " report --inbox " + (dir / "hub-inbox").string() + " --json");
    ASSERT_EQ(report.exit_code, 0) << report.output;
    const auto reported = nlohmann::json::parse(report.output, nullptr, false);
    ASSERT_TRUE(reported.is_object()) << report.output;
    ASSERT_EQ(reported["cdrs"].size(), static_cast<std::size_t>(kSessions));
    for (const auto& cdr : reported["cdrs"])
        EXPECT_EQ(cdr["received"], receipts["US-UTL-" + cdr["id"].get<std::string>()]) << cdr.dump();
    for (int n = 1; n <= kSessions; ++n) {
        std::int64_t wh = 0;
        for (int q = 0; q < kQuarters; ++q)
            wh += value_at(n, q);
        const std::string key = "US-UTL-B" + std::to_string(n) + "-1";
        EXPECT_GE(receipts[key], 1) << key;
        std::ifstream in(dir / "hub-inbox" / (key + ".json"));
        const auto cdr = nlohmann::json::parse(in, nullptr, false);
        ASSERT_TRUE(cdr.is_object()) << key;
        EXPECT_EQ(std::llround(cdr["total_energy"].get<double>() * 1000), wh) << key;
        EXPECT_EQ(cdr["cdr_token"]["uid"], "VISITOR" + std::to_string(n)) << key;
    }
    // Each bill mailed to its customer under its own Message-ID; a mail the relay took just before a kill is sent
    // again with it.
    std::map<std::string, int> mails;
    const std::regex message_id("Message-ID: <bill-([0-9]+)\\.A0*([0-9]+)@[^>]+>", std::regex::icase);
    const std::regex to("\nTo: ([^\r\n]+)", std::regex::icase);
    for (const auto& text : texts_in(dir / "maildir" / "new")) {
        std::smatch id;
        std::smatch recipient;
        ASSERT_TRUE(std::regex_search(text, id, message_id)) << text.substr(0, 400);
        ASSERT_TRUE(std::regex_search(text, recipient, to)) << text.substr(0, 400);
        EXPECT_EQ(recipient[1].str(), "customer" + id[2].str() + "@example.test") << "bill " << id[1];
        ++mails[id[1]];
    }
    int mail_repeats = 0;
    for (const auto& [id, count] : mails)
        mail_repeats += count - 1;
    EXPECT_EQ(mails.size(), static_cast<std::size_t>(kSessions));
    std::cout << "CDRs received again after a kill: " << repeats << ", mails sent again: " << mail_repeats << '\n';
    // A kill interrupts one send at most: the one between its sending and its record.
    EXPECT_LE(repeats + mail_repeats, kills);
    fs::remove_all(dir);
}
}  // namespace
