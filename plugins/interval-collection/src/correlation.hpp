// Load correlation (DESIGN §6, seed S1 step 9, S2 step 4): the energy the PEVs took at a premises in an interval of
// its meter cannot exceed what the premises meter measured in it, beyond a tolerance. A mismatch is kept (the
// sessions it falls in are marked for billing) and raises one alarm per premises interval.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "headend/plugin/alarms.hpp"
#include "headend/plugin/storage.hpp"

namespace intervals {

struct Tolerance {
    std::int64_t percent = 2;  // of the premises meter's energy
    std::int64_t wh = 10;      // at least this much, for small intervals
};

// PEV energy above premises energy plus the larger of the two tolerances.
bool mismatched(std::int64_t pev_wh, std::int64_t premises_wh, const Tolerance& tolerance);

struct Touched {
    std::int64_t start = 0;
    std::uint32_t duration = 0;
};

// Checks every premises-meter interval at `premises_id` that overlaps a touched interval (of either kind), in the
// transaction that stored them. Only PEV intervals lying wholly inside a meter interval are summed against it.
// Returns how many mismatches it found.
headend::Result<std::size_t> correlate(headend::storage::Transaction& tx, headend::plugin::Alarms& alarms,
                                       const std::string& premises_id, const std::vector<Touched>& touched,
                                       const Tolerance& tolerance, std::int64_t at);

}  // namespace intervals
