// The real head-end daemon as a child process in a temporary data directory, plus device registration.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace bench {

class HeadendFixture {
public:
    // Writes a config (loopback, ports 0, log level warn, the given device CAs) and waits for the ready line.
    // `extra_config` is appended to the config (plugins and their sections, limits).
    HeadendFixture(const std::filesystem::path& headend, const std::filesystem::path& work_dir,
                   const std::vector<std::filesystem::path>& device_cas = {}, const std::string& extra_config = {});

    void add_psk_device(const std::string& identity, const std::string& key);
    void add_certificate_device(const std::filesystem::path& cert_pem);
    // POSTs to the admin API and returns the HTTP status.
    int admin_post(const std::string& target, const std::string& body);
    // GETs from the admin API; throws unless 200.
    std::string admin_get(const std::string& target);

    std::uint16_t coaps_port() const { return coaps_port_; }
    ChildProcess& process() { return *process_; }

private:
    void post_device(const std::string& json_body);

    std::unique_ptr<ChildProcess> process_;
    std::uint16_t coaps_port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::string token_;
};

// A free UDP port on 127.0.0.1 whose successor is free too (coap-server listens for DTLS on port + 1).
std::uint16_t free_udp_port_pair();

}  // namespace bench
