#include "mail/address.hpp"

#include <gtest/gtest.h>

namespace {

TEST(MailAddress, OnlyABareAddrSpecIsAnAddress) {
    for (const char* good : {"jane@example.test", "j.doe+bills@mail.example.test", "a@b"})
        EXPECT_TRUE(mail::is_plain_address(good)) << good;
    for (const char* bad :
         {"", "jane", "jane@", "@example.test", "a@b@c", "Jane <jane@example.test>",
          "jane@example.test, mallory@example.test", "jane@example.test\r\nBcc: x@y", "jane doe@example.test",
          "\"jane\"@example.test", "jane@exa;mple.test", "jané@example.test"})
        EXPECT_FALSE(mail::is_plain_address(bad)) << bad;
    EXPECT_FALSE(mail::is_plain_address(std::string(250, 'a') + "@b.cd"));
}

}  // namespace
