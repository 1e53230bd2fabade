// The bill as JSON, HTML and PDF: the same lines and total in each; markup in names escaped; the PDF's text read back
// by a real reader (pdftotext, Debian's poppler-utils), over as many pages as the lines need.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "billing/bill.hpp"
#include "headend/testing/fakes.hpp"

namespace billing {
namespace {

namespace fs = std::filesystem;

Bill july_bill() {
    Bill bill;
    bill.bill_id = "A1-2026-07";
    bill.account_id = "A1";
    bill.customer_name = "Jane <b>Doe</b> & Sons";
    bill.service_address = "1 Main St, Springfield";
    bill.month = "2026-07";
    bill.period_from = 1'782'889'200;  // 2026-07-01 00:00 PDT
    bill.period_to = 1'785'567'600;    // 2026-08-01 00:00 PDT
    bill.issued_at = 1'785'628'800;
    bill.time_zone = "America/Los_Angeles";
    bill.lines = {
        {LineKind::PremisesEnergy,
         "Premises energy, DOM-FLAT",
         std::nullopt,
         std::nullopt,
         "P1",
         {},
         612'345,
         19'595'000},
        {LineKind::FixedCharge, "Fixed charge, 31 days at $0.516", std::nullopt, std::nullopt, "P1", {}, 0, 1'600'000},
        {LineKind::HomeSession,
         "Home charging, VIN 1HGCM82633A004352",
         1'783'126'800,  // 2026-07-03 18:00 PDT
         1'783'142'100,  // 22:15
         "P1",
         {{"on-peak", 21'600, 1'217'549}, {"off-peak", 4'500, 118'449}},
         26'100,
         1'336'000},
        {LineKind::HostCredit,
         "Credit for home charging at the default rate",
         1'783'126'800,
         1'783'142'100,
         "P1",
         {},
         26'100,
         -835'000},
    };
    return bill;
}

TEST(BillMoney, AmountsShowTwoPlacesAndEnergyKwh) {
    EXPECT_EQ(format_money(4'217'000), "42.17");
    EXPECT_EQ(format_money(4'210'000), "42.10");
    EXPECT_EQ(format_money(4'200'000), "42.00");
    EXPECT_EQ(format_money(-102'000), "-1.02");
    EXPECT_EQ(format_money(0), "0.00");
    EXPECT_EQ(format_kwh(26'100), "26.1");
}

TEST(BillRendering, JsonHoldsEveryLineAndTheTotalOfTheRoundedLines) {
    const Bill bill = july_bill();
    // 195.95 + 16.00 + 13.36 − 8.35 = 216.96
    EXPECT_EQ(bill.total(), 21'696'000);
    const auto json = nlohmann::json::parse(render_json(bill));
    EXPECT_EQ(json["total"], "216.96");
    ASSERT_EQ(json["lines"].size(), 4U);
    EXPECT_EQ(json["lines"][2]["kind"], "home_session");
    EXPECT_EQ(json["lines"][2]["start"], "2026-07-04T01:00:00Z");
    EXPECT_EQ(json["lines"][2]["periods"][0],
              (nlohmann::json{{"period", "on-peak"}, {"wh", 21'600}, {"amount_e5", 1'217'549}}));
    EXPECT_EQ(json["lines"][3]["amount"], "-8.35");
    EXPECT_EQ(json["customer_name"], "Jane <b>Doe</b> & Sons");
}

TEST(BillRendering, HtmlEscapesWhatTheCustomerRecordsHoldAndShowsLocalTimes) {
    const std::string html = render_html(july_bill());
    EXPECT_EQ(html.find("<b>Doe</b>"), std::string::npos);
    EXPECT_NE(html.find("Jane &lt;b&gt;Doe&lt;/b&gt; &amp; Sons"), std::string::npos);
    EXPECT_NE(html.find("2026-07-03 18:00 – 22:15"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"n\">216.96</td>"), std::string::npos);
    EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
}

class PdfTest : public ::testing::Test {
protected:
    // What a PDF reader gets out of it, and how many pages pdfinfo counts.
    std::pair<std::string, int> read_back(const std::string& pdf) {
        std::ofstream(dir_ / "bill.pdf", std::ios::binary) << pdf;
        const auto run = [](const std::string& command) {
            std::string out;
            if (FILE* pipe = popen(command.c_str(), "r"); pipe != nullptr) {
                char buffer[4096];
                for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
                    out.append(buffer, n);
                pclose(pipe);
            }
            return out;
        };
        const std::string text = run("pdftotext -layout " + (dir_ / "bill.pdf").string() + " - 2>&1");
        const std::string info = run("pdfinfo " + (dir_ / "bill.pdf").string() + " 2>&1");
        const auto pages = info.find("Pages:");
        return {text, pages == std::string::npos ? 0 : std::stoi(info.substr(pages + 6))};
    }
    headend::testing::TempDir temp_;
    fs::path dir_ = temp_.path();
};

TEST_F(PdfTest, APdfReaderGetsTheCustomerTheLinesAndTheTotalBack) {
    const std::string pdf = render_pdf(july_bill());
    ASSERT_EQ(pdf.rfind("%PDF-", 0), 0U);
    const auto [text, pages] = read_back(pdf);
    EXPECT_EQ(pages, 1);
    for (const char* expected : {"Bill for July 2026", "Jane <b>Doe</b> & Sons", "Home charging, VIN 1HGCM82633A004352",
                                 "2026-07-03 18:00 – 22:15", "on-peak", "21.6", "-8.35", "Total", "216.96"})
        EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
}

// A long description, a session over two days and the column heads: each read back whole, none run into another.
TEST_F(PdfTest, LongLinesWrapWithinTheirColumnAndNothingRunsTogether) {
    Bill bill = july_bill();
    bill.lines.push_back({LineKind::FallbackSession,
                          "PEV 5YJ3E1EA0PF000002 charging without a validated binding: in the premises total at "
                          "DOM-FLAT",
                          1'783'126'800,              // 2026-07-03 18:00 PDT
                          1'783'126'800 + 2 * 86400,  // 2026-07-05 18:00 PDT
                          "P1, 1 Main St, Springfield",
                          {},
                          18'053,
                          0});
    const auto [text, pages] = read_back(render_pdf(bill));
    EXPECT_EQ(pages, 1);
    std::string flat;  // the words in reading order, whatever the line breaks
    for (std::size_t at = 0; at < text.size();) {
        const auto end = text.find_first_of(" \n", at);
        const std::string word = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!word.empty())
            flat += (flat.empty() ? "" : " ") + word;
        at = end == std::string::npos ? text.size() : end + 1;
    }
    for (const char* expected : {"kWh Amount (USD)", "validated binding:", "total at DOM-FLAT", "2026-07-03 18:00",
                                 "2026-07-05 18:00", "18.053"})
        EXPECT_NE(flat.find(expected), std::string::npos) << expected << "\n" << text;
    EXPECT_EQ(text.find("kWhAmount"), std::string::npos) << text;
}

TEST_F(PdfTest, ManyLinesGoOnAsManyPagesAsTheyNeedAndNoneIsLost) {
    Bill bill = july_bill();
    bill.lines.clear();
    for (int i = 0; i < 90; ++i)
        bill.lines.push_back({LineKind::HomeSession,
                              "Session " + std::to_string(1000 + i),
                              1'783'126'800 + i * 86400,
                              1'783'130'400 + i * 86400,
                              "P1",
                              {{"off-peak", 7'200, 189'518}},
                              7'200,
                              190'000});
    const auto [text, pages] = read_back(render_pdf(bill));
    EXPECT_GE(pages, 3);
    for (int i = 0; i < 90; ++i)
        EXPECT_NE(text.find("Session " + std::to_string(1000 + i)), std::string::npos) << i;
    EXPECT_NE(text.find("171.00"), std::string::npos);  // 90 × 1.90
}

}  // namespace
}  // namespace billing
