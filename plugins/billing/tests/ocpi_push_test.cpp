// Pushing CDRs to a clearinghouse's OCPI endpoint (tests/support/ocpi_hub.py, a real HTTP server): the token goes
// Base64-encoded, the hub gets the CDR exactly as written, and its answer says whether the outbox is done with the
// CDR, keeps it aside, or tries again.
#include "billing/ocpi_push.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "headend/testing/fakes.hpp"
#include "headend/testing/python_server.hpp"

namespace billing::ocpi {
namespace {

namespace fs = std::filesystem;

// A visiting PEV's session at our premises P7: 7.2 kWh, $1.90.
Cdr visiting_cdr() {
    Cdr cdr;
    cdr.country_code = "US";
    cdr.party_id = "PEV";
    cdr.id = "P7-20260701-1";
    cdr.start = 1'782'946'800;
    cdr.end = 1'782'950'400;
    cdr.token = {"US", "OTH", "ABCDEF0123", "APP_USER", "US-OTH-C0001"};
    cdr.auth_method = "WHITELIST";
    cdr.location = {"P7",         std::nullopt, "7 Elm St",     "Springfield", std::nullopt,
                    std::nullopt, "USA",        "34.05",        "-118.24",     "EUMD-7",
                    "US*PEV*E7",  "1",          "IEC_62196_T1", "CABLE",       "AC_1_PHASE"};
    cdr.currency = "USD";
    cdr.charging_periods = {{cdr.start, {{"ENERGY", "7.2"}}, std::string("EV-TOU")}};
    cdr.total_cost_excl_vat = 190'000;
    cdr.total_energy_wh = 7'200;
    cdr.total_time = "1";
    cdr.last_updated = cdr.end;
    return cdr;
}

class OcpiPushTest : public ::testing::Test {
protected:
    void start(const std::string& mode) {
        hub_ = std::make_unique<headend::testing::PythonServer>(
            OCPI_HUB, "--mode " + mode + " --token hub-token-0001 --inbox " + (dir_ / "inbox").string(), dir_);
        ASSERT_NE(hub_->port(), 0);
        peer_.cdrs_url = "http://127.0.0.1:" + std::to_string(hub_->port()) + "/ocpi/2.2.1/cdrs";
        peer_.token = "hub-token-0001";
        peer_.timeout = std::chrono::seconds(10);
    }
    std::string received(const std::string& name) const {
        std::ifstream in(dir_ / "inbox" / name);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    headend::testing::TempDir temp_;
    fs::path dir_ = temp_.path();
    std::unique_ptr<headend::testing::PythonServer> hub_;  // stopped before the folder goes
    Peer peer_;
};

TEST_F(OcpiPushTest, AnAcceptedCdrReachesTheHubAsWrittenWithTheTokenInBase64) {
    ASSERT_NO_FATAL_FAILURE(start("accept"));
    const auto pushed = push_cdr(peer_, visiting_cdr());
    EXPECT_EQ(pushed.outcome, PushOutcome::Accepted) << pushed.detail;
    EXPECT_EQ(received("1.auth"), "Token aHViLXRva2VuLTAwMDE=");  // base64("hub-token-0001")
    EXPECT_EQ(received("1.json"), format_cdr(visiting_cdr()));
    auto read_back = parse_cdr(received("1.json"));
    ASSERT_TRUE(read_back) << read_back.error().message;
    EXPECT_EQ(*read_back, visiting_cdr());
}

TEST_F(OcpiPushTest, ACdrTheHubRefusesIsRejectedWithItsReasonAndAWrongTokenIsTriedAgain) {
    ASSERT_NO_FATAL_FAILURE(start("reject"));
    const auto refused = push_cdr(peer_, visiting_cdr());
    EXPECT_EQ(refused.outcome, PushOutcome::Rejected) << refused.detail;
    EXPECT_NE(refused.detail.find("status_code 2001"), std::string::npos) << refused.detail;
    EXPECT_NE(refused.detail.find("cdr_location.evse_uid: missing"), std::string::npos) << refused.detail;
    peer_.token = "not-the-token";
    const auto unknown = push_cdr(peer_, visiting_cdr());
    EXPECT_EQ(unknown.outcome, PushOutcome::RetryLater) << unknown.detail;
    EXPECT_NE(unknown.detail.find("HTTP 401"), std::string::npos) << unknown.detail;
}

TEST_F(OcpiPushTest, ABusyOrAbsentHubIsTriedAgainLater) {
    ASSERT_NO_FATAL_FAILURE(start("fail"));
    const auto busy = push_cdr(peer_, visiting_cdr());
    EXPECT_EQ(busy.outcome, PushOutcome::RetryLater) << busy.detail;
    EXPECT_NE(busy.detail.find("HTTP 503"), std::string::npos) << busy.detail;
    hub_.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto absent = push_cdr(peer_, visiting_cdr());
    EXPECT_EQ(absent.outcome, PushOutcome::RetryLater) << absent.detail;
}

TEST(OcpiRetry, TheDelayDoublesFromHalfAMinuteUpToSixHours) {
    EXPECT_EQ(retry_delay(1), std::chrono::seconds(30));
    EXPECT_EQ(retry_delay(2), std::chrono::seconds(60));
    EXPECT_EQ(retry_delay(5), std::chrono::seconds(480));
    EXPECT_EQ(retry_delay(10), std::chrono::seconds(15'360));    // 30 × 2^9
    EXPECT_EQ(retry_delay(11), std::chrono::seconds(6 * 3600));  // 30 × 2^10 = 30720 s, capped
    EXPECT_EQ(retry_delay(1000), std::chrono::seconds(6 * 3600));
}

}  // namespace
}  // namespace billing::ocpi
