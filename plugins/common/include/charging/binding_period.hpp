// Charging periods: when the EUMD at a premises measured a PEV, from the bindings pev-binding records. Interval
// collection accepts a PEV's intervals only inside them, and billing attributes each interval to the binding whose
// period holds its start, so both read the same periods.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace charging {

// A binding of the PEV as pev-binding records it, in the order they were requested.
struct BindingSpan {
    std::string premises_id;
    std::string status;
    std::int64_t requested_at = 0;
    std::int64_t updated_at = 0;
};

// When an EUMD at `premises_id` measured the PEV: from the start of the interval in which each of its bindings there
// was requested (the PEV plugs in before the ESCI asks) until the binding ended, or until the PEV's next binding
// anywhere (an open or fallen-back binding lasts until then). Refused bindings do not count. [from, to) in UTC.
struct Period {
    std::int64_t from = 0;
    std::int64_t to = 0;
};
// One binding's period: from the start of the interval in which it was requested until it ended or, open or fallen
// back, until the PEV's next binding (`next`, nullptr when none), else without end (INT64_MAX). When the next binding
// is at the same premises, never past the start of its interval: back-to-back bindings there share no interval (it
// is the later one's), so no energy is in two sessions.
Period binding_period(const BindingSpan& binding, const BindingSpan* next, std::uint32_t interval_length);
std::vector<Period> metered_periods(const std::vector<BindingSpan>& bindings, const std::string& premises_id,
                                    std::uint32_t interval_length);

}  // namespace charging
