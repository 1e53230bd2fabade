// Telling a customer by e-mail (issue 11): one message through the configured SMTP relay with libcurl, STARTTLS
// where the relay offers it (or required), the bill's PDF attached. Failures say whether trying again later can
// help: "smtp.transient" (relay down or busy, 4xx, time-out) or "smtp.permanent" (5xx: the address is refused).
// Retrying, and sending each bill once, is the delivery queue's business.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "headend/plugin/result.hpp"

namespace billing {

struct SmtpSettings {
    std::string url;   // smtp://relay.example:25 (STARTTLS where offered) or smtps://relay.example:465
    std::string from;  // envelope and header sender: billing@utility.example
    std::optional<std::string> username;  // AUTH, when the relay asks for it
    std::optional<std::string> password;
    bool require_tls = false;          // refuse to send without TLS
    std::filesystem::path ca_file;     // the relay's CA (empty: the system's)
    std::chrono::seconds timeout{30};  // the whole exchange
};

struct Attachment {
    std::string filename;
    std::string content_type;
    std::string bytes;
};

struct Mail {
    std::string to;
    std::string subject;
    std::string text;        // plain text, UTF-8
    std::string message_id;  // "<bill-A1-2026-07@utility.example>": the same for a resend, so mail clients see one
    std::optional<Attachment> attachment;
};

// The RFC 5322 message: headers, then the text (quoted-printable-free: base64 parts), MIME multipart when there is
// an attachment. Refused ("smtp.invalid") when a header field would carry a line break or an address is not one.
headend::Result<std::string> format_message(const std::string& from, const Mail& mail, std::int64_t date);

headend::Result<void> send_mail(const SmtpSettings& settings, const Mail& mail, std::int64_t date);

}  // namespace billing
