// The enrollment API on the admin port, used by headendctl (operator channel) and later the customer portal:
//   POST   /api/v1/enrollments         {account_id, customer_id, premises_id, vin, program_id,
//                                       allow_guest_charging?, guest_charging_payer? ("owner"|"host"),
//                                       allow_roaming?, channel?}  → 201 new, 200 the same enrollment again
//   GET    /api/v1/enrollments[?account=A&premises=P]
//   GET    /api/v1/enrollments/{vin}
//   PATCH  /api/v1/enrollments/{vin}   {program_id?, allow_guest_charging?, guest_charging_payer?, allow_roaming?,
//                                       channel?}
//   DELETE /api/v1/enrollments/{vin}[?channel=C]
// Malformed bodies and VINs → 400; refusals against the customer records or the catalog → 422; a VIN enrolled
// elsewhere → 409; an unknown VIN → 404.
#pragma once

#include "headend/plugin/http.hpp"
#include "pev/enrollment.hpp"

namespace pev {

void add_enrollment_routes(headend::http::RouteRegistry& routes, Enrollments& enrollments);

}  // namespace pev
