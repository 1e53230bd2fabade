// Matches request paths against resource patterns ("/edev/{n}/reg"). The most specific pattern wins: more
// literal segments first, then registration order.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace han {

std::vector<std::string> split_path(std::string_view path);

template <typename Target>
class Router {
public:
    struct Match {
        const Target* target;
        std::map<std::string, std::string> params;
    };

    void add(const std::string& pattern, Target target) {
        Route route{split_path(pattern), std::move(target), 0};
        for (const auto& segment : route.segments) {
            if (!is_placeholder(segment))
                ++route.literals;
        }
        routes_.push_back(std::move(route));
    }

    std::optional<Match> match(const std::vector<std::string>& segments) const {
        const Route* best = nullptr;
        for (const auto& route : routes_) {
            if (route.segments.size() != segments.size())
                continue;
            if (best != nullptr && route.literals <= best->literals)
                continue;
            if (matches(route, segments))
                best = &route;
        }
        if (best == nullptr)
            return std::nullopt;
        Match result{&best->target, {}};
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (is_placeholder(best->segments[i])) {
                result.params[best->segments[i].substr(1, best->segments[i].size() - 2)] = segments[i];
            }
        }
        return result;
    }

    // True when `segments` names a concrete instance of some pattern (used to validate published paths).
    bool known(const std::vector<std::string>& segments) const { return match(segments).has_value(); }

private:
    struct Route {
        std::vector<std::string> segments;
        Target target;
        int literals;
    };

    static bool is_placeholder(const std::string& segment) {
        return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
    }
    static bool matches(const Route& route, const std::vector<std::string>& segments) {
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (!is_placeholder(route.segments[i]) && route.segments[i] != segments[i])
                return false;
        }
        return true;
    }

    std::vector<Route> routes_;
};

}  // namespace han
