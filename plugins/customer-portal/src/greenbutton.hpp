// Green Button "Download My Data" (issue 12): the account's interval energy over local days, as an ESPI feed
// (mdm/espi.hpp, valid against schemas/espi.xsd) or as CSV for spreadsheets. Every channel of the account's premises:
// the whole-premises meter and each PEV circuit, with ESPI quality codes and each interval's cost: what it adds to the
// account's bill (billing::IntervalCost; fixed charges and roaming CDRs are not interval energy and not in it).
#pragma once

#include <string>

#include <vector>

#include "billing/customer_view.hpp"
#include "headend/plugin/plugin.hpp"

namespace portal {

struct DownloadRequest {
    std::string account_id;
    std::int64_t from = 0;  // UTC: the first local day's start
    std::int64_t to = 0;    // UTC: the day after the last local day
    std::string first_day;  // "2026-07-01"
    std::string last_day;
};

struct DownloadSettings {
    std::string time_zone;
    std::string base_href;         // prefix of the feed's hrefs, e.g. "https://portal.example/espi/1_1/resource"
    std::uint16_t currency = 840;  // ISO 4217 numeric of the costs
};

// `costs` sorted by premises, LFDI and start, as CustomerView::interval_costs gives them.
headend::Result<std::string> green_button_xml(headend::storage::Database& database, const DownloadSettings& settings,
                                              const DownloadRequest& request,
                                              const std::vector<billing::IntervalCost>& costs, std::int64_t now);
// Header: usage_point,meter_reading,premises,channel,start_utc,start_local,duration_s,wh,quality,cost (cost in
// currency units with 5 decimals).
headend::Result<std::string> green_button_csv(headend::storage::Database& database, const DownloadSettings& settings,
                                              const DownloadRequest& request,
                                              const std::vector<billing::IntervalCost>& costs);

}  // namespace portal
