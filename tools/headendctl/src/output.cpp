#include "output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <ostream>

namespace headendctl {

Table::Table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
}

void Table::add_row(std::vector<std::string> row) {
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    for (const auto& row : rows_) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line.append(widths[i] - row[i].size() + 2, ' ');
            }
        }
        out << line << '\n';
    }
}

void print_fields(const std::vector<std::pair<std::string, std::string>>& fields, std::ostream& out) {
    std::size_t width = 0;
    for (const auto& field : fields) {
        width = std::max(width, field.first.size());
    }
    for (const auto& [key, value] : fields) {
        out << key << ':' << std::string(width - key.size() + 1, ' ') << value << '\n';
    }
}

std::string text_of(const nlohmann::json& object, const std::string& key) {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) {
        return "-";
    }
    const auto& value = object[key];
    return value.is_string() ? value.get<std::string>()
                             : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string scaled(std::int64_t value, std::int64_t unit, int places) {
    const std::uint64_t magnitude =
        value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    const auto whole = magnitude / static_cast<std::uint64_t>(unit);
    const auto fraction = magnitude % static_cast<std::uint64_t>(unit);
    return fmt::format("{}{}.{:0{}}", value < 0 ? "-" : "", whole, fraction, places);
}

}  // namespace

std::string format_kwh(std::int64_t wh) {
    return scaled(wh, 1000, 3);
}

std::string format_e5(std::int64_t amount) {
    return scaled(amount, 100000, 5);
}

std::string format_duration(std::int64_t seconds) {
    if (seconds < 0) {
        return std::to_string(seconds) + "s";
    }
    const std::int64_t parts[] = {seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60};
    const char* units[] = {"d", "h", "m", "s"};
    std::string out;
    for (std::size_t i = 0; i < 4; ++i) {
        if (!out.empty() || parts[i] != 0 || i == 3) {
            out += (out.empty() ? "" : " ") + std::to_string(parts[i]) + units[i];
        }
    }
    return out;
}

}  // namespace headendctl

namespace headendctl {

std::string short_lfdi(const nlohmann::json& object) {
    const std::string lfdi = text_of(object, "lfdi");
    return lfdi.size() > 12 ? lfdi.substr(0, 12) + "…" : lfdi;
}

std::string time_of(const nlohmann::json& object, const std::string& key) {
    if (!object.is_object() || !object.contains(key) || !object[key].is_number_integer())
        return "-";
    const std::time_t seconds = object[key].get<std::int64_t>();
    std::tm utc{};
    if (gmtime_r(&seconds, &utc) == nullptr)
        return "-";
    std::array<char, 32> text{};
    const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(text.data(), length);
}

}  // namespace headendctl
