#include "headend/http/json.hpp"

#include "headend/http/server.hpp"

namespace headend::http {

Response json_response(int status, const nlohmann::json& body) {
    Response response;
    response.status = status;
    // Replace rather than throw on invalid UTF-8: strings may come from decoded request input.
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
}

Response json_error(int status, std::string code, std::string message) {
    return json_response(status, {{"error", {{"code", std::move(code)}, {"message", std::move(message)}}}});
}

}  // namespace headend::http
