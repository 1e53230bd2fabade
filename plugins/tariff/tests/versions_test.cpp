#include "tariff/versions.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tariff {
namespace {

// A flat program in UTC at `price` (a decimal string), in force from `effective_from` (UTC seconds).
std::shared_ptr<const Version> flat(int number, std::int64_t effective_from, const std::string& price,
                                    const std::string& extra_program = "") {
    std::string text =
        "time_zone = \"UTC\"\n[[programs]]\nid = \"FLAT\"\n[[programs.seasons]]\nname = \"all\"\n"
        "periods = [{ name = \"flat\", from = \"00:00\", to = \"24:00\", price = \"" +
        price + "\" }]\n";
    if (!extra_program.empty())
        text += "[[programs]]\nid = \"" + extra_program +
                "\"\n[[programs.seasons]]\nname = \"all\"\n"
                "periods = [{ name = \"flat\", from = \"00:00\", to = \"24:00\", price = \"0.10\" }]\n";
    auto catalog = parse_catalog(text, "v.toml");
    EXPECT_TRUE(catalog) << catalog.error().message;
    catalog->effective_from = effective_from;
    return std::make_shared<const Version>(number, std::move(*catalog));
}

constexpr std::int64_t kDay = 86'400;

TEST(Versions, TheVersionInForceIsTheLastOneThatHasTakenEffect) {
    const Versions versions({flat(1, kDay, "0.30"), flat(2, 10 * kDay, "0.32")});
    EXPECT_EQ(versions.in_force(0), nullptr);
    EXPECT_EQ(versions.in_force(kDay - 1), nullptr);
    EXPECT_EQ(versions.in_force(kDay)->number(), 1);
    EXPECT_EQ(versions.in_force(10 * kDay - 1)->number(), 1);
    EXPECT_EQ(versions.in_force(10 * kDay)->number(), 2);
    EXPECT_EQ(versions.in_force(400 * kDay)->number(), 2);
    EXPECT_EQ(versions.latest().number(), 2);
    EXPECT_TRUE(Versions().empty());
}

TEST(Versions, SpansAreCutWhereTheNextVersionTakesOverAndCarryItsPrices) {
    // Version 2 from noon of day 10: day 10 is one span of each, each with its version's price.
    const std::int64_t change = 10 * kDay + kDay / 2;
    const Versions versions({flat(1, 0, "0.30"), flat(2, change, "0.32")});
    const auto spans = versions.spans("FLAT", 9 * kDay, 11 * kDay);
    ASSERT_EQ(spans.size(), 3U);
    EXPECT_EQ(spans[0].start, 9 * kDay);
    EXPECT_EQ(spans[0].end, 10 * kDay);
    EXPECT_EQ(spans[1].start, 10 * kDay);
    EXPECT_EQ(spans[1].end, change);
    EXPECT_EQ(spans[1].version, 0U);
    EXPECT_EQ(spans[1].period->price, 30'000);
    EXPECT_EQ(spans[2].start, change);
    EXPECT_EQ(spans[2].end, 11 * kDay);
    EXPECT_EQ(spans[2].version, 1U);
    EXPECT_EQ(spans[2].period->price, 32'000);
}

TEST(Versions, NoSpanBeforeTheFirstVersionOrForAProgramAVersionLacks) {
    const Versions versions({flat(1, kDay, "0.30"), flat(2, 3 * kDay, "0.32", "NEW")});
    auto spans = versions.spans("FLAT", 0, 2 * kDay);
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_EQ(spans[0].start, kDay);
    // NEW exists only from version 2.
    spans = versions.spans("NEW", 0, 4 * kDay);
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_EQ(spans[0].start, 3 * kDay);
    EXPECT_EQ(spans[0].version, 1U);
    EXPECT_TRUE(versions.spans("NONE", 0, 4 * kDay).empty());
}

}  // namespace
}  // namespace tariff
