// The whole daemon in process with the enrollment and binding plugins, seeded like a small territory: premises P1
// (Jane, account A1) and P2 (John, A2), each with a PSK ESCI and EUMD; Jane's two PEVs enrolled at P1 (one allowed
// to charge as a guest, one home only) and one of John's at P2 (so P2 hosts guests). Ports are free ones, files
// in a temp folder, and a manufacturer CA issues PEV certificates naming their VIN.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "headend/core/daemon.hpp"
#include "pki/pki.hpp"

namespace headend::testing {

inline const std::vector<std::uint8_t> kDeviceKey(16, 0x11);
inline constexpr const char* kGuestVin = "1HGCM82633A004352";     // Jane's, enrolled at P1, guest charging allowed
inline constexpr const char* kHomeOnlyVin = "1M8GDM9AXKP042788";  // Jane's, enrolled at P1, home only
inline constexpr const char* kHostVin = "2T1BURHEXJC000001";      // John's, enrolled at P2, guest charging allowed
inline constexpr const char* kUnenrolledVin = "11111111111111111";

// The system's time moved on by what a test adds: a credential's lifetime passes without waiting for it.
class ShiftedClock final : public plugin::Clock {
public:
    std::int64_t now() const override;
    void advance(std::chrono::seconds by) { offset_ += by.count(); }

private:
    std::atomic<std::int64_t> offset_{0};
};

struct ProgramDaemonOptions {
    std::int64_t binding_timeout_s = 2;
    std::shared_ptr<const plugin::Clock> clock;  // the system's by default
    // Visiting PEVs of OTHER-UTILITY: certificates are made and written to the clearinghouse registry before start.
    std::vector<std::string> roaming_vins;
    // The billing plugin's settings ([plugin.billing]): its SMTP relay, clearinghouse, OCPI listener.
    std::map<std::string, plugin::ConfigKey::Value> billing = {};
};

class ProgramDaemon {
public:
    explicit ProgramDaemon(ProgramDaemonOptions options = {});
    ~ProgramDaemon();
    ProgramDaemon(const ProgramDaemon&) = delete;
    ProgramDaemon& operator=(const ProgramDaemon&) = delete;

    bool ok() const { return daemon_ != nullptr; }
    core::Daemon& daemon() { return *daemon_; }
    std::uint16_t coaps_port() const { return daemon_->coaps_port(); }
    std::uint16_t listener_port(const std::string& name) const { return daemon_->listener_port(name); }
    std::filesystem::path server_ca() const { return root_ / "data" / "tls" / "ca.pem"; }
    const std::filesystem::path& root() const { return root_; }
    std::int64_t device_id(const std::string& psk_identity) const { return ids_.at(psk_identity); }

    // The admin API with the token: status and parsed body.
    std::pair<int, nlohmann::json> admin(const std::string& method, const std::string& path,
                                         const std::string& body = "");
    // A device certificate from the manufacturer CA naming `vin` as its subject serialNumber.
    pki::CertificateFiles pev_certificate(const std::string& name, const std::string& vin);
    // The certificate made for a visiting PEV of ProgramDaemonOptions::roaming_vins.
    const pki::CertificateFiles& roaming_certificate(const std::string& vin) const { return roaming_.at(vin); }
    bool roams(const std::string& vin) const { return roaming_.contains(vin); }
    // The same from a CA nobody trusts.
    pki::CertificateFiles untrusted_certificate(const std::string& name, const std::string& vin);

    nlohmann::json bindings(const std::string& query = "");
    std::vector<std::string> audit_steps(const std::string& pev);

private:
    std::filesystem::path root_;
    pki::CertificateFiles manufacturer_;
    std::unique_ptr<core::Daemon> daemon_;
    std::map<std::string, std::int64_t> ids_;
    std::map<std::string, pki::CertificateFiles> roaming_;
};

}  // namespace headend::testing
