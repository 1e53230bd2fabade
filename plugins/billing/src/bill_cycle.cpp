#include "bill_cycle.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "billing/rating.hpp"
#include "charges.hpp"
#include "delivery.hpp"
#include "ledger.hpp"
#include "money/currency.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

Posting posting_of(const Charge& charge, const std::string& usage_month) {
    Posting posting{usage_month, charge.key, charge.line, informational(charge.line.kind) ? 0 : charge.exact};
    posting.line.amount = round_to_cents(posting.exact);
    return posting;
}

}  // namespace

struct BillCycle::LateChange {
    std::int64_t change_id = 0;
    std::string premises_id;
    std::int64_t start = 0;
};

struct BillCycle::Pending {
    IssuedBill bill;
    std::vector<Posting> postings;
    std::size_t adjustments = 0;
};

BillCycle::BillCycle(headend::storage::Database& database, const std::string& time_zone,
                     const headend::plugin::Clock& clock, headend::plugin::Logger& logger, std::size_t batch_accounts)
    : database_(database),
      time_zone_(time_zone),
      days_(time_zone),
      clock_(clock),
      logger_(logger),
      batch_accounts_(batch_accounts) {}

Result<std::optional<BillCycle::Pending>> BillCycle::prepare(Transaction& tx, const std::string& account, Month month,
                                                             const tariff::Versions& versions,
                                                             std::int64_t data_through, std::int64_t tariff_through,
                                                             const std::vector<LateChange>& late) {
    auto bills = bills_of(tx, account);
    if (!bills)
        return bills.error();
    for (const auto& bill : *bills) {
        if (bill.month == month.text())
            return std::optional<Pending>();
        if (bill.month > month.text())
            return make_error("billing.closed", "the bill for " + bill.month + " is issued already; " + month.text() +
                                                    " can no longer be billed (late energy goes on the next bill)");
    }
    // Month after month: a month skipped would never be billed (adjustments are for billed months only).
    if (!bills->empty() && Month::parse(bills->back().month)->next() != month)
        return make_error("billing.order", "the last bill is for " + bills->back().month + ": bill " +
                                               Month::parse(bills->back().month)->next().text() + " first");
    auto header =
        tx.query("SELECT customer_name, email FROM pev_accounts_v1 WHERE account_id = ?", std::vector<Value>{account});
    if (!header)
        return header.error();
    if (header->empty())
        return make_error("billing.unknown_account", "no account '" + account + "' in the customer records");
    auto premises = tx.query(
        "SELECT service_address, default_rate FROM pev_billing_premises_v1 WHERE account_id = ? ORDER BY premises_id",
        std::vector<Value>{account});
    if (!premises)
        return premises.error();

    Pending pending;
    IssuedBill& bill = pending.bill;
    bill.account_id = account;
    bill.month = month.text();
    bill.period_from = month.from(days_);
    bill.period_to = month.to(days_);
    bill.customer_name = header->front().text(0);
    bill.email = header->front().optional_text(1);
    for (const auto& row : *premises)
        bill.service_address += (bill.service_address.empty() ? "" : "; ") + row.text(0);
    // The account's currency is its premises rate's.
    const tariff::Program* rate =
        premises->empty() ? nullptr : versions.latest().catalog().find(premises->front().text(1));
    bill.currency = money::currency_code(rate != nullptr ? rate->currency : 840);
    bill.issued_at = clock_.now();
    bill.data_through = data_through;
    bill.tariff_through = tariff_through;

    ChargeCalculator current(versions, days_, month);
    PremisesRates used;
    auto charges = current.charges(tx, account, nullptr, used);
    if (!charges)
        return charges.error();
    for (const auto& charge : *charges)
        pending.postings.push_back(posting_of(charge, bill.month));
    bill.premises_rates = nlohmann::json(used).dump();

    if (!bills->empty()) {
        // Closed months that may have changed since the account's last bill.
        const IssuedBill& last = bills->back();
        std::set<std::string> interest;
        for (const auto& [own, unused] : used)
            interest.insert(own);
        auto paid_at = tx.query("SELECT DISTINCT premises_id FROM pev_bindings_v1 WHERE payer_account = ?",
                                std::vector<Value>{account});
        if (!paid_at)
            return paid_at.error();
        for (const auto& row : *paid_at)
            interest.insert(row.text(0));
        std::set<std::string> dirty;
        for (const auto& change : late)
            if (change.change_id > last.data_through && interest.contains(change.premises_id))
                dirty.insert(Month::of(days_, change.start).text());
        // Holds raised or released since: the sessions they hold are billed, reversed or billed again.
        auto released = tx.query(
            "SELECT premises_id, start_at FROM interval_load_holds_v1 WHERE raised_at >= ?1 OR cleared_at >= ?1",
            std::vector<Value>{last.issued_at});
        if (!released)
            return released.error();
        for (const auto& row : *released)
            if (interest.contains(row.text(0)))
                dirty.insert(Month::of(days_, row.integer(1)).text());
        auto received = tx.query("SELECT end_at FROM cdrs_in WHERE account_id = ? AND received_at >= ?",
                                 std::vector<Value>{account, last.issued_at});
        if (!received)
            return received.error();
        for (const auto& row : *received)
            dirty.insert(Month::of(days_, row.integer(0)).text());
        for (std::size_t v = 0; v < versions.size(); ++v) {
            if (versions[v].number() <= last.tariff_through)
                continue;
            const std::string from = Month::of(days_, versions[v].effective_from()).text();
            for (const auto& closed : *bills)
                if (closed.month >= from)
                    dirty.insert(closed.month);
        }

        for (const auto& closed : *bills) {
            if (!dirty.contains(closed.month))
                continue;
            const auto frozen = nlohmann::json::parse(closed.premises_rates).get<PremisesRates>();
            ChargeCalculator then(versions, days_, *Month::parse(closed.month));
            PremisesRates ignored;
            auto truth = then.charges(tx, account, &frozen, ignored);
            if (!truth)
                return truth.error();
            auto posted = posted_for(tx, account, closed.month);
            if (!posted)
                return posted.error();
            std::map<std::string, Posted> earlier(posted->begin(), posted->end());
            std::set<std::string> seen;
            for (const auto& charge : *truth) {
                seen.insert(charge.key);
                if (informational(charge.line.kind))
                    continue;
                const Posted before = earlier.contains(charge.key) ? earlier[charge.key] : Posted{};
                Posting adjustment = posting_of(charge, closed.month);
                adjustment.exact = charge.exact - before.exact;
                adjustment.line.wh = charge.line.wh - before.wh;
                // What the line should have cost in all, rounded once, less what was billed for it.
                adjustment.line.amount = round_to_cents(charge.exact) - before.billed;
                adjustment.line.periods.clear();  // the line's breakdown by period is on its own month's bill
                if (adjustment.exact == 0 && adjustment.line.wh == 0)
                    continue;
                pending.postings.push_back(std::move(adjustment));
                ++pending.adjustments;
            }
            // Billed once and no longer owed (a hold raised after the bill, say): reversed.
            for (const auto& [source, before] : earlier) {
                if (seen.contains(source) || informational(before.kind) || (before.exact == 0 && before.wh == 0))
                    continue;
                Posting reversal;
                reversal.usage_month = closed.month;
                reversal.source = source;
                reversal.line.kind = before.kind;
                reversal.line.description = "reversal of " + source;
                reversal.line.wh = -before.wh;
                reversal.exact = -before.exact;
                reversal.line.amount = -before.billed;
                pending.postings.push_back(std::move(reversal));
                ++pending.adjustments;
            }
        }
    }
    for (const auto& posting : pending.postings)
        bill.total += posting.line.amount;
    return std::optional(std::move(pending));
}

Result<RunSummary> BillCycle::run(const RunRequest& request) {
    const std::lock_guard lock(run_mutex_);
    const std::int64_t now = clock_.now();
    if (request.month.to(days_) > now)
        return make_error("billing.month", request.month.text() + " is not over yet: its bills can be run from " +
                                               calendar::LocalDays::format(days_.day_of(request.month.to(days_))) +
                                               " (" + time_zone_ + ")");

    // The accounts, the head of the interval change log and the latest tariff version, and the changes since the
    // earliest of the accounts' last bills to months before this one (late energy: adjustments), read together.
    std::vector<std::string> accounts;
    std::int64_t data_through = 0;
    std::int64_t tariff_through = 0;
    std::vector<LateChange> late;
    auto scanned = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = request.account ? tx.query("SELECT account_id FROM pev_accounts_v1 WHERE account_id = ?",
                                               std::vector<Value>{*request.account})
                                    : tx.query("SELECT account_id FROM pev_accounts_v1 ORDER BY account_id");
        if (!rows)
            return rows.error();
        if (request.account && rows->empty())
            return make_error("billing.unknown_account",
                              "no account '" + *request.account + "' in the customer records");
        for (const auto& row : *rows)
            accounts.push_back(row.text(0));
        auto head = tx.query(
            "SELECT (SELECT last_change FROM interval_changes_head_v1), "
            "(SELECT COALESCE(MAX(version), 0) FROM pev_tariff_versions_v1), "
            "(SELECT MIN(last) FROM (SELECT MAX(data_through) AS last FROM bills GROUP BY account_id) AS latest)");
        if (!head)
            return head.error();
        data_through = head->front().integer(0);
        tariff_through = head->front().integer(1);
        if (head->front().is_null(2))
            return {};  // nothing billed yet: nothing to adjust
        auto changes = tx.query(
            "SELECT c.change_id, ch.premises_id, c.start_at FROM interval_changes_v1 c "
            "JOIN interval_channels_v1 ch ON ch.mmr_id = c.mmr_id WHERE c.change_id > ? AND c.change_id <= ? "
            "AND c.start_at < ?",
            std::vector<Value>{head->front().integer(2), data_through, request.month.from(days_)});
        if (!changes)
            return changes.error();
        for (const auto& row : *changes)
            late.push_back({row.integer(0), row.text(1), row.integer(2)});
        return {};
    });
    if (!scanned)
        return scanned.error();

    RunSummary summary;
    for (std::size_t first = 0; first < accounts.size(); first += batch_accounts_) {
        const std::size_t end = std::min(accounts.size(), first + batch_accounts_);
        std::vector<Pending> batch;
        auto prepared = database_.read([&](Transaction& tx) -> Result<void> {
            auto catalog = catalog_.versions(tx);
            if (!catalog)
                return catalog.error();
            for (std::size_t i = first; i < end; ++i) {
                auto pending = prepare(tx, accounts[i], request.month, *catalog, data_through, tariff_through, late);
                if (!pending) {
                    if (pending.error().code.rfind("storage.", 0) == 0 || pending.error().code == "billing.tariff")
                        return pending.error();
                    summary.refused.emplace_back(accounts[i], pending.error().message);
                    continue;
                }
                if (!*pending) {
                    ++summary.already_issued;
                    continue;
                }
                batch.push_back(std::move(**pending));
            }
            return {};
        });
        if (!prepared)
            return prepared.error();
        std::size_t issued = 0;
        std::size_t adjustments = 0;
        std::vector<std::int64_t> ids;
        auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
            issued = adjustments = 0;
            ids.clear();
            for (auto& pending : batch) {
                auto inserted = insert_bill(tx, pending.bill, pending.postings);
                if (!inserted)
                    return inserted.error();
                if (!*inserted)
                    continue;  // issued meanwhile by another run
                if (auto queued = queue_delivery(tx, pending.bill.bill_id, pending.bill.email, now); !queued)
                    return queued.error();
                ++issued;
                adjustments += pending.adjustments;
                ids.push_back(pending.bill.bill_id);
            }
            return {};
        });
        if (!written)
            return written.error();
        summary.issued += issued;
        summary.already_issued += batch.size() - issued;
        summary.adjustments += adjustments;
        summary.bill_ids.insert(summary.bill_ids.end(), ids.begin(), ids.end());
        logger_.info("BILL_RUN_PROGRESS", request.month.text() + ": " + std::to_string(end) + " of " +
                                              std::to_string(accounts.size()) + " accounts done");
    }
    if (summary.issued > 0 && on_issued_)
        on_issued_();
    logger_.info("BILL_RUN_DONE", request.month.text() + ": " + std::to_string(summary.issued) + " bill(s) issued, " +
                                      std::to_string(summary.already_issued) + " issued before, " +
                                      std::to_string(summary.adjustments) + " adjustment(s), " +
                                      std::to_string(summary.refused.size()) + " account(s) refused");
    return summary;
}

}  // namespace billing
