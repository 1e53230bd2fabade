#include "storm_report.hpp"

#include <gtest/gtest.h>

namespace bench {
namespace {

TEST(StormReport, FiguresPerBindingCountOnlyTheBindingsThatSucceeded) {
    PhaseResult phase;
    phase.attempts = 10;
    phase.failures = 2;
    phase.seconds = 4;
    phase.server_cpu_seconds = 0.016;  // 2 ms for each of the 8 that bound
    phase.emulator_cpu_seconds = 0.08;
    phase.exchanges = 80;
    phase.pev_handshake_time = std::chrono::milliseconds(24);
    const auto report = phase_json(phase);
    EXPECT_EQ(report["bindings"], 8);
    EXPECT_EQ(report["attempts"], 10);
    EXPECT_EQ(report["failures"], 2);
    EXPECT_DOUBLE_EQ(report["bindings_per_s"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(report["server_cpu_ms_per_binding"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(report["emulator_cpu_ms_per_binding"].get<double>(), 10.0);
    EXPECT_DOUBLE_EQ(report["exchanges_per_binding"].get<double>(), 10.0);
    EXPECT_DOUBLE_EQ(report["pev_handshake_ms_mean"].get<double>(), 3.0);
}

TEST(StormReport, APhaseWhereEverythingFailedReportsZeroNotInfinity) {
    PhaseResult phase;
    phase.attempts = 5;
    phase.failures = 5;
    phase.seconds = 1;
    phase.server_cpu_seconds = 0.5;
    const auto report = phase_json(phase);
    EXPECT_EQ(report["bindings"], 0);
    EXPECT_EQ(report["bindings_per_s"].get<double>(), 0.0);
    EXPECT_EQ(report["server_cpu_ms_per_binding"].get<double>(), 0.0);
    EXPECT_EQ(report.dump().find("null"), std::string::npos);
}

}  // namespace
}  // namespace bench
