// Time-of-use arithmetic on UTC instants: which season, period and price apply at an instant in the catalog's
// territory time zone (DST and holidays included), and the runs of equal periods over a span of time.
#pragma once

#include <cstdint>
#include <vector>

#include "tariff/catalog.hpp"

namespace date {
class time_zone;
}

namespace tariff {

struct Rate {
    const Season* season = nullptr;
    const Period* period = nullptr;
    bool holiday = false;
};

// One run of time under a single period: [start, end) in UTC seconds.
struct TouSpan {
    std::int64_t start = 0;
    std::int64_t end = 0;
    const Season* season = nullptr;
    const Period* period = nullptr;
};

class Calendar {
public:
    // `catalog` must outlive the calendar and come from parse_catalog (its time zone is known).
    explicit Calendar(const Catalog& catalog);

    Rate rate_at(const Program& program, std::int64_t utc) const;
    // The spans covering [from, to), cut at every period change (15-minute resolution, as the catalog's grid) and at
    // every local midnight, so each span has a fixed start and end whatever [from, to) asks for (a flat rate is one
    // span a day), and so an identity built on its start lasts as long as the span.
    std::vector<TouSpan> spans(const Program& program, std::int64_t from, std::int64_t to) const;
    // Whether the local calendar day (days since 1970-01-01) is a holiday, observed dates included.
    bool is_holiday(std::int32_t local_day) const;

private:
    std::int64_t local_day(std::int64_t utc) const;  // days since 1970-01-01 in the catalog's zone

    const Catalog& catalog_;
    const date::time_zone* zone_;
};

}  // namespace tariff
