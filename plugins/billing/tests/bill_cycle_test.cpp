// The bill cycle against a real database holding what the other components store: every expected figure worked out
// by hand in the comments (prices from config/programs.toml: EV-TOU summer on-peak 0.56368 $/kWh, off-peak 0.26322,
// fixed charge 0.516 $/day; DOM-FLAT 0.32 $/kWh). Amounts are in 10^-5 $.
#include <gtest/gtest.h>

#include <cstdio>

#include <algorithm>

#include <map>

#include <numeric>

#include <random>

#include <fstream>
#include <sstream>

#include "bill_routes.hpp"
#include "billing_fixture.hpp"
#include "worker.hpp"

namespace billing::testing {
namespace {

class BillCycleTest : public BillingFixture {
protected:
    // Jane (A1) at P1 with her PEV (VIN V1, LFDI L1) enrolled there on EV-TOU since 1 June.
    void SetUp() override {
        BillingFixture::SetUp();
        account("A1", "Jane Doe", "jane@example.com");
        premises("P1", "A1", "1 Main St");
        enroll("V1", "A1", "P1", local("2026-06-01 00:00"));
        pev_at_p1_ = channel("P1", "L1", true);
        meter_p1_ = channel("P1", "P1-ESCI", false);
    }
    // Wednesday 1 July 17:00–18:00 local: a home session of four quarters of 1800 Wh, all on-peak.
    std::int64_t home_session() {
        const std::int64_t id = bind({.lfdi = "L1",
                                      .vin = "V1",
                                      .premises_id = "P1",
                                      .payer = "A1",
                                      .requested_at = local("2026-07-01 16:58"),
                                      .updated_at = local("2026-07-01 18:02")});
        intervals(pev_at_p1_, local("2026-07-01 17:00"), 4, 1800);
        return id;
    }

    std::int64_t pev_at_p1_ = 0;
    std::int64_t meter_p1_ = 0;
};

// A month's end is the next month's first instant: the last month accepted is one whose next the calendar still reads
// (9999-12 once ended the daemon on a bill run).
TEST(Month, OnlyWholeYyyyMmFrom1970To9998AreMonths) {
    for (const char* good : {"1970-01", "2026-07", "9998-12"})
        EXPECT_TRUE(Month::parse(good)) << good;
    for (const char* bad : {"9999-12", "1969-12", "2026-7", "2026-13", "2026-00", "+026-01", "2026-+1", "2026_07",
                            "2026-07-01", "", "-001-01"})
        EXPECT_FALSE(Month::parse(bad)) << bad;
    const calendar::LocalDays days(kZone);
    EXPECT_EQ(Month::parse("9998-12")->to(days) - Month::parse("9998-12")->from(days), 31 * 86400);
    EXPECT_EQ(Month::of(days, local("2026-11-01 00:30")).text(), "2026-11");
    EXPECT_EQ(Month::of(days, local("2026-10-31 23:59")).text(), "2026-10");
}

TEST_F(BillCycleTest, AHomeSessionIsDebitedAtTheProgramRateAndCreditedAtThePremisesRate) {
    home_session();
    intervals(meter_p1_, local("2026-07-01 17:00"), 4, 2500);
    const auto summary = run("2026-07");
    EXPECT_EQ(summary.issued, 1U);
    const auto [bill, postings] = issued("A1", "2026-07");
    ASSERT_EQ(postings.size(), 4U);
    // Premises meter: 10 000 Wh × 0.32 = 320 000 → $3.20.
    const Posting* energy = posting(postings, "premises:P1:energy");
    ASSERT_NE(energy, nullptr);
    EXPECT_EQ(energy->line.wh, 10'000);
    EXPECT_EQ(energy->exact, 320'000);
    EXPECT_EQ(energy->line.amount, 320'000);
    // EV-TOU's fixed charge for the 31 days of July the PEV was enrolled here: 31 × 51 600 = 1 599 600 → $16.00.
    const Posting* fixed = posting(postings, "premises:P1:fixed:EV-TOU");
    ASSERT_NE(fixed, nullptr);
    EXPECT_EQ(fixed->exact, 1'599'600);
    EXPECT_EQ(fixed->line.amount, 1'600'000);
    // The session: 4 × 1800 Wh on-peak, 1800 × 0.56368 = 101 462.4 → 101 462 each, 405 848 → $4.06.
    const Posting* debit = posting(postings, "session:1:debit");
    ASSERT_NE(debit, nullptr);
    EXPECT_EQ(debit->line.kind, LineKind::HomeSession);
    EXPECT_EQ(debit->line.wh, 7'200);
    EXPECT_EQ(debit->exact, 405'848);
    EXPECT_EQ(debit->line.amount, 406'000);
    ASSERT_EQ(debit->line.periods.size(), 1U);
    EXPECT_EQ(debit->line.periods[0].period, "on-peak");
    EXPECT_EQ(debit->line.start, local("2026-07-01 17:00"));
    EXPECT_EQ(debit->line.end, local("2026-07-01 18:00"));
    EXPECT_EQ(debit->line.place, "P1, 1 Main St");
    // Credited at DOM-FLAT: 4 × 1800 × 0.32 = 230 400 → −$2.30.
    const Posting* credit = posting(postings, "session:1:credit");
    ASSERT_NE(credit, nullptr);
    EXPECT_EQ(credit->line.kind, LineKind::HostCredit);
    EXPECT_EQ(credit->line.wh, 7'200);
    EXPECT_EQ(credit->exact, -230'400);
    EXPECT_EQ(credit->line.amount, -230'000);
    // $3.20 + $16.00 + $4.06 − $2.30, the sum of rounded lines.
    EXPECT_EQ(bill.total, 2'096'000);
    EXPECT_EQ(bill.currency, "USD");
    EXPECT_EQ(bill.email, "jane@example.com");
    EXPECT_EQ(bill.period_from, local("2026-07-01 00:00"));
    EXPECT_EQ(bill.period_to, local("2026-08-01 00:00"));
}

TEST_F(BillCycleTest, AGuestSessionDebitsThePayerTheOwnerChoseAndCreditsTheHostForTheSameEnergy) {
    account("A2", "John Roe");
    premises("P2", "A2", "2 Elm St");
    const std::int64_t pev_at_p2 = channel("P2", "L1", true);
    // Owner pays: Thursday 2 July 10:00–11:00, off-peak, 4 × 1000 Wh: 4 × 26 322 = 105 288 → $1.05 on A1;
    // the host's credit 4 × 32 000 = 128 000 → −$1.28 on A2.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A1",
          .requested_at = local("2026-07-02 09:55"),
          .updated_at = local("2026-07-02 11:01")});
    intervals(pev_at_p2, local("2026-07-02 10:00"), 4, 1000);
    // Host pays: Friday 3 July 10:00–10:30, 2 × 1000 Wh: both lines on A2, 52 644 → $0.53 and −64 000 → −$0.64.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A2",
          .requested_at = local("2026-07-03 09:55"),
          .updated_at = local("2026-07-03 10:31")});
    intervals(pev_at_p2, local("2026-07-03 10:00"), 2, 1000);
    run("2026-07");

    const auto [owner, owner_postings] = issued("A1", "2026-07");
    const Posting* owner_debit = posting(owner_postings, "session:1:debit");
    ASSERT_NE(owner_debit, nullptr);
    EXPECT_EQ(owner_debit->line.kind, LineKind::GuestSession);
    EXPECT_EQ(owner_debit->exact, 105'288);
    EXPECT_EQ(owner_debit->line.amount, 105'000);
    EXPECT_EQ(owner_debit->line.place, "P2, 2 Elm St");
    EXPECT_EQ(posting(owner_postings, "session:1:credit"), nullptr);
    EXPECT_EQ(posting(owner_postings, "session:2:debit"), nullptr);

    const auto [host, host_postings] = issued("A2", "2026-07");
    const Posting* host_credit = posting(host_postings, "session:1:credit");
    ASSERT_NE(host_credit, nullptr);
    EXPECT_EQ(host_credit->exact, -128'000);
    EXPECT_EQ(host_credit->line.wh, owner_debit->line.wh) << "debit and credit are the same energy";
    const Posting* host_debit = posting(host_postings, "session:2:debit");
    const Posting* host_own_credit = posting(host_postings, "session:2:credit");
    ASSERT_NE(host_debit, nullptr);
    ASSERT_NE(host_own_credit, nullptr);
    EXPECT_EQ(host_debit->exact, 52'644);
    EXPECT_EQ(host_debit->line.amount, 53'000);
    EXPECT_EQ(host_own_credit->line.amount, -64'000);
    EXPECT_EQ(host_debit->line.wh, host_own_credit->line.wh);
    // No premises meter and no PEV enrolled at P2: DOM-FLAT has no fixed charge. −1.28 + 0.53 − 0.64.
    EXPECT_EQ(host.total, -139'000);
}

TEST_F(BillCycleTest, AVisitingPevCreditsItsHostAndFallbackEnergyCarriesNoMoney) {
    // A visiting PEV of another utility at P1, Saturday 4 July 12:00, 2 × 500 Wh: credit 2 × 16 000 → −$0.32.
    const std::int64_t visitor = channel("P1", "L9", true);
    bind({.lfdi = "L9",
          .vin = "V9",
          .premises_id = "P1",
          .kind = "roaming",
          .requested_at = local("2026-07-04 11:58"),
          .updated_at = local("2026-07-04 12:31"),
          .program = "EV-TOU",
          .home_utility = "Other Utility"});
    intervals(visitor, local("2026-07-04 12:00"), 2, 500);
    // Jane's PEV bound but never validated (it fell back), 5 July 12:00, 3 × 700 Wh: listed, no money.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .status = "fallback",
          .requested_at = local("2026-07-05 11:58"),
          .updated_at = local("2026-07-05 12:00"),
          .validated = false});
    intervals(pev_at_p1_, local("2026-07-05 12:00"), 3, 700);
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    const Posting* credit = posting(postings, "session:1:credit");
    ASSERT_NE(credit, nullptr);
    EXPECT_EQ(credit->exact, -32'000);
    EXPECT_NE(credit->line.description.find("visiting PEV V9 of Other Utility"), std::string::npos)
        << credit->line.description;
    EXPECT_EQ(posting(postings, "session:1:debit"), nullptr) << "the visitor's home utility settles by CDR";
    const Posting* fallback = posting(postings, "session:2:fallback");
    ASSERT_NE(fallback, nullptr);
    EXPECT_EQ(fallback->line.kind, LineKind::FallbackSession);
    EXPECT_EQ(fallback->line.wh, 2'100);
    EXPECT_EQ(fallback->exact, 0);
    EXPECT_EQ(fallback->line.amount, 0);
    EXPECT_EQ(posting(postings, "session:2:debit"), nullptr);
    EXPECT_EQ(bill.total, -32'000 + 1'600'000);  // and the fixed charge
}

TEST_F(BillCycleTest, RunningTheCycleAgainChangesNothing) {
    home_session();
    account("A2", "John Roe");
    premises("P2", "A2", "2 Elm St");
    const auto first = run("2026-07");
    EXPECT_EQ(first.issued, 2U);
    const std::int64_t postings = scalar("SELECT COUNT(*) FROM postings");
    const auto again = run("2026-07");
    EXPECT_EQ(again.issued, 0U);
    EXPECT_EQ(again.already_issued, 2U);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM postings"), postings);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bills"), 2);
    EXPECT_EQ(run("2026-07", "A1").already_issued, 1U);
}

// Property: over random home and guest sessions of four PEVs at four premises in July (either payer for a guest), and
// the cycle run again at random (whole, or one account), every PEV interval is on exactly one debit line and one credit
// line of the month's bills, each session's debit and credit carry the same energy, and re-runs change nothing.
TEST_F(BillCycleTest, OverRandomSessionsAndRerunsEachIntervalIsDebitedAndCreditedOnceAndGuestSessionsBalance) {
    std::mt19937_64 random(20261202);
    constexpr int kPevs = 4;
    std::map<std::pair<int, int>, std::int64_t> channels;  // (PEV, premises) -> the premises' EUMD channel for it
    for (int n = 1; n <= kPevs; ++n) {
        const std::string id = std::to_string(n);
        account("B" + id, "Customer " + id);
        premises("Q" + id, "B" + id, id + " Oak St");
        enroll("W" + id, "B" + id, "Q" + id, local("2026-06-01 00:00"));
    }
    struct Session {
        std::int64_t binding = 0;
        std::string owner;
        std::string host;
        std::string payer;
        std::int64_t wh = 0;
    };
    std::vector<Session> sessions;
    std::int64_t all_wh = 0;
    for (int pev = 1; pev <= kPevs; ++pev) {
        std::vector<int> days(28);
        std::iota(days.begin(), days.end(), 1);
        std::shuffle(days.begin(), days.end(), random);
        for (int k = 0; k < 8; ++k) {
            const int host = random() % 3 == 0 ? static_cast<int>(1 + random() % kPevs) : pev;
            char start_text[32];
            std::snprintf(start_text, sizeof start_text, "2026-07-%02d %02d:%02d", days[k],
                          static_cast<int>(random() % 20), static_cast<int>(random() % 4) * 15);
            const std::int64_t start = local(start_text);
            const int quarters = static_cast<int>(1 + random() % 12);
            Session session;
            session.owner = "B" + std::to_string(pev);
            session.host = "B" + std::to_string(host);
            session.payer = host == pev || random() % 2 == 0 ? session.owner : session.host;
            session.binding = bind({.lfdi = "L" + std::to_string(pev),
                                    .vin = "W" + std::to_string(pev),
                                    .premises_id = "Q" + std::to_string(host),
                                    .kind = host == pev ? "home" : "guest",
                                    .payer = session.payer,
                                    .requested_at = start - 120,
                                    .updated_at = start + quarters * kQuarter + 60});
            auto& channel_id = channels[{pev, host}];
            if (channel_id == 0)
                channel_id = channel("Q" + std::to_string(host), "L" + std::to_string(pev), true);
            for (int q = 0; q < quarters; ++q) {
                const std::int64_t wh = static_cast<std::int64_t>(random() % 2500);
                intervals(channel_id, start + q * kQuarter, 1, wh);
                session.wh += wh;
            }
            all_wh += session.wh;
            sessions.push_back(session);
        }
    }
    run("2026-07");
    // Each posting by its source, with the account it is on.
    const auto postings = [&] {
        std::map<std::string, std::pair<std::string, Posting>> found;
        for (int n = 1; n <= kPevs; ++n) {
            const std::string account_id = "B" + std::to_string(n);
            for (const auto& one : issued(account_id, "2026-07").second)
                EXPECT_TRUE(found.emplace(one.source, std::pair{account_id, one}).second) << one.source;
        }
        return found;
    };
    const auto first = postings();
    std::int64_t debited = 0;
    std::int64_t credited = 0;
    for (const auto& session : sessions) {
        const std::string key = "session:" + std::to_string(session.binding);
        const auto debit = first.find(key + ":debit");
        const auto credit = first.find(key + ":credit");
        ASSERT_NE(debit, first.end()) << key;
        ASSERT_NE(credit, first.end()) << key;
        EXPECT_EQ(debit->second.first, session.payer) << key;
        EXPECT_EQ(credit->second.first, session.host) << key;
        EXPECT_EQ(debit->second.second.line.wh, session.wh) << key;
        EXPECT_EQ(credit->second.second.line.wh, session.wh) << key;
        debited += debit->second.second.line.wh;
        credited += credit->second.second.line.wh;
    }
    EXPECT_EQ(debited, all_wh);
    EXPECT_EQ(credited, all_wh);
    const auto guests =
        std::count_if(sessions.begin(), sessions.end(), [](const Session& one) { return one.host != one.owner; });
    const auto host_pays = std::count_if(sessions.begin(), sessions.end(), [](const Session& one) {
        return one.payer == one.host && one.host != one.owner;
    });
    EXPECT_GT(guests, host_pays);  // guests with either payer
    EXPECT_GT(host_pays, 0);

    const std::int64_t rows = scalar("SELECT COUNT(*) FROM postings");
    const std::int64_t total = scalar("SELECT SUM(total) FROM bills");
    for (int rerun = 0; rerun < 6; ++rerun) {
        if (random() % 2 == 0)
            EXPECT_EQ(run("2026-07").issued, 0U);
        else
            EXPECT_EQ(run("2026-07", "B" + std::to_string(1 + random() % kPevs)).issued, 0U);
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM postings"), rows);
    EXPECT_EQ(scalar("SELECT SUM(total) FROM bills"), total);
    const auto again = postings();
    ASSERT_EQ(again.size(), first.size());
    for (const auto& [source, posting] : first)
        EXPECT_EQ(again.at(source).second.exact, posting.second.exact) << source;
}

TEST_F(BillCycleTest, LateEnergyAnActualForAnEstimateAndAReleasedHoldBecomeAdjustmentsOnTheNextBill) {
    // July: three of the session's four quarters (17:00–17:45) and a session on the 20th held by a load mismatch.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .requested_at = local("2026-07-01 16:58"),
          .updated_at = local("2026-07-01 18:02")});
    intervals(pev_at_p1_, local("2026-07-01 17:00"), 3, 1800);
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .requested_at = local("2026-07-20 01:58"),
          .updated_at = local("2026-07-20 02:31")});
    intervals(pev_at_p1_, local("2026-07-20 02:00"), 2, 1000);
    hold("P1", local("2026-07-20 02:00"));
    run("2026-07");
    {
        const auto [july, postings] = issued("A1", "2026-07");
        // 3 × 101 462 = 304 386 → $3.04; credit 3 × 57 600 = 172 800 → −$1.73.
        EXPECT_EQ(posting(postings, "session:1:debit")->line.amount, 304'000);
        EXPECT_EQ(posting(postings, "session:1:credit")->line.amount, -173'000);
        const Posting* held = posting(postings, "session:2:held");
        ASSERT_NE(held, nullptr);
        EXPECT_EQ(held->line.wh, 2'000);
        EXPECT_EQ(held->line.amount, 0);
        EXPECT_EQ(posting(postings, "session:2:debit"), nullptr);
    }

    // After the bill: the fourth quarter arrives, the 17:00 estimate is replaced by an actual 2000 Wh, and the
    // operator clears the load mismatch.
    clock_.set(local("2026-08-02 09:00"));
    intervals(pev_at_p1_, local("2026-07-01 17:45"), 1, 1800);
    replace(pev_at_p1_, local("2026-07-01 17:00"), 2000);
    clear_hold("P1", local("2026-07-20 02:00"));
    clock_.set(local("2026-09-01 12:00"));
    const auto summary = run("2026-08");
    EXPECT_EQ(summary.issued, 1U);
    const auto [august, postings] = issued("A1", "2026-08");
    // Session 1 now: 2000 + 3 × 1800 Wh on-peak = 7400 Wh; 2000 × 0.56368 = 112 736, + 3 × 101 462 = 417 122 →
    // $4.17 in all, $3.04 billed: +$1.13 for +1600 Wh (+112 736 units).
    const Posting* debit = posting(postings, "session:1:debit", "2026-07");
    ASSERT_NE(debit, nullptr);
    EXPECT_EQ(debit->line.wh, 7'400 - 5'400);
    EXPECT_EQ(debit->exact, 417'122 - 304'386);
    EXPECT_EQ(debit->line.amount, 417'000 - 304'000);
    // Credit: 7400 × 0.32 = 236 800 → −$2.37, −$1.73 billed: −$0.64.
    const Posting* credit = posting(postings, "session:1:credit", "2026-07");
    ASSERT_NE(credit, nullptr);
    EXPECT_EQ(credit->exact, -236'800 + 172'800);
    EXPECT_EQ(credit->line.amount, -237'000 + 173'000);
    // The held session released: Monday 20 July 02:00, off-peak, 2 × 1000 × 0.26322 = 52 644 → $0.53; credit
    // 2 × 32 000 = 64 000 → −$0.64.
    const Posting* released = posting(postings, "session:2:debit", "2026-07");
    ASSERT_NE(released, nullptr);
    EXPECT_EQ(released->line.amount, 53'000);
    EXPECT_EQ(posting(postings, "session:2:credit", "2026-07")->line.amount, -64'000);
    // August itself: only the fixed charge, 31 × 51 600 = 1 599 600 → $16.00.
    EXPECT_EQ(posting(postings, "premises:P1:fixed:EV-TOU", "2026-08")->line.amount, 1'600'000);
    EXPECT_EQ(august.total, 1'600'000 + 113'000 - 64'000 + 53'000 - 64'000);
    EXPECT_EQ(summary.adjustments, 4U);

    // The July bill has not changed, and nothing is adjusted twice.
    const auto [july, july_postings] = issued("A1", "2026-07");
    EXPECT_EQ(july_postings.size(), 4U);
    clock_.set(local("2026-10-01 12:00"));
    run("2026-09");
    const auto [september, september_postings] = issued("A1", "2026-09");
    for (const auto& one : september_postings)
        EXPECT_EQ(one.usage_month, "2026-09") << one.source;
}

TEST_F(BillCycleTest, ATariffCorrectionLoadedAfterTheBillIsAdjustedFromItsEffectiveInstantOnly) {
    // On-peak sessions on Wednesday 1 and Monday 20 July, 17:00, one quarter of 1000 Wh each: 56 368 → $0.56 each.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .requested_at = local("2026-07-01 16:58"),
          .updated_at = local("2026-07-01 17:16")});
    intervals(pev_at_p1_, local("2026-07-01 17:00"), 1, 1000);
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .requested_at = local("2026-07-20 16:58"),
          .updated_at = local("2026-07-20 17:16")});
    intervals(pev_at_p1_, local("2026-07-20 17:00"), 1, 1000);
    run("2026-07");
    // A corrected on-peak price of 0.60 $/kWh from 15 July: the 20 July quarter is 60 000 → $0.60, +$0.04.
    std::ifstream in(PROGRAMS_FILE);
    std::stringstream text;
    text << in.rdbuf();
    std::string corrected = text.str();
    corrected.replace(corrected.find("time_zone = "), 0, "effective_from = \"2026-07-15\"\n");
    corrected.replace(corrected.find("\"0.56368\""), 9, "\"0.60000\"");
    auto stored = pev::CatalogLoader::open(*database_, PROGRAMS_FILE, kZone, 0);
    ASSERT_TRUE(stored);
    pev::CatalogVersions versions(std::move(*stored));
    pev::CatalogLoader loader(*database_, versions, kZone);
    ASSERT_TRUE(loader.load_version(corrected, "corrected.toml", clock_.now()));

    clock_.set(local("2026-09-01 12:00"));
    const auto summary = run("2026-08");
    EXPECT_EQ(summary.adjustments, 1U);
    const auto [august, postings] = issued("A1", "2026-08");
    EXPECT_EQ(posting(postings, "session:1:debit", "2026-07"), nullptr) << "before the correction's effective day";
    const Posting* corrected_line = posting(postings, "session:2:debit", "2026-07");
    ASSERT_NE(corrected_line, nullptr);
    EXPECT_EQ(corrected_line->exact, 60'000 - 56'368);
    EXPECT_EQ(corrected_line->line.amount, 60'000 - 56'000);
    EXPECT_EQ(corrected_line->line.wh, 0) << "the same energy at another price";
}

TEST_F(BillCycleTest, AHoldRaisedAfterTheBillReversesWhatWasBilledUntilItIsCleared) {
    home_session();
    run("2026-07");
    // A late premises reading shows less than the PEV took: correlation holds the session.
    hold("P1", local("2026-07-01 17:00"));
    clock_.set(local("2026-09-01 12:00"));
    run("2026-08");
    const auto [august, postings] = issued("A1", "2026-08");
    // The July lines are reversed: −$4.06 and +$2.30.
    const Posting* debit = posting(postings, "session:1:debit", "2026-07");
    ASSERT_NE(debit, nullptr);
    EXPECT_EQ(debit->line.amount, -406'000);
    EXPECT_EQ(debit->line.wh, -7'200);
    EXPECT_EQ(posting(postings, "session:1:credit", "2026-07")->line.amount, 230'000);
    // Cleared before the September bill: billed again, once.
    clear_hold("P1", local("2026-07-01 17:00"));
    clock_.set(local("2026-10-01 12:00"));
    run("2026-09");
    const auto [september, again] = issued("A1", "2026-09");
    EXPECT_EQ(posting(again, "session:1:debit", "2026-07")->line.amount, 406'000);
    EXPECT_EQ(posting(again, "session:1:credit", "2026-07")->line.amount, -230'000);
    EXPECT_EQ(scalar("SELECT SUM(billed) FROM postings WHERE source = 'session:1:debit'"), 406'000);
}

TEST_F(BillCycleTest, ASessionAcrossAMonthEndIsBilledInEachMonthForItsOwnIntervals) {
    // Friday 31 July 23:00 to Saturday 1 August 01:00, 8 quarters of 1000 Wh off-peak (26 322 each).
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .requested_at = local("2026-07-31 22:58"),
          .updated_at = local("2026-08-01 01:01")});
    intervals(pev_at_p1_, local("2026-07-31 23:00"), 8, 1000);
    clock_.set(local("2026-09-01 12:00"));
    run("2026-07");
    run("2026-08");
    const auto [july, july_postings] = issued("A1", "2026-07");
    const auto [august, august_postings] = issued("A1", "2026-08");
    // 4 × 26 322 = 105 288 → $1.05 in each month, and no adjustment.
    EXPECT_EQ(posting(july_postings, "session:1:debit")->line.wh, 4'000);
    EXPECT_EQ(posting(july_postings, "session:1:debit")->line.amount, 105'000);
    EXPECT_EQ(posting(august_postings, "session:1:debit", "2026-08")->line.wh, 4'000);
    EXPECT_EQ(posting(august_postings, "session:1:debit", "2026-07"), nullptr);
}

TEST_F(BillCycleTest, AMonthNotOverAnEarlierMonthThanAnIssuedBillAndAnUnknownAccountAreRefused) {
    auto early = cycle_->run({*Month::parse("2026-08"), std::nullopt});
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, "billing.month");
    EXPECT_NE(early.error().message.find("2026-08 is not over yet: its bills can be run from 2026-09-01"),
              std::string::npos)
        << early.error().message;
    auto unknown = cycle_->run({*Month::parse("2026-07"), std::string("A404")});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, "billing.unknown_account");
    run("2026-07");
    // From review: billing September after July skipped August for good (adjustments are for billed months only).
    clock_.set(local("2026-10-01 12:00"));
    const auto skipping = run("2026-09");
    ASSERT_EQ(skipping.refused.size(), 1U);
    EXPECT_NE(skipping.refused[0].second.find("the last bill is for 2026-07: bill 2026-08 first"), std::string::npos)
        << skipping.refused[0].second;
    const auto earlier = run("2026-06");
    EXPECT_EQ(earlier.issued, 0U);
    ASSERT_EQ(earlier.refused.size(), 1U);
    EXPECT_NE(earlier.refused[0].second.find("the bill for 2026-07 is issued already"), std::string::npos);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bills"), 1);
}

// The operator's routes refuse what is not a request, an id or a month with a clear error, and issue nothing.
TEST_F(BillCycleTest, BadRequestsToTheBillRoutesAreRefusedAndIssueNothing) {
    home_session();
    Worker worker({}, std::chrono::seconds(1), logger_);
    headend::testing::FakeRoutes routes;
    add_bill_routes(routes, *database_, *cycle_, worker, dir_.path() / "bills", kZone, clock_);
    const auto call = [&](const std::string& route, const std::string& body,
                          const std::map<std::string, std::string>& params = {},
                          const std::map<std::string, std::string>& query = {}) {
        headend::http::Request request;
        request.body = body;
        request.params = params;
        request.query = query;
        return routes.handlers.at(route)(request);
    };
    for (const char* body : {"", "{", "[]", "null", "{\"month\": 202607}", "{\"month\": \"2026-13\"}",
                             "{\"month\": \"9999-12\"}", "{\"account\": \"A1\"}",
                             "{\"month\": \"2026-07\", \"extra\": 1}", "{\"month\": \"2026-07\", \"account\": 5}"}) {
        const auto refused = call("POST /api/v1/bills/run", body);
        EXPECT_EQ(refused.status, 400) << body << " " << refused.body;
        EXPECT_NE(refused.body.find("request.invalid"), std::string::npos) << refused.body;
    }
    EXPECT_EQ(call("POST /api/v1/bills/run", R"({"month": "2026-08"})").status, 409);  // not over yet
    EXPECT_EQ(call("POST /api/v1/bills/run", R"({"month": "2026-07", "account": "A404"})").status, 404);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bills"), 0);
    for (const char* id : {"0", "-1", "x", "1x", "99999999999999999999", "7"}) {
        EXPECT_EQ(call("GET /api/v1/bills/{id}", "", {{"id", id}}).status, 404) << id;
        EXPECT_EQ(call("POST /api/v1/bills/{id}/resend", "", {{"id", id}}).status, 404) << id;
    }
    EXPECT_EQ(call("GET /api/v1/bills", "", {}, {{"month", "2026-7"}}).status, 400);
    EXPECT_EQ(call("GET /api/v1/bills", "", {}, {{"bogus", "1"}}).status, 400);
    // A good request issues the bill, once.
    EXPECT_EQ(call("POST /api/v1/bills/run", R"({"month": "2026-07"})").status, 200);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM bills"), 1);
}

}  // namespace
}  // namespace billing::testing
