#include "mdm/espi.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>

#include "markup/escape.hpp"

namespace mdm {

namespace {

using std::chrono::seconds;

constexpr std::string_view kAtomNs = "http://www.w3.org/2005/Atom";
constexpr std::string_view kEspiNs = "http://naesb.org/espi";
constexpr std::string_view kLocalTimeId = "1";      // a feed has one LocalTimeParameters
constexpr std::uint32_t kDstDisabled = 0xFFFFFFFF;  // DstRuleType: no DST correction
constexpr std::int64_t kInt48Max = (std::int64_t{1} << 47) - 1;

// ---------------------------------------------------------------- text

void append_int(std::string& out, std::int64_t value) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    out.append(digits.data(), end);
}

std::string rfc3339(std::int64_t utc) {
    return date::format("%FT%TZ", date::sys_seconds{seconds{utc}});
}

std::string hex32(std::uint32_t value) {
    constexpr std::string_view kDigits = "0123456789ABCDEF";
    std::string text(8, '0');
    for (auto digit = text.rbegin(); digit != text.rend(); ++digit, value >>= 4)
        *digit = kDigits[value & 0xF];
    return text;
}

// Ids end up in hrefs unescaped: RFC 3986 unreserved characters only.
[[maybe_unused]] bool url_safe(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_' || c == '~';
    });
}

// ---------------------------------------------------------------- LocalTimeParameters

struct TimeParameters {
    std::int64_t tz_offset = 0;   // standard time, seconds east of UTC
    std::int64_t dst_offset = 0;  // added in summer time
    std::uint32_t dst_start_rule = kDstDisabled;
    std::uint32_t dst_end_rule = kDstDisabled;
};

// One year's changes into summer time (the larger UTC offset) and back, as the wall-clock time just before each:
// 02:00 for both in Los Angeles, 02:00 and 03:00 in Berlin. The save flag of the OS tz database is not used: it
// does not say how much is saved, and Europe/Dublin marks its winter as the DST period.
struct YearDst {
    std::int64_t standard = 0;
    std::int64_t saving = 0;
    std::optional<date::local_seconds> start;
    std::optional<date::local_seconds> end;
};

YearDst dst_of_year(const date::time_zone& zone, date::year year) {
    const date::sys_seconds first{date::sys_days{year / 1 / 1}};
    const date::sys_seconds last{date::sys_days{(year + date::years{1}) / 1 / 1}};
    auto info = zone.get_info(first);
    std::int64_t low = info.offset.count();
    std::int64_t high = low;
    YearDst dst;
    while (info.end < last) {
        const auto next = zone.get_info(info.end);
        const date::local_seconds wall{(info.end + info.offset).time_since_epoch()};
        if (next.offset > info.offset && !dst.start)
            dst.start = wall;
        if (next.offset < info.offset && !dst.end)
            dst.end = wall;
        low = std::min<std::int64_t>(low, next.offset.count());
        high = std::max<std::int64_t>(high, next.offset.count());
        info = next;
    }
    dst.standard = low;
    dst.saving = high - low;
    return dst;
}

// DstRuleType's day selection: operator 0 a day of the month, 1 a weekday on or after a day of the month, 2-6 the
// first to fifth such weekday, 7 the last one. Weekdays 1 (Monday) to 7.
struct DayRule {
    unsigned op = 0;
    unsigned day_of_month = 0;
    unsigned day_of_week = 0;
};

bool gives(const DayRule& rule, const date::year_month_day& date) {
    const unsigned day = static_cast<unsigned>(date.day());
    if (rule.op == 0)
        return day == rule.day_of_month;
    if (date::weekday{date::sys_days{date}}.iso_encoding() != rule.day_of_week)
        return false;
    if (rule.op == 1)
        return day >= rule.day_of_month && day < rule.day_of_month + 7;
    if (rule.op == 7)
        return date::year_month_day{date::sys_days{date} + date::days{7}}.month() != date.month();
    return (day - 1) / 7 + 2 == rule.op;
}

// The day rule that yields every sampled year's date (the first is the current year): the n-th or last weekday as
// most zones define it, a weekday on or after a day (Asia/Jerusalem's Fri>=23, America/Santiago's Sun>=2), and
// without a weekly pattern the current year's date.
DayRule day_rule(const std::vector<date::year_month_day>& dates) {
    const auto& current = dates.front();
    const unsigned day = static_cast<unsigned>(current.day());
    const unsigned weekday = date::weekday{date::sys_days{current}}.iso_encoding();
    unsigned earliest = day;
    for (const auto& date : dates)
        earliest = std::min(earliest, static_cast<unsigned>(date.day()));
    const DayRule nth{(day - 1) / 7 + 2, 0, weekday};
    const DayRule last{7, 0, weekday};
    const DayRule on_or_after{1, earliest, weekday};
    const DayRule fixed{0, day, 0};
    // A fourth or fifth weekday that is also the last is far more often meant as the last.
    const auto candidates = nth.op <= 4 ? std::array{nth, last, on_or_after} : std::array{last, nth, on_or_after};
    for (const auto& rule : candidates)
        if (std::all_of(dates.begin(), dates.end(), [&](const auto& date) { return gives(rule, date); }))
            return rule;
    return fixed;
}

std::uint32_t encode_rule(const DayRule& rule, date::local_seconds wall) {
    const auto day = date::floor<date::days>(wall);
    const auto time_of_day = static_cast<std::uint32_t>((wall - day).count());
    const date::year_month_day date{day};
    return static_cast<unsigned>(date.month()) << 28 | rule.op << 25 | rule.day_of_month << 20 |
           rule.day_of_week << 17 | (time_of_day / 3600) << 12 | time_of_day % 3600;
}

// The rule for the change `pick` selects (start or end) in `year`, checked against the next 27 years so that the
// 28-year cycle of weekdays is covered. Years whose change falls in another month follow other rules and are skipped.
template <typename Pick>
std::uint32_t change_rule(const date::time_zone& zone, date::year year, date::local_seconds wall, Pick pick) {
    const date::year_month_day current{date::floor<date::days>(wall)};
    std::vector<date::year_month_day> dates{current};
    for (int ahead = 1; ahead < 28; ++ahead) {
        const auto change = pick(dst_of_year(zone, year + date::years{ahead}));
        if (!change)
            continue;
        const date::year_month_day later{date::floor<date::days>(*change)};
        if (later.month() == current.month())
            dates.push_back(later);
    }
    return encode_rule(day_rule(dates), wall);
}

// The zone's rules in force in the year of `at`.
TimeParameters time_parameters(const std::string& zone_name, std::int64_t at) {
    const auto& zone = *date::locate_zone(zone_name);
    const auto year = date::year_month_day{date::floor<date::days>(date::sys_seconds{seconds{at}})}.year();
    const auto dst = dst_of_year(zone, year);
    TimeParameters parameters;
    parameters.tz_offset = dst.standard;
    if (!dst.start || !dst.end)
        return parameters;
    parameters.dst_offset = dst.saving;
    parameters.dst_start_rule = change_rule(zone, year, *dst.start, [](const YearDst& d) { return d.start; });
    parameters.dst_end_rule = change_rule(zone, year, *dst.end, [](const YearDst& d) { return d.end; });
    return parameters;
}

// ---------------------------------------------------------------- Atom entries

struct Link {
    std::string_view rel;
    std::string href;
};

// An entry up to the opening of its content; its ESPI resource follows, then close_entry.
void open_entry(std::string& out, std::string_view id, const std::vector<Link>& links, std::string_view title,
                bool correction) {
    out += "<entry><id>";
    markup::append_escaped(out, id);
    out += "</id>";
    if (correction)
        out += "<category term=\"correction\" scheme=\"urn:pev-headend:export\"/>";
    for (const auto& link : links) {
        out += "<link rel=\"";
        out += link.rel;
        out += "\" href=\"";
        markup::append_escaped(out, link.href);
        out += "\"/>";
    }
    out += "<title>";
    markup::append_escaped(out, title);
    out += "</title>\n<content>";
}

void close_entry(std::string& out, std::string_view updated) {
    out += "</content><published>";
    out += updated;
    out += "</published><updated>";
    out += updated;
    out += "</updated></entry>\n";
}

void append_element(std::string& out, std::string_view name, std::int64_t value) {
    out += '<';
    out += name;
    out += '>';
    append_int(out, value);
    out += "</";
    out += name;
    out += '>';
}

void append_interval(std::string& out, std::string_view name, std::int64_t duration, std::int64_t start) {
    out += '<';
    out += name;
    out += '>';
    append_element(out, "duration", duration);
    append_element(out, "start", start);
    out += "</";
    out += name;
    out += '>';
}

}  // namespace

struct EspiWriter::State {
    enum class Phase { feed, channel, block, finished };
    Phase phase = Phase::feed;
    std::string updated;  // RFC 3339 form of info.updated: every entry's published and updated

    // The open channel.
    std::string channel_href;  // {base}/UsagePoint/{id}/MeterReading/{id}
    std::string channel_id;    // {feed id}:UsagePoint:{id}:MeterReading:{id}
    std::uint64_t blocks = 0;

    // The open block. Its interval (the span of its readings) precedes the readings, so they wait here.
    bool correction = false;
    std::string readings;
    std::int64_t first_start = 0;
    std::int64_t last_start = 0;
    std::int64_t end = 0;
};

EspiWriter::EspiWriter(std::ostream& out, EspiFeedInfo info)
    : out_(out), info_(std::move(info)), state_(std::make_unique<State>()) {
    const auto time = time_parameters(info_.time_zone, info_.updated);
    state_->updated = rfc3339(info_.updated);

    std::string text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"";
    text += kAtomNs;
    text += "\">\n<id>";
    markup::append_escaped(text, info_.id);
    text += "</id><title>";
    markup::append_escaped(text, info_.title);
    text += "</title><updated>";
    text += state_->updated;
    text += "</updated>\n";

    const std::string href = info_.base_href + "/LocalTimeParameters";
    open_entry(text, info_.id + ":LocalTimeParameters:" + std::string(kLocalTimeId),
               {{"self", href + "/" + std::string(kLocalTimeId)}, {"up", href}}, info_.time_zone, false);
    text += "<LocalTimeParameters xmlns=\"";
    text += kEspiNs;
    text += "\"><dstEndRule>";
    text += hex32(time.dst_end_rule);
    text += "</dstEndRule>";
    append_element(text, "dstOffset", time.dst_offset);
    text += "<dstStartRule>";
    text += hex32(time.dst_start_rule);
    text += "</dstStartRule>";
    append_element(text, "tzOffset", time.tz_offset);
    text += "</LocalTimeParameters>";
    close_entry(text, state_->updated);
    out_ << text;
}

EspiWriter::~EspiWriter() = default;

void EspiWriter::begin_channel(const EspiChannel& channel) {
    assert(state_->phase == State::Phase::feed && "begin_channel inside a channel or after finish");
    assert(url_safe(channel.usage_point_id) && url_safe(channel.meter_reading_id));
    assert(channel.interval_length > 0);
    auto& state = *state_;
    state.phase = State::Phase::channel;
    state.blocks = 0;

    const std::string usage_points = info_.base_href + "/UsagePoint";
    const std::string usage_point = usage_points + "/" + channel.usage_point_id;
    const std::string meter_readings = usage_point + "/MeterReading";
    const std::string reading_types = info_.base_href + "/ReadingType";
    // One energy reading type per mirror meter reading, so it shares the meter reading's id.
    const std::string reading_type = reading_types + "/" + channel.meter_reading_id;
    const std::string usage_point_id = info_.id + ":UsagePoint:" + channel.usage_point_id;
    state.channel_href = meter_readings + "/" + channel.meter_reading_id;
    state.channel_id = usage_point_id + ":MeterReading:" + channel.meter_reading_id;

    std::string text;
    open_entry(text, usage_point_id,
               {{"self", usage_point},
                {"up", usage_points},
                {"related", meter_readings},
                {"related", info_.base_href + "/LocalTimeParameters/" + std::string(kLocalTimeId)}},
               channel.title, false);
    text += "<UsagePoint xmlns=\"";
    text += kEspiNs;
    text += "\"><ServiceCategory>";
    append_element(text, "kind", 0);  // electricity
    text += "</ServiceCategory></UsagePoint>";
    close_entry(text, state.updated);

    open_entry(text, state.channel_id,
               {{"self", state.channel_href},
                {"up", meter_readings},
                {"related", reading_type},
                {"related", state.channel_href + "/IntervalBlock"}},
               channel.title, false);
    text += "<MeterReading xmlns=\"";
    text += kEspiNs;
    text += "\"/>";
    close_entry(text, state.updated);

    open_entry(text, info_.id + ":ReadingType:" + channel.meter_reading_id,
               {{"self", reading_type}, {"up", reading_types}}, "Energy delivered (Wh)", false);
    text += "<ReadingType xmlns=\"";
    text += kEspiNs;
    text += "\">";
    append_element(text, "accumulationBehaviour", 4);  // deltaData: energy within each interval
    append_element(text, "commodity", 1);              // electricity, secondary metered
    if (channel.currency)
        append_element(text, "currency", *channel.currency);  // ISO 4217 numeric: the unit of the readings' cost
    append_element(text, "dataQualifier", 12);                // normal
    append_element(text, "flowDirection", 1);                 // forward: delivered to the premises
    append_element(text, "intervalLength", channel.interval_length);
    append_element(text, "kind", 12);    // energy
    append_element(text, "phase", 769);  // S12N: North American split-phase service
    append_element(text, "powerOfTenMultiplier", 0);
    append_element(text, "timeAttribute", 0);
    append_element(text, "uom", 72);  // Wh
    text += "</ReadingType>";
    close_entry(text, state.updated);
    out_ << text;
}

void EspiWriter::begin_block(bool correction) {
    assert(state_->phase == State::Phase::channel && "begin_block outside a channel or inside a block");
    state_->phase = State::Phase::block;
    state_->correction = correction;
    state_->readings.clear();  // keeps its capacity: the largest block so far
}

void EspiWriter::add(const EspiInterval& interval) {
    auto& state = *state_;
    assert(state.phase == State::Phase::block && "add outside a block");
    assert((state.readings.empty() || interval.start > state.last_start) && "starts ascend within a block");
    assert(interval.value_wh >= -kInt48Max && interval.value_wh <= kInt48Max && "ESPI values are Int48");
    if (state.readings.empty()) {
        state.first_start = interval.start;
        state.end = interval.start + interval.duration;
    }
    state.last_start = interval.start;
    state.end = std::max(state.end, interval.start + interval.duration);

    auto& out = state.readings;
    out += "<IntervalReading>";
    if (interval.cost)
        append_element(out, "cost", *interval.cost);
    for (const auto quality : interval.qualities) {
        out += "<ReadingQuality>";
        append_element(out, "quality", quality);
        out += "</ReadingQuality>";
    }
    append_interval(out, "timePeriod", interval.duration, interval.start);
    append_element(out, "value", interval.value_wh);
    out += "</IntervalReading>\n";
}

void EspiWriter::end_block() {
    auto& state = *state_;
    assert(state.phase == State::Phase::block && "end_block without begin_block");
    state.phase = State::Phase::channel;
    // Nothing to say for a block without readings, and no span to give it.
    if (state.readings.empty())
        return;
    const std::string number = std::to_string(++state.blocks);
    const std::string blocks_href = state.channel_href + "/IntervalBlock";
    std::string text;
    open_entry(text, state.channel_id + ":IntervalBlock:" + number,
               {{"self", blocks_href + "/" + number}, {"up", blocks_href}},
               state.correction ? "Corrected intervals" : "Intervals", state.correction);
    text += "<IntervalBlock xmlns=\"";
    text += kEspiNs;
    text += "\">";
    assert(state.end - state.first_start <= std::int64_t{UINT32_MAX} && "a block spans at most UInt32 seconds");
    append_interval(text, "interval", state.end - state.first_start, state.first_start);
    text += '\n';
    out_ << text << state.readings;
    text.clear();
    text += "</IntervalBlock>";
    close_entry(text, state.updated);
    out_ << text;
}

void EspiWriter::end_channel() {
    assert(state_->phase == State::Phase::channel && "end_channel outside a channel or inside a block");
    state_->phase = State::Phase::feed;
}

void EspiWriter::finish() {
    assert(state_->phase == State::Phase::feed && "finish inside a channel or twice");
    state_->phase = State::Phase::finished;
    out_ << "</feed>\n";
    out_.flush();
}

std::vector<std::uint8_t> espi_qualities(std::uint16_t quality_flags) {
    // Bit 0 (valid) is ESPI's 0; bits 1-6 run in ESPI's order from 7 (manually edited) to 11 (derived: "calculated
    // using logic or mathematical operations") and 12 (projected: "a projection or forecast"). Reserved bits say
    // nothing about quality.
    static constexpr std::array<std::uint8_t, 7> kCodes{0, 7, 8, 9, 10, 11, 12};
    std::vector<std::uint8_t> codes;
    for (unsigned bit = 0; bit < kCodes.size(); ++bit)
        if ((quality_flags & (1U << bit)) != 0)
            codes.push_back(kCodes[bit]);
    if (codes.empty())
        codes.push_back(0);
    return codes;
}

}  // namespace mdm
