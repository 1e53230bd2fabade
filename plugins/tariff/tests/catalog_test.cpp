#include "tariff/catalog.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tariff {
namespace {

constexpr const char* kMinimal = R"(
time_zone = "UTC"
[[programs]]
id = "FLAT"
[[programs.seasons]]
name = "all"
periods = [{ name = "flat", from = "00:00", to = "24:00", price = "0.32" }]
)";

std::string minimal_with(const std::string& from, const std::string& to) {
    std::string text = kMinimal;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
}

// The message of a refused catalog; fails the test if it was accepted.
std::string refusal(const std::string& text) {
    auto catalog = parse_catalog(text, "programs.toml");
    EXPECT_FALSE(catalog);
    return catalog ? std::string() : catalog.error().message;
}

TEST(CatalogTest, ShippedCatalogHoldsTheProgramTariffsExactly) {
    auto catalog = load_catalog(PROGRAMS_FILE);
    ASSERT_TRUE(catalog) << catalog.error().message;
    EXPECT_EQ(catalog->time_zone, "America/Los_Angeles");
    EXPECT_EQ(catalog->holidays.rules.size(), 8U);
    EXPECT_TRUE(catalog->holidays.sunday_observed_on_monday);

    const Program* ev = catalog->find("EV-TOU");
    ASSERT_NE(ev, nullptr);
    EXPECT_TRUE(ev->enrollable);
    EXPECT_EQ(ev->currency, 840);
    EXPECT_EQ(ev->fixed_charge_per_day, 51600);
    ASSERT_EQ(ev->seasons.size(), 2U);
    const Season& summer = ev->seasons[0];
    EXPECT_EQ(summer.name, "summer");
    EXPECT_EQ(summer.from_month * 100 + summer.from_day, 601);
    EXPECT_EQ(summer.to_month * 100 + summer.to_day, 930);
    ASSERT_EQ(summer.periods.size(), 3U);
    EXPECT_EQ(summer.periods[0].price, 56368);
    EXPECT_EQ(summer.periods[0].days, DaySet::Weekdays);
    EXPECT_EQ(summer.periods[0].from_minute, 16 * 60);
    EXPECT_EQ(summer.periods[0].to_minute, 21 * 60);
    EXPECT_EQ(summer.periods[1].price, 38128);
    EXPECT_EQ(summer.periods[2].price, 26322);
    // Tiers rank the program's distinct prices: 0.24490 < 0.26322 < 0.38128 < 0.53340 < 0.56368.
    EXPECT_EQ(summer.periods[0].tier, 5);
    EXPECT_EQ(summer.periods[2].tier, 2);
    EXPECT_EQ(ev->seasons[1].periods[1].tier, 1);
    EXPECT_EQ(ev->seasons[1].periods[2].tier, 1);

    const Program* flat = catalog->find("DOM-FLAT");
    ASSERT_NE(flat, nullptr);
    EXPECT_FALSE(flat->enrollable);
    EXPECT_EQ(flat->seasons.at(0).periods.at(0).price, 32000);
    EXPECT_EQ(catalog->find("NOPE"), nullptr);
}

TEST(CatalogTest, MinimalCatalogHasDefaults) {
    auto catalog = parse_catalog(kMinimal, "programs.toml");
    ASSERT_TRUE(catalog) << catalog.error().message;
    const Program& program = catalog->programs.at(0);
    EXPECT_EQ(program.description, "FLAT");
    EXPECT_FALSE(program.enrollable);
    EXPECT_EQ(program.currency, 840);
    EXPECT_TRUE(catalog->holidays.rules.empty());
    EXPECT_EQ(program.seasons.at(0).periods.at(0).tier, 1);
}

TEST(CatalogTest, RefusalsNameFileKeyAndReason) {
    EXPECT_EQ(refusal("time_zone = "),
              "programs.toml: syntax: 1:13: Error while parsing key-value pair: encountered end-of-file");
    EXPECT_EQ(refusal(minimal_with("\"UTC\"", "\"Mars/Olympus\"")),
              "programs.toml: time_zone: unknown time zone 'Mars/Olympus'");
    EXPECT_EQ(refusal(minimal_with("id = \"FLAT\"", "id = \"FLAT\"\ncolour = 1")),
              "programs.toml: programs[0].colour: unknown key");
    EXPECT_EQ(refusal(minimal_with("\"0.32\"", "\"0.123456\"")),
              "programs.toml: programs[0].seasons[0].periods[0].price: expected a decimal string with at most 5 "
              "decimals, like \"0.26322\", not '0.123456'");
    EXPECT_EQ(refusal(minimal_with("\"0.32\"", "0.32")),
              "programs.toml: programs[0].seasons[0].periods[0].price: expected a string");
    EXPECT_EQ(refusal(minimal_with("\"24:00\"", "\"23:50\"")),
              "programs.toml: programs[0].seasons[0].periods[0].to: times must fall on the quarter hour");
    EXPECT_EQ(refusal(minimal_with("\"24:00\"", "\"25:00\"")),
              "programs.toml: programs[0].seasons[0].periods[0].to: expected HH:MM from 00:00 to 24:00, not '25:00'");
    EXPECT_EQ(refusal(minimal_with("\"24:00\"", "\"16:00\"")),
              "programs.toml: programs[0].seasons[0].periods: no period covers 16:00 on weekdays");
    EXPECT_EQ(refusal(minimal_with("from = \"00:00\"", "days = \"weekdays\", from = \"00:00\"")),
              "programs.toml: programs[0].seasons[0].periods: no period covers 00:00 on weekends and holidays");
    EXPECT_EQ(refusal(minimal_with("name = \"all\"", "name = \"all\"\nfrom = \"02-01\"")),
              "programs.toml: programs[0].seasons: 01-01 is in no season");
    EXPECT_EQ(refusal(minimal_with("name = \"all\"", "name = \"all\"\nto = \"02-30\"")),
              "programs.toml: programs[0].seasons[0].to: expected MM-DD, not '02-30'");
    EXPECT_EQ(refusal(std::string(kMinimal) + R"(
[[programs]]
id = "FLAT"
[[programs.seasons]]
name = "all"
periods = [{ name = "flat", from = "00:00", to = "24:00", price = "0.30" }]
)"),
              "programs.toml: programs[1].id: program 'FLAT' is defined twice");
    EXPECT_EQ(refusal(minimal_with("[[programs]]", "[holidays]\nrules = [\"easter\"]\n[[programs]]")),
              "programs.toml: holidays.rules[0]: unknown holiday 'easter'");
    EXPECT_EQ(refusal(minimal_with("[[programs]]", "[holidays]\ndates = [\"2026-13-01\"]\n[[programs]]")),
              "programs.toml: holidays.dates[0]: expected YYYY-MM-DD, not '2026-13-01'");
    EXPECT_EQ(refusal("time_zone = \"UTC\"\n"), "programs.toml: programs: expected a non-empty array of [[programs]]");
    EXPECT_EQ(refusal(minimal_with("id = \"FLAT\"", "id = \"ABCDEFGHIJKLMNOPQRSTU\"")),
              "programs.toml: programs[0].id: 1 to 20 characters");
    EXPECT_EQ(refusal(minimal_with("id = \"FLAT\"", "id = \"FLAT/2\"")),
              "programs.toml: programs[0].id: letters, digits, '-', '_' and '.' only");
    EXPECT_EQ(refusal(minimal_with("\"0.32\"", "\"21474.83648\"")),
              "programs.toml: programs[0].seasons[0].periods[0].price: too large for a 2030.5 price (at most "
              "21474.83647)");
}

TEST(CatalogTest, LoadNamesAnUnreadableFile) {
    auto catalog = load_catalog("/nonexistent/programs.toml");
    ASSERT_FALSE(catalog);
    EXPECT_EQ(catalog.error().message, "/nonexistent/programs.toml: cannot be read");
}

TEST(CatalogTest, PricesFormatWithAtLeastTwoDecimals) {
    EXPECT_EQ(format_price(56368), "0.56368");
    EXPECT_EQ(format_price(32000), "0.32");
    EXPECT_EQ(format_price(51600), "0.516");
    EXPECT_EQ(format_price(5), "0.00005");
    EXPECT_EQ(format_price(1234500000), "12345.00");
    EXPECT_EQ(format_price(-150), "-0.0015");
}

// Versions of the catalog (issue 11): each in force from its effective_from, local time of the territory.
TEST(CatalogVersions, EffectiveFromIsALocalQuarterHourReadAsUtc) {
    const std::string los_angeles = minimal_with("time_zone = \"UTC\"", "time_zone = \"America/Los_Angeles\"");
    const auto with = [&](const std::string& when) {
        return minimal_with("time_zone = \"UTC\"",
                            "time_zone = \"America/Los_Angeles\"\neffective_from = \"" + when + "\"");
    };
    EXPECT_EQ(parse_catalog(los_angeles, "v1.toml")->effective_from, 0);
    EXPECT_EQ(parse_catalog(with("2026-07-15"), "v2.toml")->effective_from, 1'784'098'800);        // 07:00Z
    EXPECT_EQ(parse_catalog(with("2026-07-15T16:00"), "v2.toml")->effective_from, 1'784'156'400);  // 23:00Z
    EXPECT_NE(refusal(with("2026-07-15T16:10")).find("effective_from: '2026-07-15T16:10' is not on the quarter hour"),
              std::string::npos);
    for (const char* bad : {"2026-7-15", "2026-07-15 16:00", "2026-02-30", "2026-07-15T24:00", "15.07.2026"})
        EXPECT_NE(refusal(with(bad)).find("is not YYYY-MM-DD or YYYY-MM-DDTHH:MM"), std::string::npos) << bad;
    // 02:30 does not happen on 8 March 2026 there, 01:30 happens twice on 1 November.
    EXPECT_NE(refusal(with("2026-03-08T02:30")).find("skipped or repeated by a clock change"), std::string::npos);
    EXPECT_NE(refusal(with("2026-11-01T01:30")).find("skipped or repeated by a clock change"), std::string::npos);
}

TEST(CatalogVersions, ANextVersionStartsLaterInTheSameZoneAndKeepsEveryProgram) {
    auto current = parse_catalog(kMinimal, "v1.toml");
    ASSERT_TRUE(current);
    current->effective_from = 1'000;
    auto next = *current;
    next.effective_from = 2'000;
    EXPECT_TRUE(check_successor(*current, next));
    next.programs[0].seasons[0].periods[0].price = 33'000;  // prices change; that is what versions are for
    EXPECT_TRUE(check_successor(*current, next));

    auto overlapping = next;
    overlapping.effective_from = 1'000;
    auto refused = check_successor(*current, overlapping);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "tariff.version");
    EXPECT_NE(refused.error().message.find("they never overlap"), std::string::npos);

    auto gap = next;
    gap.programs[0].id = "FLAT-2";
    refused = check_successor(*current, gap);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("program 'FLAT' is missing: its customers would have no tariff"),
              std::string::npos)
        << refused.error().message;

    auto elsewhere = next;
    elsewhere.time_zone = "Europe/Paris";
    EXPECT_FALSE(check_successor(*current, elsewhere));

    // From review: a version in euros after one in dollars made bills add up both.
    auto euros = next;
    euros.programs[0].currency = 978;
    refused = check_successor(*current, euros);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("program 'FLAT': currency 978, the version in force bills in 840"),
              std::string::npos)
        << refused.error().message;
}

}  // namespace
}  // namespace tariff
