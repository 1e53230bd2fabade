#include "mdm/espi.hpp"

#include "calendar/local_days.hpp"
#include "espi_feed.hpp"
#include "headend/testing/sanitizers.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <streambuf>

namespace mdm {
namespace {

using namespace mdm::testing;  // NOLINT(google-build-using-namespace)

using namespace date::literals;

const std::int64_t kUpdated = date::sys_seconds{date::sys_days{2026_y / 3 / 10}}.time_since_epoch().count();
const std::string kBase = "https://headend.example/espi/1_1/resource";
const std::string kFeedId = "urn:pev-headend:mdm-export:espi:000042";

EspiFeedInfo feed_info(std::string zone = "America/Los_Angeles") {
    return {kFeedId, "PEV head-end interval export 42", kUpdated, kBase, std::move(zone)};
}

EspiChannel channel(std::string usage_point, std::string meter_reading, std::uint32_t length = 900) {
    return {std::move(usage_point), std::move(meter_reading), "PEV 3F2A at premises P-100", length, std::nullopt};
}

// ---------------------------------------------------------------- writing

struct BlockSpec {
    bool correction = false;
    std::vector<EspiInterval> intervals;
};

struct ChannelSpec {
    EspiChannel channel;
    std::vector<BlockSpec> blocks;
};

std::string write(const EspiFeedInfo& info, const std::vector<ChannelSpec>& channels) {
    std::ostringstream out;
    EspiWriter writer(out, info);
    for (const auto& spec : channels) {
        writer.begin_channel(spec.channel);
        for (const auto& block : spec.blocks) {
            writer.begin_block(block.correction);
            for (const auto& interval : block.intervals)
                writer.add(interval);
            writer.end_block();
        }
        writer.end_channel();
    }
    writer.finish();
    return out.str();
}

// `count` intervals of `length` seconds from `start`, values 100, 101, ..., all valid.
std::vector<EspiInterval> intervals(std::int64_t start, int count, std::uint32_t length = 900) {
    std::vector<EspiInterval> out;
    for (int i = 0; i < count; ++i)
        out.push_back({start + std::int64_t{i} * length, length, 100 + i, {0}, std::nullopt});
    return out;
}

const std::int64_t kDay = date::sys_seconds{date::sys_days{2026_y / 3 / 9}}.time_since_epoch().count() + 7 * 3600;

// ---------------------------------------------------------------- shapes

TEST(EspiWriter, OneChannelOneBlockValidatesAndReadsBackInOrder) {
    BlockSpec block{false,
                    {{kDay, 900, 1250, {0}, std::nullopt},
                     {kDay + 900, 900, 0, {0}, std::nullopt},
                     {kDay + 1800, 900, 1875, {8}, std::nullopt},
                     {kDay + 3600, 900, -20, {7, 10}, std::nullopt}}};  // a gap before the last one
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1"), {block}}});
    ASSERT_EQ(schema_errors(xml), "") << xml;

    const Feed feed(xml);
    std::vector<Reading> expected;
    for (const auto& interval : block.intervals)
        expected.push_back(reading(interval));
    EXPECT_EQ(readings(feed), expected);
    // The block's interval spans its readings, gap included.
    EXPECT_EQ(feed.number("//e:IntervalBlock/e:interval/e:start"), kDay);
    EXPECT_EQ(feed.number("//e:IntervalBlock/e:interval/e:duration"), 4500);
    EXPECT_EQ(feed.nodes("a:entry/a:category").size(), 0U);
}

TEST(EspiWriter, EntriesAreLinkedUsagePointToMeterReadingToReadingTypeAndBlocks) {
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, intervals(kDay, 4)}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);
    const std::string usage_point = kBase + "/UsagePoint/mup-7";
    const std::string meter_reading = usage_point + "/MeterReading/mmr-7-1";

    const auto entry = [&](const std::string& resource) {
        const auto found = feed.nodes("a:entry[a:content/e:" + resource + "]");
        return found.size() == 1 ? found.front() : nullptr;
    };
    const auto links = [&](const std::string& resource, const std::string& rel) {
        return feed.texts("a:link[@rel='" + rel + "']/@href", entry(resource));
    };
    using Hrefs = std::vector<std::string>;
    EXPECT_EQ(links("LocalTimeParameters", "self"), Hrefs{kBase + "/LocalTimeParameters/1"});
    EXPECT_EQ(links("LocalTimeParameters", "up"), Hrefs{kBase + "/LocalTimeParameters"});
    EXPECT_EQ(links("UsagePoint", "self"), Hrefs{usage_point});
    EXPECT_EQ(links("UsagePoint", "up"), Hrefs{kBase + "/UsagePoint"});
    EXPECT_EQ(links("UsagePoint", "related"), (Hrefs{usage_point + "/MeterReading", kBase + "/LocalTimeParameters/1"}));
    EXPECT_EQ(links("MeterReading", "self"), Hrefs{meter_reading});
    EXPECT_EQ(links("MeterReading", "up"), Hrefs{usage_point + "/MeterReading"});
    EXPECT_EQ(links("MeterReading", "related"),
              (Hrefs{kBase + "/ReadingType/mmr-7-1", meter_reading + "/IntervalBlock"}));
    EXPECT_EQ(links("ReadingType", "self"), Hrefs{kBase + "/ReadingType/mmr-7-1"});
    EXPECT_EQ(links("ReadingType", "up"), Hrefs{kBase + "/ReadingType"});
    EXPECT_EQ(links("IntervalBlock", "self"), Hrefs{meter_reading + "/IntervalBlock/1"});
    EXPECT_EQ(links("IntervalBlock", "up"), Hrefs{meter_reading + "/IntervalBlock"});

    // Entry order: LocalTimeParameters, then the channel's resources from the usage point down.
    const std::vector<std::string> order{"LocalTimeParameters", "UsagePoint", "MeterReading", "ReadingType",
                                         "IntervalBlock"};
    std::vector<std::string> names;
    for (auto* content : feed.nodes("a:entry/a:content/*"))
        names.emplace_back(reinterpret_cast<const char*>(content->name));
    EXPECT_EQ(names, order);

    EXPECT_EQ(feed.text("a:updated"), "2026-03-10T00:00:00Z");
    EXPECT_EQ(feed.texts("a:entry/a:updated"), std::vector<std::string>(5, "2026-03-10T00:00:00Z"));
    EXPECT_EQ(feed.texts("a:entry/a:published"), std::vector<std::string>(5, "2026-03-10T00:00:00Z"));
    EXPECT_EQ(
        feed.texts("a:entry/a:id"),
        (std::vector<std::string>{kFeedId + ":LocalTimeParameters:1", kFeedId + ":UsagePoint:mup-7",
                                  kFeedId + ":UsagePoint:mup-7:MeterReading:mmr-7-1", kFeedId + ":ReadingType:mmr-7-1",
                                  kFeedId + ":UsagePoint:mup-7:MeterReading:mmr-7-1:IntervalBlock:1"}));
}

TEST(EspiWriter, ReadingTypeIsDeltaEnergyInWhAtTheChannelsIntervalLength) {
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1", 300), {{false, intervals(kDay, 2, 300)}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);
    const std::vector<std::pair<std::string, std::int64_t>> expected{
        {"accumulationBehaviour", 4}, {"commodity", 1}, {"dataQualifier", 12}, {"flowDirection", 1},
        {"intervalLength", 300},      {"kind", 12},     {"phase", 769},        {"powerOfTenMultiplier", 0},
        {"timeAttribute", 0},         {"uom", 72}};
    std::vector<std::pair<std::string, std::int64_t>> fields;
    for (auto* field : feed.nodes("//e:ReadingType/*"))
        fields.emplace_back(reinterpret_cast<const char*>(field->name), feed.number(".", field));
    EXPECT_EQ(fields, expected);
    EXPECT_EQ(feed.number("//e:UsagePoint/e:ServiceCategory/e:kind"), 0);
}

TEST(EspiWriter, TwoChannelsKeepTheirBlocksApart) {
    const auto first = intervals(kDay, 3);
    const auto second = intervals(kDay + 2700, 2);
    const auto other = intervals(kDay, 5, 3600);
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, first}, {false, second}}},
                                         {channel("mup-8", "mmr-8-1", 3600), {{false, other}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);

    const auto blocks = feed.nodes("a:entry[a:content/e:IntervalBlock]");
    ASSERT_EQ(blocks.size(), 3U);
    const std::string mup7 = kBase + "/UsagePoint/mup-7/MeterReading/mmr-7-1/IntervalBlock/";
    const std::string mup8 = kBase + "/UsagePoint/mup-8/MeterReading/mmr-8-1/IntervalBlock/";
    EXPECT_EQ(feed.text("a:link[@rel='self']/@href", blocks[0]), mup7 + "1");
    EXPECT_EQ(feed.text("a:link[@rel='self']/@href", blocks[1]), mup7 + "2");
    EXPECT_EQ(feed.text("a:link[@rel='self']/@href", blocks[2]), mup8 + "1");
    const std::vector<std::pair<std::vector<EspiInterval>, xmlNode*>> expected{
        {first, blocks[0]}, {second, blocks[1]}, {other, blocks[2]}};
    for (const auto& [written, block] : expected) {
        std::vector<Reading> want;
        for (const auto& interval : written)
            want.push_back(reading(interval));
        EXPECT_EQ(readings(feed, feed.nodes("a:content/e:IntervalBlock", block).front()), want);
    }
    EXPECT_EQ(feed.number("//a:entry[a:link[@rel='self']/@href='" + kBase + "/ReadingType/mmr-8-1']//e:intervalLength"),
              3600);

    const auto ids = feed.texts("a:entry/a:id");
    EXPECT_EQ(ids.size(), 10U);  // LocalTimeParameters, 2 x (UsagePoint, MeterReading, ReadingType), 3 blocks
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(EspiWriter, OnlyACorrectionBlockCarriesTheCorrectionCategory) {
    const auto xml = write(
        feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, intervals(kDay, 2)}, {true, intervals(kDay + 1800, 2)}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);
    const auto categorized = feed.nodes("a:entry[a:category]");
    ASSERT_EQ(categorized.size(), 1U);
    EXPECT_EQ(feed.text("a:category/@term", categorized[0]), "correction");
    EXPECT_EQ(feed.text("a:category/@scheme", categorized[0]), "urn:pev-headend:export");
    EXPECT_EQ(feed.text("a:link[@rel='self']/@href", categorized[0]),
              kBase + "/UsagePoint/mup-7/MeterReading/mmr-7-1/IntervalBlock/2");
    EXPECT_EQ(feed.number("a:content/e:IntervalBlock/e:IntervalReading[1]/e:timePeriod/e:start", categorized[0]),
              kDay + 1800);
}

TEST(EspiWriter, CostsComeFirstInEachReadingAndTheCurrencyInTheReadingType) {
    EspiChannel priced = channel("mup-7", "mmr-7-1");
    priced.currency = 840;
    BlockSpec block{false, {{kDay, 900, 1000, {0}, 25'123}, {kDay + 900, 900, 500, espi_qualities(1U << 3), -4'000}}};
    const auto xml = write(feed_info(), {{priced, {block}}});
    ASSERT_EQ(schema_errors(xml), "") << xml;
    EXPECT_NE(xml.find("<commodity>1</commodity><currency>840</currency><dataQualifier>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<IntervalReading><cost>25123</cost><ReadingQuality><quality>0</quality>"), std::string::npos);
    EXPECT_NE(xml.find("<IntervalReading><cost>-4000</cost><ReadingQuality><quality>9</quality>"), std::string::npos);
    // Without costs (the MDM's files) neither element appears.
    const auto plain =
        write(feed_info(), {{channel("mup-7", "mmr-7-1"), {BlockSpec{false, {{kDay, 900, 1, {0}, std::nullopt}}}}}});
    EXPECT_EQ(plain.find("<cost>"), std::string::npos);
    EXPECT_EQ(plain.find("<currency>"), std::string::npos);
}

TEST(EspiWriter, EstimatedQualitiesAreWrittenBeforeEachTimePeriod) {
    BlockSpec block{false,
                    {{kDay, 900, 10, espi_qualities(0), std::nullopt},
                     {kDay + 900, 900, 11, espi_qualities(1U << 3), std::nullopt},
                     {kDay + 1800, 900, 12, espi_qualities(1U << 2), std::nullopt},
                     {kDay + 2700, 900, 13, espi_qualities((1U << 1) | (1U << 3)), std::nullopt}}};
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1"), {block}}});
    ASSERT_EQ(schema_errors(xml), "");
    const auto read = readings(Feed(xml));
    ASSERT_EQ(read.size(), 4U);
    EXPECT_EQ(read[0].qualities, std::vector<int>{0});
    EXPECT_EQ(read[1].qualities, std::vector<int>{9});
    EXPECT_EQ(read[2].qualities, std::vector<int>{8});
    EXPECT_EQ(read[3].qualities, (std::vector<int>{7, 9}));
    EXPECT_NE(xml.find("<ReadingQuality><quality>9</quality></ReadingQuality><timePeriod>"), std::string::npos);
}

TEST(EspiWriter, AFeedWithoutChannelsHoldsOnlyLocalTimeParameters) {
    const auto xml = write(feed_info(), {});
    ASSERT_EQ(schema_errors(xml), "") << xml;
    const Feed feed(xml);
    EXPECT_EQ(feed.text("a:id"), kFeedId);
    EXPECT_EQ(feed.nodes("a:entry").size(), 1U);
    EXPECT_EQ(feed.nodes("a:entry/a:content/e:LocalTimeParameters").size(), 1U);
}

TEST(EspiWriter, ABlockWithoutReadingsWritesNoEntry) {
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, {}}, {false, intervals(kDay, 1)}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);
    EXPECT_EQ(feed.texts("a:entry[a:content/e:IntervalBlock]/a:link[@rel='self']/@href"),
              std::vector<std::string>{kBase + "/UsagePoint/mup-7/MeterReading/mmr-7-1/IntervalBlock/1"});
}

TEST(EspiWriter, TextIsEscaped) {
    const std::string nasty = "A <b>&amp;</b> \"quoted\" 'single' ]]> end";
    auto info = feed_info();
    info.title = nasty;
    info.id = "urn:x:<&\"'>";
    info.base_href = "https://headend.example/espi?a=1&b=<2>";
    auto spec = channel("mup-7", "mmr-7-1");
    spec.title = nasty + "\r\n\tsecond line\x01";
    const auto xml = write(info, {{spec, {{false, intervals(kDay, 1)}}}});
    ASSERT_EQ(schema_errors(xml), "") << xml;
    const Feed feed(xml);
    EXPECT_EQ(feed.text("a:title"), nasty);
    EXPECT_EQ(feed.text("a:id"), info.id);
    EXPECT_EQ(feed.text("a:entry[a:content/e:UsagePoint]/a:title"), nasty + "\r\n\tsecond line\xEF\xBF\xBD");
    EXPECT_EQ(feed.text("a:entry[a:content/e:UsagePoint]/a:link[@rel='up']/@href"), info.base_href + "/UsagePoint");
    EXPECT_NE(xml.find("&lt;b&gt;&amp;amp;&lt;/b&gt; &quot;quoted&quot; &apos;single&apos; ]]&gt; end"),
              std::string::npos);
}

// ---------------------------------------------------------------- LocalTimeParameters

struct TimeParameters {
    std::int64_t tz_offset;
    std::int64_t dst_offset;
    std::string start_rule;
    std::string end_rule;
};

TimeParameters time_parameters(const std::string& zone, std::int64_t updated = kUpdated) {
    auto info = feed_info(zone);
    info.updated = updated;
    const auto xml = write(info, {});
    EXPECT_EQ(schema_errors(xml), "") << xml;
    const Feed feed(xml);
    const std::string ltp = "a:entry/a:content/e:LocalTimeParameters/e:";
    return {feed.number(ltp + "tzOffset"), feed.number(ltp + "dstOffset"), feed.text(ltp + "dstStartRule"),
            feed.text(ltp + "dstEndRule")};
}

// A DstRuleType read the way a receiver does (bit layout in schemas/espi.xsd): the local date and time in `year`.
date::local_seconds apply_rule(const std::string& hex, date::year year) {
    const auto rule = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
    const unsigned seconds = rule & 0xFFF, hours = (rule >> 12) & 0x1F, weekday = (rule >> 17) & 0x7;
    const unsigned day = (rule >> 20) & 0x1F, op = (rule >> 25) & 0x7, month = rule >> 28;
    const date::year_month ym = year / date::month{month};
    const date::weekday wd{weekday % 7};  // 1 Monday .. 7 Sunday
    date::sys_days when;
    if (op == 0)
        when = date::sys_days{ym / date::day{day}};
    else if (op == 1)
        when = date::sys_days{ym / date::day{day}} + (wd - date::weekday{date::sys_days{ym / date::day{day}}});
    else if (op == 7)
        when = date::sys_days{ym / date::weekday_last{wd}};
    else
        when = date::sys_days{ym / date::weekday_indexed{wd, op - 1}};
    return date::local_seconds{when.time_since_epoch()} + std::chrono::seconds{hours * 3600 + seconds};
}

date::local_seconds local(date::year_month_day day, int hour) {
    return date::local_days{day} + std::chrono::hours{hour};
}

TEST(LocalTimeParameters, LosAngelesIsPacificTimeWithUsRules) {
    const auto pacific = time_parameters("America/Los_Angeles");
    EXPECT_EQ(pacific.tz_offset, -28800);
    EXPECT_EQ(pacific.dst_offset, 3600);
    // Second Sunday of March and first Sunday of November, 02:00 local.
    EXPECT_EQ(pacific.start_rule, "360E2000");
    EXPECT_EQ(pacific.end_rule, "B40E2000");
    EXPECT_EQ(apply_rule(pacific.start_rule, 2026_y), local(2026_y / 3 / 8, 2));
    EXPECT_EQ(apply_rule(pacific.end_rule, 2026_y), local(2026_y / 11 / 1, 2));
    EXPECT_EQ(apply_rule(pacific.start_rule, 2027_y), local(2027_y / 3 / 14, 2));
    EXPECT_EQ(apply_rule(pacific.end_rule, 2027_y), local(2027_y / 11 / 7, 2));
}

TEST(LocalTimeParameters, BerlinChangesOnTheLastSundays) {
    const auto berlin = time_parameters("Europe/Berlin");
    EXPECT_EQ(berlin.tz_offset, 3600);
    EXPECT_EQ(berlin.dst_offset, 3600);
    EXPECT_EQ(berlin.start_rule, "3E0E2000");  // last Sunday of March, 02:00 CET
    EXPECT_EQ(berlin.end_rule, "AE0E3000");    // last Sunday of October, 03:00 CEST
    EXPECT_EQ(apply_rule(berlin.start_rule, 2026_y), local(2026_y / 3 / 29, 2));
    EXPECT_EQ(apply_rule(berlin.end_rule, 2026_y), local(2026_y / 10 / 25, 3));
}

// The zone's rules, applied to each year in [from, to), give the wall-clock time just before the tz database's
// changes.
void expect_rules_follow_tz(const std::string& name, int from, int to) {
    const auto parameters = time_parameters(name);
    const auto* zone = date::locate_zone(name);
    for (int y = from; y < to; ++y) {
        for (const auto& [rule, into_dst] : {std::pair{parameters.start_rule, true}, {parameters.end_rule, false}}) {
            const auto wall = apply_rule(rule, date::year{y});
            // Just before the change the offset is the one being left.
            const auto before = into_dst ? parameters.tz_offset : parameters.tz_offset + parameters.dst_offset;
            const date::sys_seconds change{(wall - std::chrono::seconds{before}).time_since_epoch()};
            EXPECT_EQ(zone->get_info(change - std::chrono::seconds{1}).offset.count(), before)
                << name << " " << y << " " << rule;
            EXPECT_EQ(zone->get_info(change).offset.count(),
                      into_dst ? before + parameters.dst_offset : parameters.tz_offset)
                << name << " " << y << " " << rule;
        }
    }
}

// n-th and last weekdays (most zones), a weekday on or after a day (Jerusalem's Fri>=23, Santiago's Sun>=2), and
// changes given in UTC (Europe) or standard time (Sydney, Auckland): ten years ahead.
TEST(LocalTimeParameters, RulesFollowTheTzDatabaseForYearsAhead) {
    for (const std::string name :
         {"America/Los_Angeles", "America/New_York", "Europe/Berlin", "Europe/London", "Europe/Dublin",
          "Australia/Sydney", "Asia/Jerusalem", "America/Santiago", "Pacific/Auckland"})
        expect_rules_follow_tz(name, 2026, 2036);
}

// Morocco's changes follow Ramadan, with no weekly pattern: this year's dates, valid this year only.
TEST(LocalTimeParameters, ChangesWithoutAWeeklyPatternAreThisYearsDates) {
    expect_rules_follow_tz("Africa/Casablanca", 2026, 2027);
    const auto casablanca = time_parameters("Africa/Casablanca");
    EXPECT_EQ((std::stoul(casablanca.start_rule, nullptr, 16) >> 25) & 0x7, 0U);  // operator 0: a day of the month
}

TEST(LocalTimeParameters, DublinsWinterIsStandardTimeHere) {
    // The tz database marks Irish winter time as the DST period (negative saving); ESPI receivers expect summer time.
    const auto dublin = time_parameters("Europe/Dublin");
    EXPECT_EQ(dublin.tz_offset, 0);
    EXPECT_EQ(dublin.dst_offset, 3600);
    EXPECT_EQ(apply_rule(dublin.start_rule, 2026_y), local(2026_y / 3 / 29, 1));
}

TEST(LocalTimeParameters, AZoneWithoutDstHasNoRules) {
    const auto tokyo = time_parameters("Asia/Tokyo");
    EXPECT_EQ(tokyo.tz_offset, 32400);
    EXPECT_EQ(tokyo.dst_offset, 0);
    EXPECT_EQ(tokyo.start_rule, "FFFFFFFF");  // DstRuleType: DST correction disabled
    EXPECT_EQ(tokyo.end_rule, "FFFFFFFF");
    const auto utc = time_parameters("Etc/UTC");
    EXPECT_EQ(utc.tz_offset, 0);
    EXPECT_EQ(utc.dst_offset, 0);
    EXPECT_EQ(utc.start_rule, "FFFFFFFF");
}

TEST(LocalTimeParameters, TheRulesAreThoseOfTheFeedsYear) {
    // US DST ran from the first Sunday of April to the last Sunday of October until 2006.
    const auto pacific = time_parameters("America/Los_Angeles",
                                         date::sys_seconds{date::sys_days{2005_y / 6 / 1}}.time_since_epoch().count());
    EXPECT_EQ(apply_rule(pacific.start_rule, 2005_y), local(2005_y / 4 / 3, 2));
    EXPECT_EQ(apply_rule(pacific.end_rule, 2005_y), local(2005_y / 10 / 30, 2));
}

TEST(LocalTimeParameters, AnUnknownZoneIsRefused) {
    std::ostringstream out;
    EXPECT_THROW(EspiWriter(out, feed_info("Mars/Olympus_Mons")), std::runtime_error);
    EXPECT_EQ(out.str(), "");
}

// ---------------------------------------------------------------- DST days

// Hourly intervals over a local day, written as UTC starts: every hour stays its own reading.
void expect_local_day_kept(const std::string& day, int hours) {
    const calendar::LocalDays pacific("America/Los_Angeles");
    const auto [start, end] = pacific.bounds(*calendar::LocalDays::parse(day));
    ASSERT_EQ(end - start, hours * 3600);
    const auto written = intervals(start, hours, 3600);
    const auto xml = write(feed_info(), {{channel("mup-7", "mmr-7-1", 3600), {{false, written}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const Feed feed(xml);
    const auto read = readings(feed);
    ASSERT_EQ(read.size(), static_cast<std::size_t>(hours));
    for (int i = 0; i < hours; ++i) {
        EXPECT_EQ(read[static_cast<std::size_t>(i)].start, start + i * 3600) << day << " hour " << i;
        EXPECT_EQ(read[static_cast<std::size_t>(i)].duration, 3600);
        EXPECT_EQ(read[static_cast<std::size_t>(i)].value, 100 + i);
    }
    EXPECT_EQ(feed.number("//e:IntervalBlock/e:interval/e:start"), start);
    EXPECT_EQ(feed.number("//e:IntervalBlock/e:interval/e:duration"), end - start);
}

TEST(EspiWriter, SpringForwardDayKeepsAll23Hours) {
    expect_local_day_kept("2026-03-08", 23);
}

TEST(EspiWriter, FallBackDayKeepsAll25Hours) {
    expect_local_day_kept("2026-11-01", 25);
}

// ---------------------------------------------------------------- streaming

// Counts what is written and how many IntervalReadings it holds, storing nothing.
class CountingBuffer : public std::streambuf {
public:
    std::uint64_t bytes = 0;
    std::uint64_t readings = 0;

protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof()))
            see(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* text, std::streamsize count) override {
        for (std::streamsize i = 0; i < count; ++i)
            see(text[i]);
        return count;
    }

private:
    // "<IntervalReading>" has no '<' after its first character, so a mismatch restarts at most at a '<'.
    static constexpr std::string_view kTag = "<IntervalReading>";
    void see(char c) {
        ++bytes;
        matched_ = c == kTag[matched_] ? matched_ + 1 : (c == '<' ? 1 : 0);
        if (matched_ == kTag.size()) {
            ++readings;
            matched_ = 0;
        }
    }
    std::size_t matched_ = 0;
};

using headend::testing::kAddressSanitizer;

// Peak resident memory in KiB, reset first where the kernel allows (clear_refs 5).
std::int64_t peak_kib(bool reset) {
    if (reset)
        std::ofstream("/proc/self/clear_refs") << "5";
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stoll(line.substr(6));
    return -1;
}

TEST(EspiWriter, AMillionIntervalsStreamInBoundedMemory) {
    constexpr int kIntervals = 1'000'000;
    constexpr int kPerBlock = 96;  // one day of 15-minute intervals
    CountingBuffer counter;
    std::ostream out(&counter);
    const auto before = peak_kib(true);
    ASSERT_GT(before, 0);
    std::uint64_t bytes_halfway = 0;
    {
        EspiWriter writer(out, feed_info());
        writer.begin_channel(channel("mup-7", "mmr-7-1"));
        EspiInterval interval{kDay, 900, 0, {0}, std::nullopt};
        for (int i = 0; i < kIntervals; ++i) {
            if (i % kPerBlock == 0)
                writer.begin_block(false);
            interval.start += 900;
            interval.value_wh = i % 7000;
            writer.add(interval);
            if (i % kPerBlock == kPerBlock - 1 || i == kIntervals - 1)
                writer.end_block();
            if (i == kIntervals / 2)
                bytes_halfway = counter.bytes;
        }
        writer.end_channel();
        writer.finish();
    }
    EXPECT_EQ(counter.readings, static_cast<std::uint64_t>(kIntervals));
    // Written as it goes: half the intervals are out by the time half are added (give or take one block).
    EXPECT_GT(bytes_halfway, counter.bytes * 2 / 5);
    // ASan holds freed memory in quarantine on purpose, so there the peak says nothing about what the writer keeps.
    if (!kAddressSanitizer) {
        // Storing the intervals would take well over 50 MiB; one block's text is a few KiB.
        const auto growth = peak_kib(false) - before;
        EXPECT_LT(growth, 4 * 1024) << "VmHWM grew by " << growth << " KiB";
    }
}

// ---------------------------------------------------------------- the schema itself

TEST(EspiSchema, RejectsReadingQualityAfterTimePeriod) {
    const auto xml =
        write(feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, {{kDay, 900, 5, {9}, std::nullopt}}}}}});
    ASSERT_EQ(schema_errors(xml), "");
    const std::string start = std::to_string(kDay);
    const std::string quality = "<ReadingQuality><quality>9</quality></ReadingQuality>";
    const std::string period = "<timePeriod><duration>900</duration><start>" + start + "</start></timePeriod>";
    auto swapped = xml;
    const auto at = swapped.find(quality + period);
    ASSERT_NE(at, std::string::npos);
    swapped.replace(at, quality.size() + period.size(), period + quality);
    EXPECT_NE(schema_errors(swapped), "");
}

TEST(EspiSchema, RejectsAnUnknownQualityAndAForeignContent) {
    const auto xml =
        write(feed_info(), {{channel("mup-7", "mmr-7-1"), {{false, {{kDay, 900, 5, {9}, std::nullopt}}}}}});
    auto bad_quality = xml;
    bad_quality.replace(bad_quality.find("<quality>9<"), 11, "<quality>5<");
    EXPECT_NE(schema_errors(bad_quality), "");
    auto foreign = xml;
    foreign.replace(foreign.find("<MeterReading xmlns=\"http://naesb.org/espi\"/>"), 45, "<MeterReading/>");
    EXPECT_NE(schema_errors(foreign), "");
}

// ---------------------------------------------------------------- qualities

TEST(EspiQualities, MapsQualityFlagsBitByBit) {
    using Codes = std::vector<std::uint8_t>;
    EXPECT_EQ(espi_qualities(0), Codes{0});
    EXPECT_EQ(espi_qualities(1U << 0), Codes{0});
    EXPECT_EQ(espi_qualities(1U << 1), Codes{7});
    EXPECT_EQ(espi_qualities(1U << 2), Codes{8});
    EXPECT_EQ(espi_qualities(1U << 3), Codes{9});
    EXPECT_EQ(espi_qualities(1U << 4), Codes{10});
    EXPECT_EQ(espi_qualities(1U << 5), Codes{11});
    EXPECT_EQ(espi_qualities(1U << 6), Codes{12});
    EXPECT_EQ(espi_qualities((1U << 1) | (1U << 3)), (Codes{7, 9}));
    EXPECT_EQ(espi_qualities(1U << 7), Codes{0});  // reserved bits say nothing
}

// ---------------------------------------------------------------- misuse

#ifdef NDEBUG
TEST(EspiWriterDeathTest, MisuseAsserts) {
    GTEST_SKIP() << "asserts are compiled out (NDEBUG)";
}
#else
TEST(EspiWriterDeathTest, MisuseAsserts) {
    const auto misuse = [](auto steps) {
        std::ostringstream out;
        EspiWriter writer(out, feed_info());
        steps(writer);
    };
    EXPECT_DEATH(misuse([](EspiWriter& w) { w.add({kDay, 900, 1, {0}, std::nullopt}); }), "add outside a block");
    EXPECT_DEATH(misuse([](EspiWriter& w) {
                     w.begin_channel(channel("mup-7", "mmr-7-1"));
                     w.begin_block(false);
                     w.add({kDay, 900, 1, {0}, std::nullopt});
                     w.add({kDay - 900, 900, 1, {0}, std::nullopt});
                 }),
                 "starts ascend");
    EXPECT_DEATH(misuse([](EspiWriter& w) {
                     w.finish();
                     w.finish();
                 }),
                 "twice");
    EXPECT_DEATH(misuse([](EspiWriter& w) { w.begin_channel(channel("mup 7", "mmr-7-1")); }), "url_safe");
}
#endif

}  // namespace
}  // namespace mdm
