#include "headend/core/time_info.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <optional>

namespace headend::core {

Result<TimeInfo> time_info(const std::string& zone_name, std::int64_t now_utc) {
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(zone_name);
    } catch (const std::exception& error) {
        return make_error("time.zone", "unknown time zone '" + zone_name + "': " + error.what());
    }
    using std::chrono::seconds;
    const date::sys_seconds now{seconds(now_utc)};
    const date::sys_info current = zone->get_info(now);
    // The year is the territory's local year: its DST rule applies from local New Year, not from UTC's.
    const date::local_seconds local_now{seconds(now_utc + current.offset.count())};
    const auto today = date::year_month_day(date::floor<date::days>(local_now));
    const auto local_new_year = [zone](date::year year) {
        return zone->to_sys(date::local_seconds(date::local_days(year / 1 / 1)), date::choose::earliest);
    };
    const date::sys_seconds year_start = local_new_year(today.year());
    const date::sys_seconds year_end = local_new_year(today.year() + date::years(1));

    TimeInfo info;
    info.current_time = now_utc;
    info.local_time = now_utc + current.offset.count();
    info.dst_start_time = info.dst_end_time = year_start.time_since_epoch().count();

    // Walk the year's periods: the standard offset is the offset of a period without saving, the DST period the
    // one with saving (northern and southern hemispheres alike).
    bool have_standard = false;
    std::optional<std::int64_t> dst_period_offset;
    for (date::sys_seconds t = year_start; t < year_end;) {
        const date::sys_info period = zone->get_info(t);
        if (period.save == std::chrono::minutes(0)) {
            if (!have_standard)
                info.tz_offset = period.offset.count();
            have_standard = true;
        } else {
            // With the system tz database, `save` only says "DST or not"; the amount is the offset difference.
            dst_period_offset = period.offset.count();
            // In the southern hemisphere DST ends in autumn and starts again in spring of the same year.
            if (period.begin >= year_start)
                info.dst_start_time = period.begin.time_since_epoch().count();
            if (period.end <= year_end)
                info.dst_end_time = period.end.time_since_epoch().count();
        }
        if (period.end <= t)
            break;
        t = period.end;
    }
    if (dst_period_offset) {
        if (!have_standard)
            info.tz_offset = *dst_period_offset - 3600;  // DST all year: assume the usual hour
        info.dst_offset = *dst_period_offset - info.tz_offset;
    } else if (!have_standard) {
        info.tz_offset = current.offset.count();
    }
    info.next_change = year_end.time_since_epoch().count();
    for (const std::int64_t transition : {info.dst_start_time, info.dst_end_time}) {
        if (transition > now_utc && transition < info.next_change)
            info.next_change = transition;
    }
    return info;
}

}  // namespace headend::core
