#include "headend/core/log_format.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace headend::core {
namespace {

TEST(LogFormat, ControlCharactersAndBackslashesAreEscaped) {
    EXPECT_EQ(escape_log_text("plain text, UTF-8 \xc3\xa9"), "plain text, UTF-8 \xc3\xa9");
    EXPECT_EQ(escape_log_text("a\nb\rc\td"), "a\\nb\\rc\\td");
    EXPECT_EQ(escape_log_text(std::string("\x1b[31m\x00\x7f", 7)), "\\x1b[31m\\x00\\x7f");
    EXPECT_EQ(escape_log_text("C:\\n"), "C:\\\\n");  // a literal backslash-n stays distinguishable from a newline
}

TEST(LogFormat, APeerStringCannotStartALineOfItsOwn) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    sink->set_formatter(std::make_unique<EscapingFormatter>("%l %v"));
    spdlog::logger logger("test", sink);
    logger.info("[HAN_PSK_UNKNOWN] identity '{}'", "x\n[HEADEND_STARTED] forged");
    logger.info("[NEXT] ok");
    EXPECT_EQ(out.str(), "info [HAN_PSK_UNKNOWN] identity 'x\\n[HEADEND_STARTED] forged'\ninfo [NEXT] ok\n");
}

}  // namespace
}  // namespace headend::core
