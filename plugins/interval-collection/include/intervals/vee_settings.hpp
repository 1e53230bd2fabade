// What VEE (validation, estimation, editing) holds readings to; see src/vee.hpp.
#pragma once

#include <cstdint>

namespace intervals {

struct VeeSettings {
    std::int64_t max_power_w = 7700;    // an EV circuit's limit: level 2 at 7.2 kW is normal
    std::int64_t longest_gap_s = 7200;  // longer gaps are not estimated
};

}  // namespace intervals
