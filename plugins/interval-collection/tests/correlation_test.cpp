#include "correlation.hpp"

#include <gtest/gtest.h>

namespace intervals {
namespace {

TEST(LoadCorrelation, PevEnergyMayExceedTheMeterOnlyWithinTheLargerTolerance) {
    const Tolerance tolerance{2, 10};
    EXPECT_FALSE(mismatched(1800, 1800, tolerance));
    EXPECT_FALSE(mismatched(1836, 1800, tolerance));  // 2 % of 1800 is 36
    EXPECT_TRUE(mismatched(1837, 1800, tolerance));
    EXPECT_FALSE(mismatched(110, 100, tolerance));  // 2 % is 2: the 10 Wh floor applies
    EXPECT_TRUE(mismatched(111, 100, tolerance));
    EXPECT_TRUE(mismatched(11, 0, tolerance));
    EXPECT_FALSE(mismatched(0, 0, Tolerance{0, 0}));
    EXPECT_TRUE(mismatched(1, 0, Tolerance{0, 0}));
}

}  // namespace
}  // namespace intervals
