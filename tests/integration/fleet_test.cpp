// A small fleet charging for a simulated week: three premises (two level 2, one level 1), each with its ESCI, EUMD and
// PEV as DTLS clients, against the whole daemon with its clock moved day by day. The head-end must end up holding
// exactly what it acknowledged: every interval once, validated and correlated, each day's session, and the PEV's usage
// under /upt.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "support/database_file.hpp"
#include "support/fleet.hpp"

namespace headend {
namespace {

constexpr std::size_t kPremises = 3;
constexpr int kDays = 7;
constexpr std::size_t kQuartersPerDay = 96;

// "YYYY-MM" of a UTC instant in the territory (America/Los_Angeles), for instants away from local midnight.
std::string local_month(std::int64_t utc) {
    const auto local = static_cast<std::time_t>(utc - 8 * 3600);
    std::tm day{};
    gmtime_r(&local, &day);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m", &day);
    return text;
}

TEST(Fleet, PremisesChargeForAWeekAndEveryIntervalIsStoredOnceValidatedAndCorrelated) {
    auto clock = std::make_shared<testing::ShiftedClock>();
    testing::ProgramDaemon headend(
        testing::ProgramDaemonOptions{.binding_timeout_s = 120, .clock = clock, .roaming_vins = {}});
    ASSERT_TRUE(headend.ok());
    testing::InProcessHeadEnd access(headend, *clock);
    emulator::Fleet fleet(
        access, {.premises = kPremises, .days = kDays, .seed = 7, .utc_offset_s = -8 * 3600, .schema_dir = {}});
    auto provisioned = fleet.provision();
    ASSERT_TRUE(provisioned) << provisioned.error().message;

    std::size_t backfilled = 0;
    for (int d = 0; d < kDays; ++d) {
        const auto day = fleet.run_day();
        EXPECT_TRUE(day.failures.empty()) << "day " << d << ": " << day.failures.front();
        EXPECT_EQ(day.charged, kPremises) << "day " << d;
        EXPECT_EQ(day.rebound, d == 0 ? 0U : kPremises) << "day " << d;  // scenario 1 once, then scenario 2
        EXPECT_GE(day.premises_wh, day.pev_wh) << "day " << d;
        backfilled += day.backfilled;
    }
    EXPECT_GT(backfilled, 0U);  // some premises meters sent a past day with the next one

    for (const auto& check : testing::verify_in_process(fleet, headend))
        EXPECT_TRUE(check.ok) << check.name << ": " << check.detail;
    // Independently of what the fleet kept: every premises meter's whole week is on disk, once per quarter hour.
    auto meter = testing::query_rows(headend.root() / "data" / "headend.db",
                                     "SELECT COUNT(*), COUNT(DISTINCT u.mup_id || '/' || i.start_at) FROM intervals i "
                                     "JOIN mirror_meter_readings m ON m.mmr_id = i.mmr_id JOIN mirror_usage_points u "
                                     "ON u.mup_id = m.mup_id WHERE (u.role_flags & " +
                                         std::to_string(sep::kRoleIsPremisesAggregationPoint) + ") <> 0");
    ASSERT_TRUE(meter) << meter.error().message;
    const std::string week = std::to_string(kPremises * kDays * kQuartersPerDay);
    EXPECT_EQ(meter->at(0), week + "|" + week + "|");
    EXPECT_EQ(fleet.log().failures(), 0U);
    EXPECT_EQ(headend.admin("GET", "/api/v1/sessions").second["sessions"].size(), kPremises * kDays);
}

// A mixed month (FleetOptions::mix, 31 days): off-peak charges planned from the tariff, each week F001's PEV as a guest
// at F002, another utility's PEV at F003 (back each week with its re-bind credential) and F002's PEV's re-binding
// never acknowledged; on day 31 the re-bind credentials expire (the PEVs then bind, or go on, with their certificates).
// Each charge a session as it was bound, and billed so.
TEST(Fleet, AMixedMonthChargesOffPeakAsGuestsVisitorsAndFallbacksEachSessionAsBound) {
    constexpr int kMixedDays = 31;
    auto clock = std::make_shared<testing::ShiftedClock>();
    testing::ProgramDaemon headend(testing::ProgramDaemonOptions{
        .binding_timeout_s = 120, .clock = clock, .roaming_vins = {emulator::kFleetVisitorVin}});
    ASSERT_TRUE(headend.ok());
    testing::InProcessHeadEnd access(headend, *clock);
    emulator::Fleet fleet(access, {.premises = kPremises,
                                   .days = kMixedDays,
                                   .seed = 3,
                                   .utc_offset_s = -8 * 3600,
                                   .schema_dir = {},
                                   .mix = true});
    auto provisioned = fleet.provision();
    ASSERT_TRUE(provisioned) << provisioned.error().message;
    std::size_t off_peak = 0;
    for (int d = 0; d < kMixedDays; ++d) {
        const auto day = fleet.run_day();
        const int event = d + 1 == kMixedDays ? -1 : d % 7;  // the last day plain
        EXPECT_TRUE(day.failures.empty()) << "day " << d << ": " << day.failures.front();
        EXPECT_EQ(day.charged, event == 2 ? kPremises - 1 : kPremises) << "day " << d;  // F001's PEV away at F002
        EXPECT_EQ(day.guests, event == 2 ? 1U : 0U) << "day " << d;
        EXPECT_EQ(day.visiting, event == 4 ? 1U : 0U) << "day " << d;
        EXPECT_EQ(day.fallbacks, event == 5 ? 1U : 0U) << "day " << d;
        // Certificates the first day and at the visitor's first visit; the credentials issued on day 1 expire 30 days
        // later, within seconds of the last evening's plug-in: re-bound with them or with certificates then.
        if (d + 1 < kMixedDays) {
            EXPECT_EQ(day.rebound, d == 0 ? 0U : day.charged - (event == 4 && d < 7 ? 1U : 0U)) << "day " << d;
        }
        off_peak += day.off_peak;
    }
    EXPECT_GE(off_peak, 40U);
    for (const auto& check : testing::verify_in_process(fleet, headend))
        EXPECT_TRUE(check.ok) << check.name << ": " << check.detail;
    EXPECT_EQ(fleet.log().failures(), 0U);
    const auto bindings = headend.bindings();
    std::map<std::string, int> kinds;
    for (const auto& binding : bindings)
        ++kinds[binding["kind"].get<std::string>() + "/" + binding["status"].get<std::string>()];
    EXPECT_EQ(kinds["guest/ended"], 4) << bindings.dump(1);
    EXPECT_EQ(kinds["roaming/ended"], 4) << bindings.dump(1);
    EXPECT_EQ(kinds["home/fallback"], 4) << bindings.dump(1);

    // The bills of every month the week touched, the clock moved past the last: each charge on its line.
    std::set<std::string> months;
    std::int64_t last = 0;
    for (const auto& binding : bindings) {
        months.insert(local_month(binding["requested_at"].get<std::int64_t>()));
        last = std::max(last, binding["updated_at"].get<std::int64_t>());
    }
    ASSERT_TRUE(access.advance(std::chrono::seconds(last + 32 * 86400 - clock->now())));
    std::map<std::string, std::pair<std::string, nlohmann::json>> lines;  // posting source -> account, posting
    std::set<std::string> periods;                                        // of the PEV debits
    for (const auto& month : months) {
        const auto run = headend.admin("POST", "/api/v1/bills/run", nlohmann::json{{"month", month}}.dump());
        ASSERT_EQ(run.first, 200) << run.second.dump();
        const auto listed_bills = headend.admin("GET", "/api/v1/bills?month=" + month).second;
        for (const auto& listed : listed_bills["bills"]) {
            const auto bill = headend.admin("GET", "/api/v1/bills/" + listed["bill_id"].dump()).second;
            for (const auto& posting : bill["postings"])
                lines[posting["source"].get<std::string>()] = {bill["account_id"].get<std::string>(), posting};
            for (const auto& line : bill["document"]["lines"])
                if (line["kind"] == "home_session" || line["kind"] == "guest_session")
                    for (const auto& period : line["periods"])
                        periods.insert(period["period"].get<std::string>());
        }
    }
    const auto id_of = [&](const std::string& kind, const std::string& status) {
        for (const auto& binding : bindings)
            if (binding["kind"] == kind && binding["status"] == status)
                return "session:" + binding["binding_id"].dump();
        return std::string("none");
    };
    const std::string guest = id_of("guest", "ended");
    EXPECT_EQ(lines[guest + ":debit"].first, "FA001");  // the owner pays
    EXPECT_EQ(lines[guest + ":debit"].second["kind"], "guest_session");
    EXPECT_EQ(lines[guest + ":credit"].first, "FA002");  // the host is credited
    const std::string visit = id_of("roaming", "ended");
    EXPECT_EQ(lines[visit + ":credit"].first, "FA003");
    EXPECT_FALSE(lines.contains(visit + ":debit"));  // settled through the clearinghouse
    const std::string fallback = id_of("home", "fallback");
    EXPECT_EQ(lines[fallback + ":fallback"].first, "FA002");
    EXPECT_EQ(lines[fallback + ":fallback"].second["billed"], "0.00");
    EXPECT_TRUE(periods.contains("off-peak")) << ::testing::PrintToString(periods);
    EXPECT_TRUE(periods.contains("mid-peak") || periods.contains("on-peak")) << ::testing::PrintToString(periods);
}

}  // namespace
}  // namespace headend
