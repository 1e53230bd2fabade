// Delivery of issued bills: the files in the delivery folder (the PDF read back with pdftotext), the e-mail through a
// real SMTP server (tests/support/smtp_sink.py), retries while the relay is down, a refused address, a resend.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "billing_fixture.hpp"
#include "delivery.hpp"
#include "headend/testing/python_server.hpp"

namespace billing::testing {
namespace {

namespace fs = std::filesystem;

class DeliveryTest : public BillingFixture {
protected:
    void SetUp() override {
        BillingFixture::SetUp();
        account("A1", "Jane Doe", "jane@example.test");
        premises("P1", "A1", "1 Main St");
        enroll("V1", "A1", "P1", local("2026-06-01 00:00"));
        const std::int64_t pev = channel("P1", "L1", true);
        bind({.lfdi = "L1",
              .vin = "V1",
              .premises_id = "P1",
              .payer = "A1",
              .requested_at = local("2026-07-01 16:58"),
              .updated_at = local("2026-07-01 18:02")});
        intervals(pev, local("2026-07-01 17:00"), 4, 1800);
        account("A2", "John Roe");  // no e-mail address
        premises("P2", "A2", "2 Elm St");
    }

    void start_sink(const std::string& mode) {
        sink_.reset();
        sink_ = std::make_unique<headend::testing::PythonServer>(
            SMTP_SINK, "--maildir " + (dir_.path() / "maildir").string() + " --mode " + mode, sink_dir_.path());
        ASSERT_NE(sink_->port(), 0) << "the SMTP sink did not start";
    }
    // A delivery through the sink (or, without one, a relay that is down: a port nobody listens on).
    std::unique_ptr<Delivery> delivery() {
        DeliverySettings settings;
        settings.folder = dir_.path() / "bills";
        SmtpSettings smtp;
        smtp.url = "smtp://127.0.0.1:" + std::to_string(sink_ ? sink_->port() : 1);
        smtp.from = "billing@utility.test";
        smtp.timeout = std::chrono::seconds(10);
        settings.smtp = smtp;
        return std::make_unique<Delivery>(*database_, settings, kZone, clock_, logger_);
    }
    std::vector<std::string> delivered() const {
        std::vector<std::string> messages;
        if (!fs::exists(dir_.path() / "maildir" / "new"))
            return messages;
        for (const auto& entry : fs::directory_iterator(dir_.path() / "maildir" / "new")) {
            std::ifstream in(entry.path(), std::ios::binary);
            messages.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        return messages;
    }
    std::string mail_state(std::int64_t bill_id) {
        std::string state;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> headend::Result<void> {
            auto rows =
                tx.query("SELECT mail_state FROM bill_deliveries WHERE bill_id = ?", std::vector<Value>{bill_id});
            if (!rows)
                return rows.error();
            state = rows->front().text(0);
            return {};
        }));
        return state;
    }

    headend::testing::TempDir sink_dir_;
    std::unique_ptr<headend::testing::PythonServer> sink_;
};

TEST_F(DeliveryTest, EachIssuedBillIsFiledAsJsonHtmlAndPdfAndMailedOnce) {
    ASSERT_NO_FATAL_FAILURE(start_sink("accept"));
    run("2026-07");
    const auto [jane, unused] = issued("A1", "2026-07");
    auto queue = delivery();
    auto pass = queue->deliver_due();
    ASSERT_TRUE(pass) << pass.error().message;
    EXPECT_EQ(pass->filed, 2U);
    EXPECT_EQ(pass->sent, 1U);
    const fs::path stem = dir_.path() / "bills" / bill_file_stem("2026-07", jane.bill_id, "A1");
    for (const char* extension : {".json", ".html", ".pdf"})
        EXPECT_TRUE(fs::exists(stem.string() + extension)) << stem << extension;
    std::ifstream json_file(stem.string() + ".json");
    const auto document = nlohmann::json::parse(json_file);
    EXPECT_EQ(document["total"], "17.76");  // no premises meter here: $16.00 fixed + $4.06 − $2.30
    const std::string text_file = (dir_.path() / "bill.txt").string();
    ASSERT_EQ(std::system(("pdftotext -layout " + stem.string() + ".pdf " + text_file).c_str()), 0);
    std::ifstream text_in(text_file);
    const std::string text((std::istreambuf_iterator<char>(text_in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("Jane Doe"), std::string::npos) << text;
    EXPECT_NE(text.find("4.06"), std::string::npos) << text;
    EXPECT_NE(text.find("-2.30"), std::string::npos) << text;

    const auto messages = delivered();
    ASSERT_EQ(messages.size(), 1U);
    EXPECT_NE(messages[0].find("X-Envelope-To: jane@example.test"), std::string::npos);
    EXPECT_NE(messages[0].find("Subject: Your bill for July 2026 (account A1)"), std::string::npos) << messages[0];
    EXPECT_NE(messages[0].find("filename=\"" + stem.filename().string() + ".pdf\""), std::string::npos);
    EXPECT_EQ(mail_state(jane.bill_id), "sent");
    EXPECT_EQ(mail_state(issued("A2", "2026-07").first.bill_id), "no_address");
    // Nothing is filed or mailed twice.
    auto again = queue->deliver_due();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->filed + again->sent, 0U);
    EXPECT_EQ(delivered().size(), 1U);
}

// From review: a PDF removed from the delivery folder before its mail went out failed every pass, and every mail
// queued behind it with it. Now the bill is filed again and mailed after.
TEST_F(DeliveryTest, ABillWhosePdfWentMissingIsFiledAgainAndThenMailed) {
    run("2026-07");
    const auto [jane, unused] = issued("A1", "2026-07");
    const fs::path pdf = dir_.path() / "bills" / (bill_file_stem("2026-07", jane.bill_id, "A1").string() + ".pdf");
    {
        auto filing = delivery();  // no relay yet: files only, the mail waits
        ASSERT_TRUE(filing->deliver_due());
    }
    ASSERT_TRUE(fs::remove(pdf));
    ASSERT_NO_FATAL_FAILURE(start_sink("accept"));
    auto queue = delivery();
    clock_.set(clock_.now() + 3600);
    auto first = queue->deliver_due();
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->sent, 0U);
    EXPECT_EQ(mail_state(jane.bill_id), "pending");
    auto second = queue->deliver_due();
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->filed, 1U);
    EXPECT_EQ(second->sent, 1U);
    EXPECT_TRUE(fs::exists(pdf));
    EXPECT_EQ(delivered().size(), 1U);
}

TEST_F(DeliveryTest, WhileTheRelayIsDownTheMailStaysQueuedAndIsTriedAgainWithADoublingDelay) {
    run("2026-07");
    const std::int64_t bill_id = issued("A1", "2026-07").first.bill_id;
    auto down = delivery();  // nobody listens
    auto pass = down->deliver_due();
    ASSERT_TRUE(pass) << pass.error().message;
    EXPECT_EQ(pass->deferred, 1U);
    EXPECT_EQ(mail_state(bill_id), "pending");
    EXPECT_EQ(scalar("SELECT next_attempt_at FROM bill_deliveries WHERE bill_id = ?", {bill_id}), clock_.now() + 60);
    clock_.set(clock_.now() + 60);
    ASSERT_TRUE(down->deliver_due());
    EXPECT_EQ(scalar("SELECT next_attempt_at FROM bill_deliveries WHERE bill_id = ?", {bill_id}), clock_.now() + 120);
    EXPECT_EQ(scalar("SELECT attempts FROM bill_deliveries WHERE bill_id = ?", {bill_id}), 2);
    // The relay is back; not yet due: nothing; due: sent once.
    ASSERT_NO_FATAL_FAILURE(start_sink("accept"));
    auto up = delivery();
    clock_.set(clock_.now() + 119);
    EXPECT_EQ(up->deliver_due()->sent, 0U);
    clock_.set(clock_.now() + 1);
    EXPECT_EQ(up->deliver_due()->sent, 1U);
    EXPECT_EQ(delivered().size(), 1U);
    EXPECT_EQ(mail_state(bill_id), "sent");
}

TEST_F(DeliveryTest, AnAddressTheRelayRefusesIsMarkedFailedUntilTheOperatorResendsIt) {
    ASSERT_NO_FATAL_FAILURE(start_sink("refuse"));
    run("2026-07");
    const std::int64_t bill_id = issued("A1", "2026-07").first.bill_id;
    auto refusing = delivery();
    EXPECT_EQ(refusing->deliver_due()->failed, 1U);
    EXPECT_EQ(mail_state(bill_id), "failed");
    clock_.set(clock_.now() + 86400);
    EXPECT_EQ(refusing->deliver_due()->failed, 0U) << "a refused address is not tried again by itself";
    // The customer's address corrected in the CIS, the operator resends: to the new address.
    sql("UPDATE cis_accounts SET email = 'jane.doe@example.test' WHERE account_id = 'A1'");
    ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> headend::Result<void> {
        auto queued = queue_resend(tx, bill_id, clock_.now());
        if (!queued)
            return queued.error();
        EXPECT_EQ(*queued, "jane.doe@example.test");
        return {};
    }));
    ASSERT_NO_FATAL_FAILURE(start_sink("accept"));
    EXPECT_EQ(delivery()->deliver_due()->sent, 1U);
    ASSERT_EQ(delivered().size(), 1U);
    EXPECT_NE(delivered()[0].find("X-Envelope-To: jane.doe@example.test"), std::string::npos);
    // A bill of an account without an address cannot be resent.
    ASSERT_TRUE(database_->read([&](Transaction& tx) -> headend::Result<void> {
        auto none = queue_resend(tx, issued("A2", "2026-07").first.bill_id, clock_.now());
        EXPECT_FALSE(none);
        EXPECT_EQ(none.error().code, "billing.no_address");
        return {};
    }));
}

}  // namespace
}  // namespace billing::testing
