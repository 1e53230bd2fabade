// The operator's admin routes for bills:
//   POST /api/v1/bills/run      {"month": "YYYY-MM", "account": "A1" (optional)} → the run's summary
//   GET  /api/v1/bills          ?month=YYYY-MM&account=A1 → bills, newest month first
//   GET  /api/v1/bills/{id}     the bill as the customer reads it, the postings behind each line, its files and mail
//   POST /api/v1/bills/{id}/resend   e-mail it again, to the account's address in the customer records now
#pragma once

#include "bill_cycle.hpp"
#include "delivery.hpp"
#include "headend/plugin/plugin.hpp"
#include "worker.hpp"

namespace billing {

void add_bill_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database, BillCycle& cycle,
                     Worker& worker, const std::filesystem::path& folder, const std::string& time_zone,
                     const headend::plugin::Clock& clock);

}  // namespace billing
