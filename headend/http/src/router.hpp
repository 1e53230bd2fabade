// Route table of the HTTP server; see server.hpp for the matching rules. Not thread-safe: the server guards it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "headend/plugin/http.hpp"
#include "headend/plugin/result.hpp"

namespace headend::http {

class Router {
public:
    struct Lookup {
        enum class Kind { Found, NotFound, MethodNotAllowed };
        Kind kind = Kind::NotFound;
        Handler handler;
        Access access = Access::Admin;
        std::map<std::string, std::string> params;
        std::string allow;  // for MethodNotAllowed: the methods the path accepts, comma separated
    };

    Result<void> add(const std::string& method, const std::string& pattern, Handler handler, Access access);
    Lookup find(const std::string& method, const std::vector<std::string>& segments) const;

private:
    struct Segment {
        bool placeholder = false;
        std::string text;  // literal text or placeholder name
    };
    struct Route {
        std::string method;
        std::vector<Segment> segments;
        Handler handler;
        Access access;
    };

    static bool matches(const Route& route, const std::vector<std::string>& segments);
    static bool more_specific(const Route& a, const Route& b);
    static bool same_shape(const Route& a, const Route& b);

    std::vector<Route> routes_;
};

}  // namespace headend::http
