#include "emulator/fleet.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ostream>
#include <random>

#include "pev/vin.hpp"

namespace emulator {

namespace {

using headend::Result;
using nlohmann::json;

// The head-end's PSK for every fleet ESCI and EUMD.
const std::vector<std::uint8_t> kDeviceKey(16, 0x11);

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kEvening = 18 * 3600;  // local time the PEVs plug in
constexpr std::int64_t kPostBefore = 120;     // the day's data goes this long before the next evening
constexpr std::size_t kShownProblems = 5;

headend::Error failure(const std::string& message) {
    return headend::make_error("fleet", message);
}

std::string numbered(const char* prefix, std::size_t n) {
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "%s%03zu", prefix, n);
    return text.data();
}

// A valid VIN per premises (the 9th character its check digit).
std::string fleet_vin(std::size_t n) {
    std::array<char, 18> text{};
    std::snprintf(text.data(), text.size(), "5YJ3E1EA0PF%06zu", n);
    std::string vin = text.data();
    vin[8] = pev::vin_check_digit(vin);
    return vin;
}

std::string hex(const std::vector<std::uint8_t>& bytes) {
    std::string text;
    for (const auto byte : bytes) {
        std::array<char, 3> digits{};
        std::snprintf(digits.data(), digits.size(), "%02X", byte);
        text += digits.data();
    }
    return text;
}

Result<void> expect_status(const Result<FleetHeadEnd::Answer>& answer, int status, const std::string& what) {
    if (!answer)
        return failure(what + ": " + answer.error().message);
    if (answer->status == status)
        return {};
    return failure(what + " answered " + std::to_string(answer->status) + ": " + answer->body.dump());
}

json day_json(const FleetDay& day) {
    return {{"day", day.day},           {"evening", day.evening},         {"charged", day.charged},
            {"rebound", day.rebound},   {"off_peak", day.off_peak},       {"guests", day.guests},
            {"visiting", day.visiting}, {"fallbacks", day.fallbacks},     {"backfilled", day.backfilled},
            {"pev_wh", day.pev_wh},     {"premises_wh", day.premises_wh}, {"intervals", day.intervals},
            {"failures", day.failures}};
}

// ", 2 off-peak, 1 guest, …" for a mixed day.
std::string mix_summary(const FleetDay& day) {
    std::string text;
    for (const auto& [count, what] : {std::pair{day.off_peak, "off-peak"}, std::pair{day.guests, "guest"},
                                      std::pair{day.visiting, "visiting"}, std::pair{day.fallbacks, "fallback"}})
        if (count > 0)
            text += ", " + std::to_string(count) + " " + what;
    return text;
}

}  // namespace

void FleetProblems::add(const std::string& problem) {
    if (count_++ < kShownProblems)
        shown_ += (shown_.empty() ? "" : "; ") + problem;
}

FleetCheck FleetProblems::check(std::string name, const std::string& when_ok) const {
    return {std::move(name), count_ == 0, count_ == 0 ? when_ok : std::to_string(count_) + " problem(s): " + shown_};
}

// A PEV: a premises' own, or the visitor of another utility.
struct Fleet::Vehicle {
    std::string vin;
    double kilowatts = 7.2;  // level 2; every third premises' PEV is level 1 (1.4 kW)
    bool ours = true;        // enrolled with us (the visitor is not)
    std::unique_ptr<Pev> pev;
    bool plugged_before = false;
    // What the head-end acknowledged of its charges, wherever it charged, and what it read under /upt last.
    struct Session {
        std::string premises_id;
        std::int64_t energy_wh = 0;
        std::size_t intervals = 0;
        std::string binding_status;  // as the session list should show it
    };
    std::vector<Session> sessions;
    std::map<std::int64_t, std::int64_t> intervals;
    std::vector<sep::Reading> usage;
};

struct Fleet::Premises {
    std::size_t index = 0;
    std::string id;
    std::uint64_t house_seed = 0;
    std::unique_ptr<Esci> esci;
    std::unique_ptr<Eumd> eumd;
    Vehicle* own = nullptr;
    // Today: the PEV plugged in here (none while its own is away), how it charges, and the charge as the EUMD
    // measures it.
    Vehicle* charging = nullptr;
    Charge how = Charge::OnPeak;
    std::int64_t session_start = 0;
    std::vector<std::int64_t> session;
    // A premises meter day not sent yet: it goes with the next day's (backfill).
    std::optional<std::pair<std::int64_t, std::vector<std::int64_t>>> held_load;
    // What the head-end acknowledged of this premises' EUMD and meter: per interval start its Wh.
    std::map<std::int64_t, std::int64_t> pev_intervals;
    std::map<std::int64_t, std::int64_t> meter_intervals;
};

Fleet::Fleet(FleetHeadEnd& headend, FleetOptions options) : headend_(headend), options_(std::move(options)) {}

Fleet::~Fleet() = default;

Result<void> Fleet::provision() {
    if (options_.mix && options_.premises < 3)
        return failure("a mixed fleet needs at least 3 premises (a guest at F002, a visitor at F003)");
    auto codec =
        sep::Codec::load(options_.schema_dir.empty() ? std::filesystem::path(HEADEND_SCHEMA_DIR) : options_.schema_dir);
    if (!codec)
        return codec.error();
    auto endpoint = headend_.endpoint();
    if (!endpoint)
        return endpoint.error();
    endpoint_ = *endpoint;
    endpoint_.codec = *codec;
    endpoint_.client.request_timeout = std::chrono::milliseconds(3000);
    endpoint_.client.connect_timeout = std::chrono::milliseconds(1500);

    // Each customer with an e-mail address, so that their bills are mailed.
    std::string csv = "account_id,customer_id,customer_name,premises_id,service_address,default_rate,email\n";
    for (std::size_t n = 1; n <= options_.premises; ++n)
        csv += numbered("FA", n) + "," + numbered("FC", n) + ",Customer " + std::to_string(n) + "," + numbered("F", n) +
               "," + std::to_string(n) + " Fleet St,DOM-FLAT," + numbered("customer", n) + "@fleet.example\n";
    if (auto imported = expect_status(headend_.admin("POST", "/api/v1/customers/import", csv), 200, "CIS import");
        !imported)
        return imported;
    // The devices keep the head-end's time, as they would after their first /tm.
    const LocalClock device_clock = [&headend = headend_] { return headend.now(); };
    const auto make_pev = [&](const std::string& name, const headend::pki::CertificateFiles& certificate) {
        Pev::Options pev;
        pev.cert = certificate.cert;
        pev.key = certificate.key;
        pev.wait = std::chrono::milliseconds(3000);
        pev.poll_every = std::chrono::milliseconds(50);
        return std::make_unique<Pev>(name, endpoint_, pev, log_, device_clock);
    };
    for (std::size_t n = 1; n <= options_.premises; ++n) {
        auto premises = std::make_unique<Premises>();
        auto vehicle = std::make_unique<Vehicle>();
        premises->index = n;
        premises->id = numbered("F", n);
        premises->house_seed = options_.seed * 1000003 + n;
        vehicle->vin = fleet_vin(n);
        vehicle->kilowatts = n % 3 == 0 ? 1.4 : 7.2;
        for (const auto& [type, identity] :
             {std::pair{"esci", numbered("fleet-esci-", n)}, std::pair{"eumd", numbered("fleet-eumd-", n)}}) {
            const json device = {{"type", type},
                                 {"premises_id", premises->id},
                                 {"psk_identity", identity},
                                 {"psk_key", hex(kDeviceKey)}};
            if (auto added = expect_status(headend_.admin("POST", "/api/v1/devices", device.dump()), 201, identity);
                !added)
                return added;
        }
        // Guests are welcome in a mixed fleet (both enrollments must allow it); the PEV's owner pays.
        const json enrollment = {{"account_id", numbered("FA", n)}, {"customer_id", numbered("FC", n)},
                                 {"premises_id", premises->id},     {"vin", vehicle->vin},
                                 {"program_id", "EV-TOU"},          {"allow_guest_charging", options_.mix},
                                 {"guest_charging_payer", "owner"}};
        if (auto enrolled = expect_status(headend_.admin("POST", "/api/v1/enrollments", enrollment.dump()), 201,
                                          "enrollment of " + vehicle->vin);
            !enrolled)
            return enrolled;
        const auto certificate = headend_.pev_certificate(numbered("fleet-pev-", n), vehicle->vin);
        if (!certificate)
            return failure("no certificate for " + vehicle->vin + ": " + certificate.error().message);
        premises->esci =
            std::make_unique<Esci>(numbered("fleet-esci-", n), endpoint_,
                                   han::PskCredentials{numbered("fleet-esci-", n), kDeviceKey}, log_, device_clock);
        premises->eumd =
            std::make_unique<Eumd>(numbered("fleet-eumd-", n), endpoint_,
                                   han::PskCredentials{numbered("fleet-eumd-", n), kDeviceKey}, log_, device_clock);
        vehicle->pev = make_pev(numbered("fleet-pev-", n), *certificate);
        premises->own = vehicle.get();
        premises_.push_back(std::move(premises));
        vehicles_.push_back(std::move(vehicle));
    }
    if (options_.mix) {
        auto visitor = std::make_unique<Vehicle>();
        visitor->vin = kFleetVisitorVin;
        visitor->ours = false;
        const auto certificate = headend_.roaming_certificate(visitor->vin);
        if (!certificate)
            return failure("the visiting PEV " + visitor->vin + ": " + certificate.error().message);
        visitor->pev = make_pev("fleet-visitor", *certificate);
        vehicles_.push_back(std::move(visitor));
    }
    // The first evening: the next 18:00 local time.
    const std::int64_t local = headend_.now() + options_.utc_offset_s;
    std::int64_t evening = local - local % kDay + kEvening;
    if (evening <= local)
        evening += kDay;
    evening_ = evening - options_.utc_offset_s;
    return headend_.advance(std::chrono::seconds(evening_ - headend_.now()));
}

void Fleet::plan_day() {
    for (auto& premises : premises_) {
        premises->charging = premises->own;
        premises->how = options_.mix && (premises->index + static_cast<std::size_t>(day_)) % 2 == 1 ? Charge::OffPeak
                                                                                                    : Charge::OnPeak;
    }
    // The last day plain: every PEV at home, where it reads back its usage.
    if (!options_.mix || day_ + 1 == options_.days)
        return;
    switch (day_ % 7) {
        case 2:  // F001's PEV at F002 while F002's is away
            premises_[1]->charging = premises_[0]->own;
            premises_[0]->charging = nullptr;
            break;
        case 4:  // another utility's PEV at F003 while F003's is away
            premises_[2]->charging = vehicles_.back().get();
            break;
        case 5:  // F002's PEV re-binds, but its plugged-in PowerStatus is lost: the binding falls back
            premises_[1]->how = Charge::Fallback;
            break;
        default:
            break;
    }
}

Result<void> Fleet::plug_in(Premises& premises) {
    Vehicle& vehicle = *premises.charging;
    auto& pev = *vehicle.pev;
    if (auto connected = premises.esci->connect(); !connected)
        return connected;
    // A fallback: the re-binding's acknowledgement (the plugged-in PowerStatus) is lost, so the binding times out.
    const bool fallback = premises.how == Charge::Fallback;
    if (fallback && !vehicle.plugged_before)
        return failure("a fallback needs a PEV bound before (its re-binding is not acknowledged)");
    if (auto plugged = vehicle.plugged_before ? pev.replug(!fallback) : pev.plug_in(); !plugged)
        return plugged;
    auto request = premises.esci->request_binding(pev.identity());
    if (!request)
        return request.error();
    if (request->code != 201)
        return failure("binding refused: " + request->reason);
    // Scenario 1, or a re-bind credential the head-end no longer takes: the binding is read and acknowledged.
    if (!pev.rebinding()) {
        if (auto found = pev.find_end_device(); !found)
            return found.error();
        if (auto read = pev.read_binding(); !read)
            return read.error();
        auto acknowledged = pev.acknowledge();
        if (!acknowledged)
            return acknowledged.error();
        if (*acknowledged != 201)
            return failure("the binding's acknowledgement answered " + std::to_string(*acknowledged));
    }
    vehicle.plugged_before = true;
    // The EUMD learns which PEV it meters and how often; a configuration it acknowledged before needs nothing more.
    // A binding never acknowledged changes nothing: the EUMD meters the PEV it was configured for.
    if (auto connected = premises.eumd->connect(); !connected)
        return connected;
    auto configuration = premises.eumd->read_configuration();
    if (!configuration)
        return configuration.error();
    if (configuration->pev_lfdi != pev.identity().lfdi)
        return failure("the EUMD is configured for " + configuration->pev_lfdi.value_or("no PEV"));
    auto acknowledged = premises.eumd->acknowledge();
    if (!acknowledged)
        return acknowledged.error();
    if (*acknowledged != 0 && *acknowledged != 201)
        return failure("the EUMD's acknowledgement answered " + std::to_string(*acknowledged));
    premises.esci->disconnect();
    premises.eumd->disconnect();

    // Charging from the interval of the binding, or from the cheapest period's start when planned: a few kWh to 20 at
    // level 2, up to 12 at level 1 (done by morning).
    const std::uint32_t interval = premises.eumd->interval();
    std::int64_t start = headend_.now();
    if (premises.how == Charge::OffPeak) {
        auto planned = pev.plan_charging();
        if (!planned)
            return planned.error();
        start = *planned + interval - 1;
    }
    std::mt19937_64 draw(options_.seed * 7919 + premises.index * 104729 + static_cast<std::uint64_t>(day_));
    const bool level2 = vehicle.kilowatts > 2;
    const auto energy = static_cast<std::int64_t>(level2 ? 4000 + draw() % 16001 : 3000 + draw() % 9001);
    premises.session_start = start - start % interval;
    premises.session = charging_profile(interval, vehicle.kilowatts, energy);
    return {};
}

Result<void> Fleet::post_day(Premises& premises, FleetDay& day) {
    const std::uint32_t interval = premises.eumd->interval();
    auto load = house_load(evening_, interval, static_cast<std::size_t>(kDay / interval), premises.house_seed,
                           options_.utc_offset_s);
    Vehicle* vehicle = premises.charging;
    if (vehicle != nullptr) {
        auto& eumd = *premises.eumd;
        if (auto connected = eumd.connect(); !connected)
            return connected;
        auto posted = eumd.post_session(premises.session_start, premises.session);
        if (!posted)
            return posted.error();
        if (*posted != 201)
            return failure("the charging session answered " + std::to_string(*posted));
        std::int64_t session_wh = 0;
        for (std::size_t i = 0; i < premises.session.size(); ++i) {
            const std::int64_t at = premises.session_start + static_cast<std::int64_t>(i * interval);
            premises.pev_intervals[at] = premises.session[i];
            vehicle->intervals[at] = premises.session[i];
            session_wh += premises.session[i];
        }
        vehicle->sessions.push_back({premises.id, session_wh, premises.session.size(),
                                     premises.how == Charge::Fallback ? "fallback" : "ended"});
        day.pev_wh += session_wh;
        day.intervals += premises.session.size();
        eumd.disconnect();
        // The premises meter's day from this evening: the house's own load and the EV's.
        const auto first = static_cast<std::size_t>((premises.session_start - evening_) / interval);
        if (first + premises.session.size() > load.size())
            return failure("the charge runs past the premises meter's day");
        for (std::size_t i = 0; i < premises.session.size(); ++i)
            load[first + i] += premises.session[i];
    }
    auto& esci = *premises.esci;
    if (auto connected = esci.connect(); !connected)
        return connected;
    if (auto mirrored = esci.mirror_premises(interval); !mirrored)
        return mirrored.error();
    const auto send = [&](std::int64_t start, const std::vector<std::int64_t>& values) -> Result<void> {
        auto answer = esci.post_premises_load(start, values);
        if (!answer)
            return answer.error();
        if (*answer != 201)
            return failure("the premises meter's day answered " + std::to_string(*answer));
        for (std::size_t i = 0; i < values.size(); ++i) {
            premises.meter_intervals[start + static_cast<std::int64_t>(i * interval)] = values[i];
            day.premises_wh += values[i];
        }
        day.intervals += values.size();
        return {};
    };
    if (premises.held_load) {
        if (auto sent = send(premises.held_load->first, premises.held_load->second); !sent)
            return sent;
        premises.held_load.reset();
        ++day.backfilled;
    }
    // Every fourth day a premises meter misses its upload and sends that day with the next one's.
    if (day_ + 1 < options_.days && (premises.index + static_cast<std::size_t>(day_)) % 4 == 3)
        premises.held_load.emplace(evening_, std::move(load));
    else if (auto sent = send(evening_, load); !sent)
        return sent;
    esci.disconnect();
    if (vehicle == nullptr)
        return {};

    if (day_ + 1 == options_.days && vehicle->ours) {
        auto usage = vehicle->pev->read_usage();
        if (!usage)
            return usage.error();
        vehicle->usage = std::move(*usage);
    }
    return vehicle->pev->unplug();
}

FleetDay Fleet::run_day() {
    FleetDay day;
    day.day = day_;
    day.evening = evening_;
    plan_day();
    std::vector<Premises*> posting;
    for (auto& premises : premises_) {
        if (premises->charging == nullptr) {
            posting.push_back(premises.get());  // the house's own load only
            continue;
        }
        if (auto plugged = plug_in(*premises); !plugged) {
            day.failures.push_back(premises->id + ": " + plugged.error().message);
            continue;
        }
        posting.push_back(premises.get());
        const Vehicle& vehicle = *premises->charging;
        day.rebound += vehicle.pev->rebinding() ? 1 : 0;
        day.off_peak += premises->how == Charge::OffPeak ? 1 : 0;
        day.fallbacks += premises->how == Charge::Fallback ? 1 : 0;
        day.guests += vehicle.ours && &vehicle != premises->own ? 1 : 0;
        day.visiting += vehicle.ours ? 0 : 1;
    }
    // The next evening but two minutes: every charge and the meters' whole day are in the past.
    if (auto moved = headend_.advance(std::chrono::seconds(evening_ + kDay - kPostBefore - headend_.now())); !moved) {
        day.failures.push_back("the head-end's clock: " + moved.error().message);
        posting.clear();
    }
    for (auto* premises : posting) {
        if (auto done = post_day(*premises, day); !done)
            day.failures.push_back(premises->id + ": " + done.error().message);
        else if (premises->charging != nullptr)
            ++day.charged;
    }
    evening_ += kDay;
    ++day_;
    if (auto moved = headend_.advance(std::chrono::seconds(evening_ - headend_.now())); !moved)
        day.failures.push_back("the head-end's clock: " + moved.error().message);
    return day;
}

std::size_t Fleet::stored_intervals() const {
    std::size_t total = 0;
    for (const auto& premises : premises_)
        total += premises->pev_intervals.size() + premises->meter_intervals.size();
    return total;
}

std::vector<FleetAcknowledged> Fleet::acknowledged() const {
    std::vector<FleetAcknowledged> out;
    for (const auto& premises : premises_)
        out.push_back({premises->id, premises->pev_intervals, premises->meter_intervals});
    return out;
}

std::vector<FleetCheck> Fleet::verify() {
    return {check_alarms(), check_sessions(), check_usage()};
}

FleetCheck Fleet::check_alarms() {
    FleetProblems problems;
    const auto answer = headend_.admin("GET", "/api/v1/alarms?kind=load_mismatch");
    if (!answer || answer->status != 200)
        problems.add(answer ? "alarms answered " + std::to_string(answer->status) : answer.error().message);
    else
        for (const auto& alarm : answer->body["alarms"])
            problems.add("alarm: " + alarm.dump());
    return problems.check("no load mismatch alarm", "every premises meter interval covers its EV's");
}

FleetCheck Fleet::check_sessions() {
    FleetProblems problems;
    std::size_t sessions = 0;
    for (const auto& vehicle : vehicles_) {
        const auto answer = headend_.admin("GET", "/api/v1/sessions?vin=" + vehicle->vin);
        if (!answer) {
            problems.add(vehicle->vin + ": " + answer.error().message);
            continue;
        }
        auto listed = answer->body["sessions"];
        if (!listed.is_array() || listed.size() != vehicle->sessions.size()) {
            problems.add(vehicle->vin + ": " + std::to_string(listed.size()) + " sessions listed, " +
                         std::to_string(vehicle->sessions.size()) + " charged");
            continue;
        }
        std::reverse(listed.begin(), listed.end());  // listed newest first
        for (std::size_t d = 0; d < listed.size(); ++d) {
            const auto& session = listed[d];
            const auto& charged = vehicle->sessions[d];
            if (session["energy_wh"] != charged.energy_wh || session["intervals"] != charged.intervals ||
                session["premises_id"] != charged.premises_id || session["binding_status"] != charged.binding_status ||
                session["quality"] != "actual" || session["load_mismatches"] != 0)
                problems.add(vehicle->vin + " session " + std::to_string(d) + ": posted " +
                             std::to_string(charged.energy_wh) + " Wh in " + std::to_string(charged.intervals) +
                             " intervals at " + charged.premises_id + " (" + charged.binding_status + "), listed " +
                             session.dump());
            ++sessions;
        }
    }
    return problems.check("one session per PEV per charge",
                          std::to_string(sessions) + " sessions listed, each with the energy posted");
}

FleetCheck Fleet::check_usage() {
    FleetProblems problems;
    std::size_t readings = 0;
    for (const auto& vehicle : vehicles_) {
        if (!vehicle->ours)
            continue;
        std::map<std::int64_t, std::int64_t> read;
        for (const auto& reading : vehicle->usage) {
            if (reading.time_period && reading.value)
                read[reading.time_period->start] = *reading.value;
        }
        if (read != vehicle->intervals || read.size() != vehicle->usage.size())
            problems.add(vehicle->vin + ": the PEV read " + std::to_string(vehicle->usage.size()) +
                         " intervals under /upt, " + std::to_string(vehicle->intervals.size()) + " were posted");
        readings += read.size();
    }
    return problems.check("usage under /upt",
                          std::to_string(readings) + " intervals read back by the PEVs, every day's as posted");
}

bool run_fleet(Fleet& fleet, const std::function<std::vector<FleetCheck>()>& checks, bool as_json, std::ostream& out,
               std::ostream& progress) {
    const auto started = std::chrono::steady_clock::now();
    const FleetOptions& options = fleet.options();
    json days = json::array();
    bool ok = true;
    std::size_t failures = 0;
    std::int64_t pev_wh = 0;
    std::int64_t premises_wh = 0;
    for (int d = 0; d < options.days; ++d) {
        const auto day = fleet.run_day();
        ok = ok && day.failures.empty();
        failures += day.failures.size();
        pev_wh += day.pev_wh;
        premises_wh += day.premises_wh;
        days.push_back(day_json(day));
        progress << "day " << day.day + 1 << "/" << options.days << ": " << day.charged << " charged (" << day.rebound
                 << " re-bound" << (options.mix ? mix_summary(day) : "") << "), " << day.intervals << " intervals ("
                 << day.pev_wh << " Wh EV, " << day.premises_wh << " Wh premises), " << day.backfilled
                 << " backfilled, " << day.failures.size() << " failures" << std::endl;
        for (const auto& failure : day.failures)
            progress << "  FAILED " << failure << '\n';
    }
    const std::vector<FleetCheck> results = checks();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    json checked = json::array();
    for (const auto& check : results) {
        ok = ok && check.ok;
        checked.push_back({{"check", check.name}, {"ok", check.ok}, {"detail", check.detail}});
    }
    ok = ok && fleet.log().failures() == 0;
    if (as_json) {
        out << json{{"premises", options.premises},
                    {"days", options.days},
                    {"mix", options.mix},
                    {"seed", options.seed},
                    {"intervals_acknowledged", fleet.stored_intervals()},
                    {"pev_kwh", static_cast<double>(pev_wh) / 1000},
                    {"premises_kwh", static_cast<double>(premises_wh) / 1000},
                    {"failures", failures},
                    {"device_step_failures", fleet.log().failures()},
                    {"per_day", days},
                    {"checks", checked},
                    {"seconds", seconds},
                    {"ok", ok}}
                   .dump(2)
            << '\n';
    } else {
        out << fleet.stored_intervals() << " intervals acknowledged of " << options.premises << " premises over "
            << options.days << " days: " << static_cast<double>(pev_wh) / 1000 << " kWh EV, "
            << static_cast<double>(premises_wh) / 1000 << " kWh premises; " << failures << " failures, "
            << fleet.log().failures() << " failed device steps\n";
        for (const auto& check : results)
            out << (check.ok ? "ok     " : "FAILED ") << check.name << ": " << check.detail << '\n';
        out << (ok ? "PASS" : "FAIL") << " in " << seconds << " s\n";
    }
    return ok;
}

}  // namespace emulator
