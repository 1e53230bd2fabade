// What the DTLS layer asks about identities while a handshake or request is in flight. Backed by the device
// registry; lookups must be fast and thread-safe (they run on the HAN thread inside libcoap callbacks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "headend/plugin/coap.hpp"

namespace han {

struct RegisteredDevice {
    std::int64_t device_id = 0;
    headend::coap::DeviceType type = headend::coap::DeviceType::Esci;
    std::optional<std::string> premises_id;
    std::string lfdi;  // may be empty for PSK-only devices
};

struct PskCredential {
    std::vector<std::uint8_t> key;
    RegisteredDevice device;
};

class SecurityStore {
public:
    virtual ~SecurityStore() = default;
    virtual std::optional<PskCredential> find_psk(const std::string& identity) const = 0;
    virtual std::optional<RegisteredDevice> find_by_lfdi(const std::string& lfdi) const = 0;
};

}  // namespace han
