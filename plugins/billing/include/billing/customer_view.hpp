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

// What one interval adds to the account's bill: the premises meter's energy at the premises' default rate, and on a
// PEV circuit the difference its validated binding makes (the payer's debit at the program rate, the host's credit at
// the premises rate, negative). Summed over an account's channels they give its energy charges, unrounded.
struct IntervalCost {
    std::string premises_id;
    std::string lfdi;  // the PEV's; empty for the premises meter
    std::int64_t start = 0;
    std::int64_t cost = 0;  // 10^-5 currency units
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

    // The interval costs of the account's lines for every local month touching [from, to), those starting in it,
    // summed per premises, LFDI and start. Errors as month_so_far.
    headend::Result<std::vector<IntervalCost>> interval_costs(const std::string& account, std::int64_t from,
                                                              std::int64_t to);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace billing
