// The golden month: one small account per case, every figure of its bill worked out by hand beside the assertion,
// from the tariff (../shared/reference/tariffs.md, config/programs.toml) and the billing rules (DESIGN §6), not from
// the code. Amounts are in 10^-5 $. Prices in 10^-5 $/kWh:
//   EV-TOU summer (1 Jun–30 Sep): on-peak weekdays 16–21 56 368, mid-peak weekends/holidays 16–21 38 128,
//          off-peak otherwise 26 322;
//   EV-TOU winter: mid-peak 16–21 53 340, off-peak 21–08 24 490, super off-peak 08–16 24 490;
//   EV-TOU fixed charge 51 600 a day; DOM-FLAT 32 000 at all hours (the premises default rate: credits, meter).
// Interval cost = Wh × price / 1000, rounded half away from zero; a line (posting) is the sum of its intervals,
// rounded once to cents half away from zero; the bill total is the sum of the rounded lines. Local time is
// America/Los_Angeles.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "billing/customer_view.hpp"
#include "billing_fixture.hpp"
#include "clearinghouse.hpp"

namespace billing::testing {
namespace {

constexpr const char* kPeerToken = "peer-token-0123456789";
constexpr const char* kPeerTokenBase64 = "cGVlci10b2tlbi0wMTIzNDU2Nzg5";  // OCPI 2.2 sends it Base64-encoded

class GoldenMonthTest : public BillingFixture {
protected:
    // Account A1 at P1 (1 Gold St, DOM-FLAT) with its PEV V1 (LFDI L1) enrolled there on EV-TOU since 1 January 2026,
    // metered by the premises' EUMD: that channel.
    std::int64_t customer() {
        account("A1", "Ann Golden");
        premises("P1", "A1", "1 Gold St");
        enroll("V1", "A1", "P1", local("2026-01-01 00:00"));
        return channel("P1", "L1", true);
    }
    // A home session of V1 at P1 whose intervals run from `start` to `end`: the binding is requested two minutes
    // before and ends a minute after.
    std::int64_t home(std::int64_t start, std::int64_t end) {
        return bind({.lfdi = "L1",
                     .vin = "V1",
                     .premises_id = "P1",
                     .payer = "A1",
                     .requested_at = start - 120,
                     .updated_at = end + 60});
    }
    // Each posting as "usage month source", sorted.
    static std::vector<std::string> sources(const std::vector<Posting>& postings) {
        std::vector<std::string> out;
        for (const auto& one : postings)
            out.push_back(one.usage_month + " " + one.source);
        std::sort(out.begin(), out.end());
        return out;
    }
    // The posting of `source` (for `usage_month`, when given): its energy, exact amount and billed amount.
    static void expect_line(const std::vector<Posting>& postings, const std::string& source, std::int64_t wh,
                            std::int64_t exact, std::int64_t billed, const std::string& usage_month = "") {
        const Posting* line = posting(postings, source, usage_month);
        ASSERT_NE(line, nullptr) << "no posting " << source << " " << usage_month;
        EXPECT_EQ(line->line.wh, wh) << source;
        EXPECT_EQ(line->exact, exact) << source;
        EXPECT_EQ(line->line.amount, billed) << source;
    }
    headend::http::Response receive_cdr(Clearinghouse& clearinghouse, const std::string& body) {
        headend::http::Request request;
        request.method = "POST";
        request.body = body;
        request.headers["authorization"] = std::string("Token ") + kPeerTokenBase64;
        return clearinghouse.receive(request);
    }
};

TEST_F(GoldenMonthTest, HomeSessionOffPeak) {
    const std::int64_t pev = customer();
    const std::int64_t meter = channel("P1", "P1-ESCI", false);
    // Tuesday 7 July 2026 02:00–03:30, summer weekday off-peak (26 322): 4 quarters of 1234 Wh, 2 of 987 Wh.
    home(local("2026-07-07 02:00"), local("2026-07-07 03:30"));
    intervals(pev, local("2026-07-07 02:00"), 4, 1234);
    intervals(pev, local("2026-07-07 03:00"), 2, 987);
    // The premises meter 02:00–04:00: 8 quarters of 2000 Wh.
    intervals(meter, local("2026-07-07 02:00"), 8, 2000);
    EXPECT_EQ(run("2026-07").issued, 1U);
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings),
              (std::vector<std::string>{"2026-07 premises:P1:energy", "2026-07 premises:P1:fixed:EV-TOU",
                                        "2026-07 session:1:credit", "2026-07 session:1:debit"}));
    // Debit: 1234 × 26 322 / 1000 = 32 481.348 → 32 481; 987 × 26 322 / 1000 = 25 979.814 → 25 980;
    // 4 × 32 481 + 2 × 25 980 = 129 924 + 51 960 = 181 884 → $1.82; 4 × 1234 + 2 × 987 = 6910 Wh.
    expect_line(postings, "session:1:debit", 6'910, 181'884, 182'000);
    const Posting* debit = posting(postings, "session:1:debit");
    ASSERT_NE(debit, nullptr);
    EXPECT_EQ(debit->line.kind, LineKind::HomeSession);
    ASSERT_EQ(debit->line.periods.size(), 1U);
    EXPECT_EQ(debit->line.periods[0].period, "off-peak");
    EXPECT_EQ(debit->line.start, local("2026-07-07 02:00"));
    EXPECT_EQ(debit->line.end, local("2026-07-07 03:30"));
    // Credit at DOM-FLAT: 1234 × 32 = 39 488, 987 × 32 = 31 584; 4 × 39 488 + 2 × 31 584 = 157 952 + 63 168 =
    // 221 120 → −$2.21.
    expect_line(postings, "session:1:credit", 6'910, -221'120, -221'000);
    // Premises meter: 8 × 2000 = 16 000 Wh × 0.32 = 512 000 → $5.12.
    expect_line(postings, "premises:P1:energy", 16'000, 512'000, 512'000);
    // Fixed charge: 31 days of July × 51 600 = 1 599 600 → $16.00 (1599.6 cents rounds up); no energy.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $1.82 − $2.21 + $5.12 + $16.00 = $20.73.
    EXPECT_EQ(bill.total, 2'073'000);
}

TEST_F(GoldenMonthTest, HomeSessionOnPeak) {
    const std::int64_t pev = customer();
    // Thursday 16 July 2026 15:30–21:30, 24 quarters of 1555 Wh: 15:30 and 15:45 off-peak, 16:00–20:45 on-peak
    // (20 quarters), 21:00 and 21:15 off-peak again.
    home(local("2026-07-16 15:30"), local("2026-07-16 21:30"));
    intervals(pev, local("2026-07-16 15:30"), 24, 1555);
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-07 premises:P1:fixed:EV-TOU",
                                                           "2026-07 session:1:credit", "2026-07 session:1:debit"}));
    // On-peak: 1555 × 56 368 / 1000 = 87 652.24 → 87 652, × 20 = 1 753 040 for 31 100 Wh.
    // Off-peak: 1555 × 26 322 / 1000 = 40 930.71 → 40 931, × 4 = 163 724 for 6220 Wh.
    // 1 753 040 + 163 724 = 1 916 764 → $19.17; 24 × 1555 = 37 320 Wh.
    expect_line(postings, "session:1:debit", 37'320, 1'916'764, 1'917'000);
    const Posting* debit = posting(postings, "session:1:debit");
    ASSERT_NE(debit, nullptr);
    ASSERT_EQ(debit->line.periods.size(), 2U);
    EXPECT_EQ(debit->line.periods[0].period, "off-peak");  // the first interval's period first
    EXPECT_EQ(debit->line.periods[0].wh, 6'220);
    EXPECT_EQ(debit->line.periods[0].amount, 163'724);
    EXPECT_EQ(debit->line.periods[1].period, "on-peak");
    EXPECT_EQ(debit->line.periods[1].wh, 31'100);
    EXPECT_EQ(debit->line.periods[1].amount, 1'753'040);
    // Credit: 1555 × 32 = 49 760, × 24 = 1 194 240 → −$11.94.
    expect_line(postings, "session:1:credit", 37'320, -1'194'240, -1'194'000);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $19.17 − $11.94 + $16.00 = $23.23.
    EXPECT_EQ(bill.total, 2'323'000);
}

TEST_F(GoldenMonthTest, SummerWeekdayAgainstWeekendAtTheSameHour) {
    const std::int64_t pev = customer();
    // Friday 10 July 2026 and Saturday 11 July, 18:00–19:00 both: 4 quarters of 2000 Wh each.
    home(local("2026-07-10 18:00"), local("2026-07-10 19:00"));
    intervals(pev, local("2026-07-10 18:00"), 4, 2000);
    home(local("2026-07-11 18:00"), local("2026-07-11 19:00"));
    intervals(pev, local("2026-07-11 18:00"), 4, 2000);
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-07 premises:P1:fixed:EV-TOU",
                                                           "2026-07 session:1:credit", "2026-07 session:1:debit",
                                                           "2026-07 session:2:credit", "2026-07 session:2:debit"}));
    // Friday on-peak: 2000 × 56 368 / 1000 = 112 736, × 4 = 450 944 → $4.51.
    expect_line(postings, "session:1:debit", 8'000, 450'944, 451'000);
    EXPECT_EQ(posting(postings, "session:1:debit")->line.periods.at(0).period, "on-peak");
    // Saturday mid-peak: 2000 × 38 128 / 1000 = 76 256, × 4 = 305 024 → $3.05.
    expect_line(postings, "session:2:debit", 8'000, 305'024, 305'000);
    EXPECT_EQ(posting(postings, "session:2:debit")->line.periods.at(0).period, "mid-peak");
    // Credits, the same either day: 8000 × 32 = 256 000 → −$2.56 each.
    expect_line(postings, "session:1:credit", 8'000, -256'000, -256'000);
    expect_line(postings, "session:2:credit", 8'000, -256'000, -256'000);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $4.51 + $3.05 − $2.56 − $2.56 + $16.00 = $18.44.
    EXPECT_EQ(bill.total, 1'844'000);
}

TEST_F(GoldenMonthTest, LaborDayIsRatedAsAHoliday) {
    const std::int64_t pev = customer();
    // Labor Day, Monday 7 September 2026 (the first Monday of September), and the Tuesday after, 17:00–18:00 both:
    // 4 quarters of 1750 Wh each.
    home(local("2026-09-07 17:00"), local("2026-09-07 18:00"));
    intervals(pev, local("2026-09-07 17:00"), 4, 1750);
    home(local("2026-09-08 17:00"), local("2026-09-08 18:00"));
    intervals(pev, local("2026-09-08 17:00"), 4, 1750);
    clock_.set(local("2026-10-01 12:00"));
    run("2026-09");
    const auto [bill, postings] = issued("A1", "2026-09");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-09 premises:P1:fixed:EV-TOU",
                                                           "2026-09 session:1:credit", "2026-09 session:1:debit",
                                                           "2026-09 session:2:credit", "2026-09 session:2:debit"}));
    // Labor Day, a holiday: mid-peak, 1750 × 38 128 / 1000 = 66 724, × 4 = 266 896 → $2.67.
    expect_line(postings, "session:1:debit", 7'000, 266'896, 267'000);
    EXPECT_EQ(posting(postings, "session:1:debit")->line.periods.at(0).period, "mid-peak");
    // Tuesday, a weekday: on-peak, 1750 × 56 368 / 1000 = 98 644, × 4 = 394 576 → $3.95.
    expect_line(postings, "session:2:debit", 7'000, 394'576, 395'000);
    EXPECT_EQ(posting(postings, "session:2:debit")->line.periods.at(0).period, "on-peak");
    // Credits: 7000 × 32 = 224 000 → −$2.24 each.
    expect_line(postings, "session:1:credit", 7'000, -224'000, -224'000);
    expect_line(postings, "session:2:credit", 7'000, -224'000, -224'000);
    // Fixed: 30 days of September × 51 600 = 1 548 000 → $15.48.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'548'000, 1'548'000);
    // $2.67 + $3.95 − $2.24 − $2.24 + $15.48 = $17.62.
    EXPECT_EQ(bill.total, 1'762'000);
}

TEST_F(GoldenMonthTest, IndependenceDayOnASundayIsObservedOnTheMonday) {
    // No rule holiday of 2026 falls on a Sunday (New Year's Day Thu, Independence Day Sat, Veterans Day Wed,
    // Christmas Fri; the others are Mondays or a Thursday by rule). In 2027 Independence Day is Sunday 4 July:
    // observed on Monday 5 July. Monday 5 and Tuesday 6 July 2027, 17:00–18:00: 4 quarters of 1750 Wh each.
    const std::int64_t pev = customer();
    home(local("2027-07-05 17:00"), local("2027-07-05 18:00"));
    intervals(pev, local("2027-07-05 17:00"), 4, 1750);
    home(local("2027-07-06 17:00"), local("2027-07-06 18:00"));
    intervals(pev, local("2027-07-06 17:00"), 4, 1750);
    clock_.set(local("2027-08-01 12:00"));
    run("2027-07");
    const auto [bill, postings] = issued("A1", "2027-07");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2027-07 premises:P1:fixed:EV-TOU",
                                                           "2027-07 session:1:credit", "2027-07 session:1:debit",
                                                           "2027-07 session:2:credit", "2027-07 session:2:debit"}));
    // The observed holiday: mid-peak, 1750 × 38 128 / 1000 = 66 724, × 4 = 266 896 → $2.67.
    expect_line(postings, "session:1:debit", 7'000, 266'896, 267'000);
    EXPECT_EQ(posting(postings, "session:1:debit")->line.periods.at(0).period, "mid-peak");
    // Tuesday: on-peak, 1750 × 56 368 / 1000 = 98 644, × 4 = 394 576 → $3.95.
    expect_line(postings, "session:2:debit", 7'000, 394'576, 395'000);
    EXPECT_EQ(posting(postings, "session:2:debit")->line.periods.at(0).period, "on-peak");
    // Credits: 7000 × 32 = 224 000 → −$2.24 each.
    expect_line(postings, "session:1:credit", 7'000, -224'000, -224'000);
    expect_line(postings, "session:2:credit", 7'000, -224'000, -224'000);
    // Fixed: 31 days of July 2027 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $2.67 + $3.95 − $2.24 − $2.24 + $16.00 = $18.14.
    EXPECT_EQ(bill.total, 1'814'000);
}

TEST_F(GoldenMonthTest, SpringForwardDay) {
    const std::int64_t pev = customer();
    // Sunday 8 March 2026 (winter), clocks go from 02:00 PST to 03:00 PDT: a 23-hour day.
    // Session 1, 01:00 PST (09:00 UTC) to 04:00 PDT (11:00 UTC): 8 quarters (01:00–01:45, then 03:00–03:45) of
    // 1050 Wh, all off-peak (21–08).
    home(local("2026-03-08 01:00"), local("2026-03-08 04:00"));
    intervals(pev, local("2026-03-08 01:00"), 8, 1050);
    // Session 2, 15:30–16:30 PDT: 15:30 and 15:45 super off-peak, 16:00 and 16:15 mid-peak (with the PST offset of
    // the day's start it would all be super off-peak).
    home(local("2026-03-08 15:30"), local("2026-03-08 16:30"));
    intervals(pev, local("2026-03-08 15:30"), 4, 1050);
    clock_.set(local("2026-04-01 12:00"));
    run("2026-03");
    const auto [bill, postings] = issued("A1", "2026-03");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-03 premises:P1:fixed:EV-TOU",
                                                           "2026-03 session:1:credit", "2026-03 session:1:debit",
                                                           "2026-03 session:2:credit", "2026-03 session:2:debit"}));
    // March: 31 days, 31 × 24 − 1 = 743 hours.
    EXPECT_EQ(bill.period_to - bill.period_from, 743 * 3600);
    // Session 1: 1050 × 24 490 / 1000 = 25 714.5 → 25 715 (half away from zero), × 8 = 205 720 → $2.06;
    // 8 × 1050 = 8400 Wh over two real hours.
    expect_line(postings, "session:1:debit", 8'400, 205'720, 206'000);
    const Posting* across = posting(postings, "session:1:debit");
    ASSERT_NE(across, nullptr);
    EXPECT_EQ(across->line.start, local("2026-03-08 01:00"));
    EXPECT_EQ(across->line.end, local("2026-03-08 04:00"));
    EXPECT_EQ(*across->line.end - *across->line.start, 2 * 3600);
    // Credit: 8400 × 32 = 268 800 → −$2.69.
    expect_line(postings, "session:1:credit", 8'400, -268'800, -269'000);
    // Session 2: 2 × 25 715 (super off-peak) + 2 × 1050 × 53 340 / 1000 (= 56 007, mid-peak) = 51 430 + 112 014 =
    // 163 444 → $1.63; 4200 Wh.
    expect_line(postings, "session:2:debit", 4'200, 163'444, 163'000);
    const Posting* afternoon = posting(postings, "session:2:debit");
    ASSERT_NE(afternoon, nullptr);
    ASSERT_EQ(afternoon->line.periods.size(), 2U);
    EXPECT_EQ(afternoon->line.periods[0].period, "super off-peak");
    EXPECT_EQ(afternoon->line.periods[0].amount, 51'430);
    EXPECT_EQ(afternoon->line.periods[1].period, "mid-peak");
    EXPECT_EQ(afternoon->line.periods[1].amount, 112'014);
    // Credit: 4200 × 32 = 134 400 → −$1.34.
    expect_line(postings, "session:2:credit", 4'200, -134'400, -134'000);
    // Fixed: 31 local days (the short one counted once) × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $2.06 − $2.69 + $1.63 − $1.34 + $16.00 = $15.66.
    EXPECT_EQ(bill.total, 1'566'000);
}

TEST_F(GoldenMonthTest, FallBackDay) {
    const std::int64_t pev = customer();
    // Sunday 1 November 2026 (winter), clocks go from 02:00 PDT back to 01:00 PST: a 25-hour day, 01:00–02:00 twice.
    // Session 1, 00:30 PDT (07:30 UTC) to 03:00 PST (11:00 UTC): 14 quarters of 1050 Wh (00:30, 00:45, 01:00–01:45
    // PDT, 01:00–01:45 PST, 02:00–02:45), all off-peak.
    home(local("2026-11-01 00:30"), local("2026-11-01 03:00"));
    intervals(pev, local("2026-11-01 00:30"), 14, 1050);
    // Session 2, 15:30–16:30 PST: 2 quarters super off-peak, 2 mid-peak (with the PDT offset of the day's start it
    // would all be mid-peak).
    home(local("2026-11-01 15:30"), local("2026-11-01 16:30"));
    intervals(pev, local("2026-11-01 15:30"), 4, 1050);
    clock_.set(local("2026-12-01 12:00"));
    run("2026-11");
    const auto [bill, postings] = issued("A1", "2026-11");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-11 premises:P1:fixed:EV-TOU",
                                                           "2026-11 session:1:credit", "2026-11 session:1:debit",
                                                           "2026-11 session:2:credit", "2026-11 session:2:debit"}));
    // November: 30 days, 30 × 24 + 1 = 721 hours.
    EXPECT_EQ(bill.period_to - bill.period_from, 721 * 3600);
    // Session 1: 14 × 25 715 (1050 × 24 490 / 1000 = 25 714.5 → 25 715) = 360 010 → $3.60; 14 × 1050 = 14 700 Wh
    // over 3.5 real hours.
    expect_line(postings, "session:1:debit", 14'700, 360'010, 360'000);
    const Posting* across = posting(postings, "session:1:debit");
    ASSERT_NE(across, nullptr);
    EXPECT_EQ(across->line.start, local("2026-11-01 00:30"));
    EXPECT_EQ(across->line.end, local("2026-11-01 03:00"));
    EXPECT_EQ(*across->line.end - *across->line.start, 7 * 1800);
    // Credit: 14 700 × 32 = 470 400 → −$4.70.
    expect_line(postings, "session:1:credit", 14'700, -470'400, -470'000);
    // Session 2: 2 × 25 715 + 2 × 56 007 = 163 444 → $1.63; credit 4200 × 32 = 134 400 → −$1.34.
    expect_line(postings, "session:2:debit", 4'200, 163'444, 163'000);
    const Posting* afternoon = posting(postings, "session:2:debit");
    ASSERT_NE(afternoon, nullptr);
    ASSERT_EQ(afternoon->line.periods.size(), 2U);
    EXPECT_EQ(afternoon->line.periods[0].period, "super off-peak");
    EXPECT_EQ(afternoon->line.periods[0].wh, 2'100);
    EXPECT_EQ(afternoon->line.periods[1].period, "mid-peak");
    EXPECT_EQ(afternoon->line.periods[1].wh, 2'100);
    expect_line(postings, "session:2:credit", 4'200, -134'400, -134'000);
    // Fixed: 30 local days (the long one counted once) × 51 600 = 1 548 000 → $15.48.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'548'000, 1'548'000);
    // $3.60 − $4.70 + $1.63 − $1.34 + $15.48 = $14.67.
    EXPECT_EQ(bill.total, 1'467'000);
}

TEST_F(GoldenMonthTest, SessionsAcrossLocalMidnightAndAcrossAMonthEnd) {
    const std::int64_t pev = customer();
    // Session 1: Tuesday 15 September 2026 23:00 to Wednesday 16 September 01:00, 8 quarters of 1300 Wh off-peak.
    home(local("2026-09-15 23:00"), local("2026-09-16 01:00"));
    intervals(pev, local("2026-09-15 23:00"), 8, 1300);
    // Session 2: Wednesday 30 September 23:00 to Thursday 1 October 01:00, 8 quarters of 1300 Wh: four in
    // September (summer off-peak), four in October (winter off-peak).
    home(local("2026-09-30 23:00"), local("2026-10-01 01:00"));
    intervals(pev, local("2026-09-30 23:00"), 8, 1300);
    clock_.set(local("2026-11-01 12:00"));
    run("2026-09");
    run("2026-10");

    const auto [september, september_postings] = issued("A1", "2026-09");
    EXPECT_EQ(
        sources(september_postings),
        (std::vector<std::string>{"2026-09 premises:P1:fixed:EV-TOU", "2026-09 session:1:credit",
                                  "2026-09 session:1:debit", "2026-09 session:2:credit", "2026-09 session:2:debit"}));
    // Session 1, one line over both days: 1300 × 26 322 / 1000 = 34 218.6 → 34 219, × 8 = 273 752 → $2.74;
    // 10 400 Wh.
    expect_line(september_postings, "session:1:debit", 10'400, 273'752, 274'000);
    const Posting* night = posting(september_postings, "session:1:debit");
    ASSERT_NE(night, nullptr);
    EXPECT_EQ(night->line.start, local("2026-09-15 23:00"));
    EXPECT_EQ(night->line.end, local("2026-09-16 01:00"));
    // Credit: 10 400 × 32 = 332 800 → −$3.33.
    expect_line(september_postings, "session:1:credit", 10'400, -332'800, -333'000);
    // Session 2's September intervals: 4 × 34 219 = 136 876 → $1.37; 5200 Wh; credit 5200 × 32 = 166 400 → −$1.66.
    expect_line(september_postings, "session:2:debit", 5'200, 136'876, 137'000);
    EXPECT_EQ(posting(september_postings, "session:2:debit")->line.end, local("2026-10-01 00:00"));
    expect_line(september_postings, "session:2:credit", 5'200, -166'400, -166'000);
    // Fixed: 30 × 51 600 = 1 548 000 → $15.48.
    expect_line(september_postings, "premises:P1:fixed:EV-TOU", 0, 1'548'000, 1'548'000);
    // $2.74 − $3.33 + $1.37 − $1.66 + $15.48 = $14.60.
    EXPECT_EQ(september.total, 1'460'000);

    const auto [october, october_postings] = issued("A1", "2026-10");
    // Nothing for September on the October bill: each month billed its own intervals.
    EXPECT_EQ(sources(october_postings),
              (std::vector<std::string>{"2026-10 premises:P1:fixed:EV-TOU", "2026-10 session:2:credit",
                                        "2026-10 session:2:debit"}));
    // Session 2's October intervals, winter off-peak: 1300 × 24 490 / 1000 = 31 837, × 4 = 127 348 → $1.27.
    expect_line(october_postings, "session:2:debit", 5'200, 127'348, 127'000);
    EXPECT_EQ(posting(october_postings, "session:2:debit")->line.start, local("2026-10-01 00:00"));
    EXPECT_EQ(posting(october_postings, "session:2:debit")->line.periods.at(0).period, "off-peak");
    // Credit: 5200 × 32 = 166 400 → −$1.66.
    expect_line(october_postings, "session:2:credit", 5'200, -166'400, -166'000);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(october_postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $1.27 − $1.66 + $16.00 = $15.61.
    EXPECT_EQ(october.total, 1'561'000);
}

TEST_F(GoldenMonthTest, TariffVersionChangeMidMonth) {
    const std::int64_t pev = customer();
    // Version 2 from Wednesday 15 July 2026 17:30 local: summer on-peak 0.61234 $/kWh, everything else unchanged.
    // Loaded before July is billed.
    std::ifstream in(PROGRAMS_FILE);
    std::stringstream text;
    text << in.rdbuf();
    std::string next = text.str();
    next.replace(next.find("time_zone = "), 0, "effective_from = \"2026-07-15T17:30\"\n");
    next.replace(next.find("\"0.56368\""), 9, "\"0.61234\"");
    auto stored = pev::CatalogLoader::open(*database_, PROGRAMS_FILE, kZone, 0);
    ASSERT_TRUE(stored);
    pev::CatalogVersions versions(std::move(*stored));
    pev::CatalogLoader loader(*database_, versions, kZone);
    auto loaded = loader.load_version(next, "v2.toml", clock_.now());
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->version, 2);

    // On-peak sessions 17:00–18:00, 4 quarters of 2000 Wh: Tuesday 14, Wednesday 15 and Thursday 16 July.
    for (const char* day : {"2026-07-14", "2026-07-15", "2026-07-16"}) {
        home(local(std::string(day) + " 17:00"), local(std::string(day) + " 18:00"));
        intervals(pev, local(std::string(day) + " 17:00"), 4, 2000);
    }
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-07 premises:P1:fixed:EV-TOU",
                                                           "2026-07 session:1:credit", "2026-07 session:1:debit",
                                                           "2026-07 session:2:credit", "2026-07 session:2:debit",
                                                           "2026-07 session:3:credit", "2026-07 session:3:debit"}));
    // 14 July, all on version 1: 2000 × 56 368 / 1000 = 112 736, × 4 = 450 944 → $4.51.
    expect_line(postings, "session:1:debit", 8'000, 450'944, 451'000);
    // 15 July: 17:00 and 17:15 before the effective instant, on version 1: 2 × 112 736 = 225 472; 17:30 and 17:45 on
    // version 2: 2000 × 61 234 / 1000 = 122 468, × 2 = 244 936; 470 408 → $4.70.
    expect_line(postings, "session:2:debit", 8'000, 470'408, 470'000);
    // 16 July, all on version 2: 4 × 122 468 = 489 872 → $4.90.
    expect_line(postings, "session:3:debit", 8'000, 489'872, 490'000);
    // Credits at DOM-FLAT, unchanged: 8000 × 32 = 256 000 → −$2.56 each.
    expect_line(postings, "session:1:credit", 8'000, -256'000, -256'000);
    expect_line(postings, "session:2:credit", 8'000, -256'000, -256'000);
    expect_line(postings, "session:3:credit", 8'000, -256'000, -256'000);
    // Fixed, unchanged: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $4.51 + $4.70 + $4.90 − 3 × $2.56 + $16.00 = $22.43.
    EXPECT_EQ(bill.total, 2'243'000);
}

TEST_F(GoldenMonthTest, GuestSessionsWithTheOwnerPayingAndWithTheHostPaying) {
    customer();
    // The host: A2 at P2 (2 Elm St, DOM-FLAT), no PEV enrolled there (no fixed charge).
    account("A2", "Hal Host");
    premises("P2", "A2", "2 Elm St");
    const std::int64_t pev_at_p2 = channel("P2", "L1", true);
    // Owner pays: Monday 20 July 2026 17:00–18:00, on-peak, 4 quarters of 1800 Wh.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A1",
          .requested_at = local("2026-07-20 16:58"),
          .updated_at = local("2026-07-20 18:01")});
    intervals(pev_at_p2, local("2026-07-20 17:00"), 4, 1800);
    // Host pays: Tuesday 21 July 10:00–11:00, off-peak, 4 quarters of 1234 Wh.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A2",
          .requested_at = local("2026-07-21 09:58"),
          .updated_at = local("2026-07-21 11:01")});
    intervals(pev_at_p2, local("2026-07-21 10:00"), 4, 1234);
    EXPECT_EQ(run("2026-07").issued, 2U);

    const auto [owner, owner_postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(owner_postings),
              (std::vector<std::string>{"2026-07 premises:P1:fixed:EV-TOU", "2026-07 session:1:debit"}));
    // Owner's debit at EV-TOU: 1800 × 56 368 / 1000 = 101 462.4 → 101 462, × 4 = 405 848 → $4.06.
    expect_line(owner_postings, "session:1:debit", 7'200, 405'848, 406'000);
    EXPECT_EQ(posting(owner_postings, "session:1:debit")->line.kind, LineKind::GuestSession);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(owner_postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $4.06 + $16.00 = $20.06.
    EXPECT_EQ(owner.total, 2'006'000);

    const auto [host, host_postings] = issued("A2", "2026-07");
    EXPECT_EQ(sources(host_postings), (std::vector<std::string>{"2026-07 session:1:credit", "2026-07 session:2:credit",
                                                                "2026-07 session:2:debit"}));
    // The host's credit for session 1: 7200 × 32 = 230 400 → −$2.30.
    expect_line(host_postings, "session:1:credit", 7'200, -230'400, -230'000);
    // Session 2 debited to the host at the PEV's program: 1234 × 26 322 / 1000 = 32 481.348 → 32 481, × 4 =
    // 129 924 → $1.30; 4936 Wh.
    expect_line(host_postings, "session:2:debit", 4'936, 129'924, 130'000);
    EXPECT_EQ(posting(host_postings, "session:2:debit")->line.kind, LineKind::GuestSession);
    // And credited: 1234 × 32 = 39 488, × 4 = 157 952 → −$1.58.
    expect_line(host_postings, "session:2:credit", 4'936, -157'952, -158'000);
    // −$2.30 + $1.30 − $1.58 = −$2.58.
    EXPECT_EQ(host.total, -258'000);
}

// The customer's Green Button costs (what each interval adds to the bill) add up to the bill's energy lines exactly.
TEST_F(GoldenMonthTest, IntervalCostsOfTheGreenButtonDownloadAddUpToTheBillsEnergyLines) {
    customer();
    account("A2", "Hal Host");
    premises("P2", "A2", "2 Elm St");
    const std::int64_t pev_at_p2 = channel("P2", "L1", true);
    const std::int64_t meter_p2 = channel("P2", "M2", false);
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A1",
          .requested_at = local("2026-07-20 16:58"),
          .updated_at = local("2026-07-20 18:01")});
    intervals(pev_at_p2, local("2026-07-20 17:00"), 4, 1800);
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P2",
          .kind = "guest",
          .payer = "A2",
          .requested_at = local("2026-07-21 09:58"),
          .updated_at = local("2026-07-21 11:01")});
    intervals(pev_at_p2, local("2026-07-21 10:00"), 4, 1234);
    intervals(meter_p2, local("2026-07-21 10:00"), 4, 2000);
    EXPECT_EQ(run("2026-07").issued, 2U);

    CustomerView view(*database_, kZone);
    const auto costs = view.interval_costs("A2", local("2026-07-01 00:00"), local("2026-08-01 00:00"));
    ASSERT_TRUE(costs) << costs.error().message;
    ASSERT_EQ(costs->size(), 12U);
    std::int64_t total = 0;
    for (const auto& one : *costs) {
        total += one.cost;
        EXPECT_EQ(one.premises_id, "P2");
        if (one.lfdi.empty())  // the meter at DOM-FLAT: 2000 × 32 000 / 1000
            EXPECT_EQ(one.cost, 64'000);
        else if (one.start < local("2026-07-21 00:00"))  // A1 pays: A2's credit only, 1800 × 32 000 / 1000
            EXPECT_EQ(one.cost, -57'600);
        else  // A2 pays: its debit at EV-TOU off-peak less its credit at DOM-FLAT, 32 481 − 39 488
            EXPECT_EQ(one.cost, -7'007);
    }
    const auto [host, host_postings] = issued("A2", "2026-07");
    std::int64_t energy_lines = 0;
    for (const auto& posting : host_postings)
        energy_lines += posting.exact;
    EXPECT_EQ(total, energy_lines);
    // Instants in years no bill month is parsed from (before 1970, in 9999) are months all the same: nothing there.
    for (const auto& [from, to] : {std::pair<std::int64_t, std::int64_t>{-2'208'988'800, -2'208'902'400},
                                   std::pair<std::int64_t, std::int64_t>{253'399'622'400, 253'402'214'400}}) {
        const auto none = view.interval_costs("A2", from, to);
        ASSERT_TRUE(none) << none.error().message;
        EXPECT_TRUE(none->empty());
    }
    // Another account's view of the same month holds nothing of P2's meter.
    const auto other = view.interval_costs("A1", local("2026-07-01 00:00"), local("2026-08-01 00:00"));
    ASSERT_TRUE(other);
    for (const auto& one : *other)
        EXPECT_FALSE(one.lfdi.empty()) << "A1 sees a premises meter: " << one.premises_id;
}

TEST_F(GoldenMonthTest, VisitingPevCreditsTheHostOnly) {
    // The host: A1 at P1 (DOM-FLAT), no PEV of its own. The visiting PEV V9 (LFDI L9) of another utility charges
    // there on Saturday 25 July 2026 14:00–15:00, 4 quarters of 1500 Wh.
    account("A1", "Ann Golden");
    premises("P1", "A1", "1 Gold St");
    const std::int64_t visitor = channel("P1", "L9", true);
    bind({.lfdi = "L9",
          .vin = "V9",
          .premises_id = "P1",
          .kind = "roaming",
          .requested_at = local("2026-07-25 13:58"),
          .updated_at = local("2026-07-25 15:01"),
          .program = "EV-TOU",
          .home_utility = "US*OTH"});
    intervals(visitor, local("2026-07-25 14:00"), 4, 1500);
    EXPECT_EQ(run("2026-07").issued, 1U);
    const auto [bill, postings] = issued("A1", "2026-07");
    // Only the credit: the visitor's home utility settles its debit by CDR.
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-07 session:1:credit"}));
    // 6000 Wh × 32 = 192 000 → −$1.92.
    expect_line(postings, "session:1:credit", 6'000, -192'000, -192'000);
    EXPECT_EQ(posting(postings, "session:1:credit")->line.kind, LineKind::HostCredit);
    EXPECT_EQ(bill.total, -192'000);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM postings WHERE source LIKE '%:debit'"), 0);
}

TEST_F(GoldenMonthTest, OurPevChargedElsewhereWithALaterCreditCdr) {
    customer();
    ClearinghouseSettings settings;
    settings.peers = {{"US", "OTH", kPeerToken}};
    Clearinghouse clearinghouse(*database_, settings, clock_, logger_);
    // V1 charged at another operator's site on Friday 10 July 2026 17:00–18:30 UTC (10:00–11:30 local): 12.345 kWh for
    // $4.125.
    const auto cdr = [](const std::string& id, const std::string& cost, const std::string& credit) {
        return R"({"country_code": "US", "party_id": "OTH", "id": ")" + id +
               R"(", "start_date_time": "2026-07-10T17:00:00Z", "end_date_time": "2026-07-10T18:30:00Z",
                  "cdr_token": {"country_code": "US", "party_id": "UTL", "uid": "V1", "type": "OTHER",
                                "contract_id": "V1"},
                  "auth_method": "AUTH_REQUEST",
                  "cdr_location": {"id": "LOC7", "address": "7 Far Rd", "city": "Elsewhere", "country": "USA",
                                   "coordinates": {"latitude": "34.1", "longitude": "-118.1"}, "evse_uid": "E7",
                                   "evse_id": "US*OTH*E7", "connector_id": "1",
                                   "connector_standard": "IEC_62196_T1", "connector_format": "CABLE",
                                   "connector_power_type": "AC_1_PHASE"},
                  "currency": "USD",
                  "charging_periods": [{"start_date_time": "2026-07-10T17:00:00Z",
                                        "dimensions": [{"type": "ENERGY", "volume": 12.345}]}],
                  "total_cost": {"excl_vat": )" +
               cost + R"(}, "total_energy": 12.345, "total_time": 1.5, "last_updated": "2026-07-10T18:35:00Z")" +
               credit + "}";
    };
    clock_.set(local("2026-07-10 12:00"));
    const auto charged = receive_cdr(clearinghouse, cdr("X-7", "4.125", ""));
    EXPECT_EQ(charged.status, 200) << charged.body;
    // Later the operator credits the whole CDR.
    clock_.set(local("2026-07-20 09:00"));
    const auto credited =
        receive_cdr(clearinghouse, cdr("X-7-C", "-4.125", R"(, "credit": true, "credit_reference_id": "X-7")"));
    EXPECT_EQ(credited.status, 200) << credited.body;
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM cdrs_in"), 2);

    clock_.set(local("2026-08-01 12:00"));
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings), (std::vector<std::string>{"2026-07 cdr:US*OTH:X-7", "2026-07 cdr:US*OTH:X-7-C",
                                                           "2026-07 premises:P1:fixed:EV-TOU"}));
    // The CDR as received: $4.125 = 412 500 → $4.13 (half a cent, away from zero); 12.345 kWh = 12 345 Wh.
    expect_line(postings, "cdr:US*OTH:X-7", 12'345, 412'500, 413'000);
    EXPECT_EQ(posting(postings, "cdr:US*OTH:X-7")->line.kind, LineKind::Roaming);
    EXPECT_EQ(posting(postings, "cdr:US*OTH:X-7")->line.place, "7 Far Rd, Elsewhere");
    // The credit: −412 500 → −$4.13 (away from zero too); −12 345 Wh.
    expect_line(postings, "cdr:US*OTH:X-7-C", -12'345, -412'500, -413'000);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $4.13 − $4.13 + $16.00 = $16.00.
    EXPECT_EQ(bill.total, 1'600'000);
}

TEST_F(GoldenMonthTest, FallbackSessionIsListedWithoutMoney) {
    const std::int64_t pev = customer();
    const std::int64_t meter = channel("P1", "P1-ESCI", false);
    // Wednesday 22 July 2026 17:00–18:00 (on-peak hours): the binding fell back, never validated; 4 quarters of
    // 1800 Wh. The premises meter saw 4 quarters of 2500 Wh.
    bind({.lfdi = "L1",
          .vin = "V1",
          .premises_id = "P1",
          .payer = "A1",
          .status = "fallback",
          .requested_at = local("2026-07-22 16:58"),
          .updated_at = local("2026-07-22 17:00"),
          .validated = false});
    intervals(pev, local("2026-07-22 17:00"), 4, 1800);
    intervals(meter, local("2026-07-22 17:00"), 4, 2500);
    run("2026-07");
    const auto [bill, postings] = issued("A1", "2026-07");
    EXPECT_EQ(sources(postings),
              (std::vector<std::string>{"2026-07 premises:P1:energy", "2026-07 premises:P1:fixed:EV-TOU",
                                        "2026-07 session:1:fallback"}));
    // Listed with its energy, 4 × 1800 = 7200 Wh, and no money.
    expect_line(postings, "session:1:fallback", 7'200, 0, 0);
    EXPECT_EQ(posting(postings, "session:1:fallback")->line.kind, LineKind::FallbackSession);
    // The energy stays in the premises total: 4 × 2500 = 10 000 Wh × 32 = 320 000 → $3.20.
    expect_line(postings, "premises:P1:energy", 10'000, 320'000, 320'000);
    // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
    // $3.20 + $16.00 = $19.20.
    EXPECT_EQ(bill.total, 1'920'000);
}

TEST_F(GoldenMonthTest, LateReadingAfterTheBillClosedIsAnAdjustmentOnTheNextBill) {
    const std::int64_t pev = customer();
    const std::int64_t meter = channel("P1", "P1-ESCI", false);
    // Thursday 30 July 2026 10:00–11:00, off-peak: by the July bill only the first two quarters have arrived,
    // 1000 Wh from the PEV and 1500 Wh at the premises meter each.
    home(local("2026-07-30 10:00"), local("2026-07-30 11:00"));
    intervals(pev, local("2026-07-30 10:00"), 2, 1000);
    intervals(meter, local("2026-07-30 10:00"), 2, 1500);
    run("2026-07");
    {
        const auto [july, postings] = issued("A1", "2026-07");
        EXPECT_EQ(sources(postings),
                  (std::vector<std::string>{"2026-07 premises:P1:energy", "2026-07 premises:P1:fixed:EV-TOU",
                                            "2026-07 session:1:credit", "2026-07 session:1:debit"}));
        // 2 × 1000 × 26 322 / 1000 = 2 × 26 322 = 52 644 → $0.53.
        expect_line(postings, "session:1:debit", 2'000, 52'644, 53'000);
        // Credit: 2000 × 32 = 64 000 → −$0.64.
        expect_line(postings, "session:1:credit", 2'000, -64'000, -64'000);
        // Meter: 3000 × 32 = 96 000 → $0.96.
        expect_line(postings, "premises:P1:energy", 3'000, 96'000, 96'000);
        // Fixed: 31 × 51 600 = 1 599 600 → $16.00.
        expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000);
        // $0.53 − $0.64 + $0.96 + $16.00 = $16.85.
        EXPECT_EQ(july.total, 1'685'000);
    }

    // On 3 August the last two quarters (10:30, 10:45) arrive from both meters.
    clock_.set(local("2026-08-03 09:00"));
    intervals(pev, local("2026-07-30 10:30"), 2, 1000);
    intervals(meter, local("2026-07-30 10:30"), 2, 1500);
    clock_.set(local("2026-09-01 12:00"));
    const auto summary = run("2026-08");
    EXPECT_EQ(summary.adjustments, 3U);
    const auto [august, postings] = issued("A1", "2026-08");
    EXPECT_EQ(sources(postings),
              (std::vector<std::string>{"2026-07 premises:P1:energy", "2026-07 session:1:credit",
                                        "2026-07 session:1:debit", "2026-08 premises:P1:fixed:EV-TOU"}));
    // The debit now: 4 × 26 322 = 105 288 → $1.05 in all; $0.53 billed: +2000 Wh, +52 644 exact, and
    // $1.05 − $0.53 = +$0.52 (the line rounded once over both bills; 52 644 rounded alone would be $0.53, and the
    // customer would pay $1.06 for a $1.05288 line).
    expect_line(postings, "session:1:debit", 2'000, 52'644, 52'000, "2026-07");
    // The credit now: 4000 × 32 = 128 000 → −$1.28; −$0.64 billed: −$0.64 for +2000 Wh.
    expect_line(postings, "session:1:credit", 2'000, -64'000, -64'000, "2026-07");
    // The meter now: 6000 × 32 = 192 000 → $1.92; $0.96 billed: +$0.96 for +3000 Wh.
    expect_line(postings, "premises:P1:energy", 3'000, 96'000, 96'000, "2026-07");
    // August itself: fixed 31 × 51 600 = 1 599 600 → $16.00.
    expect_line(postings, "premises:P1:fixed:EV-TOU", 0, 1'599'600, 1'600'000, "2026-08");
    // $16.00 + $0.52 − $0.64 + $0.96 = $16.84.
    EXPECT_EQ(august.total, 1'684'000);
}

}  // namespace
}  // namespace billing::testing
