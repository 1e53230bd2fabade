#include "headend/core/sep_resources.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "han/identity.hpp"
#include "headend/core/time_info.hpp"
#include "sep/codec.hpp"
#include "sep/encode.hpp"

namespace headend::core {

namespace {

using coap::Code;
using coap::Method;
using coap::Request;
using coap::Responder;
using coap::Response;

constexpr std::uint32_t kDefaultPollRate = 900;
// 2030.5 DeviceCategoryType bit for a plug-in electric vehicle.
constexpr std::uint32_t kDeviceCategoryPev = 1U << 16U;

Response xml(std::string body, Code code = Code::Content) {
    return Response{code, std::move(body), coap::kContentFormatXml, "", std::nullopt};
}

// Everything a caller may not see, existing or not, answers exactly this.
Response forbidden() {
    return Response{Code::Forbidden, "", coap::kContentFormatXml, "", std::nullopt};
}

Response bad_request(const std::string& message) {
    spdlog::debug("[SEP_BAD_REQUEST] {}", message);
    return Response{Code::BadRequest, message, 0, "", std::nullopt};
}

std::string edev_path(std::int64_t id) {
    return "/edev/" + std::to_string(id);
}

std::optional<std::uint64_t> parse_unsigned(const std::string& text) {
    std::uint64_t value = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || problem != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<std::int64_t> device_id_param(const Request& request) {
    if (request.segments.size() < 2)
        return std::nullopt;
    auto id = parse_unsigned(request.segments[1]);
    if (!id || *id > static_cast<std::uint64_t>(INT64_MAX))
        return std::nullopt;
    return static_cast<std::int64_t>(*id);
}

bool xml_body_acceptable(const Request& request) {
    return !request.content_format || *request.content_format == coap::kContentFormatXml;
}

// The function sets /dcap and every FunctionSetAssignments link alike: time, and the customer's bills (billing), the
// program tariffs (pev-registration) and the utility's usage view (interval-collection) when a plugin serves them.
template <typename FunctionSets>
void link_function_sets(const coap::ResourceRegistry& registry, FunctionSets& out) {
    if (registry.serves("/bill"))
        out.customer_account_list_link = sep::ListLink{"/bill", std::nullopt};
    out.time_link = sep::Link{"/tm"};
    if (registry.serves("/tp"))
        out.tariff_profile_list_link = sep::ListLink{"/tp", std::nullopt};
    if (registry.serves("/upt"))
        out.usage_point_list_link = sep::ListLink{"/upt", std::nullopt};
}

// A device's one FunctionSetAssignments. Its mRID is stable per device: "FSA1" in the top 32 bits, the device id,
// and in the low 32 bits (where 2030.5 puts the issuer's PEN) 0, as the core is not told the utility's.
sep::FunctionSetAssignments function_set_assignments_of(const coap::ResourceRegistry& registry, const Device& device) {
    sep::FunctionSetAssignments out;
    out.href = edev_path(device.id) + "/fsa/1";
    link_function_sets(registry, out);
    std::array<char, 33> mrid{};
    std::snprintf(mrid.data(), mrid.size(), "46534131%016" PRIX64 "00000000", static_cast<std::uint64_t>(device.id));
    out.mrid = mrid.data();
    return out;
}

// `power_status`: the PEV's PowerStatus is served (by the binding plugin), so clients discover it by its link.
sep::EndDevice end_device_of(const Device& device, bool power_status) {
    sep::EndDevice out;
    const std::string path = edev_path(device.id);
    out.href = path;
    if (power_status)
        out.power_status_link = sep::Link{path + "/ps"};
    out.device_information_link = sep::Link{path + "/di"};
    out.lfdi = device.lfdi;
    out.sfdi = device.sfdi;
    out.changed_time = device.changed_at;
    out.enabled = true;
    out.function_set_assignments_list_link = sep::ListLink{path + "/fsa", 1};
    out.registration_link = sep::Link{path + "/reg"};
    return out;
}

}  // namespace

bool may_see(const coap::Peer& peer, const Device& device) {
    if (!peer.device_id)
        return false;
    if (*peer.device_id == device.id)
        return true;
    return peer.device_type == coap::DeviceType::Esci && peer.premises_id && device.premises_id == peer.premises_id;
}

bool may_list(const coap::Peer& peer, const Device& device) {
    if (may_see(peer, device))
        return true;
    return peer.device_id && peer.device_type == coap::DeviceType::Display && peer.premises_id &&
           device.type == coap::DeviceType::Pev && device.premises_id == peer.premises_id;
}

SepResources::SepResources(coap::ResourceRegistry& registry, DeviceRegistry& devices, storage::Database& database,
                           std::shared_ptr<const sep::Codec> codec, const plugin::Clock& clock, plugin::Timers& timers,
                           SepSettings settings)
    : registry_(registry),
      devices_(devices),
      database_(database),
      codec_(std::move(codec)),
      clock_(clock),
      timers_(timers),
      settings_(std::move(settings)) {}

void SepResources::start() {
    auto method_router = [](std::map<Method, std::function<void(const Request&, const Responder&)>> methods) {
        return [methods = std::move(methods)](const Request& request, const Responder& respond) {
            auto it = methods.find(request.method);
            if (it == methods.end()) {
                respond(Response{Code::MethodNotAllowed, "", 0, "", std::nullopt});
                return;
            }
            it->second(request, respond);
        };
    };
    auto bind = [this](auto member) {
        return [this, member](const Request& request, const Responder& respond) { (this->*member)(request, respond); };
    };

    registry_.add("/dcap", method_router({{Method::Get, bind(&SepResources::get_dcap)}}));
    registry_.add("/tm", method_router({{Method::Get, bind(&SepResources::get_time)}}), {.observable = true});
    registry_.add("/edev", method_router({{Method::Get, bind(&SepResources::get_end_devices)},
                                          {Method::Post, bind(&SepResources::post_end_device)}}));
    registry_.add("/edev/{n}", method_router({{Method::Get, bind(&SepResources::get_end_device)}}),
                  {.observable = true});
    registry_.add("/edev/{n}/fsa",
                  method_router({{Method::Get, bind(&SepResources::get_function_set_assignments_list)}}));
    registry_.add("/edev/{n}/fsa/{m}",
                  method_router({{Method::Get, bind(&SepResources::get_function_set_assignments)}}));
    registry_.add("/edev/{n}/reg", method_router({{Method::Get, bind(&SepResources::get_registration)}}));
    registry_.add("/edev/{n}/di", method_router({{Method::Get, bind(&SepResources::get_device_information)},
                                                 {Method::Put, bind(&SepResources::put_device_information)},
                                                 {Method::Post, bind(&SepResources::put_device_information)}}));

    schedule_time_notification();
    // A changed device's observers see it again; those of a removed one get the 4.03 of a path they may not see,
    // which ends their observation.
    devices_.on_change([this](const Device& device, bool) { registry_.notify(edev_path(device.id)); });
}

void SepResources::schedule_time_notification() {
    const std::int64_t now = clock_.now();
    auto info = time_info(settings_.time_zone, now);
    if (!info)
        return;
    // A second late, so the notification already carries the new rule.
    const auto delay = std::chrono::seconds(info->next_change - now + 1);
    timers_.after(std::chrono::duration_cast<std::chrono::milliseconds>(delay), [this] {
        registry_.notify("/tm");
        schedule_time_notification();
    });
}

std::vector<Device> SepResources::visible_devices(const coap::Peer& peer) const {
    if (!peer.device_id)
        return {};
    if (peer.device_type == coap::DeviceType::Esci && peer.premises_id) {
        return devices_.list(DeviceFilter{std::nullopt, peer.premises_id});
    }
    auto self = devices_.find(*peer.device_id);
    if (!self)
        return {};
    std::vector<Device> visible = {*self};
    // A display finds its premises' PEVs here, and their PowerStatus through them.
    if (peer.device_type == coap::DeviceType::Display && peer.premises_id) {
        for (auto& pev : devices_.list(DeviceFilter{coap::DeviceType::Pev, peer.premises_id}))
            visible.push_back(std::move(pev));
        std::sort(visible.begin(), visible.end(), [](const Device& a, const Device& b) { return a.id < b.id; });
    }
    return visible;
}

std::optional<Device> SepResources::visible_device(const Request& request, bool listed) const {
    auto id = device_id_param(request);
    if (!id)
        return std::nullopt;
    auto device = devices_.find(*id);
    if (!device || !(listed ? may_list(request.peer, *device) : may_see(request.peer, *device)))
        return std::nullopt;
    return device;
}

void SepResources::get_dcap(const Request& request, const Responder& respond) const {
    sep::DeviceCapability dcap;
    dcap.href = "/dcap";
    dcap.poll_rate = kDefaultPollRate;
    link_function_sets(registry_, dcap);
    dcap.end_device_list_link =
        sep::ListLink{"/edev", static_cast<std::uint32_t>(visible_devices(request.peer).size())};
    // The metering mirror, when interval-collection serves it.
    if (registry_.serves("/mup"))
        dcap.mirror_usage_point_list_link = sep::ListLink{"/mup", std::nullopt};
    respond(xml(sep::encode(dcap)));
}

void SepResources::get_time(const Request&, const Responder& respond) const {
    auto info = time_info(settings_.time_zone, clock_.now());
    if (!info) {
        respond(Response{Code::InternalServerError, "", 0, "", std::nullopt});
        return;
    }
    sep::Time time;
    time.href = "/tm";
    time.poll_rate = kDefaultPollRate;
    time.current_time = info->current_time;
    time.dst_end_time = info->dst_end_time;
    time.dst_offset = static_cast<std::int32_t>(info->dst_offset);
    time.dst_start_time = info->dst_start_time;
    time.local_time = info->local_time;
    time.quality = static_cast<std::uint8_t>(settings_.time_quality);
    time.tz_offset = static_cast<std::int32_t>(info->tz_offset);
    respond(xml(sep::encode(time)));
}

void SepResources::get_end_devices(const Request& request, const Responder& respond) const {
    auto query = parse_list_query(request.query, settings_.max_list_limit);
    if (!query) {
        respond(bad_request(query.error().message));
        return;
    }
    auto devices = visible_devices(request.peer);
    if (query->after) {
        std::erase_if(devices, [&](const Device& device) { return device.changed_at < *query->after; });
    }
    sep::EndDeviceList list;
    list.href = "/edev";
    list.all = static_cast<std::uint32_t>(devices.size());
    list.poll_rate = kDefaultPollRate;
    for (std::size_t i = query->start; i < devices.size() && list.end_devices.size() < query->limit; ++i) {
        list.end_devices.push_back(end_device_of(devices[i], serves_power_status(devices[i])));
    }
    list.results = static_cast<std::uint32_t>(list.end_devices.size());
    respond(xml(sep::encode(list)));
}

// An ESCI registers a HAN device of its own premises; the premises is the ESCI's, never one named in the body.
void SepResources::post_end_device(const Request& request, const Responder& respond) {
    const auto& peer = request.peer;
    if (!peer.device_id || peer.device_type != coap::DeviceType::Esci || !peer.premises_id) {
        respond(forbidden());
        return;
    }
    if (!xml_body_acceptable(request)) {
        respond(Response{Code::UnsupportedContentFormat, "", 0, "", std::nullopt});
        return;
    }
    auto document = codec_->decode<sep::EndDevice>(request.body);
    if (!document) {
        respond(bad_request(document.error().message));
        return;
    }
    if (!han::sfdi_check_digit_ok(document->sfdi)) {
        respond(bad_request("sFDI " + std::to_string(document->sfdi) + " has a wrong check digit"));
        return;
    }
    if (!document->lfdi) {
        respond(bad_request("lFDI is required to register a device"));
        return;
    }
    if (!han::lfdi_matches_sfdi(*document->lfdi, document->sfdi)) {
        respond(bad_request("sFDI " + std::to_string(document->sfdi) + " does not belong to lFDI " + *document->lfdi));
        return;
    }
    const bool pev = document->device_category && (*document->device_category & kDeviceCategoryPev) != 0;
    auto existing = devices_.find_lfdi(*document->lfdi);
    if (pev && pev_registration_) {
        plugin::PevRegistrationRequest asked{peer, *document->lfdi, document->sfdi,
                                             existing ? std::optional(to_record(*existing)) : std::nullopt};
        pev_registration_(asked, [this, respond, asked](const plugin::PevRegistrationDecision& decision) {
            if (!decision.accept) {
                spdlog::info("[SEP_PEV_REFUSED] PEV {} at premises {}: {}", asked.lfdi, *asked.esci.premises_id,
                             decision.reason);
                respond(Response{Code::Forbidden, decision.reason, 0, "", std::nullopt});
                return;
            }
            if (asked.existing) {
                respond(Response{Code::Created, "", 0, edev_path(asked.existing->id), std::nullopt});
                return;
            }
            register_device(asked.esci, asked.lfdi, asked.sfdi, DeviceType::Pev, respond);
        });
        return;
    }
    // The same registration again answers with the device already made (idempotent).
    if (existing) {
        if (existing->premises_id == peer.premises_id) {
            respond(Response{Code::Created, "", 0, edev_path(existing->id), std::nullopt});
        } else {
            respond(forbidden());
        }
        return;
    }
    register_device(peer, *document->lfdi, document->sfdi, pev ? DeviceType::Pev : DeviceType::Display, respond);
}

void SepResources::register_device(const coap::Peer& esci, const std::string& lfdi, std::uint64_t sfdi, DeviceType type,
                                   const Responder& respond) {
    NewDevice candidate;
    candidate.type = type;
    candidate.premises_id = esci.premises_id;
    candidate.lfdi = lfdi;
    candidate.sfdi = sfdi;
    candidate.registered_by = esci.device_id;
    devices_.add(std::move(candidate), [this, respond, lfdi, premises = *esci.premises_id](Result<Device> added) {
        if (added) {
            spdlog::info("[SEP_DEVICE_REGISTERED] {} registered {} at premises {}", "esci", added->lfdi, premises);
            respond(Response{Code::Created, "", 0, edev_path(added->id), std::nullopt});
            return;
        }
        // Lost a race with the same registration: answer as for a repeat.
        if (auto existing = devices_.find_lfdi(lfdi); existing && existing->premises_id == premises) {
            respond(Response{Code::Created, "", 0, edev_path(existing->id), std::nullopt});
            return;
        }
        respond(added.error().code == "device.invalid" ? bad_request(added.error().message) : forbidden());
    });
}

void SepResources::set_pev_registration_handler(plugin::PevRegistrationHandler handler) {
    pev_registration_ = std::move(handler);
}

bool SepResources::serves_power_status(const Device& device) const {
    return device.type == coap::DeviceType::Pev && registry_.serves(edev_path(device.id) + "/ps");
}

std::optional<Device> SepResources::readable_end_device(const Request& request, const Responder& respond,
                                                        bool listed) const {
    auto device = visible_device(request, listed);
    if (!device)
        respond(forbidden());
    return device;
}

// DESIGN §5: a device's registration and function set assignments are its own; its ESCI sees its EndDevice only.
std::optional<Device> SepResources::owned_end_device(const Request& request, const Responder& respond) const {
    auto device = visible_device(request);
    if (!device || request.peer.device_id != device->id) {
        respond(forbidden());
        return std::nullopt;
    }
    return device;
}

void SepResources::get_end_device(const Request& request, const Responder& respond) const {
    if (auto device = readable_end_device(request, respond, true))
        respond(xml(sep::encode(end_device_of(*device, serves_power_status(*device)))));
}

void SepResources::get_function_set_assignments_list(const Request& request, const Responder& respond) const {
    auto device = owned_end_device(request, respond);
    if (!device)
        return;
    auto query = parse_list_query(request.query, settings_.max_list_limit);
    if (!query) {
        respond(bad_request(query.error().message));
        return;
    }
    sep::FunctionSetAssignmentsList list;
    list.href = edev_path(device->id) + "/fsa";
    list.all = 1;
    list.poll_rate = kDefaultPollRate;
    if (query->start == 0 && query->limit > 0)
        list.function_set_assignments.push_back(function_set_assignments_of(registry_, *device));
    list.results = static_cast<std::uint32_t>(list.function_set_assignments.size());
    respond(xml(sep::encode(list)));
}

void SepResources::get_function_set_assignments(const Request& request, const Responder& respond) const {
    auto device = owned_end_device(request, respond);
    if (!device)
        return;
    // A device has one assignment (every function set the head-end serves).
    if (request.segments.at(3) != "1") {
        respond(Response{Code::NotFound, "", 0, "", std::nullopt});
        return;
    }
    respond(xml(sep::encode(function_set_assignments_of(registry_, *device))));
}

void SepResources::get_registration(const Request& request, const Responder& respond) const {
    auto device = owned_end_device(request, respond);
    if (!device)
        return;
    sep::Registration registration;
    registration.href = edev_path(device->id) + "/reg";
    registration.poll_rate = kDefaultPollRate;
    registration.date_time_registered = device->created_at;
    registration.pin = device->pin;
    respond(xml(sep::encode(registration)));
}

void SepResources::get_device_information(const Request& request, const Responder& respond) const {
    auto device = readable_end_device(request, respond);
    if (!device)
        return;
    std::optional<std::string> document;
    auto read = database_.read([&](storage::Transaction& tx) -> Result<void> {
        const std::vector<storage::Value> params = {device->id};
        auto rows = tx.query("SELECT document FROM device_information WHERE device_id = ?", params);
        if (!rows)
            return rows.error();
        if (!rows->empty())
            document = rows->front().text(0);
        return {};
    });
    if (!read) {
        respond(Response{Code::InternalServerError, "", 0, "", std::nullopt});
        return;
    }
    // Not reported yet: as for anything else the caller cannot read.
    respond(document ? xml(*document) : Response{Code::NotFound, "", 0, "", std::nullopt});
}

void SepResources::put_device_information(const Request& request, const Responder& respond) {
    auto device = visible_device(request);
    if (!device || request.peer.device_id != device->id) {
        respond(forbidden());
        return;
    }
    if (!xml_body_acceptable(request)) {
        respond(Response{Code::UnsupportedContentFormat, "", 0, "", std::nullopt});
        return;
    }
    auto information = codec_->decode<sep::DeviceInformation>(request.body);
    if (!information) {
        respond(bad_request(information.error().message));
        return;
    }
    if (information->lfdi != device->lfdi) {
        respond(bad_request("DeviceInformation lFDI " + information->lfdi + " is not this device's " + device->lfdi));
        return;
    }
    information->href = edev_path(device->id) + "/di";
    const std::string canonical = sep::encode(*information);
    const std::int64_t now = clock_.now();
    const std::int64_t id = device->id;
    database_.write(
        [canonical, now, id](storage::Transaction& tx) -> Result<void> {
            const std::vector<storage::Value> params = {id, canonical, now};
            auto stored = tx.execute(
                "INSERT INTO device_information(device_id, document, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                params);
            if (!stored)
                return stored.error();
            return {};
        },
        [respond](const Result<void>& committed) {
            respond(committed ? Response{Code::Changed, "", 0, "", std::nullopt}
                              : Response{Code::InternalServerError, "", 0, "", std::nullopt});
        });
}

}  // namespace headend::core
