#include "calendar/local_days.hpp"

#include <date/tz.h>

#include <array>
#include <cstdio>

namespace calendar {

namespace {

using std::chrono::seconds;

// The first instant of a local day: local midnight, or the first instant after it when midnight does not exist.
std::int64_t day_start(const date::time_zone* zone, std::int32_t day) {
    const date::local_seconds midnight{date::local_days{date::days{day}}};
    const auto info = zone->get_info(midnight);
    if (info.result == date::local_info::nonexistent)
        return info.second.begin.time_since_epoch().count();
    // Ambiguous midnight (a fall-back at 00:00): the day starts at the first one.
    return (midnight - info.first.offset).time_since_epoch().count();
}

}  // namespace

LocalDays::LocalDays(const std::string& zone) : zone_(date::locate_zone(zone)) {}

std::int32_t LocalDays::day_of(std::int64_t utc) const {
    const auto local = zone_->to_local(date::sys_seconds{seconds{utc}});
    return static_cast<std::int32_t>(date::floor<date::days>(local).time_since_epoch().count());
}

std::int64_t LocalDays::local_seconds(std::int64_t utc) const {
    return zone_->to_local(date::sys_seconds{seconds{utc}}).time_since_epoch().count();
}

std::vector<std::int64_t> LocalDays::utc_instants(std::int64_t local_seconds) const {
    const date::local_seconds local{seconds{local_seconds}};
    const auto info = zone_->get_info(local);
    switch (info.result) {
        case date::local_info::unique:
            return {(local - info.first.offset).time_since_epoch().count()};
        case date::local_info::ambiguous:
            return {(local - info.first.offset).time_since_epoch().count(),
                    (local - info.second.offset).time_since_epoch().count()};
        default:
            return {};
    }
}

std::pair<std::int64_t, std::int64_t> LocalDays::bounds(std::int32_t day) const {
    return {day_start(zone_, day), day_start(zone_, day + 1)};
}

std::string LocalDays::format(std::int32_t day) {
    const date::year_month_day ymd{date::sys_days{date::days{day}}};
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text.data();
}

std::optional<std::int32_t> LocalDays::parse(const std::string& text) {
    int year = 0;
    unsigned month = 0, day = 0;
    char end = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash = i == 4 || i == 7;
        if (dash ? text[i] != '-' : (text[i] < '0' || text[i] > '9'))
            return std::nullopt;
    }
    if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &year, &month, &day, &end) != 3)
        return std::nullopt;
    const date::year_month_day ymd{date::year{year}, date::month{month}, date::day{day}};
    if (!ymd.ok())
        return std::nullopt;
    const auto days = static_cast<std::int32_t>(date::sys_days{ymd}.time_since_epoch().count());
    if (format(days) != text)
        return std::nullopt;
    return days;
}

}  // namespace calendar
