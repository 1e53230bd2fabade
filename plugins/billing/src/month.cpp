#include "month.hpp"

#include <fmt/format.h>

#include <date/date.h>

#include <charconv>

namespace billing {

std::optional<Month> Month::parse(std::string_view text) {
    const auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
        int value = 0;
        const char* first = text.data() + at;
        const auto [end, problem] = std::from_chars(first, first + length, value);
        if (problem != std::errc() || end != first + length || *first == '-' || *first == '+')
            return std::nullopt;
        return value;
    };
    if (text.size() != 7 || text[4] != '-')
        return std::nullopt;
    const auto year = number(0, 4);
    const auto month = number(5, 2);
    // Up to 9998-12: the month after it (its end) is still a date the calendar reads.
    if (!year || !month || *year < 1970 || *year > 9998 || *month < 1 || *month > 12)
        return std::nullopt;
    return Month{*year, *month};
}

std::string Month::text() const {
    return fmt::format("{:04}-{:02}", year, month);
}

Month Month::next() const {
    return month == 12 ? Month{year + 1, 1} : Month{year, month + 1};
}

// By the calendar, not through text: any instant has its month, also outside the years parse() accepts (a customer's
// download may ask for 1900), and a month's first day is computed, never parsed back.
Month Month::of(const calendar::LocalDays& days, std::int64_t utc) {
    const date::year_month_day day{date::sys_days(date::days(days.day_of(utc)))};
    return Month{static_cast<int>(day.year()), static_cast<int>(static_cast<unsigned>(day.month()))};
}

std::int64_t Month::from(const calendar::LocalDays& days) const {
    const date::sys_days first = date::year(year) / date::month(static_cast<unsigned>(month)) / 1;
    return days.bounds(static_cast<std::int32_t>(first.time_since_epoch().count())).first;
}

}  // namespace billing
