// E-mail through a real SMTP server (tests/support/smtp_sink.py, Debian's python3-aiosmtpd): delivered with STARTTLS
// where offered, refused addresses told apart from a relay that is down or busy, header injection refused.
#include "billing/mailer.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "headend/testing/fakes.hpp"
#include "headend/testing/python_server.hpp"

namespace billing {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDate = 1'785'628'800;  // 2026-08-02T00:00:00Z

Mail bill_mail() {
    return {.to = "jane@example.test",
            .subject = "Your bill for July 2026 — $42.17",
            .text = "Dear Jane,\nyour July bill is attached.\n",
            .message_id = "<bill-A1-2026-07@utility.test>",
            .attachment = Attachment{"bill-A1-2026-07.pdf", "application/pdf", std::string("%PDF-1.5\0\x01\xff", 11)}};
}

class MailerTest : public ::testing::Test {
protected:
    void start(const std::string& mode, bool tls = false) {
        std::string arguments = "--maildir " + (dir_ / "maildir").string() + " --mode " + mode;
        if (tls) {
            const std::string d = dir_.string();
            ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                                   "-subj /CN=relay -addext subjectAltName=IP:127.0.0.1 -keyout " +
                                   d + "/relay.key -out " + d + "/relay.pem 2>/dev/null")
                                      .c_str()),
                      0);
            arguments += " --cert " + d + "/relay.pem --key " + d + "/relay.key";
        }
        sink_ = std::make_unique<headend::testing::PythonServer>(SMTP_SINK, arguments, dir_);
        ASSERT_NE(sink_->port(), 0) << "the SMTP sink did not start";
        settings_.url = "smtp://127.0.0.1:" + std::to_string(sink_->port());
        settings_.from = "billing@utility.test";
        settings_.timeout = std::chrono::seconds(10);
        if (tls)
            settings_.ca_file = dir_ / "relay.pem";
    }
    std::vector<std::string> delivered() const {
        std::vector<std::string> messages;
        if (!fs::exists(dir_ / "maildir" / "new"))
            return messages;
        for (const auto& entry : fs::directory_iterator(dir_ / "maildir" / "new")) {
            std::ifstream in(entry.path(), std::ios::binary);
            messages.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        return messages;
    }

    headend::testing::TempDir temp_;
    fs::path dir_ = temp_.path();
    std::unique_ptr<headend::testing::PythonServer> sink_;  // stopped before the folder goes
    SmtpSettings settings_;
};

TEST(MailMessage, HeadersTheTextAndTheAttachmentAreMimeEncoded) {
    auto message = format_message("billing@utility.test", bill_mail(), kDate);
    ASSERT_TRUE(message) << message.error().message;
    EXPECT_EQ(message->rfind("Date: Sun, 02 Aug 2026 00:00:00 +0000\r\nFrom: billing@utility.test\r\n"
                             "To: jane@example.test\r\nSubject: =?UTF-8?B?",
                             0),
              0U)
        << *message;
    EXPECT_NE(message->find("Message-ID: <bill-A1-2026-07@utility.test>\r\n"), std::string::npos);
    EXPECT_NE(message->find("Content-Type: multipart/mixed;"), std::string::npos);
    // The text "Dear Jane,\n…" and the PDF's 12 bytes, in base64.
    EXPECT_NE(message->find("RGVhciBKYW5lLAp5b3VyIEp1bHkgYmlsbCBpcyBhdHRhY2hlZC4K\r\n"), std::string::npos);
    EXPECT_NE(message->find("filename=\"bill-A1-2026-07.pdf\"\r\n\r\nJVBERi0xLjUAAf8=\r\n"), std::string::npos)
        << *message;
}

TEST(MailMessage, LineBreaksInHeadersAndThingsThatAreNotAddressesAreRefused) {
    auto injected = bill_mail();
    injected.subject = "July\r\nBcc: everyone@example.test";
    EXPECT_EQ(format_message("billing@utility.test", injected, kDate).error().code, "smtp.invalid");
    for (const char* to : {"jane", "jane@", "@example.test", "jane@example.test\r\nBcc: x@y", "a@b@c",
                           "Jane <jane@example.test>", "jane@example.test, mallory@example.test"}) {
        auto mail = bill_mail();
        mail.to = to;
        auto refused = format_message("billing@utility.test", mail, kDate);
        ASSERT_FALSE(refused) << to;
        EXPECT_NE(refused.error().message.find("is not an e-mail address"), std::string::npos) << to;
    }
    auto attachment = bill_mail();
    attachment.attachment->filename = "a\".pdf";
    EXPECT_FALSE(format_message("billing@utility.test", attachment, kDate));
}

TEST_F(MailerTest, TheRelayTakesTheMessageOverStartTlsWhenItOffersIt) {
    ASSERT_NO_FATAL_FAILURE(start("accept", true));
    settings_.require_tls = true;
    auto sent = send_mail(settings_, bill_mail(), kDate);
    ASSERT_TRUE(sent) << sent.error().message;
    const auto messages = delivered();
    ASSERT_EQ(messages.size(), 1U);
    EXPECT_NE(messages[0].find("X-Envelope-To: jane@example.test"), std::string::npos) << messages[0];
    EXPECT_NE(messages[0].find("X-Session-TLS: yes"), std::string::npos) << messages[0];
    EXPECT_NE(messages[0].find("JVBERi0xLjUAAf8="), std::string::npos);
}

TEST_F(MailerTest, WithoutTlsOnOfferAMailThatRequiresItIsNotSentAndOneThatDoesNotGoesPlain) {
    ASSERT_NO_FATAL_FAILURE(start("accept"));
    settings_.require_tls = true;
    auto refused = send_mail(settings_, bill_mail(), kDate);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "smtp.transient") << refused.error().message;
    EXPECT_TRUE(delivered().empty());
    settings_.require_tls = false;
    ASSERT_TRUE(send_mail(settings_, bill_mail(), kDate));
    ASSERT_EQ(delivered().size(), 1U);
    EXPECT_NE(delivered()[0].find("X-Session-TLS: no"), std::string::npos);
}

TEST_F(MailerTest, ARefusedAddressIsPermanentAndABusyRelayTransient) {
    ASSERT_NO_FATAL_FAILURE(start("refuse"));
    auto refused = send_mail(settings_, bill_mail(), kDate);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "smtp.permanent") << refused.error().message;
    EXPECT_NE(refused.error().message.find("550"), std::string::npos) << refused.error().message;
    sink_.reset();
    ASSERT_NO_FATAL_FAILURE(start("tempfail"));
    auto busy = send_mail(settings_, bill_mail(), kDate);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, "smtp.transient") << busy.error().message;
    EXPECT_TRUE(delivered().empty());
}

TEST_F(MailerTest, ARelayThatIsDownIsTransient) {
    ASSERT_NO_FATAL_FAILURE(start("accept"));
    sink_.reset();  // the port is closed now
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto down = send_mail(settings_, bill_mail(), kDate);
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().code, "smtp.transient") << down.error().message;
}

}  // namespace
}  // namespace billing
