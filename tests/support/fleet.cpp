#include "fleet.hpp"

#include <sstream>

#include "support/database_file.hpp"

namespace headend::testing {

namespace {

using emulator::FleetCheck;
using emulator::FleetProblems;

std::vector<std::string> fields(const std::string& row) {
    std::vector<std::string> out;
    std::istringstream in(row);
    for (std::string field; std::getline(in, field, '|');)
        out.push_back(field);
    return out;
}

FleetCheck check_intervals(const emulator::Fleet& fleet, const std::filesystem::path& database) {
    FleetProblems problems;
    auto rows = query_rows(database, "SELECT u.premises_id, u.role_flags & " + std::to_string(sep::kRoleIsPev) +
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
    for (const auto& premises : fleet.acknowledged()) {
        for (const auto& [pev, acknowledged] : {std::pair{true, &premises.pev}, std::pair{false, &premises.meter}}) {
            const std::string what = premises.premises_id + (pev ? " EV" : " meter");
            auto& held = stored[{premises.premises_id, pev}];
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
        auto extra = query_rows(database, std::string("SELECT * FROM ") + table);
        if (!extra || !extra->empty())
            problems.add(std::string(table) + (extra ? " has rows" : ": " + extra.error().message));
    }
    return problems.check("intervals stored once, validated",
                          std::to_string(compared) + " acknowledged intervals stored once each, actual, unflagged");
}

FleetCheck check_mismatches(const std::filesystem::path& database) {
    FleetProblems problems;
    auto mismatches = query_rows(database, "SELECT premises_id, start_at FROM load_mismatches");
    if (!mismatches)
        problems.add(mismatches.error().message);
    else
        for (const auto& row : *mismatches)
            problems.add("load mismatch " + row);
    return problems.check("load correlated", "no load mismatch stored");
}

}  // namespace

Result<emulator::FleetHeadEnd::Answer> InProcessHeadEnd::admin(const std::string& method, const std::string& path,
                                                               const std::string& body) {
    auto [status, document] = daemon_.admin(method, path, body);
    if (status == 0)
        return make_error("fleet", method + " " + path + ": no answer");
    return Answer{status, std::move(document)};
}

Result<emulator::Endpoint> InProcessHeadEnd::endpoint() {
    emulator::Endpoint endpoint;
    endpoint.port = daemon_.coaps_port();
    endpoint.server_ca = daemon_.server_ca();
    return endpoint;
}

Result<pki::CertificateFiles> InProcessHeadEnd::pev_certificate(const std::string& name, const std::string& vin) {
    auto certificate = daemon_.pev_certificate(name, vin);
    if (certificate.cert.empty())
        return make_error("fleet", "no certificate for " + vin);
    return certificate;
}

Result<pki::CertificateFiles> InProcessHeadEnd::roaming_certificate(const std::string& vin) {
    if (!daemon_.roams(vin))
        return make_error("fleet", vin + " is not in the daemon's roaming registry (Options::roaming_vins)");
    return daemon_.roaming_certificate(vin);
}

Result<void> InProcessHeadEnd::advance(std::chrono::seconds by) {
    clock_.advance(by);
    daemon_.daemon().time_moved(by);
    return {};
}

std::vector<FleetCheck> check_database(const emulator::Fleet& fleet, const std::filesystem::path& database) {
    return {check_intervals(fleet, database), check_mismatches(database)};
}

std::vector<FleetCheck> verify_in_process(emulator::Fleet& fleet, const ProgramDaemon& daemon) {
    auto checks = check_database(fleet, daemon.root() / "data" / "headend.db");
    for (auto& check : fleet.verify())
        checks.push_back(std::move(check));
    return checks;
}

}  // namespace headend::testing
