#include "charging/binding_period.hpp"

#include <algorithm>
#include <limits>

namespace charging {

Period binding_period(const BindingSpan& binding, const BindingSpan* next, std::uint32_t interval_length) {
    const std::int64_t length = interval_length;
    const auto interval_start = [length](std::int64_t at) { return at - ((at % length) + length) % length; };
    const std::int64_t from = interval_start(binding.requested_at);
    std::int64_t to = std::numeric_limits<std::int64_t>::max();
    if (binding.status == "ended")
        to = binding.updated_at;
    else if (next)
        to = next->requested_at;
    // At the same premises the next binding's period begins at the start of its interval, and the same EUMD's
    // intervals are one binding's: this one ends there at the latest (one superseded within its first interval keeps
    // none). At another premises another EUMD measures; each keeps the interval it measured in.
    if (next && next->premises_id == binding.premises_id)
        to = std::min(to, interval_start(next->requested_at));
    return {from, std::max(from, to)};
}

std::vector<Period> metered_periods(const std::vector<BindingSpan>& bindings, const std::string& premises_id,
                                    std::uint32_t interval_length) {
    std::vector<Period> periods;
    for (std::size_t i = 0; i < bindings.size(); ++i) {
        if (bindings[i].premises_id != premises_id || bindings[i].status == "refused")
            continue;
        periods.push_back(
            binding_period(bindings[i], i + 1 < bindings.size() ? &bindings[i + 1] : nullptr, interval_length));
    }
    return periods;
}

}  // namespace charging
