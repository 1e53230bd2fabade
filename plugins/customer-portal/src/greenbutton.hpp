// Green Button "Download My Data" (issue 12): the account's interval energy over local days, as an ESPI feed
// (mdm/espi.hpp, valid against schemas/espi.xsd) or as CSV for spreadsheets. Every channel of the account's premises:
// the whole-premises meter and each PEV circuit, with ESPI quality codes.
#pragma once

#include <string>

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
    std::string base_href;  // prefix of the feed's hrefs, e.g. "https://portal.example/espi/1_1/resource"
};

headend::Result<std::string> green_button_xml(headend::storage::Database& database, const DownloadSettings& settings,
                                              const DownloadRequest& request, std::int64_t now);
// Header: usage_point,meter_reading,premises,channel,start_utc,start_local,duration_s,wh,quality
headend::Result<std::string> green_button_csv(headend::storage::Database& database, const DownloadSettings& settings,
                                              const DownloadRequest& request);

}  // namespace portal
