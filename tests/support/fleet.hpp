// A fleet of emulated premises charging for simulated days against the whole daemon in process (DESIGN §6,
// scenarios 1-3): each premises F001, F002, … has an ESCI, an EUMD and one enrolled PEV, all real DTLS clients. Every
// simulated day at 18:00 local time each PEV plugs in (scenario 1 the first time, scenario 2 after), the head-end's
// clock moves to the next evening, the EUMD posts the charging session and the ESCI the premises meter's day (the
// house's load plus the EV's), and the PEV unplugs. Everything the head-end acknowledged is kept, so verify() can
// hold the database file and the admin API to it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emulator/devices.hpp"
#include "support/program_daemon.hpp"

namespace headend::testing {

struct FleetOptions {
    std::size_t premises = 3;
    int days = 7;
    std::uint64_t seed = 1;
    // Local standard time of the territory (America/Los_Angeles): when PEVs plug in and when house loads peak.
    std::int64_t utc_offset_s = -8 * 3600;
};

// What one simulated day did.
struct FleetDay {
    int day = 0;
    std::int64_t evening = 0;      // when the PEVs plugged in, UTC seconds
    std::size_t charged = 0;       // PEVs bound, charged, posted and unplugged
    std::size_t rebound = 0;       // of them bound again by scenario 2
    std::size_t backfilled = 0;    // premises meters that posted the day before too
    std::int64_t pev_wh = 0;       // posted by the EUMDs
    std::int64_t premises_wh = 0;  // posted by the ESCIs
    std::size_t intervals = 0;     // acknowledged, EUMDs and ESCIs together
    std::vector<std::string> failures;
};

// One thing verify() held the head-end to.
struct FleetCheck {
    std::string name;
    bool ok = false;
    std::string detail;
};

class Fleet {
public:
    Fleet(ProgramDaemon& headend, ShiftedClock& clock, FleetOptions options);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    // CIS records, ESCI and EUMD registrations and PEV enrollments through the admin API, PEV certificates from the
    // manufacturer CA; then the head-end's clock moves to the first evening.
    Result<void> provision();
    // The next simulated day, ending with the clock at the following evening.
    FleetDay run_day();
    // Every acknowledged interval stored once with its value, actual and unflagged; no load mismatch; one session per
    // PEV per day with the energy posted; each PEV's usage under /upt as posted (read on the last day).
    std::vector<FleetCheck> verify();

    const emulator::StepLog& log() const { return log_; }
    std::size_t stored_intervals() const;  // acknowledged so far

private:
    struct Premises;
    Result<void> plug_in(Premises& premises);
    Result<void> post_day(Premises& premises, FleetDay& day);
    FleetCheck check_intervals();
    FleetCheck check_correlation();
    FleetCheck check_sessions();
    FleetCheck check_usage();

    ProgramDaemon& headend_;
    ShiftedClock& clock_;
    FleetOptions options_;
    emulator::Endpoint endpoint_;
    emulator::StepLog log_;
    std::vector<std::unique_ptr<Premises>> premises_;
    int day_ = 0;
    std::int64_t evening_ = 0;
};

}  // namespace headend::testing
