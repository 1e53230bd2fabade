#include "billing/mailer.hpp"

#include <curl/curl.h>
#include <date/date.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "mail/address.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;

bool has_line_break(const std::string& text) {
    return text.find_first_of("\r\n") != std::string::npos;
}

// Base64 in lines of 76 characters (RFC 2045).
std::string base64_lines(const std::string& bytes) {
    std::string out;
    for (std::size_t at = 0; at < bytes.size(); at += 57) {
        const std::size_t length = std::min<std::size_t>(57, bytes.size() - at);
        unsigned char line[80];
        const int written =
            EVP_EncodeBlock(line, reinterpret_cast<const unsigned char*>(bytes.data() + at), static_cast<int>(length));
        out.append(reinterpret_cast<const char*>(line), static_cast<std::size_t>(written));
        out += "\r\n";
    }
    return out;
}

// A header value with non-ASCII characters as an RFC 2047 encoded word.
std::string header_text(const std::string& text) {
    const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return c >= ' ' && c < 127; });
    if (ascii)
        return text;
    std::string encoded = base64_lines(text);
    encoded.erase(std::remove(encoded.begin(), encoded.end(), '\r'), encoded.end());
    encoded.erase(std::remove(encoded.begin(), encoded.end(), '\n'), encoded.end());
    return "=?UTF-8?B?" + encoded + "?=";
}

struct Upload {
    std::string text;
    std::size_t sent = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t length = std::min(size * count, upload->text.size() - upload->sent);
    std::copy_n(upload->text.data() + upload->sent, length, buffer);
    upload->sent += length;
    return length;
}

}  // namespace

Result<std::string> format_message(const std::string& from, const Mail& mail, std::int64_t date) {
    if (!mail::is_plain_address(from))
        return make_error("smtp.invalid", "the sender \"" + from + "\" is not an e-mail address");
    if (!mail::is_plain_address(mail.to))
        return make_error("smtp.invalid", "the recipient \"" + mail.to + "\" is not an e-mail address");
    for (const auto* field : {&mail.subject, &mail.message_id})
        if (has_line_break(*field))
            return make_error("smtp.invalid", "a header field holds a line break");
    if (mail.attachment &&
        (has_line_break(mail.attachment->filename) || has_line_break(mail.attachment->content_type) ||
         mail.attachment->filename.find('"') != std::string::npos))
        return make_error("smtp.invalid", "the attachment's name or type holds a line break or a quote");
    const date::sys_seconds at{std::chrono::seconds(date)};
    std::string message = "Date: " + date::format("%a, %d %b %Y %H:%M:%S +0000", at) + "\r\n";
    message += "From: " + from + "\r\nTo: " + mail.to + "\r\nSubject: " + header_text(mail.subject) + "\r\n";
    if (!mail.message_id.empty())
        message += "Message-ID: " + mail.message_id + "\r\n";
    message += "MIME-Version: 1.0\r\n";
    const std::string text_part =
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        base64_lines(mail.text);
    if (!mail.attachment)
        return message + text_part;
    // A boundary that cannot occur in base64 text.
    const std::string boundary = "=_headend_bill_part";
    message += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n";
    message += "--" + boundary + "\r\n" + text_part;
    message += "--" + boundary + "\r\nContent-Type: " + mail.attachment->content_type +
               "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"" +
               mail.attachment->filename + "\"\r\n\r\n" + base64_lines(mail.attachment->bytes);
    message += "--" + boundary + "--\r\n";
    return message;
}

Result<void> send_mail(const SmtpSettings& settings, const Mail& mail, std::int64_t date) {
    auto message = format_message(settings.from, mail, date);
    if (!message)
        return message.error();
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl)
        return make_error("smtp.transient", "libcurl could not start");
    Upload upload{std::move(*message), 0};
    char error[CURL_ERROR_SIZE] = {};
    const std::string from = "<" + settings.from + ">";
    curl_slist* recipients = curl_slist_append(nullptr, ("<" + mail.to + ">").c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients_owner(recipients, &curl_slist_free_all);
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, settings.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, &read_upload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_USE_SSL, settings.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY);
    curl_easy_setopt(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    if (!settings.ca_file.empty())
        curl_easy_setopt(handle, CURLOPT_CAINFO, settings.ca_file.c_str());
    if (settings.username) {
        curl_easy_setopt(handle, CURLOPT_USERNAME, settings.username->c_str());
        curl_easy_setopt(handle, CURLOPT_PASSWORD, settings.password.value_or("").c_str());
    }
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(settings.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    const CURLcode code = curl_easy_perform(handle);
    if (code == CURLE_OK)
        return {};
    long reply = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply);
    const std::string why = std::string(error[0] != '\0' ? error : curl_easy_strerror(code)) +
                            (reply != 0 ? " (the relay answered " + std::to_string(reply) + ")" : "");
    // 5xx: the relay will not take this message however often it is sent. Everything else may pass later.
    return make_error(reply >= 500 && reply < 600 ? "smtp.permanent" : "smtp.transient", why);
}

}  // namespace billing
