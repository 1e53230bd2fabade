// Per-premises limits of the EV circuit for VEE's spike check (an EV circuit sized above the default, say):
// GET, PUT {"max_power_w"} and DELETE /api/v1/premises/{id}/ev-limit; `headendctl premises ev-limit`.
#pragma once

#include "headend/plugin/plugin.hpp"

namespace intervals {

void add_ev_limit_routes(headend::plugin::Context& context, std::int64_t default_w);

}  // namespace intervals
