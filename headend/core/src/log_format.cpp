#include "headend/core/log_format.hpp"

#include <fmt/format.h>

namespace headend::core {

namespace {

// The length of the well-formed UTF-8 sequence at `at` and its code point, or 0 when it is not one.
std::size_t utf8_sequence(std::string_view text, std::size_t at, char32_t& code_point) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t length = 0;
    char32_t minimum = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, code_point = lead & 0x1FU, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, code_point = lead & 0x0FU, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, code_point = lead & 0x07U, minimum = 0x10000;
    } else {
        return 0;
    }
    if (at + length > text.size())
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0U) != 0x80U)
            return 0;
        code_point = (code_point << 6) | (byte(at + i) & 0x3FU);
    }
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    return code_point < minimum || code_point > 0x10FFFF || surrogate ? 0 : length;
}

}  // namespace

std::string escape_log_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        const char c = text[at];
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80) {
            char32_t code_point = 0;
            const std::size_t length = utf8_sequence(text, at, code_point);
            if (length == 0) {
                out += fmt::format("\\x{:02x}", byte);  // not UTF-8
                ++at;
            } else if (code_point <= 0x9F || code_point == 0x2028 || code_point == 0x2029) {
                out += fmt::format("\\u{{{:04x}}}", static_cast<std::uint32_t>(code_point));  // C1, line separators
                at += length;
            } else {
                out.append(text.substr(at, length));
                at += length;
            }
            continue;
        }
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '[':
                // Message ids ("[HEADEND_STARTED]") open a line; one later in the line is somebody's text.
                if (at > 0 && at + 1 < text.size() && text[at + 1] >= 'A' && text[at + 1] <= 'Z')
                    out += "\\x5b";
                else
                    out += c;
                break;
            default:
                if (byte < 0x20 || byte == 0x7f)
                    out += fmt::format("\\x{:02x}", byte);
                else
                    out += c;
        }
        ++at;
    }
    return out;
}

EscapingFormatter::EscapingFormatter(std::string pattern, spdlog::pattern_time_type time_type)
    : pattern_(std::move(pattern)),
      time_type_(time_type),
      inner_(std::make_unique<spdlog::pattern_formatter>(pattern_, time_type_)) {}

void EscapingFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string escaped = escape_log_text(payload);
    if (escaped.size() == payload.size()) {  // nothing to escape: the common case costs one scan
        inner_->format(msg, dest);
        return;
    }
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
}

std::unique_ptr<spdlog::formatter> EscapingFormatter::clone() const {
    return std::make_unique<EscapingFormatter>(pattern_, time_type_);
}

}  // namespace headend::core
