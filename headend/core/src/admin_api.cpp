#include "headend/core/admin_api.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "encoding.hpp"
#include "han/identity.hpp"
#include "headend/http/json.hpp"
#include "headend/http/server.hpp"

namespace headend::core {

namespace {

using nlohmann::json;

json device_json(const Device& device) {
    return json{{"id", device.id},
                {"type", to_string(device.type)},
                {"premises_id", device.premises_id ? json(*device.premises_id) : json(nullptr)},
                {"lfdi", device.lfdi},
                {"sfdi", device.sfdi},
                {"psk_identity", device.psk_identity ? json(*device.psk_identity) : json(nullptr)},
                {"pin", device.pin},
                {"edev_path", "/edev/" + std::to_string(device.id)},
                {"created_at", device.created_at}};
}

Result<han::DeviceIdentity> identity_of_pem(const std::string& pem) {
    auto der = pem_certificate_to_der(pem);
    if (!der)
        return make_error("device.invalid", "cert_pem is not a PEM X.509 certificate");
    return han::identity_from_der(*der);
}

std::optional<std::int64_t> parse_id(const std::string& text) {
    std::int64_t id = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (problem != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return id;
}

int status_for(const Error& error) {
    if (error.code == "device.duplicate")
        return 409;
    if (error.code == "device.not_found")
        return 404;
    if (error.code.rfind("device.", 0) == 0)
        return 400;
    return 500;
}

}  // namespace

Result<NewDevice> new_device_from_json(std::string_view body_text) {
    auto invalid = [](const std::string& message) { return make_error("device.invalid", message); };
    const json body = json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return invalid("the body must be a JSON object");
    static const std::set<std::string> known = {"type", "premises_id",  "cert_pem", "lfdi",
                                                "sfdi", "psk_identity", "psk_key",  "pin"};
    for (const auto& [key, value] : body.items()) {
        if (!known.contains(key))
            return invalid("unknown field '" + key + "'");
    }
    auto text = [&](const char* key) -> Result<std::optional<std::string>> {
        if (!body.contains(key) || body[key].is_null())
            return std::optional<std::string>{};
        if (!body[key].is_string())
            return invalid(std::string(key) + " must be a string");
        return std::optional<std::string>(body[key].get<std::string>());
    };
    NewDevice device;
    auto type = text("type");
    if (!type)
        return type.error();
    if (!*type)
        return invalid("type is required (esci, eumd, pev or display)");
    auto parsed_type = device_type_from_string(**type);
    if (!parsed_type)
        return invalid("type must be esci, eumd, pev or display, not '" + **type + "'");
    device.type = *parsed_type;
    auto premises = text("premises_id");
    if (!premises)
        return premises.error();
    device.premises_id = *premises;

    std::optional<std::string> cert, lfdi, psk_identity, psk_key;
    const std::pair<const char*, std::optional<std::string>*> fields[] = {
        {"cert_pem", &cert}, {"lfdi", &lfdi}, {"psk_identity", &psk_identity}, {"psk_key", &psk_key}};
    for (const auto& [key, out] : fields) {
        auto value = text(key);
        if (!value)
            return value.error();
        *out = std::move(*value);
    }
    const int kinds = (cert ? 1 : 0) + (lfdi ? 1 : 0) + (psk_identity ? 1 : 0);
    if (kinds != 1)
        return invalid("give exactly one credential: cert_pem, lfdi, or psk_identity with psk_key");
    if (cert) {
        auto identity = identity_of_pem(*cert);
        if (!identity)
            return identity.error();
        device.lfdi = identity->lfdi;
    }
    if (lfdi)
        device.lfdi = *lfdi;
    if (body.contains("sfdi")) {
        if (!body["sfdi"].is_number_unsigned())
            return invalid("sfdi must be an unsigned integer");
        device.sfdi = body["sfdi"].get<std::uint64_t>();
    }
    if (body.contains("pin")) {
        // Read whole, so a value past 32 bits is refused rather than cut down to a valid-looking PIN.
        if (!body["pin"].is_number_unsigned() || body["pin"].get<std::uint64_t>() > 999999)
            return invalid("pin must be a registration PIN: up to 6 digits");
        device.pin = static_cast<std::uint32_t>(body["pin"].get<std::uint64_t>());
    }
    if (psk_identity) {
        if (!psk_key)
            return invalid("psk_identity needs psk_key (hex)");
        auto key = decode_hex(*psk_key);
        if (!key)
            return invalid("psk_key must be an even number of hex digits");
        device.psk_identity = *psk_identity;
        device.psk_key = std::move(*key);
    } else if (psk_key) {
        return invalid("psk_key needs psk_identity");
    }
    return device;
}

void add_admin_routes(http::RouteRegistry& routes, DeviceRegistry& devices, std::function<HealthReport()> health,
                      std::function<std::vector<han::SessionSummary>()> sessions, std::int64_t started_at,
                      const plugin::Clock& clock) {
    routes.add("POST", "/api/v1/devices", [&devices](const http::Request& request) {
        auto candidate = new_device_from_json(request.body);
        if (!candidate)
            return http::json_error(400, candidate.error().code, candidate.error().message);
        auto added = devices.add_sync(std::move(*candidate));
        if (!added)
            return http::json_error(status_for(added.error()), added.error().code, added.error().message);
        return http::json_response(201, json{{"device", device_json(*added)}});
    });

    routes.add("GET", "/api/v1/devices", [&devices](const http::Request& request) {
        DeviceFilter filter;
        if (auto it = request.query.find("type"); it != request.query.end() && !it->second.empty()) {
            filter.type = device_type_from_string(it->second);
            if (!filter.type)
                return http::json_error(400, "device.invalid", "unknown device type '" + it->second + "'");
        }
        if (auto it = request.query.find("premises"); it != request.query.end() && !it->second.empty()) {
            filter.premises_id = it->second;
        }
        json list = json::array();
        for (const auto& device : devices.list(filter))
            list.push_back(device_json(device));
        return http::json_response(200, json{{"devices", list}});
    });

    routes.add("DELETE", "/api/v1/devices/{id}", [&devices](const http::Request& request) {
        const std::string& text = request.params.at("id");
        const auto id = parse_id(text);
        if (!id) {
            return http::json_error(400, "device.invalid", "device id must be a number, not '" + text + "'");
        }
        auto removed = devices.remove(*id);
        if (!removed) {
            return http::json_error(status_for(removed.error()), removed.error().code, removed.error().message);
        }
        return http::json_response(200, json{{"removed", *id}});
    });

    routes.add("GET", "/api/v1/han/sessions", [&devices, sessions = std::move(sessions)](const http::Request& request) {
        std::optional<std::int64_t> only;
        for (const auto& [key, value] : request.query) {
            if (key != "device")
                return http::json_error(400, "request.invalid", "unknown query parameter '" + key + "' (device)");
        }
        if (auto it = request.query.find("device"); it != request.query.end()) {
            only = parse_id(it->second);
            if (!only || *only <= 0)
                return http::json_error(400, "device.invalid", "device must be a device id, not '" + it->second + "'");
            if (!devices.find(*only))
                return http::json_error(404, "device.not_found", "no device #" + it->second);
        }
        json list = json::array();
        for (const auto& session : sessions()) {
            const auto device =
                session.certificate ? devices.find_lfdi(session.lfdi) : devices.find_psk_holder(session.psk_identity);
            if (only && (!device || device->id != *only))
                continue;
            json entry = {{"peer", session.peer},
                          {"credential", session.certificate ? "certificate" : "psk"},
                          {"device_id", device ? json(device->id) : json(nullptr)},
                          {"device_type", device ? json(to_string(device->type)) : json(nullptr)},
                          {"cipher", session.cipher},
                          {"established_at", session.established_at}};
            if (session.certificate) {
                entry["lfdi"] = session.lfdi;
                entry["certificate_serial"] = session.certificate_serial;
            } else {
                entry["psk_identity"] = session.psk_identity;
            }
            list.push_back(std::move(entry));
        }
        return http::json_response(200, json{{"sessions", list}});
    });

    routes.add("GET", "/api/v1/health",
               [&devices, health = std::move(health), started_at, &clock](const http::Request&) {
                   const HealthReport report = health();
                   return http::json_response(
                       200, json{{"status", report.database_ok ? "ok" : "degraded"},
                                 {"version", HEADEND_VERSION},
                                 {"uptime_s", clock.now() - started_at},
                                 {"database",
                                  {{"ok", report.database_ok},
                                   {"write_queue", report.write_queue},
                                   {"wal_bytes", report.wal_bytes},
                                   {"wal_warn_bytes", report.wal_warn_bytes},
                                   {"checkpoint_lag_frames", report.checkpoint_lag_frames},
                                   {"checkpoint_lag_s", std::round(report.checkpoint_lag_seconds * 10) / 10}}},
                                 {"coaps",
                                  {{"port", report.coaps_port},
                                   {"sessions", report.sessions},
                                   {"observations", report.observations}}},
                                 {"devices", devices.size()}});
               });
}

void add_clock_routes(http::RouteRegistry& routes, SimulatedClock& clock) {
    const auto answer = [&clock](std::int64_t now) {
        return http::json_response(200, json{{"now", now}, {"offset_s", clock.offset()}, {"simulated", true}});
    };
    routes.add("GET", "/api/v1/clock", [&clock, answer](const http::Request&) { return answer(clock.now()); });
    routes.add("POST", "/api/v1/clock", [&clock, answer](const http::Request& request) {
        const json body = json::parse(request.body, nullptr, false);
        if (!body.is_object() || body.size() != 1 || !body.contains("advance_s") ||
            !body["advance_s"].is_number_integer())
            return http::json_error(400, "request.invalid", R"(the body must be {"advance_s": SECONDS})");
        // A decade at most per move: far beyond any simulation, and the offset cannot overflow.
        constexpr std::int64_t kMaxMove = std::int64_t{3650} * 86400;
        // Read unsigned values above int64 as what they are, not wrapped into negatives.
        if (body["advance_s"].is_number_unsigned() && body["advance_s"].get<std::uint64_t>() > kMaxMove)
            return http::json_error(400, "request.invalid", "advance_s: at most " + std::to_string(kMaxMove));
        const auto seconds = body["advance_s"].get<std::int64_t>();
        if (seconds > kMaxMove)
            return http::json_error(400, "request.invalid", "advance_s: at most " + std::to_string(kMaxMove));
        auto moved = clock.advance(seconds);
        if (!moved)
            return http::json_error(400, moved.error().code, moved.error().message);
        return answer(*moved);
    });
}

}  // namespace headend::core
