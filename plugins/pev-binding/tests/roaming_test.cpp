#include "binding/roaming.hpp"

#include <gtest/gtest.h>

namespace binding {
namespace {

TEST(Roaming, ReadsTheClearinghouseRegistry) {
    auto registry = parse_roaming_registry(
        "vin,lfdi,home_utility\n1m8gdm9axkp042788,3e4f45ab31edfe5b67e343e5e4562e31984e23e5,PGE\n", "r.csv");
    ASSERT_TRUE(registry) << registry.error().message;
    ASSERT_EQ(registry->size(), 1U);
    const auto& entry = registry->at("1M8GDM9AXKP042788");
    EXPECT_EQ(entry.lfdi, "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5");
    EXPECT_EQ(entry.home_utility, "PGE");
}

TEST(Roaming, AFileWithBadRowsIsRefusedNamingEachLine) {
    auto registry = parse_roaming_registry(
        "vin,lfdi,home_utility\n1M8GDM9AXKP042788,3E4F45AB31EDFE5B67E343E5E4562E31984E23E5,PGE\n"
        "1HGCM82643A004352,3E4F45AB31EDFE5B67E343E5E4562E31984E23E5,X\n1HGCM82633A004352,123,X\n",
        "r.csv");
    ASSERT_FALSE(registry);
    EXPECT_NE(registry.error().message.find("r.csv: 2 bad row(s); line 3: "), std::string::npos)
        << registry.error().message;
    EXPECT_NE(registry.error().message.find("line 4: lfdi must be 40 hex digits"), std::string::npos);
    EXPECT_FALSE(parse_roaming_registry("vin,lfdi\n", "r.csv"));
    EXPECT_FALSE(load_roaming_registry("/nonexistent.csv"));
}

TEST(Roaming, OneLfdiUnderTwoVinsIsRefused) {
    auto registry = parse_roaming_registry(
        "vin,lfdi,home_utility\n1M8GDM9AXKP042788,3E4F45AB31EDFE5B67E343E5E4562E31984E23E5,PGE\n"
        "1HGCM82633A004352,3e4f45ab31edfe5b67e343e5e4562e31984e23e5,EVL\n",
        "r.csv");
    ASSERT_FALSE(registry);
    EXPECT_NE(registry.error().message.find("line 3: LFDI 3E4F45AB31EDFE5B67E343E5E4562E31984E23E5 appears twice"),
              std::string::npos)
        << registry.error().message;
}

}  // namespace
}  // namespace binding
