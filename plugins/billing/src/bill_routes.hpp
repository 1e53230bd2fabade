// The operator's admin routes for bills:
//   POST /api/v1/bills/run      {"month": "YYYY-MM", "account": "A1" (optional)} → the run's summary
//   GET  /api/v1/bills          ?month=YYYY-MM&account=A1 → bills, newest month first
//   GET  /api/v1/bills/{id}     the bill as the customer reads it, and the postings behind each line
#pragma once

#include "bill_cycle.hpp"
#include "headend/plugin/plugin.hpp"

namespace billing {

void add_bill_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database, BillCycle& cycle,
                     const std::string& time_zone);

}  // namespace billing
