// The plugins' JSON answers: whatever a request carried into an error message, the answer is JSON, never an exception.
#include "admin/json_reply.hpp"

#include <gtest/gtest.h>

namespace {

TEST(JsonReply, AMessageEchoingInvalidUtf8IsStillAnswered) {
    // An MDM's GET /mdm/v1/files?state=%ff echoes the byte 0xFF in its 400; nlohmann's dump threw (type_error.316)
    // and the listener answered 500 "internal server error" instead.
    headend::http::Response reply;
    EXPECT_NO_THROW(reply = admin_replies::error_reply(
                        400, headend::make_error("mdm.invalid", "state is waiting or all, not '\xff'")));
    EXPECT_EQ(reply.status, 400);
    const auto body = nlohmann::json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body["error"]["code"], "mdm.invalid");
}

}  // namespace
