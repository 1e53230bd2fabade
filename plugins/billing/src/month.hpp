// A calendar month of the territory ("2026-07") and its bounds in UTC: a bill covers one.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "calendar/local_days.hpp"

namespace billing {

struct Month {
    int year = 1970;
    int month = 1;  // 1..12

    static std::optional<Month> parse(std::string_view text);  // "YYYY-MM", 1970-01 to 9998-12
    std::string text() const;
    Month next() const;
    // The local month an instant falls in.
    static Month of(const calendar::LocalDays& days, std::int64_t utc);
    // [first instant, first instant of the next month), UTC.
    std::int64_t from(const calendar::LocalDays& days) const;
    std::int64_t to(const calendar::LocalDays& days) const { return next().from(days); }

    auto operator<=>(const Month&) const = default;
};

}  // namespace billing
