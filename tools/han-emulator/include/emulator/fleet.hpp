// A fleet of emulated premises charging for simulated days against a head-end (DESIGN §6, scenarios 1-3): each
// premises F001, F002, … has an ESCI, an EUMD and one enrolled PEV, all real DTLS clients. Every simulated day at
// 18:00 local time each PEV plugs in (scenario 1 the first time, scenario 2 after), the head-end's clock moves to the
// next evening, the EUMD posts the charging session and the ESCI the premises meter's day (the house's load plus the
// EV's), and the PEV unplugs. With `mix`, the days vary as a billing month does: every other day a PEV plans its
// charge for the cheapest period (off-peak) instead of charging at once (on-peak); each week F001's PEV charges as a
// guest at F002, another utility's PEV visits F003, and F002's PEV's re-binding goes unacknowledged (its plugged-in
// PowerStatus lost): a fallback.
// Everything the head-end acknowledged is kept, so verify() can hold the admin API to it (and a test the database file,
// through acknowledged()). The head-end is the daemon in process (tests) or a live one on simulated time reached
// through its admin API (han-emulator --fleet).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/devices.hpp"
#include "pki/pki.hpp"

namespace emulator {

// What a fleet needs of the head-end it runs against: the admin API, the CoAPS endpoint, PEV certificates it
// trusts, and its clock, which the fleet moves through the simulated days.
class FleetHeadEnd {
public:
    struct Answer {
        int status = 0;
        nlohmann::json body;  // discarded when the answer is not JSON
    };

    virtual ~FleetHeadEnd() = default;
    // One admin API request with the admin credential; any status is an answer, a transport failure an error.
    virtual headend::Result<Answer> admin(const std::string& method, const std::string& path,
                                          const std::string& body = "") = 0;
    // Where devices reach it (host, port, its CA); client options and codec are the fleet's.
    virtual headend::Result<Endpoint> endpoint() = 0;
    // A PEV certificate from a manufacturer CA the head-end trusts, naming `vin`.
    virtual headend::Result<headend::pki::CertificateFiles> pev_certificate(const std::string& name,
                                                                            const std::string& vin) = 0;
    // The certificate of another utility's PEV that the head-end's roaming registry names (FleetOptions::mix).
    virtual headend::Result<headend::pki::CertificateFiles> roaming_certificate(const std::string& vin) = 0;
    // The head-end's time, and moving it forward.
    virtual std::int64_t now() const = 0;
    virtual headend::Result<void> advance(std::chrono::seconds by) = 0;
};

struct FleetOptions {
    std::size_t premises = 3;
    int days = 7;
    std::uint64_t seed = 1;
    // Local standard time of the territory (America/Los_Angeles): when PEVs plug in and when house loads peak.
    std::int64_t utc_offset_s = -8 * 3600;
    std::filesystem::path schema_dir;  // the SEP schemas; empty: the build's
    bool mix = false;                  // off-peak, guest, visiting and fallback days (at least 3 premises)
};

// The visiting PEV of another utility in a mixed fleet: the head-end's roaming registry must name it.
inline constexpr const char* kFleetVisitorVin = "1FADP5AU5JL100001";

// What one simulated day did.
struct FleetDay {
    int day = 0;
    std::int64_t evening = 0;      // when the PEVs plugged in, UTC seconds
    std::size_t charged = 0;       // PEVs bound, charged, posted and unplugged
    std::size_t rebound = 0;       // of them bound again by scenario 2
    std::size_t off_peak = 0;      // of them planned for the cheapest period
    std::size_t guests = 0;        // of them at another premises of ours
    std::size_t visiting = 0;      // of them another utility's
    std::size_t fallbacks = 0;     // of them never acknowledged: charged at the premises rate
    std::size_t backfilled = 0;    // premises meters that posted the day before too
    std::int64_t pev_wh = 0;       // posted by the EUMDs
    std::int64_t premises_wh = 0;  // posted by the ESCIs
    std::size_t intervals = 0;     // acknowledged, EUMDs and ESCIs together
    std::vector<std::string> failures;
};

// One thing the head-end was held to.
struct FleetCheck {
    std::string name;
    bool ok = false;
    std::string detail;
};

// Collects a check's problems, showing the first few.
class FleetProblems {
public:
    void add(const std::string& problem);
    FleetCheck check(std::string name, const std::string& when_ok) const;

private:
    std::size_t count_ = 0;
    std::string shown_;
};

// What the head-end acknowledged of one premises: interval start -> Wh, of its EV (EUMD) and of its meter (ESCI).
struct FleetAcknowledged {
    std::string premises_id;
    std::map<std::int64_t, std::int64_t> pev;
    std::map<std::int64_t, std::int64_t> meter;
};

class Fleet {
public:
    Fleet(FleetHeadEnd& headend, FleetOptions options);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    // CIS records, ESCI and EUMD registrations and PEV enrollments through the admin API, PEV certificates from the
    // manufacturer CA; then the head-end's clock moves to the first evening.
    headend::Result<void> provision();
    // The next simulated day, ending with the clock at the following evening.
    FleetDay run_day();
    // Through the admin API and /upt: no load mismatch alarm; one session per PEV per day with the energy posted;
    // each PEV's usage under /upt as posted (read on the last day).
    std::vector<FleetCheck> verify();

    const FleetOptions& options() const { return options_; }
    const StepLog& log() const { return log_; }
    std::size_t stored_intervals() const;  // acknowledged so far
    std::vector<FleetAcknowledged> acknowledged() const;

private:
    struct Premises;
    struct Vehicle;
    enum class Charge { OnPeak, OffPeak, Fallback };
    // Who charges at each premises today and how (the premises' own PEV on peak, without `mix`).
    void plan_day();
    headend::Result<void> plug_in(Premises& premises);
    headend::Result<void> post_day(Premises& premises, FleetDay& day);
    FleetCheck check_alarms();
    FleetCheck check_sessions();
    FleetCheck check_usage();

    FleetHeadEnd& headend_;
    FleetOptions options_;
    Endpoint endpoint_;
    StepLog log_;
    std::vector<std::unique_ptr<Premises>> premises_;
    std::vector<std::unique_ptr<Vehicle>> vehicles_;  // each premises' own, then the visitor (with `mix`)
    int day_ = 0;
    std::int64_t evening_ = 0;
};

// Runs every day of a provisioned fleet, a line of progress per day on `progress`, then `checks`, and writes the
// summary to `out`: text, or one JSON document (premises, days, seed, intervals_acknowledged, pev_kwh, premises_kwh,
// failures, device_step_failures, per_day, checks, seconds, ok). True when every day went through, every device step
// succeeded and every check passed.
bool run_fleet(Fleet& fleet, const std::function<std::vector<FleetCheck>()>& checks, bool as_json, std::ostream& out,
               std::ostream& progress);

}  // namespace emulator
