// The registered HAN devices as plugins see them (the core owns the registry), and the one decision the core hands
// to a plugin: whether a PEV an ESCI announces may be registered (the binding request of DESIGN §6).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "headend/plugin/coap.hpp"
#include "headend/plugin/result.hpp"

namespace headend::plugin {

struct DeviceRecord {
    std::int64_t id = 0;
    coap::DeviceType type = coap::DeviceType::Esci;
    std::optional<std::string> premises_id;
    std::string lfdi;
    std::uint64_t sfdi = 0;
    std::optional<std::string> psk_identity;
    std::optional<std::int64_t> psk_expires_at;  // when its PSK stops working; none: never
};

// An ESCI's POST /edev of an EndDevice whose deviceCategory says PEV, after the core checked the document and that
// sFDI and lFDI agree.
struct PevRegistrationRequest {
    coap::Peer esci;  // registered ESCI with a premises
    std::string lfdi;
    std::uint64_t sfdi = 0;
    std::optional<DeviceRecord> existing;  // the PEV's device if it is registered already (any premises)
};

// accept: the ESCI gets 2.01 with the PEV's EndDevice (registered at the ESCI's premises if new). refuse: 4.03 with
// the reason as a diagnostic payload.
struct PevRegistrationDecision {
    bool accept = false;
    std::string reason;
};

using PevRegistrationHandler =
    std::function<void(const PevRegistrationRequest& request, std::function<void(PevRegistrationDecision)> decide)>;

class DeviceDirectory {
public:
    virtual ~DeviceDirectory() = default;
    virtual std::optional<DeviceRecord> find(std::int64_t id) const = 0;
    virtual std::optional<DeviceRecord> find_lfdi(const std::string& lfdi) const = 0;
    virtual std::vector<DeviceRecord> list(std::optional<coap::DeviceType> type,
                                           std::optional<std::string> premises_id) const = 0;
    // The subject serialNumber (a PEV's VIN) of the certificate with this LFDI while a DTLS session presents it.
    // Call from CoAP handlers only (the HAN thread).
    virtual std::optional<std::string> live_certificate_serial(const std::string& lfdi) const = 0;
    // True while a DTLS session authenticated with this PSK identity is open (a PEV present with its re-bind
    // credential). Any thread.
    virtual bool live_psk_session(const std::string& identity) const = 0;
    // Gives a device a (new) PSK identity and key, e.g. a PEV's re-bind credential, which handshakes no longer know
    // from `expires_at` on; `done` runs after the commit, on the storage writer thread. Errors: device.not_found,
    // device.invalid, device.duplicate.
    virtual void set_psk(std::int64_t device_id, std::string identity, std::vector<std::uint8_t> key,
                         std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done) = 0;
    // One plugin decides PEV registrations; `decide` must be called exactly once, from any thread. Without a
    // handler, PEVs register like any other HAN device.
    virtual void set_pev_registration_handler(PevRegistrationHandler handler) = 0;
};

}  // namespace headend::plugin
