// The clearinghouse both ways: visiting PEVs' sessions as CDRs pushed to a real HTTP hub (tests/support/ocpi_hub.py)
// once each, with back-off and OCPI corrections; CDRs of our PEVs charged elsewhere received on the OCPI route,
// applied once, refused with the reason, and billed to the owner's account. Amounts in 10^-5 $.
#include "clearinghouse.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "billing_fixture.hpp"
#include "headend/testing/python_server.hpp"

namespace billing::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPeerToken = "peer-token-0123456789";

class ClearinghouseTest : public BillingFixture {
protected:
    void SetUp() override {
        BillingFixture::SetUp();
        account("A1", "Jane Doe", "jane@example.test");
        premises("P1", "A1", "1 Main St");
        enroll("V1", "A1", "P1", local("2026-06-01 00:00"));
        // Jane's PEV, known by its first binding (LFDI L1).
        bind({.lfdi = "L1",
              .vin = "V1",
              .premises_id = "P1",
              .payer = "A1",
              .requested_at = local("2026-06-02 10:00"),
              .updated_at = local("2026-06-02 11:00")});
        visitor_ = channel("P1", "L9", true);
        settings_.city = "Springfield";
        settings_.peers = {{"US", "OTH", kPeerToken}};
    }

    void start_hub(const std::string& mode) {
        hub_.reset();
        hub_ = std::make_unique<headend::testing::PythonServer>(
            OCPI_HUB, "--mode " + mode + " --token hub-token-0001 --inbox " + (dir_.path() / "inbox").string(),
            hub_dir_.path());
        ASSERT_NE(hub_->port(), 0);
        ocpi::Peer hub;
        hub.cdrs_url = "http://127.0.0.1:" + std::to_string(hub_->port()) + "/ocpi/2.2.1/cdrs";
        hub.token = "hub-token-0001";
        hub.timeout = std::chrono::seconds(10);
        settings_.hub = hub;
    }
    std::unique_ptr<Clearinghouse> clearinghouse() {
        return std::make_unique<Clearinghouse>(*database_, settings_, clock_, logger_);
    }
    // The visiting PEV V9 (LFDI L9) charging at P1 on Wednesday 1 July from 17:00, `quarters` of 1800 Wh on-peak.
    std::int64_t visit(int quarters) {
        const std::int64_t id = bind({.lfdi = "L9",
                                      .vin = "V9",
                                      .premises_id = "P1",
                                      .kind = "roaming",
                                      .requested_at = local("2026-07-01 16:58"),
                                      .updated_at = local("2026-07-01 16:58") + quarters * 900,
                                      .program = "EV-TOU",
                                      .home_utility = "US*OTH"});
        intervals(visitor_, local("2026-07-01 17:00"), quarters, 1800);
        return id;
    }
    std::vector<json> hub_received() const {
        std::vector<json> cdrs;
        for (int n = 1; fs::exists(dir_.path() / "inbox" / (std::to_string(n) + ".json")); ++n) {
            std::ifstream in(dir_.path() / "inbox" / (std::to_string(n) + ".json"));
            cdrs.push_back(json::parse(in));
        }
        return cdrs;
    }
    // A CDR of our PEV charged at another operator's site, as the hub pushes it.
    static json elsewhere(const std::string& id, const std::string& cost = "4.20") {
        return {
            {"country_code", "US"},
            {"party_id", "OTH"},
            {"id", id},
            {"start_date_time", "2026-07-10T17:00:00Z"},
            {"end_date_time", "2026-07-10T18:00:00Z"},
            {"cdr_token",
             {{"country_code", "US"}, {"party_id", "UTL"}, {"uid", "L1"}, {"type", "OTHER"}, {"contract_id", "V1"}}},
            {"auth_method", "AUTH_REQUEST"},
            {"cdr_location",
             {{"id", "LOC1"},
              {"address", "9 Far Rd"},
              {"city", "Elsewhere"},
              {"country", "USA"},
              {"coordinates", {{"latitude", "34.1"}, {"longitude", "-118.1"}}},
              {"evse_uid", "E1"},
              {"evse_id", "US*OTH*E1"},
              {"connector_id", "1"},
              {"connector_standard", "IEC_62196_T1"},
              {"connector_format", "CABLE"},
              {"connector_power_type", "AC_1_PHASE"}}},
            {"currency", "USD"},
            {"charging_periods", json::array({{{"start_date_time", "2026-07-10T17:00:00Z"},
                                               {"dimensions", json::array({{{"type", "ENERGY"}, {"volume", 10}}})}}})},
            {"total_cost", {{"excl_vat", std::stod(cost)}}},
            {"total_energy", 10},
            {"total_time", 1},
            {"last_updated", "2026-07-10T18:05:00Z"}};
    }
    headend::http::Response post(const std::string& body, const std::string& token = kPeerToken) {
        headend::http::Request request;
        request.method = "POST";
        request.body = body;
        // OCPI 2.2: the token Base64-encoded.
        static const std::map<std::string, std::string> kEncoded = {{kPeerToken, "cGVlci10b2tlbi0wMTIzNDU2Nzg5"}};
        request.headers["authorization"] = "Token " + (kEncoded.contains(token) ? kEncoded.at(token) : token);
        return receiver_->receive(request);
    }
    static int status_code(const headend::http::Response& response) {
        return json::parse(response.body)["status_code"];
    }

    ClearinghouseSettings settings_;
    std::int64_t visitor_ = 0;
    headend::testing::TempDir hub_dir_;
    std::unique_ptr<headend::testing::PythonServer> hub_;
    std::unique_ptr<Clearinghouse> receiver_;
};

TEST_F(ClearinghouseTest, AVisitingSessionBecomesOneCdrPushedOnceWhenItHasSettled) {
    ASSERT_NO_FATAL_FAILURE(start_hub("accept"));
    visit(4);
    clock_.set(local("2026-07-01 18:30"));  // ended 17:58, settles for an hour
    auto ch = clearinghouse();
    auto early = ch->run_due();
    ASSERT_TRUE(early) << early.error().message;
    EXPECT_EQ(early->made, 0U);
    clock_.set(local("2026-07-01 19:00"));
    auto pass = ch->run_due();
    ASSERT_TRUE(pass) << pass.error().message;
    EXPECT_EQ(pass->made, 1U);
    EXPECT_EQ(pass->accepted, 1U);
    const auto received = hub_received();
    ASSERT_EQ(received.size(), 1U);
    // 4 × 1800 Wh on EV-TOU on-peak: 405 848 → $4.06; 7.2 kWh in one charging period.
    EXPECT_EQ(received[0]["id"], "B2-1");
    EXPECT_EQ(received[0]["total_energy"], 7.2);
    EXPECT_EQ(received[0]["total_cost"]["excl_vat"], 4.06);
    EXPECT_EQ(received[0]["cdr_token"]["uid"], "V9");
    EXPECT_EQ(received[0]["cdr_token"]["party_id"], "OTH");
    EXPECT_EQ(received[0]["cdr_location"]["id"], "P1");
    EXPECT_EQ(received[0]["charging_periods"].size(), 1U);
    // Nothing more, however often the outbox runs.
    auto again = ch->run_due();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->made + again->accepted, 0U);
    EXPECT_EQ(hub_received().size(), 1U);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_out WHERE state = 'accepted'"), 1);
}

TEST_F(ClearinghouseTest, WhileTheHubFailsTheCdrWaitsWithADoublingDelay) {
    ASSERT_NO_FATAL_FAILURE(start_hub("fail"));
    visit(2);
    clock_.set(local("2026-07-01 20:00"));
    auto failing = clearinghouse();
    EXPECT_EQ(failing->run_due()->deferred, 1U);
    EXPECT_EQ(scalar("SELECT next_attempt_at FROM cdrs_out"), clock_.now() + 30);
    clock_.set(clock_.now() + 30);
    EXPECT_EQ(failing->run_due()->deferred, 1U);
    EXPECT_EQ(scalar("SELECT next_attempt_at FROM cdrs_out"), clock_.now() + 60);
    ASSERT_NO_FATAL_FAILURE(start_hub("accept"));
    clock_.set(clock_.now() + 59);
    EXPECT_EQ(clearinghouse()->run_due()->accepted, 0U);
    clock_.set(clock_.now() + 1);
    EXPECT_EQ(clearinghouse()->run_due()->accepted, 1U);
    EXPECT_EQ(hub_received().size(), 3U) << "two failed attempts and the accepted one";
}

TEST_F(ClearinghouseTest, ACdrTheHubRefusesIsKeptAsideAndNotSentAgain) {
    ASSERT_NO_FATAL_FAILURE(start_hub("reject"));
    visit(2);
    clock_.set(local("2026-07-01 20:00"));
    auto ch = clearinghouse();
    EXPECT_EQ(ch->run_due()->rejected, 1U);
    clock_.set(clock_.now() + 86400);
    EXPECT_EQ(ch->run_due()->rejected, 0U);
    EXPECT_EQ(hub_received().size(), 1U);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_out WHERE state = 'rejected' AND last_error IS NOT NULL"), 1);
}

TEST_F(ClearinghouseTest, EnergyThatArrivesAfterTheCdrIsCorrectedByACreditCdrAndANewOneInThatOrder) {
    ASSERT_NO_FATAL_FAILURE(start_hub("accept"));
    visit(3);
    clock_.set(local("2026-07-01 19:00"));
    auto ch = clearinghouse();
    EXPECT_EQ(ch->run_due()->accepted, 1U);
    // An actual of 2000 Wh replaces the 17:00 estimate after the CDR went out.
    replace(visitor_, local("2026-07-01 17:00"), 2000);
    clock_.set(local("2026-07-01 20:00"));
    auto pass = ch->run_due();
    ASSERT_TRUE(pass) << pass.error().message;
    EXPECT_EQ(pass->made, 2U);
    EXPECT_EQ(pass->accepted, 2U);
    const auto received = hub_received();
    ASSERT_EQ(received.size(), 3U);
    EXPECT_EQ(received[1]["id"], "B2-1-C");
    EXPECT_EQ(received[1]["credit"], true);
    EXPECT_EQ(received[1]["credit_reference_id"], "B2-1");
    EXPECT_EQ(received[1]["total_cost"]["excl_vat"], -3.04);  // 3 × 101 462 = 304 386 → $3.04
    EXPECT_EQ(received[2]["id"], "B2-2");
    // 2000 × 0.56368 = 112 736, + 2 × 101 462 = 315 660 → $3.16; 5.6 kWh.
    EXPECT_EQ(received[2]["total_cost"]["excl_vat"], 3.16);
    EXPECT_EQ(received[2]["total_energy"], 5.6);
}

TEST_F(ClearinghouseTest, ACdrOfOurPevChargedElsewhereIsAppliedOnceAndBilledToTheOwner) {
    receiver_ = clearinghouse();
    const auto accepted = post(elsewhere("X-1").dump());
    EXPECT_EQ(accepted.status, 200) << accepted.body;
    EXPECT_EQ(status_code(accepted), 1000);
    const auto repeated = post(elsewhere("X-1").dump());
    EXPECT_EQ(repeated.status, 200);
    EXPECT_EQ(status_code(repeated), 1000);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_in"), 1);
    // A credit CDR reversing part of it later: $−1.20.
    json credit = elsewhere("X-1-C", "-1.20");
    credit["credit"] = true;
    credit["credit_reference_id"] = "X-1";
    const auto credited = post(credit.dump());
    EXPECT_EQ(status_code(credited), 1000) << credited.body;

    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    const Posting* charged = posting(postings, "cdr:US*OTH:X-1");
    ASSERT_NE(charged, nullptr);
    EXPECT_EQ(charged->line.kind, LineKind::Roaming);
    EXPECT_EQ(charged->exact, 420'000);
    EXPECT_EQ(charged->line.wh, 10'000);
    EXPECT_EQ(charged->line.place, "9 Far Rd, Elsewhere");
    const Posting* reversed = posting(postings, "cdr:US*OTH:X-1-C");
    ASSERT_NE(reversed, nullptr);
    EXPECT_EQ(reversed->line.amount, -120'000);
}

TEST_F(ClearinghouseTest, BadUnauthenticatedAndDuplicateCdrsAreRefusedWithTheReasonAndChangeNothing) {
    receiver_ = clearinghouse();
    EXPECT_EQ(post(elsewhere("X-1").dump(), "not-a-token").status, 401);
    EXPECT_EQ(post(elsewhere("X-1").dump(), "").status, 401);
    ASSERT_EQ(status_code(post(elsewhere("X-1").dump())), 1000);
    struct Case {
        std::string body;
        std::string reason;
    };
    json other_party = elsewhere("X-2");
    other_party["party_id"] = "ABC";
    json unknown_pev = elsewhere("X-3");
    unknown_pev["cdr_token"]["uid"] = "V404";
    unknown_pev["cdr_token"]["contract_id"] = "V404";
    json euros = elsewhere("X-4");
    euros["currency"] = "EUR";
    json orphan_credit = elsewhere("X-5", "-1.00");
    orphan_credit["credit"] = true;
    orphan_credit["credit_reference_id"] = "NOPE";
    const std::vector<Case> cases = {
        {"{not json", ""},
        {json{{"id", "X-6"}}.dump(), "missing"},
        {elsewhere("X-1", "9.99").dump(), "was received before with other content"},
        {other_party.dump(), "the token of US*OTH"},
        {unknown_pev.dump(), "no PEV of ours"},
        {euros.dump(), "currency: EUR"},
        {orphan_credit.dump(), "credit_reference_id: no CDR NOPE"},
    };
    for (const auto& bad : cases) {
        const auto refused = post(bad.body);
        EXPECT_EQ(refused.status, 400) << bad.body;
        EXPECT_EQ(status_code(refused), 2001) << refused.body;
        EXPECT_NE(refused.body.find(bad.reason), std::string::npos) << refused.body;
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_in"), 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_rejected"), static_cast<std::int64_t>(cases.size()));
    EXPECT_EQ(scalar("SELECT cost FROM cdrs_in WHERE cdr_id = 'X-1'"), 420'000);
}

// From review: a credit could name another customer's VIN and credit them, or credit more than the CDR cost; a
// non-credit CDR naming a credit reference blocked the real credit; a token of another provider, a PEV not enrolled
// for roaming, a CDR from the future and absurd amounts (one overflowed a bill, one stopped the bill run) were billed.
TEST_F(ClearinghouseTest, CreditsReverseOnlyTheirOwnCdrAndImplausibleCdrsAreRefused) {
    account("A2", "John Roe");
    premises("P2", "A2", "2 Elm St");
    enroll("V2", "A2", "P2", local("2026-06-01 00:00"));
    sql("INSERT INTO enrollments(vin, account_id, customer_id, premises_id, program_id, allow_guest_charging, "
        "guest_charging_payer, allow_roaming, channel, enrolled_at, updated_at) "
        "VALUES ('V3', 'A2', 'C-A2', 'P2', 'EV-TOU', 0, 'owner', 0, 'test', 0, 0)");
    receiver_ = clearinghouse();
    ASSERT_EQ(status_code(post(elsewhere("X-1").dump())), 1000);
    json other_vin = elsewhere("X-1-C", "-4.20");
    other_vin["credit"] = true;
    other_vin["credit_reference_id"] = "X-1";
    other_vin["cdr_token"]["uid"] = "V2";
    other_vin["cdr_token"]["contract_id"] = "V2";
    json too_much = elsewhere("X-1-D", "-4.21");
    too_much["credit"] = true;
    too_much["credit_reference_id"] = "X-1";
    json not_a_credit = elsewhere("X-1-E", "1.00");
    not_a_credit["credit_reference_id"] = "X-1";
    json foreign_token = elsewhere("X-2");
    foreign_token["cdr_token"]["party_id"] = "XYZ";
    json no_roaming = elsewhere("X-3");
    no_roaming["cdr_token"]["uid"] = "V3";
    no_roaming["cdr_token"]["contract_id"] = "V3";
    json future = elsewhere("X-4");
    future["end_date_time"] = "2026-09-01T00:00:00Z";
    json huge = elsewhere("X-5", "10000.01");
    json huge_energy = elsewhere("X-6");
    huge_energy["total_energy"] = 1000.001;
    huge_energy["charging_periods"][0]["dimensions"][0]["volume"] = 1000.001;
    for (const auto& [body, reason] :
         std::vector<std::pair<json, std::string>>{{other_vin, "was for another PEV"},
                                                   {too_much, "the credit is more than CDR X-1 cost"},
                                                   {not_a_credit, "only a credit CDR names the CDR it reverses"},
                                                   {foreign_token, "party US*XYZ is not ours"},
                                                   {no_roaming, "VIN V3 is not enrolled for roaming"},
                                                   {future, "is in the future"},
                                                   {huge, "total_cost: beyond 10000"},
                                                   {huge_energy, "total_energy: beyond 1000"}}) {
        const auto refused = post(body.dump());
        EXPECT_EQ(status_code(refused), 2001) << body.dump();
        EXPECT_NE(refused.body.find(reason), std::string::npos) << refused.body;
    }
    // The genuine credit still goes through, to the account that paid.
    json credit = elsewhere("X-1-C", "-4.20");
    credit["credit"] = true;
    credit["credit_reference_id"] = "X-1";
    ASSERT_EQ(status_code(post(credit.dump())), 1000);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_in WHERE account_id = 'A1'"), 2);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_in WHERE account_id = 'A2'"), 0);
}

TEST_F(ClearinghouseTest, ACdrArrivingAfterTheBillClosedIsAdjustedOnTheNextBill) {
    run("2026-07");
    receiver_ = clearinghouse();
    clock_.set(local("2026-08-05 09:00"));
    ASSERT_EQ(status_code(post(elsewhere("X-9").dump())), 1000);
    clock_.set(local("2026-09-01 12:00"));
    const auto summary = run("2026-08");
    EXPECT_EQ(summary.adjustments, 1U);
    const auto [august, postings] = issued("A1", "2026-08");
    const Posting* late = posting(postings, "cdr:US*OTH:X-9", "2026-07");
    ASSERT_NE(late, nullptr);
    EXPECT_EQ(late->line.amount, 420'000);
}

}  // namespace
}  // namespace billing::testing
