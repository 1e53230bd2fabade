// The billing function set of IEEE 2030.5 for HAN displays (DESIGN §5): the account a display device's premises
// belongs to, or a PEV's enrollment names, as the requester's own "/bill/1"; every other device sees an empty list,
// and 4.03 for anything below it.
//   /bill                             CustomerAccountList (the requester's account, or none)
//   /bill/1                           CustomerAccount: currency, account, customer name; amounts in 10^-5 units
//   /bill/1/ca, /bill/1/ca/1          CustomerAgreement: service location, the links below, the premises' tariff
//   /bill/1/ca/1/bp, .../bp/{bill}    BillingPeriod per issued bill (billLastPeriod = its total), newest first
//   /bill/1/ca/1/abp                  the current local month: charges to date (billToDate) and the last bill's total
//   /bill/1/ca/1/hr, .../hr/{m}       HistoricalReading per meter billed (premises meter, PEVs charging there), each
//                                     linking the ReadingType under /upt
// Lists honour s, a and l. The billing periods (bp) and the active one (abp) are observable: their observers hear of
// every bill run that issued bills. A path names the requester's own account, so each observer reads its own again.
#pragma once

#include <memory>

#include "billing/catalog_cache.hpp"
#include "headend/plugin/plugin.hpp"

namespace billing {

void add_bill_resources(headend::plugin::Context& context);

// Tells the observers of the billing periods that bills were issued (call after the run's commit; any thread).
void notify_bills_issued(headend::coap::ResourceRegistry& resources);

}  // namespace billing
