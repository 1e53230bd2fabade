#include "headend/http/url.hpp"

#include <gtest/gtest.h>

namespace headend::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndOptionallyPlus) {
    EXPECT_EQ(percent_decode("a%20b%2Fc", false), "a b/c");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("%e2%82%AC", false), "\xE2\x82\xAC");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
    EXPECT_FALSE(percent_decode("%", false));
    EXPECT_FALSE(percent_decode("abc%2", false));
    EXPECT_FALSE(percent_decode("%zz", false));
    EXPECT_FALSE(percent_decode("%2g", true));
}

TEST(PercentEncode, KeepsOnlyUnreservedAndRoundTrips) {
    EXPECT_EQ(percent_encode("aZ0-._~"), "aZ0-._~");
    EXPECT_EQ(percent_encode("a b/c&d=e+f"), "a%20b%2Fc%26d%3De%2Bf");
    const std::string bytes("\x00\xFF\x7F", 3);
    EXPECT_EQ(percent_encode(bytes), "%00%FF%7F");
    EXPECT_EQ(percent_decode(percent_encode(bytes), true), bytes);
}

TEST(SplitPath, DropsEmptySegmentsAndDecodesEach) {
    using V = std::vector<std::string>;
    EXPECT_EQ(split_path("/"), V{});
    EXPECT_EQ(split_path("/api/v1/devices/"), (V{"api", "v1", "devices"}));
    EXPECT_EQ(split_path("//a//b"), (V{"a", "b"}));
    EXPECT_EQ(split_path("/items/a%2Fb/c+d"), (V{"items", "a/b", "c+d"}));
    EXPECT_FALSE(split_path("/items/%4"));
}

TEST(ParseQuery, HandlesMissingValuesRepeatsAndEscapes) {
    using M = std::map<std::string, std::string>;
    EXPECT_EQ(parse_query(""), M{});
    EXPECT_EQ(parse_query("a=1&b=x+y%21&flag&&c="), (M{{"a", "1"}, {"b", "x y!"}, {"flag", ""}, {"c", ""}}));
    EXPECT_EQ(parse_query("a=1&a=2"), (M{{"a", "2"}}));
    EXPECT_EQ(parse_query("k%3Dx=v%3D1"), (M{{"k=x", "v=1"}}));
    EXPECT_FALSE(parse_query("a=%G1"));
}

TEST(BuildQuery, EncodesPairsInOrder) {
    EXPECT_EQ(build_query({}), "");
    EXPECT_EQ(build_query({{"type", "esci"}, {"premises", "P 1&2"}}), "?type=esci&premises=P%201%262");
}

}  // namespace
}  // namespace headend::http
