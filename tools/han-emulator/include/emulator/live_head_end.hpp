// A live head-end on simulated time (headend --simulated-time) as the fleet's head-end, reached as headendctl reaches
// it: the admin API's URL and the admin token. Its clock is moved with POST /api/v1/clock; the emulated devices keep
// its time. PEV certificates are minted from a manufacturer CA folder the head-end trusts.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "emulator/fleet.hpp"

namespace emulator {

class LiveHeadEnd final : public FleetHeadEnd {
public:
    struct Options {
        std::string admin_url;  // http://HOST:PORT
        std::string token;
        std::string host;                         // where devices reach its CoAPS listener
        std::optional<std::uint16_t> coaps_port;  // default: the port its health report names
        std::filesystem::path server_ca;
        std::filesystem::path mfr_ca;  // certificates are kept there as pev-VIN.pem, as han-emulator's own
    };

    // Reads the head-end's clock; an error saying so when it cannot be reached or does not run on simulated time.
    static headend::Result<std::unique_ptr<LiveHeadEnd>> connect(Options options);

    headend::Result<Answer> admin(const std::string& method, const std::string& path,
                                  const std::string& body = "") override;
    headend::Result<Endpoint> endpoint() override;
    headend::Result<headend::pki::CertificateFiles> pev_certificate(const std::string& name,
                                                                    const std::string& vin) override;
    // visitor-VIN.pem in the manufacturer CA folder, made before the head-end started (its LFDI is in the roaming
    // registry the head-end read then).
    headend::Result<headend::pki::CertificateFiles> roaming_certificate(const std::string& vin) override;
    std::int64_t now() const override;
    headend::Result<void> advance(std::chrono::seconds by) override;

private:
    explicit LiveHeadEnd(Options options) : options_(std::move(options)) {}
    // Keeps the head-end's time from an answer of /api/v1/clock.
    headend::Result<void> keep_time(const headend::Result<Answer>& answer, const std::string& what);

    Options options_;
    std::atomic<std::int64_t> offset_{0};  // the head-end's time less this machine's
};

}  // namespace emulator
