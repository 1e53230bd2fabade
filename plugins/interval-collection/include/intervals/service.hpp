// The metering mirror function set (IEEE 2030.5 §10.11 as DESIGN §5 and §6 use it): /mup, where an EUMD creates a
// mirror per PEV it meters and an ESCI one for the premises total, and /mup/{k}, where they post interval readings.
#pragma once

#include <memory>

#include "headend/plugin/plugin.hpp"
#include "intervals/readings.hpp"
#include "intervals/vee_settings.hpp"

namespace intervals {

struct IntervalSettings {
    std::int64_t future_skew_s = 300;
    std::int64_t backfill_days = 60;
    std::uint32_t max_list_limit = 100;  // the most items one list page holds
    std::uint32_t utility_pen = 0;       // the utility's IANA PEN: the low 32 bits of the mRIDs it makes
    std::int64_t tolerance_percent = 2;  // load correlation: PEV energy may exceed the premises meter's by this
    std::int64_t tolerance_wh = 10;      // or by this, whichever is larger
    VeeSettings vee;
    std::int64_t sum_tolerance_wh = 10;  // sum check: besides the register's resolution
};

std::vector<headend::storage::Migration> interval_migrations();

class MirrorService {
public:
    MirrorService(headend::plugin::Context& context, IntervalSettings settings);
    // Checks that pev-binding's views are there, then registers /mup and /mup/{k}.
    headend::Result<void> start();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace intervals
