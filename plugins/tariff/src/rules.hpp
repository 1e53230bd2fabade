// Which season and period contain a local date and time; shared by the catalog's coverage checks and the calendar.
#pragma once

#include "tariff/catalog.hpp"

namespace tariff::detail {

inline bool season_contains(const Season& season, int month, int day) {
    const int at = month * 100 + day;
    const int from = season.from_month * 100 + season.from_day;
    const int to = season.to_month * 100 + season.to_day;
    return from <= to ? (at >= from && at <= to) : (at >= from || at <= to);
}

inline bool period_contains(const Period& period, int minute) {
    if (period.from_minute < period.to_minute)
        return minute >= period.from_minute && minute < period.to_minute;
    return minute >= period.from_minute || minute < period.to_minute;  // wraps past midnight
}

inline bool period_applies(const Period& period, bool weekend_or_holiday) {
    switch (period.days) {
        case DaySet::All:
            return true;
        case DaySet::Weekdays:
            return !weekend_or_holiday;
        case DaySet::WeekendsAndHolidays:
            return weekend_or_holiday;
    }
    return false;
}

}  // namespace tariff::detail
