#include "pev/vin.hpp"

#include <gtest/gtest.h>

namespace pev {
namespace {

TEST(Vin, AcceptsValidVinsInAnyCase) {
    EXPECT_EQ(*validate_vin("1M8GDM9AXKP042788"), "1M8GDM9AXKP042788");  // check digit X
    EXPECT_EQ(*validate_vin("11111111111111111"), "11111111111111111");
    EXPECT_EQ(*validate_vin("1m8gdm9axkp042788"), "1M8GDM9AXKP042788");
}

TEST(Vin, ComputesTheCheckDigit) {
    EXPECT_EQ(vin_check_digit("1M8GDM9AXKP042788"), 'X');
    EXPECT_EQ(vin_check_digit("11111111111111111"), '1');
    EXPECT_EQ(vin_check_digit("1M8GDM9AXKP04278"), '?');
}

TEST(Vin, RefusesWithTheReason) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"1M8GDM9AXKP04278", "17 characters"}, {"1M8GDM9AXKP0427889", "17 characters"},
        {"1M8GDM9AXKP04278O", "letter O"},     {"IM8GDM9AXKP042788", "letter I"},
        {"1M8GDM9AXKP0427Q8", "letter Q"},     {"1M8GDM9AXKP04278-", "only letters and digits"},
        {"1M8GDM9A1KP042788", "calls for X"},
    };
    for (const auto& [vin, reason] : cases) {
        auto result = validate_vin(vin);
        ASSERT_FALSE(result) << vin;
        EXPECT_EQ(result.error().code, "vin.invalid");
        EXPECT_NE(result.error().message.find(reason), std::string::npos) << vin << ": " << result.error().message;
    }
}

}  // namespace
}  // namespace pev
