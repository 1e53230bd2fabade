// The portal's charts, drawn on the server as SVG (no script): interval usage per local hour or day, and a program's
// time-of-use periods as a day timeline. Each chart has a title and description for screen readers; the pages put
// the same numbers in a table beside it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calendar/local_days.hpp"
#include "tariff/catalog.hpp"

namespace portal {

// One interval of an account's premises: the whole premises' energy and the part its PEV circuits took.
struct UsageInterval {
    std::int64_t start = 0;  // UTC
    std::int64_t premises_wh = 0;
    std::int64_t pev_wh = 0;
};

struct UsageBucket {
    std::string label;       // "01:00 PDT", "Mon 2 Nov"
    std::int64_t start = 0;  // UTC
    std::int64_t end = 0;
    std::int64_t premises_wh = 0;
    std::int64_t pev_wh = 0;
};

enum class UsageView { Day, Week, Month };

// The buckets of a view starting at local day `day`: a day is cut into its local hours (23 on the spring-forward
// day, 25 on the fall-back day, the repeated hour labelled by its zone abbreviation), a week into its 7 days from
// `day`, a month into the days of the calendar month holding `day`. Intervals outside the buckets are ignored.
std::vector<UsageBucket> usage_buckets(const calendar::LocalDays& days, const std::string& time_zone, UsageView view,
                                       std::int32_t day, const std::vector<UsageInterval>& intervals);

// A bar chart of the buckets: the premises' energy, with its PEV part drawn over it. `title` names the range.
std::string usage_svg(const std::vector<UsageBucket>& buckets, const std::string& title);

// A program's periods on one kind of day of a season as a 24-hour bar, one coloured segment per period, labelled.
std::string timeline_svg(const tariff::Season& season, tariff::DaySet days, const std::string& title);

}  // namespace portal
