#include "tariff/calendar.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cassert>

#include "rules.hpp"

namespace tariff {

namespace {

constexpr std::int64_t kGridSeconds = 15 * 60;

using date::days;
using date::sys_days;

unsigned as_unsigned(date::month month) {
    return static_cast<unsigned>(month);
}

// The n-th (1-based) given weekday of a month; n = -1 for the last.
sys_days nth_weekday(date::year year, date::month month, date::weekday weekday, int n) {
    if (n < 0)
        return sys_days(year / month / date::weekday_last(weekday));
    return sys_days(year / month / date::weekday_indexed(weekday, static_cast<unsigned>(n)));
}

sys_days holiday_date(Holiday holiday, date::year year) {
    using namespace date;  // NOLINT(google-build-using-namespace): month and weekday names read as the rules do
    switch (holiday) {
        case Holiday::NewYearsDay:
            return sys_days(year / January / 1);
        case Holiday::MartinLutherKingDay:
            return nth_weekday(year, January, Monday, 3);
        case Holiday::PresidentsDay:
            return nth_weekday(year, February, Monday, 3);
        case Holiday::MemorialDay:
            return nth_weekday(year, May, Monday, -1);
        case Holiday::IndependenceDay:
            return sys_days(year / July / 4);
        case Holiday::LaborDay:
            return nth_weekday(year, September, Monday, 1);
        case Holiday::VeteransDay:
            return sys_days(year / November / 11);
        case Holiday::ThanksgivingDay:
            return nth_weekday(year, November, Thursday, 4);
        case Holiday::ChristmasDay:
            return sys_days(year / December / 25);
    }
    assert(false && "every holiday has a rule");
    return sys_days{};
}

}  // namespace

Calendar::Calendar(const Catalog& catalog) : catalog_(catalog), zone_(date::locate_zone(catalog.time_zone)) {}

bool Calendar::is_holiday(std::int32_t local_day) const {
    const sys_days day{days(local_day)};
    const auto& rules = catalog_.holidays;
    if (std::find(rules.extra_days.begin(), rules.extra_days.end(), local_day) != rules.extra_days.end())
        return true;
    const date::year year = date::year_month_day(day).year();
    for (const Holiday holiday : rules.rules) {
        const sys_days actual = holiday_date(holiday, year);
        if (actual == day)
            return true;
        if (rules.sunday_observed_on_monday && date::weekday(actual) == date::Sunday && actual + days(1) == day)
            return true;
    }
    return false;
}

std::int64_t Calendar::local_day(std::int64_t utc) const {
    const auto local = zone_->to_local(date::sys_seconds(std::chrono::seconds(utc)));
    return date::floor<days>(local).time_since_epoch().count();
}

Rate Calendar::rate_at(const Program& program, std::int64_t utc) const {
    const auto local = zone_->to_local(date::sys_seconds(std::chrono::seconds(utc)));
    const auto local_day = date::floor<days>(local);
    const date::year_month_day ymd(local_day);
    const int minute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - local_day).count());
    const auto day_number = static_cast<std::int32_t>(local_day.time_since_epoch().count());
    const date::weekday weekday(local_day);

    Rate rate;
    rate.holiday = is_holiday(day_number);
    const bool weekend_or_holiday = rate.holiday || weekday == date::Saturday || weekday == date::Sunday;
    const int month = static_cast<int>(as_unsigned(ymd.month()));
    const int day = static_cast<int>(static_cast<unsigned>(ymd.day()));
    for (const auto& season : program.seasons) {
        if (!detail::season_contains(season, month, day))
            continue;
        rate.season = &season;
        for (const auto& period : season.periods) {
            if (detail::period_applies(period, weekend_or_holiday) && detail::period_contains(period, minute)) {
                rate.period = &period;
                break;
            }
        }
        break;
    }
    // parse_catalog proved every day and minute covered.
    assert(rate.season != nullptr && rate.period != nullptr);
    return rate;
}

std::vector<TouSpan> Calendar::spans(const Program& program, std::int64_t from, std::int64_t to) const {
    std::vector<TouSpan> result;
    if (to <= from)
        return result;
    Rate current = rate_at(program, from);
    std::int64_t start = from;
    std::int64_t day = local_day(from);
    // Period edges are quarter hours in local time, and every zone's offset is a whole number of quarter hours. A new
    // local day begins at its first instant, which is not 00:00 where clocks spring forward at midnight.
    std::int64_t next = (from / kGridSeconds + 1) * kGridSeconds;
    for (; next < to; next += kGridSeconds) {
        const Rate rate = rate_at(program, next);
        const std::int64_t next_day = local_day(next);
        if (rate.period != current.period || next_day != day) {
            result.push_back({start, next, current.season, current.period});
            start = next;
            current = rate;
            day = next_day;
        }
    }
    result.push_back({start, to, current.season, current.period});
    return result;
}

}  // namespace tariff
