// The plugin API's DeviceDirectory over the core's device registry, DTLS sessions and /edev resource.
#pragma once

#include "headend/core/device_registry.hpp"
#include "headend/core/sep_resources.hpp"
#include "headend/plugin/devices.hpp"

namespace han {
class CoapServer;
}

namespace headend::core {

class PluginDevices final : public plugin::DeviceDirectory {
public:
    PluginDevices(DeviceRegistry& registry, const han::CoapServer& sessions, SepResources& resources)
        : registry_(registry), sessions_(sessions), resources_(resources) {}

    std::optional<plugin::DeviceRecord> find(std::int64_t id) const override;
    std::optional<plugin::DeviceRecord> find_lfdi(const std::string& lfdi) const override;
    std::vector<plugin::DeviceRecord> list(std::optional<coap::DeviceType> type,
                                           std::optional<std::string> premises_id) const override;
    std::optional<std::string> live_certificate_serial(const std::string& lfdi) const override;
    bool live_psk_session(const std::string& identity) const override;
    void set_psk(std::int64_t device_id, std::string identity, std::vector<std::uint8_t> key,
                 std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done) override;
    void set_pev_registration_handler(plugin::PevRegistrationHandler handler) override;

private:
    DeviceRegistry& registry_;
    const han::CoapServer& sessions_;
    SepResources& resources_;
};

}  // namespace headend::core
