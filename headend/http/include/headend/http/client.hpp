// A small blocking HTTP/1.1 client for http:// URLs (the loopback admin API): headendctl and integration tests.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "headend/plugin/result.hpp"

namespace headend::http {

struct ClientResponse {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names; repeated fields joined with ", "
};

// One request on a fresh connection, closed afterwards. `timeout` bounds the whole exchange (connect, send,
// receive). Any status is a successful result; errors are "http.url" (not an http:// URL), "http.resolve",
// "http.connect", "http.timeout" and "http.io". Response bodies are capped at 64 MiB.
Result<ClientResponse> http_request(const std::string& url, const std::string& method = "GET",
                                    const std::string& body = {},
                                    const std::map<std::string, std::string>& headers = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace headend::http
