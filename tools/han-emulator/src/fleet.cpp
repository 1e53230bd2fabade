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

void FleetProblems::add(const std::string& problem) {
    if (count_++ < kShownProblems)
        shown_ += (shown_.empty() ? "" : "; ") + problem;
}

FleetCheck FleetProblems::check(std::string name, const std::string& when_ok) const {
    return {std::move(name), count_ == 0, count_ == 0 ? when_ok : std::to_string(count_) + " problem(s): " + shown_};
}

struct Fleet::Premises {
    std::size_t index = 0;
    std::string id;
    std::string vin;
    double kilowatts = 7.2;  // level 2; every third premises has level 1 (1.4 kW)
    std::uint64_t house_seed = 0;
    std::unique_ptr<Esci> esci;
    std::unique_ptr<Eumd> eumd;
    std::unique_ptr<Pev> pev;
    bool plugged_before = false;
    // This evening's charge, as the EUMD measures it.
    std::int64_t session_start = 0;
    std::vector<std::int64_t> session;
    // A premises meter day not sent yet: it goes with the next day's (backfill).
    std::optional<std::pair<std::int64_t, std::vector<std::int64_t>>> held_load;
    // What the head-end acknowledged: per day the session's energy and intervals; per interval start its Wh.
    std::vector<std::pair<std::int64_t, std::size_t>> sessions;
    std::map<std::int64_t, std::int64_t> pev_intervals;
    std::map<std::int64_t, std::int64_t> meter_intervals;
    std::vector<sep::Reading> usage;  // what the PEV read under /upt on the last day
};

Fleet::Fleet(FleetHeadEnd& headend, FleetOptions options) : headend_(headend), options_(std::move(options)) {}

Fleet::~Fleet() = default;

Result<void> Fleet::provision() {
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

    std::string csv = "account_id,customer_id,customer_name,premises_id,service_address,default_rate\n";
    for (std::size_t n = 1; n <= options_.premises; ++n)
        csv += numbered("FA", n) + "," + numbered("FC", n) + ",Customer " + std::to_string(n) + "," + numbered("F", n) +
               "," + std::to_string(n) + " Fleet St,DOM-FLAT\n";
    if (auto imported = expect_status(headend_.admin("POST", "/api/v1/customers/import", csv), 200, "CIS import");
        !imported)
        return imported;
    // The devices keep the head-end's time, as they would after their first /tm.
    const LocalClock device_clock = [&headend = headend_] { return headend.now(); };
    for (std::size_t n = 1; n <= options_.premises; ++n) {
        auto premises = std::make_unique<Premises>();
        premises->index = n;
        premises->id = numbered("F", n);
        premises->vin = fleet_vin(n);
        premises->kilowatts = n % 3 == 0 ? 1.4 : 7.2;
        premises->house_seed = options_.seed * 1000003 + n;
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
        const json enrollment = {{"account_id", numbered("FA", n)}, {"customer_id", numbered("FC", n)},
                                 {"premises_id", premises->id},     {"vin", premises->vin},
                                 {"program_id", "EV-TOU"},          {"allow_guest_charging", false}};
        if (auto enrolled = expect_status(headend_.admin("POST", "/api/v1/enrollments", enrollment.dump()), 201,
                                          "enrollment of " + premises->vin);
            !enrolled)
            return enrolled;
        const auto certificate = headend_.pev_certificate(numbered("fleet-pev-", n), premises->vin);
        if (!certificate)
            return failure("no certificate for " + premises->vin + ": " + certificate.error().message);
        premises->esci =
            std::make_unique<Esci>(numbered("fleet-esci-", n), endpoint_,
                                   han::PskCredentials{numbered("fleet-esci-", n), kDeviceKey}, log_, device_clock);
        premises->eumd =
            std::make_unique<Eumd>(numbered("fleet-eumd-", n), endpoint_,
                                   han::PskCredentials{numbered("fleet-eumd-", n), kDeviceKey}, log_, device_clock);
        Pev::Options pev;
        pev.cert = certificate->cert;
        pev.key = certificate->key;
        pev.wait = std::chrono::milliseconds(3000);
        pev.poll_every = std::chrono::milliseconds(50);
        premises->pev = std::make_unique<Pev>(numbered("fleet-pev-", n), endpoint_, pev, log_, device_clock);
        premises_.push_back(std::move(premises));
    }
    // The first evening: the next 18:00 local time.
    const std::int64_t local = headend_.now() + options_.utc_offset_s;
    std::int64_t evening = local - local % kDay + kEvening;
    if (evening <= local)
        evening += kDay;
    evening_ = evening - options_.utc_offset_s;
    return headend_.advance(std::chrono::seconds(evening_ - headend_.now()));
}

Result<void> Fleet::plug_in(Premises& premises) {
    auto& pev = *premises.pev;
    if (auto connected = premises.esci->connect(); !connected)
        return connected;
    if (auto plugged = premises.plugged_before ? pev.replug() : pev.plug_in(); !plugged)
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
    premises.plugged_before = true;
    // The EUMD learns which PEV it meters and how often; a configuration it acknowledged before needs nothing more.
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

    // Charging from the interval of the binding: a few kWh to 20 at level 2, up to 12 at level 1 (done by morning).
    const std::uint32_t interval = premises.eumd->interval();
    const std::int64_t bound = headend_.now();
    std::mt19937_64 draw(options_.seed * 7919 + premises.index * 104729 + static_cast<std::uint64_t>(day_));
    const bool level2 = premises.kilowatts > 2;
    const auto energy = static_cast<std::int64_t>(level2 ? 4000 + draw() % 16001 : 3000 + draw() % 9001);
    premises.session_start = bound - bound % interval;
    premises.session = charging_profile(interval, premises.kilowatts, energy);
    return {};
}

Result<void> Fleet::post_day(Premises& premises, FleetDay& day) {
    auto& eumd = *premises.eumd;
    const std::uint32_t interval = eumd.interval();
    if (auto connected = eumd.connect(); !connected)
        return connected;
    auto posted = eumd.post_session(premises.session_start, premises.session);
    if (!posted)
        return posted.error();
    if (*posted != 201)
        return failure("the charging session answered " + std::to_string(*posted));
    std::int64_t session_wh = 0;
    for (std::size_t i = 0; i < premises.session.size(); ++i) {
        premises.pev_intervals[premises.session_start + static_cast<std::int64_t>(i * interval)] = premises.session[i];
        session_wh += premises.session[i];
    }
    premises.sessions.emplace_back(session_wh, premises.session.size());
    day.pev_wh += session_wh;
    day.intervals += premises.session.size();
    eumd.disconnect();

    // The premises meter's day from this evening: the house's own load and the EV's.
    auto load = house_load(evening_, interval, static_cast<std::size_t>(kDay / interval), premises.house_seed,
                           options_.utc_offset_s);
    const auto first = static_cast<std::size_t>((premises.session_start - evening_) / interval);
    if (first + premises.session.size() > load.size())
        return failure("the charge runs past the premises meter's day");
    for (std::size_t i = 0; i < premises.session.size(); ++i)
        load[first + i] += premises.session[i];
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

    if (day_ + 1 == options_.days) {
        auto usage = premises.pev->read_usage();
        if (!usage)
            return usage.error();
        premises.usage = std::move(*usage);
    }
    return premises.pev->unplug();
}

FleetDay Fleet::run_day() {
    FleetDay day;
    day.day = day_;
    day.evening = evening_;
    std::vector<Premises*> charging;
    for (auto& premises : premises_) {
        if (auto plugged = plug_in(*premises); !plugged) {
            day.failures.push_back(premises->id + ": " + plugged.error().message);
            continue;
        }
        charging.push_back(premises.get());
        day.rebound += premises->pev->rebinding() ? 1 : 0;
    }
    // The next evening but two minutes: every charge and the meters' whole day are in the past.
    if (auto moved = headend_.advance(std::chrono::seconds(evening_ + kDay - kPostBefore - headend_.now())); !moved) {
        day.failures.push_back("the head-end's clock: " + moved.error().message);
        charging.clear();
    }
    for (auto* premises : charging) {
        if (auto done = post_day(*premises, day); !done)
            day.failures.push_back(premises->id + ": " + done.error().message);
        else
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
    for (const auto& premises : premises_) {
        const auto answer = headend_.admin("GET", "/api/v1/sessions?vin=" + premises->vin);
        if (!answer) {
            problems.add(premises->id + ": " + answer.error().message);
            continue;
        }
        auto listed = answer->body["sessions"];
        if (!listed.is_array() || listed.size() != premises->sessions.size()) {
            problems.add(premises->id + ": " + std::to_string(listed.size()) + " sessions listed, " +
                         std::to_string(premises->sessions.size()) + " charged");
            continue;
        }
        std::reverse(listed.begin(), listed.end());  // listed newest first
        for (std::size_t d = 0; d < listed.size(); ++d) {
            const auto& session = listed[d];
            const auto& [energy, intervals] = premises->sessions[d];
            if (session["energy_wh"] != energy || session["intervals"] != intervals ||
                session["premises_id"] != premises->id || session["binding_status"] != "ended" ||
                session["quality"] != "actual" || session["load_mismatches"] != 0)
                problems.add(premises->id + " day " + std::to_string(d) + ": posted " + std::to_string(energy) +
                             " Wh in " + std::to_string(intervals) + " intervals, listed " + session.dump());
            ++sessions;
        }
    }
    return problems.check("one session per PEV per day",
                          std::to_string(sessions) + " sessions listed, each with the energy posted");
}

FleetCheck Fleet::check_usage() {
    FleetProblems problems;
    std::size_t readings = 0;
    for (const auto& premises : premises_) {
        std::map<std::int64_t, std::int64_t> read;
        for (const auto& reading : premises->usage) {
            if (reading.time_period && reading.value)
                read[reading.time_period->start] = *reading.value;
        }
        if (read != premises->pev_intervals || read.size() != premises->usage.size())
            problems.add(premises->id + ": the PEV read " + std::to_string(premises->usage.size()) +
                         " intervals under /upt, " + std::to_string(premises->pev_intervals.size()) + " were posted");
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
                 << " re-bound), " << day.intervals << " intervals (" << day.pev_wh << " Wh EV, " << day.premises_wh
                 << " Wh premises), " << day.backfilled << " backfilled, " << day.failures.size() << " failures"
                 << std::endl;
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
