// Billing as a customer sees it between bills (the portal, issue 12): the bills issued to an account, one of them as
// the customer reads it, and the month so far: each charging session and the premises energy with its kWh per
// time-of-use period and its cost, worked out exactly as the bill cycle will (charges.hpp), without issuing anything.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "billing/bill.hpp"
#include "headend/plugin/storage.hpp"

namespace billing {

struct BillSummary {
    std::string month;  // "2026-07"
    std::int64_t total = 0;
    std::string currency;
    std::int64_t issued_at = 0;
};

class CustomerView {
public:
    // `time_zone`: the territory's. Reads only (views of the components billing reads, and its own ledger).
    CustomerView(headend::storage::Database& database, std::string time_zone);
    ~CustomerView();
    CustomerView(const CustomerView&) = delete;
    CustomerView& operator=(const CustomerView&) = delete;

    // Newest month first.
    headend::Result<std::vector<BillSummary>> bills(const std::string& account);
    // The account's bill for a month, if issued.
    headend::Result<std::optional<Bill>> bill(const std::string& account, const std::string& month);
    // The month's lines as the data say now (amounts rounded to cents as a bill would), in the bill's order.
    // Errors: "billing.month" (not a YYYY-MM month), "billing.tariff" (no catalog stored), storage errors.
    headend::Result<std::vector<BillLine>> month_so_far(const std::string& account, const std::string& month);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace billing
