// The monthly bill cycle (`headendctl bill run --month YYYY-MM [--account A]`): for each account, the month's charges
// as postings, plus an adjustment for whatever changed in an earlier, closed month since that account's last bill
// (a late reading, an actual replacing an estimate, a tariff version, a released hold). A bill is issued once per
// account and month and never changes; running the cycle again issues only the bills still missing. Accounts are
// written in batches, each batch one transaction, so a crash loses at most the batch in progress, which the next run
// issues.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "calendar/local_days.hpp"
#include "billing/catalog_cache.hpp"
#include "headend/plugin/plugin.hpp"
#include "month.hpp"
#include "tariff/versions.hpp"

namespace billing {

struct RunRequest {
    Month month;
    std::optional<std::string> account;  // one account, else every account in the customer records
};

struct RunSummary {
    std::size_t issued = 0;
    std::size_t already_issued = 0;
    std::size_t adjustments = 0;                               // postings for earlier months
    std::vector<std::pair<std::string, std::string>> refused;  // account, reason
    std::vector<std::int64_t> bill_ids;                        // the bills issued now
};

class BillCycle {
public:
    BillCycle(headend::storage::Database& database, const std::string& time_zone, const headend::plugin::Clock& clock,
              headend::plugin::Logger& logger, std::size_t batch_accounts = 100);

    // Errors: "billing.unknown_account", "billing.month" (a month not yet over), "billing.tariff" (no catalog
    // version stored), storage errors. Refusals of single accounts are in the summary.
    headend::Result<RunSummary> run(const RunRequest& request);
    // Called after a run that issued bills (to wake their delivery).
    void on_issued(std::function<void()> callback) { on_issued_ = std::move(callback); }

private:
    struct Pending;
    struct LateChange;
    headend::Result<std::optional<Pending>> prepare(headend::storage::Transaction& tx, const std::string& account,
                                                    Month month, const tariff::Versions& versions,
                                                    std::int64_t data_through, std::int64_t tariff_through,
                                                    const std::vector<LateChange>& late);

    headend::storage::Database& database_;
    std::string time_zone_;
    calendar::LocalDays days_;
    const headend::plugin::Clock& clock_;
    headend::plugin::Logger& logger_;
    std::size_t batch_accounts_;
    std::mutex run_mutex_;  // one cycle at a time: adjustments read what earlier bills posted
    CatalogCache catalog_;
    std::function<void()> on_issued_;
};

}  // namespace billing
