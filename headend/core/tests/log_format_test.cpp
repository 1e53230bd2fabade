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

TEST(LogFormat, UnicodeLineBreaksC1ControlsAndBrokenUtf8AreEscaped) {
    EXPECT_EQ(escape_log_text("a\xc2\x85"
                              "b"),
              "a\\u{0085}b");  // NEL
    EXPECT_EQ(escape_log_text("a\xe2\x80\xa8"
                              "b"),
              "a\\u{2028}b");  // LINE SEPARATOR
    EXPECT_EQ(escape_log_text("\xc2\x9b"
                              "31m"),
              "\\u{009b}31m");                                                     // 8-bit CSI
    EXPECT_EQ(escape_log_text("\xff\xc3"), "\\xff\\xc3");                          // not UTF-8
    EXPECT_EQ(escape_log_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");                 // a surrogate
    EXPECT_EQ(escape_log_text("\xf0\x9f\x94\x8c plug"), "\xf0\x9f\x94\x8c plug");  // ordinary text stays
}

TEST(LogFormat, OnlyTheLineItselfStartsWithAMessageId) {
    EXPECT_EQ(escape_log_text("[HAN_PSK_UNKNOWN] identity 'x [HEADEND_STARTED]'"),
              "[HAN_PSK_UNKNOWN] identity 'x \\x5bHEADEND_STARTED]'");
    EXPECT_EQ(escape_log_text("address [::1]:5684"), "address [::1]:5684");
}

TEST(LogFormat, APeerStringCannotStartALineOfItsOwn) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    sink->set_formatter(std::make_unique<EscapingFormatter>("%l %v"));
    spdlog::logger logger("test", sink);
    logger.info("[HAN_PSK_UNKNOWN] identity '{}'", "x\n[HEADEND_STARTED] forged");
    logger.info("[NEXT] ok");
    EXPECT_EQ(out.str(), "info [HAN_PSK_UNKNOWN] identity 'x\\n\\x5bHEADEND_STARTED] forged'\ninfo [NEXT] ok\n");
}

}  // namespace
}  // namespace headend::core
