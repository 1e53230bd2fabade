#include "router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace headend::http {
namespace {

bool is_method_char(char c) {
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

}  // namespace

Result<void> Router::add(const std::string& method, const std::string& pattern, Handler handler, Access access) {
    Route route{method, {}, std::move(handler), access};
    std::transform(route.method.begin(), route.method.end(), route.method.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
    if (route.method.empty() || !std::all_of(route.method.begin(), route.method.end(), is_method_char)) {
        return make_error("http.route", fmt::format("invalid method '{}'", method));
    }
    if (!route.handler) {
        return make_error("http.route", fmt::format("no handler for {} {}", route.method, pattern));
    }
    if (pattern.empty() || pattern.front() != '/') {
        return make_error("http.route", fmt::format("pattern '{}' does not start with '/'", pattern));
    }
    std::set<std::string> names;
    std::string_view rest(pattern);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string text(rest.substr(0, slash));
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (text.empty()) {
            continue;
        }
        const bool placeholder = text.size() >= 2 && text.front() == '{' && text.back() == '}';
        const std::string name = placeholder ? text.substr(1, text.size() - 2) : text;
        if (name.empty() || name.find_first_of("{}") != std::string::npos) {
            return make_error("http.route", fmt::format("bad segment '{}' in pattern '{}'", text, pattern));
        }
        if (placeholder && !names.insert(name).second) {
            return make_error("http.route", fmt::format("placeholder {{{}}} repeated in pattern '{}'", name, pattern));
        }
        route.segments.push_back(Segment{placeholder, name});
    }
    for (const auto& existing : routes_) {
        if (existing.method == route.method && same_shape(existing, route)) {
            return make_error("http.route",
                              fmt::format("{} {} overlaps a route already registered", route.method, pattern));
        }
    }
    routes_.push_back(std::move(route));
    return {};
}

Router::Lookup Router::find(const std::string& method, const std::vector<std::string>& segments) const {
    const Route* best = nullptr;
    const Route* best_get = nullptr;  // fallback for HEAD
    std::set<std::string> allowed;
    for (const auto& route : routes_) {
        if (!matches(route, segments)) {
            continue;
        }
        allowed.insert(route.method);
        if (route.method == method && (best == nullptr || more_specific(route, *best))) {
            best = &route;
        }
        if (route.method == "GET" && (best_get == nullptr || more_specific(route, *best_get))) {
            best_get = &route;
        }
    }
    if (best == nullptr && method == "HEAD") {
        best = best_get;
    }
    Lookup lookup;
    if (best == nullptr) {
        if (allowed.empty()) {
            return lookup;
        }
        if (allowed.count("GET") != 0) {
            allowed.insert("HEAD");
        }
        lookup.kind = Lookup::Kind::MethodNotAllowed;
        for (const auto& m : allowed) {
            lookup.allow += lookup.allow.empty() ? m : ", " + m;
        }
        return lookup;
    }
    lookup.kind = Lookup::Kind::Found;
    lookup.handler = best->handler;
    lookup.access = best->access;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (best->segments[i].placeholder) {
            lookup.params.emplace(best->segments[i].text, segments[i]);
        }
    }
    return lookup;
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments) {
    if (route.segments.size() != segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (!route.segments[i].placeholder && route.segments[i].text != segments[i]) {
            return false;
        }
    }
    return true;
}

// Both routes match the same path, so they differ only in where their placeholders sit: the first literal wins.
bool Router::more_specific(const Route& a, const Route& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        if (a.segments[i].placeholder != b.segments[i].placeholder) {
            return !a.segments[i].placeholder;
        }
    }
    return false;
}

bool Router::same_shape(const Route& a, const Route& b) {
    if (a.segments.size() != b.segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        const auto& x = a.segments[i];
        const auto& y = b.segments[i];
        if (x.placeholder != y.placeholder || (!x.placeholder && x.text != y.text)) {
            return false;
        }
    }
    return true;
}

}  // namespace headend::http
