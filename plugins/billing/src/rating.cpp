#include "billing/rating.hpp"

#include <algorithm>

namespace billing {

namespace {

// Energy × price can pass 64 bits (Int48 Wh × a price in 10^-5 units); the quotient never does.
__extension__ using Wide = __int128;

// n / d rounded half away from zero, d > 0.
std::int64_t divide_rounded(Wide n, std::int64_t d) {
    const Wide half = d / 2;
    return static_cast<std::int64_t>(n >= 0 ? (n + half) / d : -((-n + half) / d));
}

}  // namespace

std::int64_t interval_cost(std::int64_t wh, std::int64_t price) {
    return divide_rounded(static_cast<Wide>(wh) * price, 1000);
}

std::int64_t round_to_cents(std::int64_t amount) {
    return divide_rounded(amount, 1000) * 1000;
}

Rater::Rater(const tariff::Versions& versions, std::string_view program_id, std::int64_t from, std::int64_t to)
    : from_(from), to_(to), spans_(versions.spans(program_id, from, to)) {}

bool Rater::rate(std::span<const Interval> intervals, std::vector<RatedInterval>& out) const {
    if (intervals.empty())
        return true;
    if (spans_.empty() || intervals.front().start < spans_.front().start || intervals.back().start >= to_)
        return false;
    // The span of the first interval, then forward in step.
    auto span = std::upper_bound(spans_.begin(), spans_.end(), intervals.front().start,
                                 [](std::int64_t at, const tariff::VersionedSpan& s) { return at < s.start; }) -
                1;
    const std::size_t first = out.size();
    out.reserve(first + intervals.size());
    std::int64_t previous = intervals.front().start;
    for (const auto& interval : intervals) {
        if (interval.start < previous) {
            out.resize(first);
            return false;
        }
        previous = interval.start;
        while (interval.start >= span->end)
            ++span;
        const std::int64_t price = span->period->price;
        out.push_back({interval.start, interval.wh, interval_cost(interval.wh, price), span->version, span->season,
                       span->period});
    }
    return true;
}

}  // namespace billing
