// Northbound HTTP routes (admin API, later MDM pull and portal) as plugins see them.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace headend::http {

struct Request {
    std::string method;  // "GET", "POST", ...
    std::string path;    // without query
    std::vector<std::string> segments;
    std::map<std::string, std::string> params;  // `{name}` placeholders of the route
    std::map<std::string, std::string> query;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
};

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::map<std::string, std::string> headers;
};

using Handler = std::function<Response(const Request&)>;

enum class Access {
    Admin,   // requires the admin bearer token
    Public,  // no token (health probes, later portal pages with their own login)
};

class RouteRegistry {
public:
    virtual ~RouteRegistry() = default;
    // `pattern` like "/api/v1/devices/{id}"; handlers run on the HTTP thread and may block on storage.
    virtual void add(const std::string& method, const std::string& pattern, Handler handler,
                     Access access = Access::Admin) = 0;
};

}  // namespace headend::http
