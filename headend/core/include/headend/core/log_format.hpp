// Log lines that peers cannot forge: every message is written with its control characters escaped, so a PSK
// identity, a path or a certificate field that carries a newline stays on its own line (and `\` is escaped too, so
// an escaped sequence cannot be mistaken for the original).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace headend::core {

// Control characters (and DEL) as \n, \r, \t or \xNN; a backslash as \\; everything else as it is.
std::string escape_log_text(std::string_view text);

class EscapingFormatter final : public spdlog::formatter {
public:
    explicit EscapingFormatter(std::string pattern,
                               spdlog::pattern_time_type time_type = spdlog::pattern_time_type::utc);
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;

private:
    std::string pattern_;
    spdlog::pattern_time_type time_type_;
    std::unique_ptr<spdlog::pattern_formatter> inner_;
};

}  // namespace headend::core
