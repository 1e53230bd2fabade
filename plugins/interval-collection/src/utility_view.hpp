// The utility's view of the mirrored data (IEEE 2030.5 metering, DESIGN §5 /upt): one UsagePoint per mirror, one
// MeterReading per mirror meter reading, one ReadingSet per local day that holds intervals, a Reading per interval
// with its qualityFlags. Read by the device that mirrors, the device metered and the premises' displays.
#pragma once

#include <memory>

#include "calendar/local_days.hpp"
#include "headend/plugin/plugin.hpp"

namespace intervals {

struct ViewSettings {
    std::uint32_t max_list_limit = 100;
    std::uint32_t utility_pen = 0;  // the low 32 bits of the reading sets' mRIDs
};

// Registers /upt and below; `days` outlives it.
void add_utility_view(headend::plugin::Context& context, const calendar::LocalDays& days, ViewSettings settings);

// The paths whose observers hear of new intervals of a mirror meter reading on these local days.
std::vector<std::string> observed_paths(std::int64_t mirror_id, std::int64_t meter_reading_id,
                                        const std::vector<std::int32_t>& days);

}  // namespace intervals
