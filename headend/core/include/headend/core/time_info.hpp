// What /tm serves: the current time and the territory's UTC offset and DST rule of the current year.
#pragma once

#include <cstdint>
#include <string>

#include "headend/plugin/result.hpp"

namespace headend::core {

struct TimeInfo {
    std::int64_t current_time = 0;
    std::int64_t tz_offset = 0;       // standard offset from UTC, seconds
    std::int64_t dst_offset = 0;      // added while DST is in effect, seconds
    std::int64_t dst_start_time = 0;  // UTC instant DST starts in the current year
    std::int64_t dst_end_time = 0;    // UTC instant DST ends in the current year
    std::int64_t local_time = 0;      // current_time shifted by the offsets in effect now
    // The next instant at which anything but currentTime/localTime changes: a DST transition later this year, or
    // the new year (whose DST rule /tm then serves). Observers of /tm are notified then.
    std::int64_t next_change = 0;
};

// For zones without DST in the year, dst_offset is 0 and start and end are both the year's first instant.
Result<TimeInfo> time_info(const std::string& zone, std::int64_t now_utc);

}  // namespace headend::core
