// What an account owes for one month as the stored data say now (DESIGN §6): each charging session's debit or credit
// attributed through the binding whose period holds the interval's start, the premises meter's energy at the default
// rate, the fixed charges, and the sessions that carry no money (fallback, held) listed as such. Pure reading: the
// bill cycle (bill_cycle.hpp) turns charges into postings.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "billing/bill.hpp"
#include "billing/customer_view.hpp"
#include "billing/rating.hpp"
#include "calendar/local_days.hpp"
#include "charging/binding_period.hpp"
#include "headend/plugin/storage.hpp"
#include "month.hpp"
#include "tariff/versions.hpp"

namespace billing {

struct Charge {
    // Its source, unique within the account's month: "session:42:debit", "session:42:credit", "session:42:fallback",
    // "session:42:held", "unattributed:<lfdi>:<premises>", "premises:P1:energy", "premises:P1:fixed:EV-TOU".
    std::string key;
    std::int64_t exact = 0;  // 10^-5 currency units, not rounded: debit positive, credit negative
    BillLine line;           // what the bill says; its amount is the cycle's to set
};

// A binding of a PEV at a premises as billing reads it: who pays, on which program, and the period whose intervals
// are its session (charging/binding_period.hpp, as interval collection accepts them).
struct SessionBinding {
    std::int64_t id = 0;
    std::string vin;  // or the LFDI for a PEV without a VIN
    std::string lfdi;
    std::string premises_id;
    std::string kind;  // home, guest, roaming
    std::string program_id;
    std::optional<std::string> payer_account;
    std::optional<std::string> home_utility;
    std::string status;
    bool validated = false;  // became active: identities verified
    charging::Period period;
};

// The bindings of `lfdi` at `premises_id` (refused ones have no session), each with its period.
headend::Result<std::vector<SessionBinding>> bindings_at(headend::storage::Transaction& tx, const std::string& lfdi,
                                                         const std::string& premises_id);
// The PEV's intervals of the binding's session within [from, to), sorted.
headend::Result<std::vector<Interval>> session_intervals(headend::storage::Transaction& tx,
                                                         const SessionBinding& binding, std::int64_t from,
                                                         std::int64_t to);

// Lines that show energy and carry no money.
bool informational(LineKind kind);

// The default rate each of the account's premises was billed at in a month (kept with the month's first bill, so a
// later change of the rate in the CIS does not reprice a closed month).
using PremisesRates = std::map<std::string, std::string>;

class ChargeCalculator {
public:
    // `versions` and `days` must outlive the calculator.
    ChargeCalculator(const tariff::Versions& versions, const calendar::LocalDays& days, Month month);

    // The account's charges for the month. `frozen` (when given) names the premises rates to use; `used` receives
    // the rates used. Errors: "billing.unrated" (energy no tariff version rates), storage errors.
    headend::Result<std::vector<Charge>> charges(headend::storage::Transaction& tx, const std::string& account,
                                                 const PremisesRates* frozen, PremisesRates& used);

    // From now on each rated interval is also appended here, with the sign of its line (credits negative).
    void keep_interval_costs(std::vector<IntervalCost>* sink) { sink_ = sink; }

    Month month() const { return month_; }
    std::int64_t from() const { return from_; }
    std::int64_t to() const { return to_; }

private:
    struct Premises {
        std::string id;
        std::string rate;
        std::string address;
    };

    headend::Result<const Rater*> rater(const std::string& program);
    // Whose energy a line rates: the premises meter (no LFDI) or a PEV circuit; credits count negative.
    struct Owner {
        const std::string& premises_id;
        const std::string& lfdi;
        int sign = 1;
    };
    headend::Result<void> rate_line(Charge& charge, const std::string& program, const std::vector<Interval>& intervals,
                                    const Owner& owner);
    headend::Result<void> session_charges(headend::storage::Transaction& tx, const std::string& account,
                                          const std::string& lfdi, const Premises& premises, bool own,
                                          std::vector<Charge>& out);
    headend::Result<void> premises_charges(headend::storage::Transaction& tx, const Premises& premises,
                                           std::vector<Charge>& out);

    const tariff::Versions& versions_;
    const calendar::LocalDays& days_;
    Month month_;
    std::int64_t from_;
    std::int64_t to_;
    std::map<std::string, std::unique_ptr<Rater>> raters_;
    std::vector<IntervalCost>* sink_ = nullptr;
};

}  // namespace billing
