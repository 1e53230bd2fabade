#include "greenbutton.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <tuple>

#include "account_data.hpp"
#include "calendar/local_days.hpp"
#include "mdm/espi.hpp"

namespace portal {
namespace {

using headend::Result;
using headend::storage::Transaction;

Result<std::vector<Channel>> channels_of(headend::storage::Database& database, const DownloadRequest& request) {
    std::vector<Channel> channels;
    auto read = database.read([&](Transaction& tx) -> Result<void> {
        auto found = read_channels(tx, request.account_id, request.from, request.to);
        if (!found)
            return found.error();
        channels = std::move(*found);
        return {};
    });
    if (!read)
        return read.error();
    return channels;
}

// An interval's cost on a channel: looked up in the sorted costs (none rated: 0, it adds nothing).
std::int64_t cost_of(const std::vector<billing::IntervalCost>& costs, const Channel& channel, std::int64_t start) {
    const std::string no_lfdi;
    const std::string& lfdi = channel.pev ? channel.device_lfdi : no_lfdi;
    const auto it = std::lower_bound(costs.begin(), costs.end(), std::tie(channel.premises_id, lfdi, start),
                                     [](const billing::IntervalCost& one, const auto& key) {
                                         return std::tie(one.premises_id, one.lfdi, one.start) < key;
                                     });
    return it != costs.end() && it->premises_id == channel.premises_id && it->lfdi == lfdi && it->start == start
               ? it->cost
               : 0;
}

std::string money_text(std::int64_t amount) {
    const std::int64_t magnitude = amount < 0 ? -amount : amount;
    return fmt::format("{}{}.{:05}", amount < 0 ? "-" : "", magnitude / 100000, magnitude % 100000);
}

std::string quality_text(std::uint16_t flags) {
    std::string text;
    for (const auto code : mdm::espi_qualities(flags))
        text += (text.empty() ? "" : " ") + std::to_string(code);
    return text;
}

}  // namespace

Result<std::string> green_button_xml(headend::storage::Database& database, const DownloadSettings& settings,
                                     const DownloadRequest& request, const std::vector<billing::IntervalCost>& costs,
                                     std::int64_t now) {
    auto channels = channels_of(database, request);
    if (!channels)
        return channels.error();
    const calendar::LocalDays days(settings.time_zone);
    std::ostringstream out;
    mdm::EspiWriter writer(out, mdm::EspiFeedInfo{.id = "urn:pev-headend:portal:" + request.account_id + ":" +
                                                        request.first_day + ":" + request.last_day,
                                                  .title = "Energy usage of account " + request.account_id + ", " +
                                                           request.first_day + " to " + request.last_day,
                                                  .updated = now,
                                                  .base_href = settings.base_href,
                                                  .time_zone = settings.time_zone});
    for (const auto& channel : *channels) {
        writer.begin_channel(
            mdm::EspiChannel{.usage_point_id = channel.usage_point_mrid,
                             .meter_reading_id = channel.meter_reading_mrid,
                             .title = (channel.pev ? std::string("PEV charging") : std::string("Whole premises")) +
                                      " at premises " + channel.premises_id,
                             .interval_length = static_cast<std::uint32_t>(channel.interval_length),
                             .currency = settings.currency});
        // One interval block per local day (23 or 25 hours on the days the clocks change).
        std::optional<std::int32_t> day;
        for (const auto& interval : channel.intervals) {
            const std::int32_t interval_day = days.day_of(interval.start);
            if (day != interval_day) {
                if (day)
                    writer.end_block();
                writer.begin_block(false);
                day = interval_day;
            }
            writer.add(mdm::EspiInterval{.start = interval.start,
                                         .duration = static_cast<std::uint32_t>(interval.duration),
                                         .value_wh = interval.value_wh,
                                         .qualities = mdm::espi_qualities(interval.quality_flags),
                                         .cost = cost_of(costs, channel, interval.start)});
        }
        if (day)
            writer.end_block();
        writer.end_channel();
    }
    writer.finish();
    return out.str();
}

Result<std::string> green_button_csv(headend::storage::Database& database, const DownloadSettings& settings,
                                     const DownloadRequest& request, const std::vector<billing::IntervalCost>& costs) {
    auto channels = channels_of(database, request);
    if (!channels)
        return channels.error();
    const auto* zone = date::locate_zone(settings.time_zone);
    std::string out = "usage_point,meter_reading,premises,channel,start_utc,start_local,duration_s,wh,quality,cost\r\n";
    for (const auto& channel : *channels)
        for (const auto& interval : channel.intervals) {
            const date::sys_seconds start{std::chrono::seconds(interval.start)};
            // Identifiers are mRIDs (hex) and premises ids from the customer records: quoted, quotes doubled.
            const auto quoted = [](const std::string& text) {
                std::string q = "\"";
                for (const char c : text)
                    q += c == '"' ? std::string("\"\"") : std::string(1, c);
                return q + "\"";
            };
            out += fmt::format("{},{},{},{},{},{},{},{},{},{}\r\n", quoted(channel.usage_point_mrid),
                               quoted(channel.meter_reading_mrid), quoted(channel.premises_id),
                               channel.pev ? "pev" : "premises", date::format("%Y-%m-%dT%H:%M:%SZ", start),
                               date::format("%Y-%m-%dT%H:%M:%S%Ez", date::zoned_seconds(zone, start)),
                               interval.duration, interval.value_wh, quality_text(interval.quality_flags),
                               money_text(cost_of(costs, channel, interval.start)));
        }
    return out;
}

}  // namespace portal
