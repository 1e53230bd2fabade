#include "binding/judge.hpp"

#include <gtest/gtest.h>

namespace binding {
namespace {

constexpr const char* kVin = "1HGCM82633A004352";
constexpr const char* kLfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5";

// Jane's PEV, enrolled at P1, asked for by the ESCI of `premises`.
BindingFacts facts_at(const std::string& premises, const std::string& account = "A1") {
    BindingFacts facts;
    facts.lfdi = kLfdi;
    facts.premises = PremisesFacts{premises, account, "DOM-FLAT", false};
    facts.certificate_vin = kVin;
    facts.enrollment = EnrollmentFacts{kVin, "A1", "P1", "EV-TOU", false, false, false};
    facts.roaming_program = "EV-TOU";
    return facts;
}

TEST(Judge, FirstBindingAtHomePinsTheLfdi) {
    const Verdict verdict = judge(facts_at("P1"));
    EXPECT_TRUE(verdict.accept);
    EXPECT_EQ(verdict.kind, Kind::Home);
    EXPECT_EQ(verdict.vin, kVin);
    EXPECT_EQ(verdict.program_id, "EV-TOU");
    EXPECT_EQ(verdict.payer_account, "A1");
    EXPECT_TRUE(verdict.pin);
}

TEST(Judge, ALaterHomeBindingUsesThePinAndNeedsNoCertificate) {
    BindingFacts facts = facts_at("P1");
    facts.certificate_vin.reset();  // re-binding over PSK: no certificate session
    facts.pinned_vin = kVin;
    const Verdict verdict = judge(facts);
    EXPECT_TRUE(verdict.accept);
    EXPECT_FALSE(verdict.pin);
}

TEST(Judge, AnotherLfdiClaimingAPinnedVinIsRefusedWithAnAlarm) {
    BindingFacts facts = facts_at("P1");
    facts.vin_pinned_to = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const Verdict verdict = judge(facts);
    EXPECT_FALSE(verdict.accept);
    EXPECT_TRUE(verdict.clone_alarm);
    EXPECT_NE(verdict.reason.find("pinned to another PEV"), std::string::npos);
    // Fallback: the premises' default rate on the premises account.
    EXPECT_EQ(verdict.program_id, "DOM-FLAT");
    EXPECT_EQ(verdict.payer_account, "A1");
}

TEST(Judge, RefusalsSayWhy) {
    BindingFacts unknown_premises = facts_at("P1");
    unknown_premises.premises.reset();
    EXPECT_EQ(judge(unknown_premises).reason, "the ESCI's premises is not in the customer records");

    BindingFacts anonymous = facts_at("P1");
    anonymous.certificate_vin.reset();
    EXPECT_EQ(judge(anonymous).reason, "the PEV has not presented a certificate naming its VIN");

    BindingFacts unenrolled = facts_at("P1");
    unenrolled.enrollment.reset();
    EXPECT_EQ(judge(unenrolled).reason, "VIN 1HGCM82633A004352 is not enrolled and not a registered visiting PEV");
}

TEST(Judge, GuestChargingNeedsAHomeBindingFirstAndBothSidesConsent) {
    BindingFacts facts = facts_at("P2", "A2");
    EXPECT_EQ(judge(facts).reason, "VIN 1HGCM82633A004352 has never been bound at its home premises");
    facts.pinned_vin = kVin;
    EXPECT_EQ(judge(facts).reason, "VIN 1HGCM82633A004352 is not enrolled for guest charging");
    facts.enrollment->allow_guest_charging = true;
    EXPECT_EQ(judge(facts).reason, "premises P2 does not host guest charging");
    facts.premises->hosts_guests = true;
    Verdict verdict = judge(facts);
    EXPECT_TRUE(verdict.accept);
    EXPECT_EQ(verdict.kind, Kind::Guest);
    EXPECT_EQ(verdict.payer_account, "A1");  // the owner pays by default
    EXPECT_FALSE(verdict.pin);
    facts.enrollment->host_pays = true;
    EXPECT_EQ(judge(facts).payer_account, "A2");
}

TEST(Judge, AVisitingPevOfAnotherUtilityBindsWhenTheClearinghouseKnowsIt) {
    BindingFacts facts = facts_at("P2", "A2");
    facts.enrollment.reset();
    facts.roaming = RoamingFacts{kVin, kLfdi, "OTHER-UTILITY"};
    Verdict verdict = judge(facts);
    EXPECT_TRUE(verdict.accept);
    EXPECT_EQ(verdict.kind, Kind::Roaming);
    EXPECT_EQ(verdict.home_utility, "OTHER-UTILITY");
    EXPECT_FALSE(verdict.payer_account);
    facts.roaming->lfdi = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    EXPECT_FALSE(judge(facts).accept);
}

TEST(Judge, AVisitingPevBackWithItsCredentialIsTheVinTheRegistryNamesForItsLfdi) {
    BindingFacts facts = facts_at("P2", "A2");
    facts.enrollment.reset();
    facts.certificate_vin.reset();  // re-binding over PSK: no certificate, and a visitor is never pinned
    EXPECT_FALSE(judge(facts).accept);
    facts.registry_vin = kVin;
    facts.roaming = RoamingFacts{kVin, kLfdi, "OTHER-UTILITY"};
    const Verdict verdict = judge(facts);
    EXPECT_TRUE(verdict.accept);
    EXPECT_EQ(verdict.kind, Kind::Roaming);
    EXPECT_EQ(verdict.vin, kVin);
    EXPECT_FALSE(verdict.pin);
}

}  // namespace
}  // namespace binding
