#include "headend/core/plugin_devices.hpp"

#include <algorithm>

#include "han/coap_server.hpp"

namespace headend::core {

std::optional<plugin::DeviceRecord> PluginDevices::find(std::int64_t id) const {
    auto device = registry_.find(id);
    return device ? std::optional(to_record(*device)) : std::nullopt;
}

std::optional<plugin::DeviceRecord> PluginDevices::find_lfdi(const std::string& lfdi) const {
    auto device = registry_.find_lfdi(lfdi);
    return device ? std::optional(to_record(*device)) : std::nullopt;
}

std::vector<plugin::DeviceRecord> PluginDevices::list(std::optional<coap::DeviceType> type,
                                                      std::optional<std::string> premises_id) const {
    std::vector<plugin::DeviceRecord> records;
    for (const auto& device : registry_.list(DeviceFilter{type, std::move(premises_id)}))
        records.push_back(to_record(device));
    return records;
}

std::optional<std::string> PluginDevices::live_certificate_serial(const std::string& lfdi) const {
    return sessions_.certificate_serial(lfdi);
}

bool PluginDevices::live_psk_session(const std::string& identity) const {
    const auto sessions = sessions_.sessions();
    return std::any_of(sessions.begin(), sessions.end(), [&](const han::SessionSummary& session) {
        return !session.certificate && session.psk_identity == identity;
    });
}

void PluginDevices::set_psk(std::int64_t device_id, std::string identity, std::vector<std::uint8_t> key,
                            std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done) {
    registry_.set_psk(device_id, std::move(identity), std::move(key), expires_at, std::move(done));
}

void PluginDevices::set_pev_registration_handler(plugin::PevRegistrationHandler handler) {
    resources_.set_pev_registration_handler(std::move(handler));
}

}  // namespace headend::core
