// Green Button / NAESB ESPI feeds (../shared/reference/exchange-formats.md): an Atom 1.0 feed whose entries carry
// UsagePoint, MeterReading, ReadingType, IntervalBlock and LocalTimeParameters, linked by self/up/related. Written
// as a stream, so a feed of any size needs memory for one interval block only. Every feed validates against
// schemas/espi.xsd (the subset we write).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mdm {

// One metered channel: a usage point (a mirror usage point) and its one energy reading type in Wh.
struct EspiChannel {
    std::string usage_point_id;             // stable, URL-safe (mirror usage point mRID); becomes part of hrefs
    std::string meter_reading_id;           // stable, URL-safe (mirror meter reading mRID)
    std::string title;                      // human text, e.g. "PEV 3F2A… at premises P-100" (escaped on output)
    std::uint32_t interval_length = 900;    // seconds
    std::optional<std::uint16_t> currency;  // ISO 4217 numeric, when the readings carry a cost
};

struct EspiInterval {
    std::int64_t start = 0;  // UTC seconds
    std::uint32_t duration = 0;
    std::int64_t value_wh = 0;
    std::vector<std::uint8_t> qualities;  // ESPI quality codes (0 valid, 9 estimated by linear interpolation, ...)
    std::optional<std::int64_t> cost;     // 10^-5 of the channel's currency
};

// LocalTimeParameters carry the zone's rules in force in the year of `updated`: tzOffset the standard (winter)
// offset, dstOffset what summer time adds, the rules the wall-clock time just before each change as a DstRuleType
// (America/Los_Angeles: -28800, 3600, start 360E2000, end B40E2000). A zone without DST: dstOffset 0 and both rules
// FFFFFFFF (ESPI's "DST correction disabled").
struct EspiFeedInfo {
    std::string id;            // the feed's atom:id, e.g. "urn:pev-headend:mdm-export:espi:000042"
    std::string title;         // e.g. "PEV head-end interval export 42"
    std::int64_t updated = 0;  // UTC seconds (atom:updated in RFC 3339 UTC)
    std::string base_href;     // prefix of every self/up/related href, e.g. "https://headend.example/espi/1_1/resource"
    std::string time_zone;     // IANA name: LocalTimeParameters (tzOffset, dstOffset, dstStartRule, dstEndRule)
};

// Writes one feed: LocalTimeParameters first, then per channel its UsagePoint, MeterReading and ReadingType entries
// followed by its IntervalBlock entries. Calls: begin_channel, then per block begin_block, add* (ascending start),
// end_block; end_channel; then finish. A block without readings writes nothing. A block marked as a correction carries
// <category term="correction" scheme="urn:pev-headend:export"/> so a receiver can tell values that replace ones it
// already has. Misuse (add before begin_channel, descending starts, finish twice) is a programming error (asserts).
// A writer destroyed before finish leaves the feed without its closing tag, so a reader sees it is incomplete.
class EspiWriter {
public:
    // Writes the feed's head and its LocalTimeParameters. An unknown time zone throws std::runtime_error before
    // anything is written.
    EspiWriter(std::ostream& out, EspiFeedInfo info);
    EspiWriter(const EspiWriter&) = delete;
    EspiWriter& operator=(const EspiWriter&) = delete;
    ~EspiWriter();

    void begin_channel(const EspiChannel& channel);
    void begin_block(bool correction);
    void add(const EspiInterval& interval);
    void end_block();
    void end_channel();
    void finish();

private:
    struct State;
    std::ostream& out_;
    EspiFeedInfo info_;
    std::unique_ptr<State> state_;
};

// 2030.5 qualityFlags bits (0 valid, 1 manually edited, 2 estimated using a reference day, 3 estimated using linear
// interpolation, 4 questionable, 5 derived, 6 projected) as ESPI quality codes (0, 7, 8, 9, 10, 11, 12), one per bit
// set, ascending; none of these set = {0} (valid).
std::vector<std::uint8_t> espi_qualities(std::uint16_t quality_flags);

}  // namespace mdm
