// Charging sessions as the operator sees them (`headendctl session list`, GET /api/v1/sessions): each binding of a PEV
// at a premises with the interval energy the premises' EUMD sent for it while it lasted.
#pragma once

#include "headend/plugin/plugin.hpp"

namespace intervals {

void add_session_routes(headend::plugin::Context& context);

}  // namespace intervals
