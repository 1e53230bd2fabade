#include "charging/binding_period.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace charging {
namespace {

// Back-to-back bindings at one premises (a PEV unplugged and plugged in again within one interval) never share an
// interval: its energy is one session's, the later one's. At another premises each EUMD keeps what it measured.
TEST(BindingPeriods, BackToBackBindingsAtOnePremisesShareNoInterval) {
    const std::int64_t t = 1'780'000'200;  // on the 900 s grid
    const BindingSpan first{"P1", "ended", t + 10, t + 22};
    const BindingSpan second{"P1", "active", t + 30, t + 30};
    const auto periods = metered_periods({first, second}, "P1", 900);
    ASSERT_EQ(periods.size(), 2U);
    EXPECT_EQ(periods[0].from, t);
    EXPECT_EQ(periods[0].to, t);  // superseded within its first interval: nothing
    EXPECT_EQ(periods[1].from, t);
    EXPECT_EQ(periods[1].to, std::numeric_limits<std::int64_t>::max());
    // An open binding followed by one at the same premises ends where that one's interval begins.
    const BindingSpan open{"P1", "fallback", t + 10, t + 10};
    const BindingSpan again{"P1", "active", t + 3 * 900 + 400, t + 3 * 900 + 400};
    EXPECT_EQ(binding_period(open, &again, 900).to, t + 3 * 900);
    // At another premises the PEV's move ends this one when it happened: its last interval stays here.
    const BindingSpan away{"P2", "active", t + 3 * 900 + 400, t + 3 * 900 + 400};
    EXPECT_EQ(binding_period(open, &away, 900).to, t + 3 * 900 + 400);
    // An ended binding keeps its own end when the next comes later.
    EXPECT_EQ(binding_period({"P1", "ended", t + 10, t + 1000}, &again, 900).to, t + 1000);
}

}  // namespace
}  // namespace charging
