#include "fleet.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <sstream>

#include "pev/vin.hpp"
#include "support/database_file.hpp"

namespace headend::testing {

namespace {

using nlohmann::json;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kEvening = 18 * 3600;  // local time the PEVs plug in
constexpr std::int64_t kPostBefore = 120;     // the day's data goes this long before the next evening
constexpr std::size_t kShownProblems = 5;

Error failure(const std::string& message) {
    return make_error("fleet", message);
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

std::vector<std::string> fields(const std::string& row) {
    std::vector<std::string> out;
    std::istringstream in(row);
    for (std::string field; std::getline(in, field, '|');)
        out.push_back(field);
    return out;
}

Result<void> expect_status(const std::pair<int, json>& answer, int status, const std::string& what) {
    if (answer.first == status)
        return {};
    return failure(what + " answered " + std::to_string(answer.first) + ": " + answer.second.dump());
}

// Collects a check's problems, showing the first few.
struct Problems {
    std::size_t count = 0;
    std::string shown;
    void add(const std::string& problem) {
        if (count++ < kShownProblems)
            shown += (shown.empty() ? "" : "; ") + problem;
    }
    FleetCheck check(std::string name, const std::string& when_ok) const {
        return {std::move(name), count == 0, count == 0 ? when_ok : std::to_string(count) + " problem(s): " + shown};
    }
};

}  // namespace

struct Fleet::Premises {
    std::size_t index = 0;
    std::string id;
    std::string vin;
    double kilowatts = 7.2;  // level 2; every third premises has level 1 (1.4 kW)
    std::uint64_t house_seed = 0;
    std::unique_ptr<emulator::Esci> esci;
    std::unique_ptr<emulator::Eumd> eumd;
    std::unique_ptr<emulator::Pev> pev;
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

Fleet::Fleet(ProgramDaemon& headend, ShiftedClock& clock, FleetOptions options)
    : headend_(headend), clock_(clock), options_(options) {}

Fleet::~Fleet() = default;

Result<void> Fleet::provision() {
    auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
    if (!codec)
        return codec.error();
    endpoint_.port = headend_.coaps_port();
    endpoint_.server_ca = headend_.server_ca();
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
    const emulator::LocalClock device_clock = [&clock = clock_] { return clock.now(); };
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
        if (certificate.cert.empty())
            return failure("no certificate for " + premises->vin);
        premises->esci = std::make_unique<emulator::Esci>(numbered("fleet-esci-", n), endpoint_,
                                                          han::PskCredentials{numbered("fleet-esci-", n), kDeviceKey},
                                                          log_, device_clock);
        premises->eumd = std::make_unique<emulator::Eumd>(numbered("fleet-eumd-", n), endpoint_,
                                                          han::PskCredentials{numbered("fleet-eumd-", n), kDeviceKey},
                                                          log_, device_clock);
        emulator::Pev::Options pev;
        pev.cert = certificate.cert;
        pev.key = certificate.key;
        pev.wait = std::chrono::milliseconds(3000);
        pev.poll_every = std::chrono::milliseconds(50);
        premises->pev = std::make_unique<emulator::Pev>(numbered("fleet-pev-", n), endpoint_, pev, log_, device_clock);
        premises_.push_back(std::move(premises));
    }
    // The first evening: the next 18:00 local time.
    const std::int64_t local = clock_.now() + options_.utc_offset_s;
    std::int64_t evening = local - local % kDay + kEvening;
    if (evening <= local)
        evening += kDay;
    evening_ = evening - options_.utc_offset_s;
    clock_.advance(std::chrono::seconds(evening_ - clock_.now()));
    return {};
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
    const std::int64_t bound = clock_.now();
    std::mt19937_64 draw(options_.seed * 7919 + premises.index * 104729 + static_cast<std::uint64_t>(day_));
    const bool level2 = premises.kilowatts > 2;
    const auto energy = static_cast<std::int64_t>(level2 ? 4000 + draw() % 16001 : 3000 + draw() % 9001);
    premises.session_start = bound - bound % interval;
    premises.session = emulator::charging_profile(interval, premises.kilowatts, energy);
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
    auto load = emulator::house_load(evening_, interval, static_cast<std::size_t>(kDay / interval), premises.house_seed,
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
    clock_.advance(std::chrono::seconds(evening_ + kDay - kPostBefore - clock_.now()));
    for (auto* premises : charging) {
        if (auto done = post_day(*premises, day); !done)
            day.failures.push_back(premises->id + ": " + done.error().message);
        else
            ++day.charged;
    }
    evening_ += kDay;
    ++day_;
    clock_.advance(std::chrono::seconds(evening_ - clock_.now()));
    return day;
}

std::size_t Fleet::stored_intervals() const {
    std::size_t total = 0;
    for (const auto& premises : premises_)
        total += premises->pev_intervals.size() + premises->meter_intervals.size();
    return total;
}

std::vector<FleetCheck> Fleet::verify() {
    return {check_intervals(), check_correlation(), check_sessions(), check_usage()};
}

FleetCheck Fleet::check_intervals() {
    Problems problems;
    auto rows = query_rows(headend_.root() / "data" / "headend.db",
                           "SELECT u.premises_id, u.role_flags & " + std::to_string(sep::kRoleIsPev) +
                               ", i.start_at, i.value_wh, i.quality_flags, i.vee_flags, i.version, i.source "
                               "FROM intervals i JOIN mirror_meter_readings m ON m.mmr_id = i.mmr_id "
                               "JOIN mirror_usage_points u ON u.mup_id = m.mup_id");
    if (!rows)
        return {"intervals stored once, validated", false, rows.error().message};
    // What the database holds per premises and mirror kind: interval start -> its values.
    std::map<std::pair<std::string, bool>, std::map<std::int64_t, std::vector<std::int64_t>>> stored;
    for (const auto& row : *rows) {
        const auto field = fields(row);
        const std::int64_t start = std::stoll(field[2]);
        stored[{field[0], field[1] != "0"}][start].push_back(std::stoll(field[3]));
        if (field[4] != "0" || field[5] != "0" || field[6] != "1" || field[7] != "device")
            problems.add(field[0] + " interval " + field[2] + " is not a first actual from the device: quality " +
                         field[4] + ", vee " + field[5] + ", version " + field[6] + ", source " + field[7]);
    }
    std::size_t compared = 0;
    for (const auto& premises : premises_) {
        for (const auto& [pev, acknowledged] :
             {std::pair{true, &premises->pev_intervals}, std::pair{false, &premises->meter_intervals}}) {
            const std::string what = premises->id + (pev ? " EV" : " meter");
            auto& held = stored[{premises->id, pev}];
            for (const auto& [start, value] : *acknowledged) {
                const auto found = held.find(start);
                if (found == held.end())
                    problems.add(what + " interval " + std::to_string(start) + " missing");
                else if (found->second != std::vector<std::int64_t>{value})
                    problems.add(what + " interval " + std::to_string(start) + " stored " +
                                 std::to_string(found->second.size()) + " time(s), not once with " +
                                 std::to_string(value) + " Wh");
                ++compared;
            }
            for (const auto& [start, values] : held) {
                if (!acknowledged->contains(start))
                    problems.add(what + " interval " + std::to_string(start) + " stored but never posted");
            }
        }
    }
    for (const char* table : {"interval_conflicts", "interval_versions"}) {
        auto extra = query_rows(headend_.root() / "data" / "headend.db", std::string("SELECT * FROM ") + table);
        if (!extra || !extra->empty())
            problems.add(std::string(table) + (extra ? " has rows" : ": " + extra.error().message));
    }
    return problems.check("intervals stored once, validated",
                          std::to_string(compared) + " acknowledged intervals stored once each, actual, unflagged");
}

FleetCheck Fleet::check_correlation() {
    Problems problems;
    const auto alarms = headend_.admin("GET", "/api/v1/alarms?kind=load_mismatch").second["alarms"];
    for (const auto& alarm : alarms)
        problems.add("alarm: " + alarm.dump());
    auto mismatches = query_rows(headend_.root() / "data" / "headend.db",
                                 "SELECT premises_id, start_at FROM "
                                 "load_mismatches");
    if (!mismatches)
        problems.add(mismatches.error().message);
    else
        for (const auto& row : *mismatches)
            problems.add("load mismatch " + row);
    return problems.check("load correlated", "no load mismatch: every premises meter interval covers its EV's");
}

FleetCheck Fleet::check_sessions() {
    Problems problems;
    std::size_t sessions = 0;
    for (const auto& premises : premises_) {
        auto listed = headend_.admin("GET", "/api/v1/sessions?vin=" + premises->vin).second["sessions"];
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
    Problems problems;
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

}  // namespace headend::testing
