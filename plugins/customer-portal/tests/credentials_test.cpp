#include "credentials.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "headend/testing/fakes.hpp"

namespace portal {
namespace {

constexpr ScryptParameters kFast{10, 8, 1};

TEST(Credentials, APasswordVerifiesAgainstItsHashAndNoOther) {
    const std::string hash = hash_password("correct horse battery", kFast);
    EXPECT_EQ(hash.rfind("scrypt$10$8$1$", 0), 0U) << hash;
    EXPECT_TRUE(verify_password("correct horse battery", hash));
    EXPECT_FALSE(verify_password("correct horse batterY", hash));
    EXPECT_FALSE(verify_password("", hash));
    // A fresh salt each time: the same password never hashes the same.
    EXPECT_NE(hash, hash_password("correct horse battery", kFast));
}

TEST(Credentials, MalformedOrOutOfRangeStoredHashesMatchNothing) {
    const std::string hash = hash_password("correct horse battery", kFast);
    const std::vector<std::string> broken = {std::string(),
                                             "scrypt",
                                             hash.substr(0, hash.size() - 1),
                                             "bcrypt" + hash.substr(6),
                                             "scrypt$40$8$1$00$00",
                                             "scrypt$10$8$1$zz$00",
                                             "scrypt$10$8$1$" + hash.substr(hash.rfind('$') + 1) + "$"};
    for (const std::string& stored : broken)
        EXPECT_FALSE(verify_password("correct horse battery", stored)) << stored;
}

TEST(Credentials, NewPasswordsNeedTwelvePrintableCharacters) {
    EXPECT_FALSE(check_new_password("short"));
    EXPECT_EQ(check_new_password("elevenchars").error().code, "password.short");
    EXPECT_TRUE(check_new_password("twelve chars"));
    EXPECT_EQ(check_new_password(std::string("twelve\nchars!")).error().code, "password.control");
    EXPECT_EQ(check_new_password(std::string(257, 'x')).error().code, "password.long");
}

TEST(Credentials, ParametersOutsideTheirRangesAreRefused) {
    EXPECT_TRUE(check_parameters({15, 8, 1}));
    EXPECT_FALSE(check_parameters({9, 8, 1}));
    EXPECT_FALSE(check_parameters({21, 8, 1}));
    EXPECT_FALSE(check_parameters({15, 0, 1}));
    EXPECT_FALSE(check_parameters({20, 32, 1}));  // 4 GiB per hash
}

TEST(Credentials, TokensAreRandomUrlSafeAndStoredOnlyAsDigests) {
    const std::string a = random_token();
    EXPECT_EQ(a.size(), 43U);
    EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_NE(a, random_token());
    EXPECT_EQ(token_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::vector<std::uint8_t> key(32, 7);
    EXPECT_EQ(hmac_token(key, "session:x"), hmac_token(key, "session:x"));
    EXPECT_NE(hmac_token(key, "session:x"), hmac_token(key, "session:y"));
    EXPECT_TRUE(same_secret("abc", "abc"));
    EXPECT_FALSE(same_secret("abc", "abd"));
    EXPECT_FALSE(same_secret("abc", "abcd"));
}

TEST(Credentials, TheFormKeyIsMadeOnceWithModeSixHundredAndReadBackTheSame) {
    headend::testing::TempDir dir;
    const auto path = (dir.path() / "portal" / "form.key").string();
    auto made = load_or_create_key(path);
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_EQ(made->size(), 32U);
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto again = load_or_create_key(path);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *made);
    std::ofstream(path, std::ios::trunc) << "short";
    auto broken = load_or_create_key(path);
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().code, "config");
}

}  // namespace
}  // namespace portal
