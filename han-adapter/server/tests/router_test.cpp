#include "han/router.hpp"

#include <gtest/gtest.h>

namespace han {
namespace {

TEST(Router, SplitsPaths) {
    EXPECT_EQ(split_path("/edev/3/reg"), (std::vector<std::string>{"edev", "3", "reg"}));
    EXPECT_EQ(split_path("/"), std::vector<std::string>{});
    EXPECT_EQ(split_path("//tm/"), std::vector<std::string>{"tm"});
}

TEST(Router, LiteralSegmentsBeatPlaceholders) {
    Router<std::string> router;
    router.add("/edev/{n}", "instance");
    router.add("/edev/{n}/{sub}", "any-sub");
    router.add("/edev/{n}/reg", "registration");
    auto match = router.match(split_path("/edev/12/reg"));
    ASSERT_TRUE(match);
    EXPECT_EQ(*match->target, "registration");
    EXPECT_EQ(match->params.at("n"), "12");
    match = router.match(split_path("/edev/12/di"));
    ASSERT_TRUE(match);
    EXPECT_EQ(*match->target, "any-sub");
    EXPECT_EQ(match->params.at("sub"), "di");
    EXPECT_FALSE(router.match(split_path("/edev/12/reg/x")));
    EXPECT_FALSE(router.match(split_path("/nothing")));
}

}  // namespace
}  // namespace han
