#include "headend/core/log_format.hpp"

#include <fmt/format.h>

namespace headend::core {

std::string escape_log_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
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
            default:
                if (byte < 0x20 || byte == 0x7f)
                    out += fmt::format("\\x{:02x}", byte);
                else
                    out += c;
        }
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
