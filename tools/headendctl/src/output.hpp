// Helpers for human output.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace headendctl {

// Columns separated by two spaces, each as wide as its widest cell; the last column is not padded.
class Table {
public:
    explicit Table(std::vector<std::string> header);
    void add_row(std::vector<std::string> row);
    void print(std::ostream& out) const;

private:
    std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the values aligned.
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields, std::ostream& out);

// A scalar field as text: strings bare, numbers and booleans as JSON, missing or null as "-".
std::string text_of(const nlohmann::json& object, const std::string& key);

// The "lfdi" field cut to 12 digits and an ellipsis, for tables.
std::string short_lfdi(const nlohmann::json& object);

// A UTC seconds field as "2026-11-27T15:48:55Z", or "-".
std::string time_of(const nlohmann::json& object, const std::string& key);

// Whole Wh as kWh with three decimals ("-1.500"), and 10^-5 currency units as a decimal with five ("4.05848"):
// integers throughout, never a float.
std::string format_kwh(std::int64_t wh);
std::string format_e5(std::int64_t amount);

// "3d 4h 5m 6s", leading zero units dropped.
std::string format_duration(std::int64_t seconds);

}  // namespace headendctl
