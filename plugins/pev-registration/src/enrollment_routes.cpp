#include "pev/enrollment_routes.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "admin/json_reply.hpp"

namespace pev {

namespace {

using headend::make_error;
using headend::Result;
using nlohmann::json;

constexpr std::size_t kMaxChannel = 20;

headend::Error bad_request(const std::string& message) {
    return make_error("request.invalid", message);
}

int status_for(const headend::Error& error) {
    const std::string& code = error.code;
    if (code == "enrollment.not_found")
        return 404;
    if (code == "enrollment.already_enrolled")
        return 409;
    if (code == "vin.invalid" || code == "request.invalid")
        return 400;
    if (code.starts_with("enrollment."))
        return 422;
    return 500;
}

json to_json(const Enrollment& enrollment) {
    return {{"vin", enrollment.vin},
            {"account_id", enrollment.account_id},
            {"customer_id", enrollment.customer_id},
            {"premises_id", enrollment.premises_id},
            {"program_id", enrollment.program_id},
            {"allow_guest_charging", enrollment.preferences.allow_guest_charging},
            {"guest_charging_payer", to_string(enrollment.preferences.guest_charging_payer)},
            {"allow_roaming", enrollment.preferences.allow_roaming},
            {"channel", enrollment.channel},
            {"enrolled_at", enrollment.enrolled_at},
            {"updated_at", enrollment.updated_at}};
}

// A JSON object with only the allowed keys.
Result<json> parse_object(const std::string& body, const std::set<std::string>& allowed) {
    json document = json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return bad_request("the body must be a JSON object");
    for (const auto& [key, value] : document.items()) {
        if (!allowed.contains(key))
            return bad_request("unknown field '" + key + "'");
    }
    return document;
}

template <typename T>
Result<std::optional<T>> field(const json& document, const std::string& key) {
    const auto found = document.find(key);
    if (found == document.end())
        return std::optional<T>();
    if constexpr (std::is_same_v<T, bool>) {
        if (!found->is_boolean())
            return bad_request("'" + key + "' must be true or false");
    } else {
        if (!found->is_string())
            return bad_request("'" + key + "' must be a string");
    }
    return std::optional<T>(found->get<T>());
}

Result<std::string> required_text(const json& document, const std::string& key) {
    auto value = field<std::string>(document, key);
    if (!value)
        return value.error();
    if (!*value || (*value)->empty())
        return bad_request("'" + key + "' is required");
    return std::move(**value);
}

Result<std::optional<GuestPayer>> payer_field(const json& document) {
    auto text = field<std::string>(document, "guest_charging_payer");
    if (!text)
        return text.error();
    if (!*text)
        return std::optional<GuestPayer>();
    const auto payer = parse_guest_payer(**text);
    if (!payer)
        return bad_request("'guest_charging_payer' must be \"owner\" or \"host\"");
    return std::optional(*payer);
}

Result<std::string> channel_field(const std::optional<std::string>& given) {
    if (!given)
        return std::string("api");
    if (given->empty() || given->size() > kMaxChannel)
        return bad_request("'channel' must be 1 to 20 characters");
    return *given;
}

// The "channel" field of a body: who took the request (operator, portal, api).
Result<std::string> channel_in(const json& document) {
    auto text = field<std::string>(document, "channel");
    if (!text)
        return text.error();
    return channel_field(*text);
}

Result<EnrollmentRequest> parse_enroll(const std::string& body) {
    auto document = parse_object(body, {"account_id", "customer_id", "premises_id", "vin", "program_id",
                                        "allow_guest_charging", "guest_charging_payer", "allow_roaming", "channel"});
    if (!document)
        return document.error();
    EnrollmentRequest request;
    for (const auto& [key, out] :
         {std::pair{"account_id", &request.account_id}, std::pair{"customer_id", &request.customer_id},
          std::pair{"premises_id", &request.premises_id}, std::pair{"vin", &request.vin},
          std::pair{"program_id", &request.program_id}}) {
        auto value = required_text(*document, key);
        if (!value)
            return value.error();
        *out = std::move(*value);
    }
    for (const auto& [key, out] : {std::pair{"allow_guest_charging", &request.preferences.allow_guest_charging},
                                   std::pair{"allow_roaming", &request.preferences.allow_roaming}}) {
        auto value = field<bool>(*document, key);
        if (!value)
            return value.error();
        *out = value->value_or(false);
    }
    auto payer = payer_field(*document);
    if (!payer)
        return payer.error();
    request.preferences.guest_charging_payer = payer->value_or(GuestPayer::Owner);
    auto channel = channel_in(*document);
    if (!channel)
        return channel.error();
    request.channel = std::move(*channel);
    return request;
}

Result<EnrollmentChange> parse_change(const std::string& body) {
    auto document =
        parse_object(body, {"program_id", "allow_guest_charging", "guest_charging_payer", "allow_roaming", "channel"});
    if (!document)
        return document.error();
    EnrollmentChange change;
    auto program = field<std::string>(*document, "program_id");
    if (!program)
        return program.error();
    change.program_id = std::move(*program);
    for (const auto& [key, out] : {std::pair{"allow_guest_charging", &change.allow_guest_charging},
                                   std::pair{"allow_roaming", &change.allow_roaming}}) {
        auto value = field<bool>(*document, key);
        if (!value)
            return value.error();
        *out = *value;
    }
    auto payer = payer_field(*document);
    if (!payer)
        return payer.error();
    change.guest_charging_payer = *payer;
    auto channel = channel_in(*document);
    if (!channel)
        return channel.error();
    change.channel = std::move(*channel);
    return change;
}

headend::http::Response failure(const headend::Error& error) {
    return admin_replies::error_reply(status_for(error), error);
}

std::optional<std::string> query_value(const headend::http::Request& request, const std::string& key) {
    const auto found = request.query.find(key);
    return found == request.query.end() ? std::nullopt : std::optional(found->second);
}

}  // namespace

void add_enrollment_routes(headend::http::RouteRegistry& routes, Enrollments& enrollments) {
    routes.add("POST", "/api/v1/enrollments", [&enrollments](const headend::http::Request& request) {
        auto parsed = parse_enroll(request.body);
        if (!parsed)
            return failure(parsed.error());
        auto enrolled = enrollments.enroll(*parsed);
        if (!enrolled)
            return failure(enrolled.error());
        return admin_replies::json_reply(enrolled->created ? 201 : 200, {{"enrollment", to_json(enrolled->enrollment)},
                                                                         {"created", enrolled->created}});
    });
    routes.add("GET", "/api/v1/enrollments", [&enrollments](const headend::http::Request& request) {
        for (const auto& [key, value] : request.query) {
            if (key != "account" && key != "premises")
                return failure(bad_request("unknown query parameter '" + key + "'"));
        }
        auto listed = enrollments.list({query_value(request, "account"), query_value(request, "premises")});
        if (!listed)
            return failure(listed.error());
        json list = json::array();
        for (const auto& enrollment : *listed)
            list.push_back(to_json(enrollment));
        return admin_replies::json_reply(200, {{"enrollments", list}});
    });
    routes.add("GET", "/api/v1/enrollments/{vin}", [&enrollments](const headend::http::Request& request) {
        auto found = enrollments.find(request.params.at("vin"));
        if (!found)
            return failure(found.error());
        return admin_replies::json_reply(200, {{"enrollment", to_json(*found)}});
    });
    routes.add("PATCH", "/api/v1/enrollments/{vin}", [&enrollments](const headend::http::Request& request) {
        auto parsed = parse_change(request.body);
        if (!parsed)
            return failure(parsed.error());
        auto changed = enrollments.change(request.params.at("vin"), *parsed);
        if (!changed)
            return failure(changed.error());
        return admin_replies::json_reply(200, {{"enrollment", to_json(*changed)}});
    });
    routes.add("DELETE", "/api/v1/enrollments/{vin}", [&enrollments](const headend::http::Request& request) {
        auto channel = channel_field(query_value(request, "channel"));
        if (!channel)
            return failure(channel.error());
        auto ended = enrollments.unenroll(request.params.at("vin"), *channel);
        if (!ended)
            return failure(ended.error());
        return admin_replies::json_reply(200, {{"unenrolled", to_json(*ended)}});
    });
}

}  // namespace pev
