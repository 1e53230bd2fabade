// JSON responses for handlers inside the host; kept out of server.hpp so the plugin-facing headers stay free of
// third-party types.
#pragma once

#include <nlohmann/json.hpp>

#include "headend/plugin/http.hpp"

namespace headend::http {

Response json_response(int status, const nlohmann::json& body);

}  // namespace headend::http
