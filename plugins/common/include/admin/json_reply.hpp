// JSON answers of plugins' admin routes, in the admin API's shape: {"error": {"code", "message"}} on failure.
#pragma once

#include <nlohmann/json.hpp>

#include "headend/plugin/http.hpp"
#include "headend/plugin/result.hpp"

namespace admin_replies {

inline headend::http::Response json_reply(int status, const nlohmann::json& body) {
    // Messages may echo what a request carried, invalid UTF-8 included: replaced, never thrown (a 500).
    return headend::http::Response{
        status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json", {}, {}};
}

inline headend::http::Response error_reply(int status, const headend::Error& error) {
    return json_reply(status, {{"error", {{"code", error.code}, {"message", error.message}}}});
}

}  // namespace admin_replies
