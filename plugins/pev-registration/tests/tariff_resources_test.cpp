#include "pev/tariff_resources.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "headend/testing/fakes.hpp"
#include "sep/codec.hpp"
#include "sep/plugin_codec.hpp"

namespace pev {
namespace {

using headend::coap::Code;
using headend::coap::Method;
using headend::coap::Request;
using headend::coap::Response;

constexpr std::int64_t kNoonPdt = 1'782'932'400;      // 2026-07-01T19:00:00Z, a Wednesday, 12:00 local
constexpr std::int64_t kMidnightPdt = 1'782'889'200;  // 2026-07-01T07:00:00Z = 00:00 local
constexpr std::int64_t kOnPeakStart = 1'782'946'800;  // 2026-07-01T23:00:00Z = 16:00 local
constexpr std::int64_t kHorizon = 48 * 3600;

class TariffResourcesTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto catalog = tariff::load_catalog(PROGRAMS_FILE);
        ASSERT_TRUE(catalog) << catalog.error().message;
        catalog_.replace(tariff::Versions({std::make_shared<const tariff::Version>(1, std::move(*catalog))}));
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec) << codec.error().message;
        schema_ = *codec;
        sep_ = sep::make_plugin_codec(schema_);
        tariffs_ =
            std::make_unique<TariffResources>(catalog_, *sep_, clock_, TariffResourceSettings{kHorizon, 32473, 255});
        tariffs_->add_to(resources_);
    }

    // Runs the handler of the most specific pattern for `path`, the way the host's router would.
    Response get(const std::string& path, const std::map<std::string, std::string>& query = {},
                 Method method = Method::Get) {
        Request request;
        request.method = method;
        request.path = path;
        request.query = query;
        for (std::size_t at = 1; at <= path.size();) {
            const auto next = path.find('/', at);
            request.segments.push_back(path.substr(at, next == std::string::npos ? std::string::npos : next - at));
            at = next == std::string::npos ? path.size() + 1 : next + 1;
        }
        const std::string pattern = pattern_of(request.segments);
        Response response;
        resources_.handlers.at(pattern)(request, [&](Response answer) { response = std::move(answer); });
        if (response.code == Code::Content) {
            auto valid = schema_->validate(response.body);
            EXPECT_TRUE(valid) << path << ": " << (valid ? "" : valid.error().message) << "\n" << response.body;
        }
        return response;
    }

    static std::string pattern_of(const std::vector<std::string>& segments) {
        static const std::vector<std::string> kNames = {"", "{program}", "", "{component}", "", "{start}", ""};
        std::string pattern;
        for (std::size_t i = 0; i < segments.size(); ++i)
            pattern += "/" + (kNames.at(i).empty() ? segments[i] : kNames[i]);
        return pattern;
    }

    template <typename T>
    T decode(const Response& response) {
        EXPECT_EQ(response.code, Code::Content);
        auto document = sep_->decode<T>(response.body);
        EXPECT_TRUE(document) << (document ? "" : document.error().message) << "\n" << response.body;
        return document ? std::move(*document) : T{};
    }

    CatalogVersions catalog_{tariff::Versions()};
    headend::testing::FixedClock clock_{kNoonPdt};
    headend::testing::FakeResources resources_;
    std::shared_ptr<const sep::Codec> schema_;
    std::unique_ptr<headend::plugin::SepCodec> sep_;
    std::unique_ptr<TariffResources> tariffs_;
};

TEST_F(TariffResourcesTest, ListsEveryProgramAsATariffProfile) {
    const auto list = decode<sep::TariffProfileList>(get("/tp", {{"l", "255"}}));
    EXPECT_EQ(list.all, 2U);
    ASSERT_EQ(list.tariff_profiles.size(), 2U);
    const auto& ev = list.tariff_profiles[0];
    EXPECT_EQ(ev.href, "/tp/EV-TOU");
    EXPECT_EQ(ev.rate_code, "EV-TOU");
    EXPECT_EQ(ev.currency, 840);
    EXPECT_EQ(ev.price_power_of_ten_multiplier, -5);
    EXPECT_EQ(ev.rate_component_list_link, (sep::ListLink{"/tp/EV-TOU/rc", 1}));
    EXPECT_TRUE(ev.mrid.ends_with("00007ED9"));  // the configured PEN, 32473
    EXPECT_NE(ev.mrid, list.tariff_profiles[1].mrid);
    // 2030.5 lists default to one item.
    EXPECT_EQ(decode<sep::TariffProfileList>(get("/tp")).tariff_profiles.size(), 1U);
    EXPECT_EQ(decode<sep::TariffProfile>(get("/tp/DOM-FLAT")), list.tariff_profiles[1]);
}

TEST_F(TariffResourcesTest, RateComponentAndReadingTypeDescribeEnergyPrices) {
    const auto components = decode<sep::RateComponentList>(get("/tp/EV-TOU/rc", {{"l", "10"}}));
    ASSERT_EQ(components.rate_components.size(), 1U);
    const auto& component = components.rate_components[0];
    EXPECT_EQ(component.href, "/tp/EV-TOU/rc/1");
    EXPECT_EQ(component.reading_type_link.href, "/tp/EV-TOU/rc/1/rt");
    EXPECT_EQ(component.time_tariff_interval_list_link.href, "/tp/EV-TOU/rc/1/tti");
    EXPECT_EQ(decode<sep::RateComponent>(get("/tp/EV-TOU/rc/1")), component);
    const auto type = decode<sep::ReadingType>(get("/tp/EV-TOU/rc/1/rt"));
    EXPECT_EQ(type.uom, 72);
    EXPECT_EQ(type.kind, 12);
    EXPECT_EQ(type.power_of_ten_multiplier, 3);  // prices are per kWh
    EXPECT_EQ(type.number_of_tou_tiers, 5);
}

TEST_F(TariffResourcesTest, TimeTariffIntervalsRunFromTheCurrentPeriodToTheHorizon) {
    const auto list = decode<sep::TimeTariffIntervalList>(get("/tp/EV-TOU/rc/1/tti", {{"l", "255"}}));
    ASSERT_GE(list.time_tariff_intervals.size(), 4U);
    EXPECT_EQ(list.all, list.time_tariff_intervals.size());
    const auto& current = list.time_tariff_intervals[0];
    // Off-peak since 21:00 yesterday; intervals never cross local midnight, so this one began then.
    EXPECT_EQ(current.interval.start, kMidnightPdt);
    EXPECT_EQ(current.description, "off-peak");
    EXPECT_EQ(current.event_status.current_status, 1);  // active
    EXPECT_EQ(current.tou_tier, 2);
    const auto& peak = list.time_tariff_intervals[1];
    EXPECT_EQ(peak.interval.start, kOnPeakStart);
    EXPECT_EQ(peak.interval.duration, 5U * 3600);
    EXPECT_EQ(peak.description, "on-peak");
    EXPECT_EQ(peak.event_status.current_status, 0);  // scheduled
    EXPECT_EQ(peak.tou_tier, 5);
    EXPECT_EQ(peak.href, "/tp/EV-TOU/rc/1/tti/" + std::to_string(kOnPeakStart));
    // Contiguous up to the horizon.
    for (std::size_t i = 1; i < list.time_tariff_intervals.size(); ++i) {
        const auto& before = list.time_tariff_intervals[i - 1].interval;
        EXPECT_EQ(before.start + before.duration, list.time_tariff_intervals[i].interval.start);
    }
    // Up to the horizon: the last one starts before it, and is whole.
    const auto& last = list.time_tariff_intervals.back().interval;
    EXPECT_LT(last.start, kNoonPdt + kHorizon);
    EXPECT_GE(last.start + last.duration, kNoonPdt + kHorizon);

    const auto active = decode<sep::TimeTariffIntervalList>(get("/tp/EV-TOU/rc/1/acttti", {{"l", "10"}}));
    ASSERT_EQ(active.time_tariff_intervals.size(), 1U);
    EXPECT_EQ(active.time_tariff_intervals[0], current);
    EXPECT_EQ(decode<sep::TimeTariffInterval>(get(*peak.href)), peak);
}

TEST_F(TariffResourcesTest, EachIntervalCarriesItsPrice) {
    const std::string peak = "/tp/EV-TOU/rc/1/tti/" + std::to_string(kOnPeakStart);
    const auto prices = decode<sep::ConsumptionTariffIntervalList>(get(peak + "/cti", {{"l", "5"}}));
    ASSERT_EQ(prices.consumption_tariff_intervals.size(), 1U);
    EXPECT_EQ(prices.consumption_tariff_intervals[0].price, 56368);  // 0.56368 $/kWh at 10^-5
    EXPECT_EQ(prices.href, peak + "/cti");
    const auto flat = decode<sep::TimeTariffIntervalList>(get("/tp/DOM-FLAT/rc/1/tti", {{"l", "5"}}));
    ASSERT_EQ(flat.time_tariff_intervals.size(), 3U);  // today, tomorrow, and the day the horizon falls in
    const auto flat_prices =
        decode<sep::ConsumptionTariffIntervalList>(get(*flat.time_tariff_intervals[0].href + "/cti", {{"l", "5"}}));
    EXPECT_EQ(flat_prices.consumption_tariff_intervals.at(0).price, 32000);
}

// A version loaded with a new on-peak price from 2 July: the list handed out on 1 July shows today's on-peak at the old
// price and tomorrow's at the new one, each interval priced by the version in force at its start.
TEST_F(TariffResourcesTest, IntervalsAreServedFromTheVersionInForceAtTheirStart) {
    std::ifstream in(PROGRAMS_FILE);
    std::stringstream text;
    text << in.rdbuf();
    std::string next = text.str();
    next.replace(next.find("time_zone = "), 0, "effective_from = \"2026-07-02\"\n");
    next.replace(next.find("\"0.56368\""), 9, "\"0.60000\"");
    auto v2 = tariff::parse_catalog(next, "v2.toml");
    ASSERT_TRUE(v2) << v2.error().message;
    catalog_.replace(catalog_.snapshot().with(std::make_shared<const tariff::Version>(2, std::move(*v2))));

    const auto list = decode<sep::TimeTariffIntervalList>(get("/tp/EV-TOU/rc/1/tti", {{"l", "255"}}));
    std::vector<std::int32_t> on_peak_prices;
    for (const auto& interval : list.time_tariff_intervals) {
        if (interval.description != "on-peak")
            continue;
        const auto prices = decode<sep::ConsumptionTariffIntervalList>(get(*interval.href + "/cti", {{"l", "1"}}));
        on_peak_prices.push_back(prices.consumption_tariff_intervals.at(0).price.value_or(-1));
    }
    EXPECT_EQ(on_peak_prices, (std::vector<std::int32_t>{56368, 60000}));  // Wednesday 1 and Thursday 2 July
}

// From the CSIP-AUS procedures: DOM-FLAT's current interval started "24 h ago", so its href, mRID and creationTime
// changed on every poll and links handed out answered 4.04 seconds later. A flat rate's interval is the local day.
TEST_F(TariffResourcesTest, AFlatRatesIntervalKeepsItsIdentityFromPollToPoll) {
    const auto first = decode<sep::TimeTariffIntervalList>(get("/tp/DOM-FLAT/rc/1/tti", {{"l", "1"}}));
    ASSERT_EQ(first.time_tariff_intervals.size(), 1U);
    const auto today = first.time_tariff_intervals[0];
    EXPECT_EQ(today.interval.start, kMidnightPdt);
    EXPECT_EQ(today.interval.duration, 24U * 3600);
    clock_.set(kNoonPdt + 3 * 3600 + 17);
    const auto later = decode<sep::TimeTariffIntervalList>(get("/tp/DOM-FLAT/rc/1/tti", {{"l", "1"}}));
    ASSERT_EQ(later.time_tariff_intervals.size(), 1U);
    EXPECT_EQ(later.time_tariff_intervals[0].href, today.href);
    EXPECT_EQ(later.time_tariff_intervals[0].mrid, today.mrid);
    EXPECT_EQ(later.time_tariff_intervals[0].creation_time, today.creation_time);
    EXPECT_EQ(later.time_tariff_intervals[0].interval, today.interval);
    // The link handed out still answers, and so does the price under it.
    EXPECT_EQ(get(*today.href).code, Code::Content);
    EXPECT_EQ(get(*today.href + "/cti").code, Code::Content);
}

// The list's representation stays the same from second to second until a period begins or ends, so a device's
// Block2 transfer of it (the ETag of each block) survives the clock ticking under it.
TEST_F(TariffResourcesTest, TheIntervalListReadsTheSameUntilAPeriodChanges) {
    const auto first = get("/tp/EV-TOU/rc/1/tti", {{"l", "255"}});
    clock_.set(kNoonPdt + 17);
    const auto later = get("/tp/EV-TOU/rc/1/tti", {{"l", "255"}});
    EXPECT_EQ(later.body, first.body);
    const auto list = decode<sep::TimeTariffIntervalList>(later);
    ASSERT_FALSE(list.time_tariff_intervals.empty());
    const auto& current = list.time_tariff_intervals[0];
    EXPECT_EQ(current.event_status.current_status, 1);  // active
    EXPECT_EQ(current.event_status.date_time, current.interval.start);
    EXPECT_EQ(list.time_tariff_intervals[1].event_status.date_time, list.time_tariff_intervals[1].creation_time);
}

// From review: with a horizon shorter than a day, the current interval was cut at the horizon and its duration
// changed from poll to poll.
TEST_F(TariffResourcesTest, AHorizonShorterThanADayServesTheCurrentIntervalWhole) {
    tariffs_ =
        std::make_unique<TariffResources>(catalog_, *sep_, clock_, TariffResourceSettings{12 * 3600, 32473, 255});
    tariffs_->add_to(resources_);  // its handlers replace the 48-hour ones
    const auto response = get("/tp/DOM-FLAT/rc/1/tti", {{"l", "5"}});
    const auto list = decode<sep::TimeTariffIntervalList>(response);
    ASSERT_EQ(list.time_tariff_intervals.size(), 1U);
    EXPECT_EQ(list.time_tariff_intervals[0].interval.start, kMidnightPdt);
    EXPECT_EQ(list.time_tariff_intervals[0].interval.duration, 24U * 3600);
}

TEST_F(TariffResourcesTest, UnknownThingsAreNotFoundAndWritesNotAllowed) {
    EXPECT_EQ(get("/tp/NOPE").code, Code::NotFound);
    EXPECT_EQ(get("/tp/EV-TOU/rc/2").code, Code::NotFound);
    EXPECT_EQ(get("/tp/EV-TOU/rc/1/tti/" + std::to_string(kOnPeakStart + 900)).code, Code::NotFound);
    EXPECT_EQ(get("/tp/EV-TOU/rc/1/tti/soon").code, Code::NotFound);
    EXPECT_EQ(get("/tp/EV-TOU/rc/1/tti", {{"l", "many"}}).code, Code::BadRequest);
    EXPECT_EQ(get("/tp", {}, Method::Post).code, Code::MethodNotAllowed);
    EXPECT_EQ(get("/tp/EV-TOU/rc/1/tti", {}, Method::Delete).code, Code::MethodNotAllowed);
}

}  // namespace
}  // namespace pev
