#include "xml_writer.hpp"

namespace sep::detail {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at text[i] if it encodes a character XML 1.0 allows, else 0.
std::size_t xml_char_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code_point = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code_point = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code_point = lead & 0x07u;
    } else {
        return 0;
    }
    if (text.size() - i < length)
        return 0;
    for (std::size_t k = 1; k < length; ++k) {
        const unsigned char continuation = byte(i + k);
        if ((continuation & 0xC0u) != 0x80u)
            return 0;
        code_point = (code_point << 6) | (continuation & 0x3Fu);
    }
    const bool overlong = (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    const bool non_character = code_point == 0xFFFE || code_point == 0xFFFF;
    if (overlong || surrogate || non_character || code_point > 0x10FFFF)
        return 0;
    return length;
}

// The escape for an ASCII character, or empty when it is written as is.
std::string_view ascii_escape(unsigned char c, bool in_attribute) {
    switch (c) {
        case '&':
            return "&amp;";
        case '<':
            return "&lt;";
        case '>':
            return "&gt;";
        case '"':
            return in_attribute ? "&quot;" : "";
        // Parsers normalise raw CR (and tab/LF in attributes), so those must travel as character references.
        case '\r':
            return "&#13;";
        case '\n':
            return in_attribute ? "&#10;" : "";
        case '\t':
            return in_attribute ? "&#9;" : "";
        default:
            return c < 0x20 ? kReplacementCharacter : "";
    }
}

char upper_hex(char c) {
    return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

void append_escaped(std::string& out, std::string_view text, bool in_attribute) {
    std::size_t run_start = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::string_view replacement;
        std::size_t consumed = 1;
        if (c < 0x80) {
            replacement = ascii_escape(c, in_attribute);
        } else {
            consumed = xml_char_length(text, i);
            if (consumed == 0) {
                replacement = kReplacementCharacter;
                consumed = 1;
            }
        }
        if (!replacement.empty()) {
            out.append(text.data() + run_start, i - run_start);
            out += replacement;
            run_start = i + consumed;
        }
        i += consumed;
    }
    out.append(text.data() + run_start, text.size() - run_start);
}

void XmlWriter::hex_element(std::string_view name, std::string_view hex) {
    open_element(name);
    for (const char c : hex) {
        const bool hex_digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (hex_digit) {
            out_ += upper_hex(c);
        } else {
            append_escaped(out_, std::string_view(&c, 1), false);
        }
    }
    end_tag(name);
}

void XmlWriter::bitmap_element(std::string_view name, std::uint64_t bits, int digits) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    open_element(name);
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        out_ += kDigits[(bits >> shift) & 0xFu];
    end_tag(name);
}

void XmlWriter::bytes_element(std::string_view name, const std::vector<std::uint8_t>& bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    open_element(name);
    for (const std::uint8_t b : bytes) {
        out_ += kDigits[b >> 4];
        out_ += kDigits[b & 0xFu];
    }
    end_tag(name);
}

}  // namespace sep::detail
