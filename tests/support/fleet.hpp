// The fleet (emulator/fleet.hpp) against the whole daemon in process: its head-end is a ProgramDaemon whose
// ShiftedClock the fleet moves, and its database file is checked beside the admin API.
#pragma once

#include <filesystem>
#include <vector>

#include "emulator/fleet.hpp"
#include "support/program_daemon.hpp"

namespace headend::testing {

class InProcessHeadEnd final : public emulator::FleetHeadEnd {
public:
    InProcessHeadEnd(ProgramDaemon& daemon, ShiftedClock& clock) : daemon_(daemon), clock_(clock) {}

    Result<Answer> admin(const std::string& method, const std::string& path, const std::string& body) override;
    Result<emulator::Endpoint> endpoint() override;
    Result<pki::CertificateFiles> pev_certificate(const std::string& name, const std::string& vin) override;
    Result<pki::CertificateFiles> roaming_certificate(const std::string& vin) override;
    std::int64_t now() const override { return clock_.now(); }
    Result<void> advance(std::chrono::seconds by) override;

private:
    ProgramDaemon& daemon_;
    ShiftedClock& clock_;
};

// What only the database file shows: every acknowledged interval stored once with its value, actual and unflagged,
// nothing stored that was not posted, no conflicting or revised version; no load mismatch recorded.
std::vector<emulator::FleetCheck> check_database(const emulator::Fleet& fleet, const std::filesystem::path& database);

// verify() and check_database() together: everything the fleet holds the daemon in process to.
std::vector<emulator::FleetCheck> verify_in_process(emulator::Fleet& fleet, const ProgramDaemon& daemon);

}  // namespace headend::testing
