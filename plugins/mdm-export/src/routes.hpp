// HTTP routes of the export: the operator's (admin API) and the MDM's (its own HTTPS listener).
#pragma once

#include "calendar/local_days.hpp"
#include "headend/plugin/http.hpp"
#include "mdm/exporter.hpp"

namespace mdm {

// GET /api/v1/mdm/files[?state=waiting|all], POST /api/v1/mdm/cycle, POST /api/v1/mdm/resend
// {"format","from","to"} (local dates, both days included).
void add_admin_routes(headend::http::RouteRegistry& routes, Exporter& exporter, const calendar::LocalDays& days);

// GET /mdm/v1/files[?state=waiting|all], GET /mdm/v1/files/{name} (resumable with Range), POST
// /mdm/v1/files/{name}/ack, GET /mdm/v1/manifest. Every route needs the listener's credential.
void add_pull_routes(headend::http::RouteRegistry& routes, Exporter& exporter);

}  // namespace mdm
