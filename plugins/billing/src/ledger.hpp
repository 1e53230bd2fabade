// The ledger (DESIGN §6–7): issued bills and their postings. A posting is one line of one bill, keyed by its source
// (the session side, premises energy, fixed charge, CDR) and the month whose usage it is; an adjustment is a posting
// for an earlier, closed month. Rows are only ever inserted: a bill never changes once issued.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "billing/bill.hpp"
#include "headend/plugin/storage.hpp"

namespace billing {

// The billing component's migrations: the ledger's and the clearinghouse's, one numbering.
std::vector<headend::storage::Migration> billing_migrations();
std::vector<headend::storage::Migration> ledger_migrations();

struct Posting {
    std::string usage_month;  // "2026-07"
    std::string source;       // Charge::key
    BillLine line;            // kind, description, place, times, periods, wh; amount = billed (whole cents)
    std::int64_t exact = 0;   // 10^-5, not rounded
};

struct IssuedBill {
    std::int64_t bill_id = 0;
    std::string account_id;
    std::string month;
    std::int64_t period_from = 0;
    std::int64_t period_to = 0;
    std::string customer_name;
    std::string service_address;
    std::optional<std::string> email;
    std::string currency;
    std::int64_t total = 0;
    std::int64_t issued_at = 0;
    std::int64_t data_through = 0;    // the last interval change the bill saw
    std::int64_t tariff_through = 0;  // the last tariff version it saw
    std::string premises_rates;       // JSON {"P1": "DOM-FLAT"}
};

// Inserts the bill and its postings unless the account's bill for the month exists: false then, nothing written.
headend::Result<bool> insert_bill(headend::storage::Transaction& tx, IssuedBill& bill,
                                  const std::vector<Posting>& postings);

headend::Result<std::vector<IssuedBill>> bills_of(headend::storage::Transaction& tx, const std::string& account);
headend::Result<std::optional<IssuedBill>> find_bill(headend::storage::Transaction& tx, std::int64_t bill_id);
headend::Result<std::vector<Posting>> postings_of(headend::storage::Transaction& tx, std::int64_t bill_id);

// What has been posted for an account's month, per source: the sums over every bill (the month's own and later
// adjustments).
struct Posted {
    std::int64_t wh = 0;
    std::int64_t exact = 0;
    std::int64_t billed = 0;
    LineKind kind = LineKind::PremisesEnergy;
};
headend::Result<std::vector<std::pair<std::string, Posted>>> posted_for(headend::storage::Transaction& tx,
                                                                        const std::string& account,
                                                                        const std::string& usage_month);

// The customer's bill as rendered: header from the bill, lines from its postings.
Bill bill_document(const IssuedBill& bill, const std::vector<Posting>& postings, const std::string& time_zone);

}  // namespace billing
