// Local calendar days of the territory's time zone: which day a UTC instant falls on, and where a day begins and
// ends in UTC (23 hours on the spring-forward day, 25 on the fall-back day).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace date {
class time_zone;
}

namespace calendar {

class LocalDays {
public:
    // `zone` is an IANA name the host has already checked (territory.time_zone); an unknown one throws.
    explicit LocalDays(const std::string& zone);

    std::int32_t day_of(std::int64_t utc) const;  // days since 1970-01-01, local
    // [first second, first second of the next day), UTC.
    std::pair<std::int64_t, std::int64_t> bounds(std::int32_t day) const;
    // The local wall clock at `utc`, as seconds since 1970-01-01 00:00 local (utc plus the offset then).
    std::int64_t local_seconds(std::int64_t utc) const;
    // The UTC instants a local wall-clock time names, earliest first: none in the spring-forward gap, two in the
    // repeated fall-back hour, else one.
    std::vector<std::int64_t> utc_instants(std::int64_t local_seconds) const;

    static std::string format(std::int32_t day);                        // "2026-11-01"
    static std::optional<std::int32_t> parse(const std::string& text);  // the inverse; nothing for anything else

private:
    const date::time_zone* zone_;
};

}  // namespace calendar
