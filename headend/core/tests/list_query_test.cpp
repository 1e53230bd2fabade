#include <gtest/gtest.h>

#include "headend/core/sep_resources.hpp"

namespace headend::core {
namespace {

TEST(ListQuery, DefaultsToOneItemFromTheStart) {
    auto query = parse_list_query({}, 255);
    ASSERT_TRUE(query);
    EXPECT_EQ(query->start, 0U);
    EXPECT_EQ(query->limit, 1U);
    EXPECT_FALSE(query->after);
}

TEST(ListQuery, ReadsStartAfterAndLimitCappedByConfig) {
    auto query = parse_list_query({{"s", "2"}, {"a", "1700000000"}, {"l", "1000"}}, 255);
    ASSERT_TRUE(query);
    EXPECT_EQ(query->start, 2U);
    EXPECT_EQ(query->after, 1700000000);
    EXPECT_EQ(query->limit, 255U);
}

TEST(ListQuery, RefusesNonNumbers) {
    EXPECT_FALSE(parse_list_query({{"l", "ten"}}, 255));
    EXPECT_FALSE(parse_list_query({{"s", "-1"}}, 255));
    EXPECT_FALSE(parse_list_query({{"a", ""}}, 255));
}

TEST(Visibility, SelfTheEsciOfThePremisesAndItsDisplaysForPevs) {
    Device pev;
    pev.id = 7;
    pev.type = DeviceType::Pev;
    pev.premises_id = "P1";
    coap::Peer self;
    self.device_id = 7;
    self.device_type = DeviceType::Pev;
    EXPECT_TRUE(may_see(self, pev));
    coap::Peer esci;
    esci.device_id = 1;
    esci.device_type = DeviceType::Esci;
    esci.premises_id = "P1";
    EXPECT_TRUE(may_see(esci, pev));
    esci.premises_id = "P2";
    EXPECT_FALSE(may_see(esci, pev));
    coap::Peer display;
    display.device_id = 3;
    display.device_type = DeviceType::Display;
    display.premises_id = "P1";
    EXPECT_FALSE(may_see(display, pev));
    EXPECT_FALSE(may_see(coap::Peer{}, pev));
    // A display reads the EndDevice of its premises' PEVs (to find their PowerStatus), of no other premises, and no
    // other device of its premises.
    EXPECT_TRUE(may_list(display, pev));
    EXPECT_TRUE(may_list(esci, pev) == may_see(esci, pev));
    display.premises_id = "P2";
    EXPECT_FALSE(may_list(display, pev));
    Device eumd = pev;
    eumd.type = DeviceType::Eumd;
    display.premises_id = "P1";
    EXPECT_FALSE(may_list(display, eumd));
    EXPECT_FALSE(may_list(coap::Peer{}, pev));
}

}  // namespace
}  // namespace headend::core
