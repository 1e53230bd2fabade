#include "vee.hpp"

#include <gtest/gtest.h>

namespace intervals {
namespace {

TEST(Vee, GapEstimatesLieOnTheLineBetweenTheNeighboursRoundedToWholeWh) {
    // 1800 before, 600 after, three missing: 1500, 1200, 900.
    EXPECT_EQ(interpolate(1800, 600, 1, 3), 1500);
    EXPECT_EQ(interpolate(1800, 600, 2, 3), 1200);
    EXPECT_EQ(interpolate(1800, 600, 3, 3), 900);
    // One missing between 1 and 2: 1.5 rounds up to 2; between 0 and 1 with two missing: 1/3, 2/3 → 0, 1.
    EXPECT_EQ(interpolate(1, 2, 1, 1), 2);
    EXPECT_EQ(interpolate(0, 1, 1, 2), 0);
    EXPECT_EQ(interpolate(0, 1, 2, 2), 1);
    EXPECT_EQ(interpolate(0, 0, 1, 8), 0);
}

}  // namespace
}  // namespace intervals
