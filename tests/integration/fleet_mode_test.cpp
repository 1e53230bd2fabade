// han-emulator --fleet against the real daemon process on simulated time (headend --simulated-time): the clock route
// exists only with the flag and moves forward only; the emulator as its own process provisions premises through the
// admin API, runs simulated days moving the daemon's clock, and the database file holds every interval it reports
// acknowledged once. Against a daemon on real time the fleet refuses before changing anything.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "daemon_process.hpp"
#include "run_command.hpp"
#include "sep/types.hpp"
#include "support/database_file.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::DaemonProcess;
using headend::testing::run;
using nlohmann::json;

constexpr int kPremises = 2;
constexpr int kDays = 3;
constexpr int kQuartersPerDay = 96;
constexpr std::int64_t kDay = 86400;

class FleetModeTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("headend-fleet-mode-" + std::to_string(std::random_device()()));
        fs::create_directories(dir_);
        auto made = run(std::string(HEADEND_PKI_BIN) + " ca --out " + (dir_ / "mfr").string());
        ASSERT_EQ(made.exit_code, 0) << made.output;
        std::ofstream(dir_ / "headend.toml")
            << "[tls]\ndevice_ca = [\"" << (dir_ / "mfr" / "ca.pem").string() << "\"]\n"
            << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \"" << PEV_REGISTRATION_PLUGIN
            << "\"\n[[plugins]]\nname = \"pev-binding\"\nlibrary = \"" << PEV_BINDING_PLUGIN
            << "\"\n[[plugins]]\nname = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
            << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE << "\"\n"
            << "[plugin.pev-binding]\nbinding_timeout_s = 120\n";
    }
    void TearDown() override {
        daemon_.reset();
        fs::remove_all(dir_);
    }

    void start(bool simulated_time) {
        daemon_ = std::make_unique<DaemonProcess>(
            dir_, dir_ / "headend.toml",
            simulated_time ? std::vector<std::string>{"--simulated-time"} : std::vector<std::string>{});
        ASSERT_NE(daemon_->coaps_port(), 0) << daemon_->stderr_text();
    }
    // The admin API through curl: the status line last.
    std::pair<int, json> admin(const std::string& method, const std::string& path, const std::string& body = "") {
        auto answer = run(daemon_->curl(path) + " -X " + method + (body.empty() ? "" : " -d '" + body + "'") +
                          " -w '\\n%{http_code}'");
        const auto newline = answer.output.rfind('\n');
        EXPECT_NE(newline, std::string::npos) << answer.output;
        if (newline == std::string::npos)
            return {0, json()};
        return {std::stoi(answer.output.substr(newline + 1)),
                json::parse(answer.output.substr(0, newline), nullptr, false)};
    }
    // han-emulator in fleet mode against the daemon; stdout only (progress and messages go to `stderr_file`).
    headend::testing::Command fleet(const std::string& extra) {
        return run("{ " + std::string(HAN_EMULATOR_BIN) + " --fleet --server-ca " +
                   (dir_ / "data" / "tls" / "ca.pem").string() + " --mfr-ca " + (dir_ / "mfr").string() + " --admin " +
                   daemon_->admin_url() + " --token-file " + daemon_->token_file().string() + " " + extra + " 2>" +
                   (dir_ / "emulator.err").string() + "; }");
    }
    std::string emulator_stderr() const {
        std::ifstream in(dir_ / "emulator.err");
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    std::vector<std::string> rows(const std::string& sql) {
        auto selected = headend::testing::query_rows(dir_ / "data" / "headend.db", sql);
        EXPECT_TRUE(selected) << sql << ": " << selected.error().message;
        return selected ? *selected : std::vector<std::string>{};
    }

    fs::path dir_;
    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(FleetModeTest, WithoutSimulatedTimeTheClockRouteIsUnknownAndTimeStaysTheSystems) {
    start(false);
    const auto unknown = admin("POST", "/api/v1/no-such-route", R"({"advance_s": 86400})");
    const auto moved = admin("POST", "/api/v1/clock", R"({"advance_s": 86400})");
    EXPECT_EQ(moved.first, 404);
    EXPECT_EQ(moved.second["error"]["code"], unknown.second["error"]["code"]) << moved.second.dump();
    EXPECT_EQ(admin("GET", "/api/v1/clock").first, 404);
    // The head-end's clock did not move: its uptime is seconds, not a day.
    const auto health = admin("GET", "/api/v1/health");
    ASSERT_EQ(health.first, 200);
    EXPECT_LT(health.second["uptime_s"].get<std::int64_t>(), 600);
    EXPECT_EQ(daemon_->stderr_text().find("HEADEND_CLOCK"), std::string::npos);
}

TEST_F(FleetModeTest, OnSimulatedTimeTheClockMovesForwardOnlyAndEveryMoveIsLogged) {
    start(true);
    EXPECT_NE(daemon_->stderr_text().find("[HEADEND_CLOCK_SIMULATED]"), std::string::npos) << daemon_->stderr_text();
    const std::int64_t before = std::time(nullptr);
    const auto moved = admin("POST", "/api/v1/clock", R"({"advance_s": 86400})");
    ASSERT_EQ(moved.first, 200) << moved.second.dump();
    EXPECT_GE(moved.second["now"].get<std::int64_t>(), before + kDay);
    EXPECT_EQ(moved.second["offset_s"], kDay);
    EXPECT_GE(admin("GET", "/api/v1/health").second["uptime_s"].get<std::int64_t>(), kDay);

    const auto backwards = admin("POST", "/api/v1/clock", R"({"advance_s": -3600})");
    EXPECT_EQ(backwards.first, 400);
    EXPECT_EQ(backwards.second["error"]["code"], "clock.backwards") << backwards.second.dump();
    EXPECT_NE(backwards.second["error"]["message"].get<std::string>().find("only moves forward"), std::string::npos);
    EXPECT_EQ(admin("GET", "/api/v1/clock").second["offset_s"], kDay);
    // Behind the admin token like every admin route.
    EXPECT_EQ(run(daemon_->curl("/api/v1/clock", false) + " -o /dev/null -w '%{http_code}'").output, "401");
    EXPECT_NE(daemon_->stderr_text().find("[HEADEND_CLOCK_ADVANCED] simulated time moved forward 86400 s"),
              std::string::npos)
        << daemon_->stderr_text();
}

TEST_F(FleetModeTest, TwoPremisesChargeForThreeSimulatedDaysAndEveryAcknowledgedIntervalIsStoredOnce) {
    start(true);
    const auto ran =
        fleet("--premises " + std::to_string(kPremises) + " --days " + std::to_string(kDays) + " --seed 5 --json");
    ASSERT_EQ(ran.exit_code, 0) << ran.output << emulator_stderr();
    const auto summary = json::parse(ran.output, nullptr, false);
    ASSERT_TRUE(summary.is_object()) << ran.output;
    EXPECT_EQ(summary["ok"], true);
    EXPECT_EQ(summary["premises"], kPremises);
    EXPECT_EQ(summary["days"], kDays);
    EXPECT_EQ(summary["failures"], 0);
    EXPECT_EQ(summary["device_step_failures"], 0);
    ASSERT_EQ(summary["per_day"].size(), static_cast<std::size_t>(kDays));
    for (int d = 0; d < kDays; ++d) {
        const auto& day = summary["per_day"][d];
        EXPECT_EQ(day["charged"], kPremises) << day.dump();
        EXPECT_EQ(day["rebound"], d == 0 ? 0 : kPremises) << day.dump();  // scenario 1 once, then scenario 2
    }
    for (const auto& check : summary["checks"])
        EXPECT_EQ(check["ok"], true) << check.dump();
    EXPECT_NE(emulator_stderr().find("day 3/3: 2 charged"), std::string::npos) << emulator_stderr();

    // The database file: every acknowledged interval once, the energies as reported, nothing revised or in conflict.
    const auto acknowledged = summary["intervals_acknowledged"].get<std::int64_t>();
    const std::string counted = std::to_string(acknowledged) + "|" + std::to_string(acknowledged) + "|";
    EXPECT_EQ(rows("SELECT COUNT(*), COUNT(DISTINCT mmr_id || '/' || start_at) FROM intervals"),
              std::vector<std::string>{counted});
    const std::string by_kind =
        "SELECT COUNT(*), SUM(i.value_wh) FROM intervals i JOIN mirror_meter_readings m ON "
        "m.mmr_id = i.mmr_id JOIN mirror_usage_points u ON u.mup_id = m.mup_id WHERE "
        "(u.role_flags & " +
        std::to_string(sep::kRoleIsPev) + ") ";
    const auto meter = rows(by_kind + "= 0");
    const auto pev = rows(by_kind + "<> 0");
    ASSERT_EQ(meter.size(), 1U);
    ASSERT_EQ(pev.size(), 1U);
    const std::int64_t meter_intervals = kPremises * kDays * kQuartersPerDay;
    EXPECT_EQ(meter[0], std::to_string(meter_intervals) + "|" +
                            std::to_string(std::llround(summary["premises_kwh"].get<double>() * 1000)) + "|");
    EXPECT_EQ(pev[0], std::to_string(acknowledged - meter_intervals) + "|" +
                          std::to_string(std::llround(summary["pev_kwh"].get<double>() * 1000)) + "|");
    EXPECT_TRUE(rows("SELECT * FROM interval_conflicts").empty());
    EXPECT_TRUE(rows("SELECT * FROM interval_versions").empty());
    EXPECT_TRUE(rows("SELECT * FROM load_mismatches").empty());
    // The daemon's time moved with the days, not its process's: the last session is days ahead of this machine's.
    const auto clock = admin("GET", "/api/v1/clock");
    EXPECT_GE(clock.second["offset_s"].get<std::int64_t>(), (kDays - 1) * kDay) << clock.second.dump();
}

TEST_F(FleetModeTest, AgainstADaemonOnRealTimeTheFleetRefusesBeforeChangingAnything) {
    start(false);
    const auto refused = fleet("--premises 2 --days 3");
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(emulator_stderr().find("does not run on simulated time (start it with headend --simulated-time"),
              std::string::npos)
        << emulator_stderr();
    const auto devices = admin("GET", "/api/v1/devices");
    ASSERT_EQ(devices.first, 200);
    EXPECT_TRUE(devices.second["devices"].empty()) << devices.second.dump();
    const auto premises = admin("GET", "/api/v1/premises");
    ASSERT_EQ(premises.first, 200);
    EXPECT_TRUE(premises.second["premises"].empty()) << premises.second.dump();
    EXPECT_TRUE(rows("SELECT * FROM intervals").empty());
    for (const auto& entry : fs::directory_iterator(dir_ / "mfr"))
        EXPECT_NE(entry.path().filename().string().rfind("pev-", 0), 0U) << entry.path();

    // Usage errors: fleet options need --fleet, --fleet needs --mfr-ca and takes none of one premises' options.
    EXPECT_EQ(run(std::string(HAN_EMULATOR_BIN) + " --premises 2 --server-ca x").exit_code, 2);
    EXPECT_EQ(run(std::string(HAN_EMULATOR_BIN) + " --fleet --server-ca x").exit_code, 2);
    EXPECT_EQ(fleet("--esci e:00").exit_code, 2);
    EXPECT_EQ(fleet("--mix --premises 2").exit_code, 2);  // a guest at F002 and a visitor at F003 need 3
    const auto help = run(std::string(HAN_EMULATOR_BIN) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("--simulated-time"), std::string::npos) << help.output;
}

}  // namespace
