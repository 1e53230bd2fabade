#include "router.hpp"

#include <gtest/gtest.h>

namespace headend::http {
namespace {

using Kind = Router::Lookup::Kind;
using Segments = std::vector<std::string>;

Handler tagged(std::string tag) {
    return [tag = std::move(tag)](const Request&) { return Response{200, tag, "text/plain", {}, {}}; };
}

std::string call(const Router::Lookup& lookup) {
    return lookup.kind == Kind::Found ? lookup.handler({}).body : "";
}

TEST(Router, LiteralBeatsPlaceholderWhateverTheOrder) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/devices/{id}", tagged("by-id"), Access::Admin));
    ASSERT_TRUE(router.add("GET", "/devices/export", tagged("export"), Access::Admin));
    EXPECT_EQ(call(router.find("GET", {"devices", "export"})), "export");
    const auto by_id = router.find("GET", {"devices", "42"});
    EXPECT_EQ(call(by_id), "by-id");
    EXPECT_EQ(by_id.params, (std::map<std::string, std::string>{{"id", "42"}}));
}

TEST(Router, EarliestLiteralDecides) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/a/{x}/c", tagged("late-literal"), Access::Admin));
    ASSERT_TRUE(router.add("GET", "/a/b/{y}", tagged("early-literal"), Access::Admin));
    ASSERT_TRUE(router.add("GET", "/{p}/{q}/{r}", tagged("all-params"), Access::Admin));
    EXPECT_EQ(call(router.find("GET", {"a", "b", "c"})), "early-literal");
    EXPECT_EQ(call(router.find("GET", {"a", "z", "c"})), "late-literal");
    const auto generic = router.find("GET", {"x", "y", "z"});
    EXPECT_EQ(call(generic), "all-params");
    EXPECT_EQ(generic.params, (std::map<std::string, std::string>{{"p", "x"}, {"q", "y"}, {"r", "z"}}));
}

TEST(Router, UnknownPathIsNotFound) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/a/{x}", tagged("a"), Access::Admin));
    EXPECT_EQ(router.find("GET", {"a"}).kind, Kind::NotFound);
    EXPECT_EQ(router.find("GET", {"a", "b", "c"}).kind, Kind::NotFound);
    EXPECT_EQ(router.find("GET", {"b", "c"}).kind, Kind::NotFound);
}

TEST(Router, WrongMethodListsAllowedMethods) {
    Router router;
    ASSERT_TRUE(router.add("POST", "/devices", tagged("post"), Access::Admin));
    ASSERT_TRUE(router.add("GET", "/devices", tagged("get"), Access::Admin));
    ASSERT_TRUE(router.add("DELETE", "/devices/{id}", tagged("delete"), Access::Admin));
    const auto lookup = router.find("PUT", {"devices"});
    EXPECT_EQ(lookup.kind, Kind::MethodNotAllowed);
    EXPECT_EQ(lookup.allow, "GET, HEAD, POST");
    EXPECT_EQ(router.find("GET", {"devices", "3"}).allow, "DELETE");
}

TEST(Router, MethodPicksAmongMatchingPatterns) {
    Router router;
    ASSERT_TRUE(router.add("POST", "/a/b", tagged("post-literal"), Access::Admin));
    ASSERT_TRUE(router.add("GET", "/a/{x}", tagged("get-param"), Access::Public));
    EXPECT_EQ(call(router.find("GET", {"a", "b"})), "get-param");
    EXPECT_EQ(router.find("GET", {"a", "b"}).access, Access::Public);
    EXPECT_EQ(call(router.find("POST", {"a", "b"})), "post-literal");
}

TEST(Router, HeadFallsBackToGet) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/health", tagged("get"), Access::Public));
    EXPECT_EQ(call(router.find("HEAD", {"health"})), "get");
    ASSERT_TRUE(router.add("HEAD", "/health", tagged("head"), Access::Public));
    EXPECT_EQ(call(router.find("HEAD", {"health"})), "head");
}

TEST(Router, TrailingAndDoubleSlashesAreIgnoredInPatterns) {
    Router router;
    ASSERT_TRUE(router.add("get", "/api//v1/devices/", tagged("list"), Access::Admin));
    EXPECT_EQ(call(router.find("GET", {"api", "v1", "devices"})), "list");
}

TEST(Router, RootPattern) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/", tagged("root"), Access::Public));
    EXPECT_EQ(call(router.find("GET", {})), "root");
}

TEST(Router, RefusesBadOrOverlappingRoutes) {
    Router router;
    ASSERT_TRUE(router.add("GET", "/devices/{id}", tagged("first"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "/devices/{other}", tagged("same shape"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "devices", tagged("relative"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "/a/{}", tagged("empty name"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "/a/x{id}", tagged("partial placeholder"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "/a/{id}/{id}", tagged("repeated name"), Access::Admin));
    EXPECT_FALSE(router.add("G ET", "/a", tagged("bad method"), Access::Admin));
    EXPECT_FALSE(router.add("GET", "/a", Handler{}, Access::Admin));
    EXPECT_TRUE(router.add("PUT", "/devices/{other}", tagged("other method"), Access::Admin));
    EXPECT_EQ(call(router.find("GET", {"devices", "1"})), "first");
}

}  // namespace
}  // namespace headend::http
