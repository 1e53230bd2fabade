#include "billing/customer_view.hpp"

#include <algorithm>
#include <tuple>

#include "billing/catalog_cache.hpp"
#include "charges.hpp"
#include "ledger.hpp"

namespace billing {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;

struct CustomerView::State {
    State(headend::storage::Database& d, std::string zone) : database(d), time_zone(std::move(zone)), days(time_zone) {}
    headend::storage::Database& database;
    std::string time_zone;
    calendar::LocalDays days;
    CatalogCache catalog;
};

CustomerView::CustomerView(headend::storage::Database& database, std::string time_zone)
    : state_(std::make_unique<State>(database, std::move(time_zone))) {}

CustomerView::~CustomerView() = default;

Result<std::vector<BillSummary>> CustomerView::bills(const std::string& account) {
    std::vector<BillSummary> out;
    auto read = state_->database.read([&](Transaction& tx) -> Result<void> {
        auto issued = bills_of(tx, account);
        if (!issued)
            return issued.error();
        for (const auto& bill : *issued)
            out.push_back({bill.month, bill.total, bill.currency, bill.issued_at});
        return {};
    });
    if (!read)
        return read.error();
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.month > b.month; });
    return out;
}

Result<std::optional<Bill>> CustomerView::bill(const std::string& account, const std::string& month) {
    std::optional<Bill> out;
    auto read = state_->database.read([&](Transaction& tx) -> Result<void> {
        auto issued = bills_of(tx, account);
        if (!issued)
            return issued.error();
        for (const auto& bill : *issued) {
            if (bill.month != month)
                continue;
            auto postings = postings_of(tx, bill.bill_id);
            if (!postings)
                return postings.error();
            out = bill_document(bill, *postings, state_->time_zone);
        }
        return {};
    });
    if (!read)
        return read.error();
    return out;
}

Result<std::vector<BillLine>> CustomerView::month_so_far(const std::string& account, const std::string& month) {
    const auto parsed = Month::parse(month);
    if (!parsed)
        return make_error("billing.month", "not a month: " + month);
    std::vector<BillLine> lines;
    auto read = state_->database.read([&](Transaction& tx) -> Result<void> {
        auto versions = state_->catalog.versions(tx);
        if (!versions)
            return versions.error();
        ChargeCalculator calculator(*versions, state_->days, *parsed);
        PremisesRates used;
        auto charges = calculator.charges(tx, account, nullptr, used);
        if (!charges)
            return charges.error();
        for (auto& charge : *charges) {
            charge.line.amount = informational(charge.line.kind) ? 0 : round_to_cents(charge.exact);
            lines.push_back(std::move(charge.line));
        }
        return {};
    });
    if (!read)
        return read.error();
    return lines;
}

}  // namespace billing

namespace billing {

Result<std::vector<IntervalCost>> CustomerView::interval_costs(const std::string& account, std::int64_t from,
                                                               std::int64_t to) {
    std::vector<IntervalCost> costs;
    auto read = state_->database.read([&](Transaction& tx) -> Result<void> {
        auto versions = state_->catalog.versions(tx);
        if (!versions)
            return versions.error();
        for (Month month = Month::of(state_->days, from); month.from(state_->days) < to; month = month.next()) {
            ChargeCalculator calculator(*versions, state_->days, month);
            calculator.keep_interval_costs(&costs);
            PremisesRates used;
            if (auto charges = calculator.charges(tx, account, nullptr, used); !charges)
                return charges.error();
        }
        return {};
    });
    if (!read)
        return read.error();
    std::erase_if(costs, [&](const IntervalCost& one) { return one.start < from || one.start >= to; });
    std::sort(costs.begin(), costs.end(), [](const IntervalCost& a, const IntervalCost& b) {
        return std::tie(a.premises_id, a.lfdi, a.start) < std::tie(b.premises_id, b.lfdi, b.start);
    });
    std::vector<IntervalCost> summed;
    for (auto& one : costs) {
        if (!summed.empty() && summed.back().premises_id == one.premises_id && summed.back().lfdi == one.lfdi &&
            summed.back().start == one.start)
            summed.back().cost += one.cost;
        else
            summed.push_back(std::move(one));
    }
    return summed;
}

}  // namespace billing
