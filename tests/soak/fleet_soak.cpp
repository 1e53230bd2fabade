// fleet-soak: the fleet test's premises at a larger size, for as many simulated days as asked, against the whole
// daemon in process (its clock moved day by day). Prints each day's progress, what was stored and the checks; exits
// 0 only when every day went through and every check passes. Run by hand, not in CI.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "support/fleet.hpp"

namespace {

using headend::testing::FleetCheck;
using headend::testing::FleetDay;
using nlohmann::json;

json day_json(const FleetDay& day) {
    return {{"day", day.day},
            {"evening", day.evening},
            {"charged", day.charged},
            {"rebound", day.rebound},
            {"backfilled", day.backfilled},
            {"pev_wh", day.pev_wh},
            {"premises_wh", day.premises_wh},
            {"intervals", day.intervals},
            {"failures", day.failures}};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Emulated premises (ESCI, EUMD, PEV) charging for simulated days against the in-process head-end"};
    headend::testing::FleetOptions options;
    options.premises = 20;
    options.days = 28;
    bool as_json = false;
    app.add_option("--premises", options.premises, "premises, each with an ESCI, an EUMD and one PEV")
        ->check(CLI::Range(1, 999))
        ->capture_default_str();
    app.add_option("--days", options.days, "simulated days")->check(CLI::Range(1, 55))->capture_default_str();
    app.add_option("--seed", options.seed, "decides charges and house loads")->capture_default_str();
    app.add_flag("--json", as_json, "one JSON document on stdout (progress on stderr)");
    CLI11_PARSE(app, argc, argv);

    // The head-end's log to stderr, warnings and worse only: stdout is the report.
    spdlog::set_default_logger(spdlog::stderr_color_mt("headend"));
    spdlog::set_level(spdlog::level::warn);
    const auto started = std::chrono::steady_clock::now();
    auto clock = std::make_shared<headend::testing::ShiftedClock>();
    headend::testing::ProgramDaemon headend(
        headend::testing::ProgramDaemonOptions{.binding_timeout_s = 120, .clock = clock, .roaming_vins = {}});
    if (!headend.ok()) {
        std::cerr << "fleet-soak: the head-end did not start\n";
        return 1;
    }
    headend::testing::Fleet fleet(headend, *clock, options);
    if (auto provisioned = fleet.provision(); !provisioned) {
        std::cerr << "fleet-soak: provisioning failed: " << provisioned.error().message << '\n';
        return 1;
    }
    std::ostream& progress = as_json ? std::cerr : std::cout;
    json days = json::array();
    bool ok = true;
    for (int d = 0; d < options.days; ++d) {
        const auto day = fleet.run_day();
        ok = ok && day.failures.empty();
        days.push_back(day_json(day));
        progress << "day " << day.day + 1 << "/" << options.days << ": " << day.charged << " charged (" << day.rebound
                 << " re-bound), " << day.intervals << " intervals (" << day.pev_wh << " Wh EV, " << day.premises_wh
                 << " Wh premises), " << day.backfilled << " backfilled, " << day.failures.size() << " failures"
                 << std::endl;
        for (const auto& failure : day.failures)
            progress << "  FAILED " << failure << '\n';
    }
    const std::vector<FleetCheck> checks = fleet.verify();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    json results = json::array();
    for (const auto& check : checks) {
        ok = ok && check.ok;
        results.push_back({{"check", check.name}, {"ok", check.ok}, {"detail", check.detail}});
    }
    ok = ok && fleet.log().failures() == 0;
    if (as_json) {
        std::cout << json{{"premises", options.premises},
                          {"days", options.days},
                          {"seed", options.seed},
                          {"stored_intervals", fleet.stored_intervals()},
                          {"device_step_failures", fleet.log().failures()},
                          {"per_day", days},
                          {"checks", results},
                          {"seconds", seconds},
                          {"ok", ok}}
                         .dump(2)
                  << '\n';
    } else {
        std::cout << "stored " << fleet.stored_intervals() << " intervals of " << options.premises << " premises over "
                  << options.days << " days; " << fleet.log().failures() << " failed device steps\n";
        for (const auto& check : checks)
            std::cout << (check.ok ? "ok     " : "FAILED ") << check.name << ": " << check.detail << '\n';
        std::cout << (ok ? "PASS" : "FAIL") << " in " << seconds << " s\n";
    }
    return ok ? 0 : 1;
}
