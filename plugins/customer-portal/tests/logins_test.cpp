// Invitations, sign-in, sessions and throttling on a real SQLite database with pev-registration's customer records.
#include "logins.hpp"

#include <gtest/gtest.h>

#include "address_throttle.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "pev/enrollment.hpp"

namespace portal {
namespace {

using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kStart = 1'780'000'000;

class LoginsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "headend.db");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        ASSERT_TRUE(database_->migrate("pev-registration", pev::registration_migrations()));
        ASSERT_TRUE(database_->migrate("customer-portal", portal_migrations()));
        for (const char* account : {"A1", "A2"})
            ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> headend::Result<void> {
                auto added = tx.execute(
                    "INSERT INTO cis_accounts(account_id, customer_id, customer_name, updated_at) VALUES (?, ?, ?, 0)",
                    std::vector<Value>{std::string(account), "C-" + std::string(account), "Name"});
                if (!added)
                    return added.error();
                return {};
            }));
        LoginPolicy policy;
        policy.scrypt = {10, 8, 1};
        logins_ = std::make_unique<Logins>(*database_, clock_, policy);
    }

    Session activated(const std::string& account, const std::string& password) {
        auto invitation = logins_->invite(account);
        EXPECT_TRUE(invitation);
        auto session = logins_->activate(invitation->token, password);
        EXPECT_TRUE(session) << session.error().message;
        return *session;
    }

    std::int64_t count(const std::string& table) {
        std::int64_t n = -1;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> headend::Result<void> {
            auto rows = tx.query("SELECT COUNT(*) FROM " + table);
            if (!rows)
                return rows.error();
            n = rows->front().integer(0);
            return {};
        }));
        return n;
    }

    headend::testing::TempDir dir_;
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    headend::testing::FixedClock clock_{kStart};
    std::unique_ptr<Logins> logins_;
};

TEST_F(LoginsTest, AnInvitationSetsThePasswordOnceAndSignsIn) {
    auto invitation = logins_->invite("A1");
    ASSERT_TRUE(invitation);
    EXPECT_EQ(invitation->expires_at, kStart + 72 * 3600);
    ASSERT_TRUE(logins_->invitation_account(invitation->token));
    EXPECT_EQ(*logins_->invitation_account(invitation->token), "A1");
    auto session = logins_->activate(invitation->token, "a good long password");
    ASSERT_TRUE(session) << session.error().message;
    EXPECT_EQ(session->account_id, "A1");
    auto found = logins_->session(session->token);
    ASSERT_TRUE(found);
    ASSERT_TRUE(*found);
    EXPECT_EQ((*found)->account_id, "A1");
    // Used: a second activation is refused and the password stays.
    auto again = logins_->activate(invitation->token, "another long password");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, "portal.invitation");
    EXPECT_EQ(logins_->sign_in("A1", "a good long password").outcome, SignInOutcome::SignedIn);
    EXPECT_EQ(logins_->sign_in("A1", "another long password").outcome, SignInOutcome::Refused);
}

TEST_F(LoginsTest, ExpiredSupersededAndUnknownInvitationsAreRefusedAlike) {
    auto old = logins_->invite("A1");
    auto newer = logins_->invite("A1");
    ASSERT_TRUE(old && newer);
    EXPECT_EQ(logins_->activate(old->token, "a good long password").error().code, "portal.invitation");
    EXPECT_EQ(logins_->activate("not-a-token", "a good long password").error().code, "portal.invitation");
    clock_.set(kStart + 72 * 3600);
    EXPECT_EQ(logins_->activate(newer->token, "a good long password").error().code, "portal.invitation");
    EXPECT_EQ(logins_->invitation_account(newer->token).error().code, "portal.invitation");
    EXPECT_EQ(count("portal_logins"), 0);
    EXPECT_EQ(logins_->invite("NOPE").error().code, "portal.unknown_account");
}

TEST_F(LoginsTest, AShortPasswordLeavesTheInvitationUsable) {
    auto invitation = logins_->invite("A1");
    ASSERT_TRUE(invitation);
    EXPECT_EQ(logins_->activate(invitation->token, "short").error().code, "password.short");
    EXPECT_TRUE(logins_->activate(invitation->token, "a good long password"));
}

TEST_F(LoginsTest, TheTenthWrongPasswordInARowIsThrottledAndTheRightOneWaitsToo) {
    activated("A1", "a good long password");
    for (int i = 1; i <= 9; ++i)
        EXPECT_EQ(logins_->sign_in("A1", "wrong password " + std::to_string(i)).outcome, SignInOutcome::Refused) << i;
    const auto tenth = logins_->sign_in("A1", "wrong password 10");
    EXPECT_EQ(tenth.outcome, SignInOutcome::Throttled);
    EXPECT_EQ(tenth.retry_after_s, 15 * 60);
    const auto right = logins_->sign_in("A1", "a good long password");
    EXPECT_EQ(right.outcome, SignInOutcome::Throttled);
    EXPECT_FALSE(right.session);
    // Another account is not affected.
    activated("A2", "a second good password");
    EXPECT_EQ(logins_->sign_in("A2", "a second good password").outcome, SignInOutcome::SignedIn);
    clock_.set(kStart + 15 * 60);
    EXPECT_EQ(logins_->sign_in("A1", "a good long password").outcome, SignInOutcome::SignedIn);
    // A success starts the count again.
    for (int i = 1; i <= 9; ++i)
        EXPECT_EQ(logins_->sign_in("A1", "wrong").outcome, SignInOutcome::Refused);
    EXPECT_EQ(logins_->sign_in("A1", "a good long password").outcome, SignInOutcome::SignedIn);
}

TEST_F(LoginsTest, ABrowserThatSignedInBeforePassesTheThrottleOthersWait) {
    activated("A1", "a good long password");
    ASSERT_EQ(logins_->sign_in("A1", "a good long password", "customer's browser").outcome, SignInOutcome::SignedIn);
    for (int i = 1; i <= 10; ++i)
        (void)logins_->sign_in("A1", "guess " + std::to_string(i), "attacker's browser");
    EXPECT_EQ(logins_->sign_in("A1", "a good long password", "attacker's browser").outcome, SignInOutcome::Throttled);
    EXPECT_EQ(logins_->sign_in("A1", "a good long password").outcome, SignInOutcome::Throttled);
    EXPECT_EQ(logins_->sign_in("A1", "a good long password", "customer's browser").outcome, SignInOutcome::SignedIn);
    // Only the right password lets a known browser in; a wrong one from it is still refused and counted.
    EXPECT_EQ(logins_->sign_in("A1", "wrong again", "customer's browser").outcome, SignInOutcome::Refused);
    // A browser known to another account is a stranger here.
    activated("A2", "a second good password");
    ASSERT_EQ(logins_->sign_in("A2", "a second good password", "attacker's browser").outcome, SignInOutcome::SignedIn);
    EXPECT_EQ(logins_->sign_in("A1", "a good long password", "attacker's browser").outcome, SignInOutcome::Throttled);
}

TEST_F(LoginsTest, UnknownAccountsAreRefusedLikeWrongPasswords) {
    EXPECT_EQ(logins_->sign_in("NOPE", "whatever password").outcome, SignInOutcome::Refused);
    EXPECT_EQ(logins_->sign_in("A1", "whatever password").outcome, SignInOutcome::Refused);  // no password set yet
}

TEST_F(LoginsTest, SessionsEndWhenIdleAtTheirMaximumAndAtSignOut) {
    const Session session = activated("A1", "a good long password");
    clock_.set(kStart + 29 * 60);
    ASSERT_TRUE(*logins_->session(session.token));  // touched: idle time starts again
    clock_.set(kStart + 58 * 60);
    ASSERT_TRUE(*logins_->session(session.token));
    clock_.set(kStart + 58 * 60 + 30 * 60);
    EXPECT_FALSE(*logins_->session(session.token));

    const auto signed_in = logins_->sign_in("A1", "a good long password");
    ASSERT_TRUE(signed_in.session);
    ASSERT_TRUE(logins_->sign_out(signed_in.session->token));
    EXPECT_FALSE(*logins_->session(signed_in.session->token));

    std::int64_t now = clock_.now();
    const auto long_one = logins_->sign_in("A1", "a good long password");
    for (int i = 0; i < 25; ++i) {
        now += 29 * 60;
        clock_.set(now);
        (void)logins_->session(long_one.session->token);
    }
    EXPECT_FALSE(*logins_->session(long_one.session->token));  // past 12 hours
}

TEST_F(LoginsTest, ANewInvitationResetsThePasswordAndEndsEverySession) {
    const Session first = activated("A1", "a good long password");
    const Session second = activated("A1", "a brand new password");
    EXPECT_FALSE(*logins_->session(first.token));
    EXPECT_TRUE(*logins_->session(second.token));
    EXPECT_EQ(logins_->sign_in("A1", "a good long password").outcome, SignInOutcome::Refused);
}

TEST_F(LoginsTest, ChangingThePasswordNeedsTheCurrentOneAndEndsOtherSessions) {
    const Session mine = activated("A1", "a good long password");
    const auto other = logins_->sign_in("A1", "a good long password");
    ASSERT_TRUE(other.session);
    EXPECT_EQ(logins_->change_password(mine, "not the password", "a changed password").error().code,
              "portal.wrong_password");
    EXPECT_EQ(logins_->change_password(mine, "a good long password", "short").error().code, "password.short");
    ASSERT_TRUE(logins_->change_password(mine, "a good long password", "a changed password"));
    EXPECT_TRUE(*logins_->session(mine.token));
    EXPECT_FALSE(*logins_->session(other.session->token));
    EXPECT_EQ(logins_->sign_in("A1", "a changed password").outcome, SignInOutcome::SignedIn);
}

TEST(AddressThrottle, AnAddressWaitsAfterItsLimitUntilTheWindowEnds) {
    AddressThrottle throttle(3, 600, 2);
    throttle.failed("10.0.0.1", 1000);
    throttle.failed("10.0.0.1", 1001);
    EXPECT_EQ(throttle.wait("10.0.0.1", 1002), 0);
    throttle.failed("10.0.0.1", 1002);
    EXPECT_EQ(throttle.wait("10.0.0.1", 1003), 597);
    EXPECT_EQ(throttle.wait("10.0.0.2", 1003), 0);
    EXPECT_EQ(throttle.wait("10.0.0.1", 1600), 0);
    // Bounded: a third address evicts the oldest.
    throttle.failed("10.0.0.2", 1700);
    throttle.failed("10.0.0.3", 1701);
    throttle.failed("10.0.0.4", 1702);
    for (int i = 0; i < 3; ++i)
        throttle.failed("10.0.0.5", 1703);
    EXPECT_GT(throttle.wait("10.0.0.5", 1704), 0);
}

}  // namespace
}  // namespace portal
