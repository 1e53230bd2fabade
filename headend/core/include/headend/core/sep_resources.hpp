// The core SEP resources: /dcap, /tm, /edev and each EndDevice's /reg, /di and /fsa. Access is decided by the DTLS
// identity alone (DESIGN §4); whatever a caller may not see answers 4.03 with the same body whether or not it
// exists.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "headend/core/device_registry.hpp"
#include "headend/plugin/coap.hpp"
#include "headend/plugin/list_query.hpp"
#include "headend/plugin/plugin.hpp"
#include "headend/plugin/storage.hpp"

namespace sep {
class Codec;
}

namespace headend::core {

struct SepSettings {
    std::string time_zone;
    int time_quality = 4;
    std::uint32_t max_list_limit = 255;
};

using coap::ListQuery;
using coap::parse_list_query;

// Who may see which device: itself; an ESCI sees the devices of its premises.
bool may_see(const coap::Peer& peer, const Device& device);
// Whose EndDevice (in /edev and at /edev/{n}) a caller may read: those it may see, and a display those of its premises'
// PEVs, to find their PowerStatus (DESIGN §5: premises displays read it). Nothing below the EndDevice but what the
// owning plugin allows (/edev/{n}/ps).
bool may_list(const coap::Peer& peer, const Device& device);

class SepResources {
public:
    SepResources(coap::ResourceRegistry& registry, DeviceRegistry& devices, storage::Database& database,
                 std::shared_ptr<const sep::Codec> codec, const plugin::Clock& clock, plugin::Timers& timers,
                 SepSettings settings);

    // Registers the resources (/tm and /edev/{n} observable); /tm observers are notified at every DST transition and
    // new year, an EndDevice's observers when the device changes or goes.
    void start();

    // Hands the decision on PEV registrations by an ESCI (the binding request) to a plugin. Set before serving.
    void set_pev_registration_handler(plugin::PevRegistrationHandler handler);

private:
    void get_dcap(const coap::Request& request, const coap::Responder& respond) const;
    void get_time(const coap::Request& request, const coap::Responder& respond) const;
    void get_end_devices(const coap::Request& request, const coap::Responder& respond) const;
    void post_end_device(const coap::Request& request, const coap::Responder& respond);
    void get_end_device(const coap::Request& request, const coap::Responder& respond) const;
    void get_function_set_assignments_list(const coap::Request& request, const coap::Responder& respond) const;
    void get_function_set_assignments(const coap::Request& request, const coap::Responder& respond) const;
    bool serves_power_status(const Device& device) const;
    void get_registration(const coap::Request& request, const coap::Responder& respond) const;
    void get_device_information(const coap::Request& request, const coap::Responder& respond) const;
    void put_device_information(const coap::Request& request, const coap::Responder& respond);

    void register_device(const coap::Peer& esci, const std::string& lfdi, std::uint64_t sfdi, DeviceType type,
                         const coap::Responder& respond);
    // The device of /edev/{n}/... when the caller may see it (`listed`: may read its EndDevice, may_list).
    std::optional<Device> visible_device(const coap::Request& request, bool listed = false) const;
    // The same, answering 4.03 otherwise (as for a missing one).
    std::optional<Device> readable_end_device(const coap::Request& request, const coap::Responder& respond,
                                              bool listed = false) const;
    std::optional<Device> owned_end_device(const coap::Request& request, const coap::Responder& respond) const;
    void schedule_time_notification();
    std::vector<Device> visible_devices(const coap::Peer& peer) const;

    coap::ResourceRegistry& registry_;
    DeviceRegistry& devices_;
    storage::Database& database_;
    std::shared_ptr<const sep::Codec> codec_;
    const plugin::Clock& clock_;
    plugin::Timers& timers_;
    SepSettings settings_;
    plugin::PevRegistrationHandler pev_registration_;
};

}  // namespace headend::core
