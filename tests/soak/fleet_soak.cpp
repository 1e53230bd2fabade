// fleet-soak: the fleet test's premises at a larger size, for as many simulated days as asked, against the whole
// daemon in process (its clock moved day by day). Prints each day's progress, what was stored and the checks; exits
// 0 only when every day went through and every check passes. Run by hand, not in CI.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "support/fleet.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Emulated premises (ESCI, EUMD, PEV) charging for simulated days against the in-process head-end"};
    emulator::FleetOptions options;
    options.premises = 20;
    options.days = 28;
    bool as_json = false;
    app.add_option("--premises", options.premises, "premises, each with an ESCI, an EUMD and one PEV")
        ->check(CLI::Range(1, 999))
        ->capture_default_str();
    app.add_option("--days", options.days, "simulated days")->check(CLI::Range(1, 55))->capture_default_str();
    app.add_option("--seed", options.seed, "decides charges and house loads")->capture_default_str();
    app.add_flag("--json", as_json, "one JSON document on stdout (progress on stderr)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;  // --help, or a usage error (exit 2 as every tool here)
    }

    // The head-end's log to stderr, warnings and worse only: stdout is the report.
    spdlog::set_default_logger(spdlog::stderr_color_mt("headend"));
    spdlog::set_level(spdlog::level::warn);
    auto clock = std::make_shared<headend::testing::ShiftedClock>();
    headend::testing::ProgramDaemon headend(
        headend::testing::ProgramDaemonOptions{.binding_timeout_s = 120, .clock = clock, .roaming_vins = {}});
    if (!headend.ok()) {
        std::cerr << "fleet-soak: the head-end did not start\n";
        return 1;
    }
    headend::testing::InProcessHeadEnd access(headend, *clock);
    emulator::Fleet fleet(access, options);
    if (auto provisioned = fleet.provision(); !provisioned) {
        std::cerr << "fleet-soak: provisioning failed: " << provisioned.error().message << '\n';
        return 1;
    }
    const bool ok = emulator::run_fleet(
        fleet, [&] { return headend::testing::verify_in_process(fleet, headend); }, as_json, std::cout,
        as_json ? std::cerr : std::cout);
    return ok ? 0 : 1;
}
