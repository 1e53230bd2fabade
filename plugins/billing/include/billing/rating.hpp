// Rating (DESIGN §6, issue 11): each interval's energy priced by the tariff period its start falls in, in the
// territory's local time, on the program version in force at that instant. Money is int64 in 10^-5 of the currency
// unit, energy int64 Wh; nothing passes through a binary float. Pure logic: no storage.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tariff/versions.hpp"

namespace billing {

// The cost of `wh` at `price` (10^-5 units per kWh): wh × price / 1000, rounded half away from zero to 10^-5 units.
std::int64_t interval_cost(std::int64_t wh, std::int64_t price);

// A bill line's amount (10^-5 units) rounded once to cents, half away from zero.
std::int64_t round_to_cents(std::int64_t amount);

struct Interval {
    std::int64_t start = 0;  // UTC seconds
    std::int64_t wh = 0;
};

struct RatedInterval {
    std::int64_t start = 0;
    std::int64_t wh = 0;
    std::int64_t cost = 0;    // 10^-5 units
    std::size_t version = 0;  // index into the catalog versions
    const tariff::Season* season = nullptr;
    const tariff::Period* period = nullptr;
};

// Rates intervals of one program over a window [from, to) prepared once (a bill month, say): the time-of-use spans
// of every catalog version in force in the window are worked out up front, so rating is a walk in step with them,
// not a time-zone lookup per interval. An interval before the first version with the program has no rate.
class Rater {
public:
    // `versions` must outlive the rater (it keeps pointers into their periods).
    Rater(const tariff::Versions& versions, std::string_view program_id, std::int64_t from, std::int64_t to);

    std::int64_t from() const { return from_; }
    std::int64_t to() const { return to_; }

    // Appends each interval rated to `out`. `intervals` must be sorted by start and lie in [from, to) where the
    // program has a rate (checked: false, nothing appended, when one does not).
    bool rate(std::span<const Interval> intervals, std::vector<RatedInterval>& out) const;

private:
    std::int64_t from_ = 0;
    std::int64_t to_ = 0;
    std::vector<tariff::VersionedSpan> spans_;  // in order, from the first instant the program has a rate
};

}  // namespace billing
