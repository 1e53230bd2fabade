#include "month.hpp"

#include <fmt/format.h>

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

Month Month::of(const calendar::LocalDays& days, std::int64_t utc) {
    const std::string day = calendar::LocalDays::format(days.day_of(utc));
    return *parse(std::string_view(day).substr(0, 7));
}

std::int64_t Month::from(const calendar::LocalDays& days) const {
    return days.bounds(*calendar::LocalDays::parse(text() + "-01")).first;
}

}  // namespace billing
