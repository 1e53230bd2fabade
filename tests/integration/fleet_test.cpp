// A small fleet charging for a simulated week: three premises (two level 2, one level 1), each with its ESCI, EUMD and
// PEV as DTLS clients, against the whole daemon with its clock moved day by day. The head-end must end up holding
// exactly what it acknowledged: every interval once, validated and correlated, each day's session, and the PEV's usage
// under /upt.
#include <gtest/gtest.h>

#include "support/database_file.hpp"
#include "support/fleet.hpp"

namespace headend {
namespace {

constexpr std::size_t kPremises = 3;
constexpr int kDays = 7;
constexpr std::size_t kQuartersPerDay = 96;

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

}  // namespace
}  // namespace headend
