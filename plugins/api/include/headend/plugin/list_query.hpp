// IEEE 2030.5 list paging for list resources served by the core and by plugins.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "headend/plugin/result.hpp"

namespace headend::coap {

// s (start index), a (after: only items changed at or after this time), l (limit, default 1).
struct ListQuery {
    std::size_t start = 0;
    std::optional<std::int64_t> after;
    std::size_t limit = 1;
};

// Unknown parameters are ignored; s, a and l must be unsigned decimal numbers. The limit is capped at max_limit.
inline Result<ListQuery> parse_list_query(const std::map<std::string, std::string>& query, std::uint32_t max_limit) {
    constexpr std::uint64_t kLargest = 0xFFFFFFFFULL * 1000;
    ListQuery list;
    for (const auto& [key, value] : query) {
        if (key != "s" && key != "a" && key != "l")
            continue;
        std::uint64_t number = 0;
        const auto [end, problem] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (value.empty() || problem != std::errc() || end != value.data() + value.size() || number > kLargest)
            return make_error("list.query", "query parameter " + key + " must be an unsigned number");
        if (key == "s")
            list.start = static_cast<std::size_t>(number);
        else if (key == "a")
            list.after = static_cast<std::int64_t>(number);
        else
            list.limit = static_cast<std::size_t>(std::min<std::uint64_t>(number, max_limit));
    }
    return list;
}

}  // namespace headend::coap
