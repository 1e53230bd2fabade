// Percent-encoding helpers shared by the server, the client and headendctl.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace headend::http {

// Decodes %XX escapes; with `plus_is_space` (query components) '+' becomes ' '. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Escapes everything but RFC 3986 unreserved characters, so the result is safe in a path segment or a query value.
std::string percent_encode(std::string_view text);

// Splits "/a/b%2Fc/" into decoded segments {"a", "b/c"}; empty segments are dropped. nullopt on a malformed escape.
std::optional<std::vector<std::string>> split_path(std::string_view path);

// Parses "a=1&b=x+y&c"; a key without '=' gets "", a repeated key keeps its last value. nullopt on a malformed escape.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// "?k=v&k2=v2" with encoded keys and values, or "" when `pairs` is empty.
std::string build_query(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace headend::http
