// The devices the head-end knows: persisted in storage, indexed in memory for the DTLS layer (it implements
// han::SecurityStore), changed only through committed writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "han/security_store.hpp"
#include "headend/plugin/coap.hpp"
#include "headend/plugin/plugin.hpp"
#include "headend/plugin/storage.hpp"

namespace headend::core {

using coap::DeviceType;

std::string to_string(DeviceType type);
std::optional<DeviceType> device_type_from_string(const std::string& text);

struct Device {
    std::int64_t id = 0;
    DeviceType type = DeviceType::Esci;
    std::optional<std::string> premises_id;
    std::string lfdi;
    std::uint64_t sfdi = 0;
    std::optional<std::string> psk_identity;
    // When the PSK stops working (a PEV's re-bind credential has a lifetime); none: it does not expire.
    std::optional<std::int64_t> psk_expires_at;
    std::uint32_t pin = 0;
    std::optional<std::int64_t> registered_by;  // the ESCI that registered it over the HAN
    std::int64_t created_at = 0;
    std::int64_t changed_at = 0;
};

// The plugin API's view of a device.
plugin::DeviceRecord to_record(const Device& device);

struct NewDevice {
    DeviceType type = DeviceType::Esci;
    std::optional<std::string> premises_id;
    std::optional<std::string> lfdi;    // required unless a PSK identity is given
    std::optional<std::uint64_t> sfdi;  // checked against the LFDI when given
    std::optional<std::string> psk_identity;
    std::vector<std::uint8_t> psk_key;
    std::optional<std::int64_t> registered_by;
    // The registration PIN the operator read off the device (6 digits, the last a check digit as for SFDIs), served
    // in its Registration so the device can check it; random when not given.
    std::optional<std::uint32_t> pin = std::nullopt;
};

struct DeviceFilter {
    std::optional<DeviceType> type;
    std::optional<std::string> premises_id;
};

// The LFDI given to a PSK-only device so it has the EndDevice identity 2030.5 requires: the first 160 bits of
// SHA-256 over "psk-identity:" + identity. No certificate can produce it.
std::string lfdi_for_psk_identity(const std::string& identity);

class DeviceRegistry final : public han::SecurityStore {
public:
    using Done = std::function<void(Result<Device>)>;

    static std::vector<storage::Migration> migrations();
    static Result<std::unique_ptr<DeviceRegistry>> load(storage::Database& database, const plugin::Clock& clock);

    // Validates and stores; `done` runs after the commit (on the writer thread). Errors: "device.invalid"
    // (message says which field), "device.duplicate" (LFDI or PSK identity already registered).
    void add(NewDevice device, Done done);
    Result<Device> add_sync(NewDevice device);
    Result<void> remove(std::int64_t id);
    // Gives a device a (new) PSK identity and key, replacing the one it had; a certificate device keeps its LFDI, so
    // PSK sessions with it are the same device (a PEV's re-bind credential). From `expires_at` on, the identity is
    // unknown to handshakes. `done` runs after the commit.
    void set_psk(std::int64_t id, std::string identity, std::vector<std::uint8_t> key,
                 std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done);

    std::optional<Device> find(std::int64_t id) const;
    std::optional<Device> find_lfdi(const std::string& lfdi) const;
    // The device holding this PSK identity, expired or not (find_psk is what handshakes ask).
    std::optional<Device> find_psk_holder(const std::string& identity) const;
    std::vector<Device> list(const DeviceFilter& filter = {}) const;  // ordered by id
    std::size_t size() const;

    // Called after each committed add (removed = false) or removal, on the thread that committed it.
    using Listener = std::function<void(const Device&, bool removed)>;
    void on_change(Listener listener);

    // han::SecurityStore
    std::optional<han::PskCredential> find_psk(const std::string& identity) const override;
    std::optional<han::RegisteredDevice> find_by_lfdi(const std::string& lfdi) const override;

private:
    DeviceRegistry(storage::Database& database, const plugin::Clock& clock) : database_(database), clock_(clock) {}
    void index(const Device& device, std::vector<std::uint8_t> psk_key);
    Result<NewDevice> validate(NewDevice device) const;

    storage::Database& database_;
    const plugin::Clock& clock_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::int64_t, Device> by_id_;
    std::unordered_map<std::string, std::int64_t> by_lfdi_;
    std::unordered_map<std::string, std::set<std::int64_t>> by_premises_;
    struct PskEntry {
        std::int64_t device_id = 0;
        std::vector<std::uint8_t> key;
        std::optional<std::int64_t> expires_at;
    };
    std::unordered_map<std::string, PskEntry> by_psk_;
    std::vector<Listener> listeners_;  // registered at start-up, before any change
};

}  // namespace headend::core
