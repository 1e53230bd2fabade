// Append-only XML writer for the encoder: one pre-sized string, no DOM. Element and attribute names are trusted
// literals; every value goes through escaping.
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sep/types.hpp"

namespace sep::detail {

// Appends text escaped for element content or a double-quoted attribute. Invalid UTF-8 and characters XML 1.0
// cannot carry become U+FFFD, so the result is always well-formed.
void append_escaped(std::string& out, std::string_view text, bool in_attribute);

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

class XmlWriter {
public:
    explicit XmlWriter(std::size_t capacity) { out_.reserve(capacity); }

    // "<name"; attributes may follow until end_start_tag().
    void start_tag(std::string_view name) {
        out_ += '<';
        out_ += name;
    }
    void end_start_tag() { out_ += '>'; }
    void end_tag(std::string_view name) {
        out_ += "</";
        out_ += name;
        out_ += '>';
    }

    void attribute(std::string_view name, std::string_view value) {
        open_attribute(name);
        append_escaped(out_, value, true);
        out_ += '"';
    }
    void attribute(std::string_view name, const std::string& value) { attribute(name, std::string_view(value)); }
    void attribute(std::string_view name, const std::optional<std::string>& value) {
        if (value)
            attribute(name, *value);
    }
    template <Integer T>
    void attribute(std::string_view name, T value) {
        open_attribute(name);
        append_number(value);
        out_ += '"';
    }
    template <Integer T>
    void attribute(std::string_view name, const std::optional<T>& value) {
        if (value)
            attribute(name, *value);
    }

    template <Integer T>
    void element(std::string_view name, T value) {
        open_element(name);
        append_number(value);
        end_tag(name);
    }
    template <Integer T>
    void element(std::string_view name, const std::optional<T>& value) {
        if (value)
            element(name, *value);
    }
    void element(std::string_view name, bool value) {
        open_element(name);
        out_ += value ? "true" : "false";
        end_tag(name);
    }
    void element(std::string_view name, const std::optional<bool>& value) {
        if (value)
            element(name, *value);
    }
    void element(std::string_view name, std::string_view text) {
        open_element(name);
        append_escaped(out_, text, false);
        end_tag(name);
    }
    void element(std::string_view name, const std::string& text) { element(name, std::string_view(text)); }
    void element(std::string_view name, const std::optional<std::string>& text) {
        if (text)
            element(name, std::string_view(*text));
    }

    // hexBinary given as text (LFDI, mRID): written upper case.
    void hex_element(std::string_view name, std::string_view hex);
    void hex_element(std::string_view name, const std::string& hex) { hex_element(name, std::string_view(hex)); }
    void hex_element(std::string_view name, const std::optional<std::string>& hex) {
        if (hex)
            hex_element(name, std::string_view(*hex));
    }
    // hexBinary bitmap of a fixed width in hex digits.
    void bitmap_element(std::string_view name, std::uint64_t bits, int digits);
    void bytes_element(std::string_view name, const std::vector<std::uint8_t>& bytes);

    void link(std::string_view name, const Link& link) {
        start_tag(name);
        attribute("href", link.href);
        out_ += "/>";
    }
    void link(std::string_view name, const ListLink& link) {
        start_tag(name);
        attribute("href", link.href);
        attribute("all", link.all);
        out_ += "/>";
    }
    template <typename L>
    void link(std::string_view name, const std::optional<L>& link_value) {
        if (link_value)
            link(name, *link_value);
    }

    std::string take() { return std::move(out_); }

private:
    void open_attribute(std::string_view name) {
        out_ += ' ';
        out_ += name;
        out_ += "=\"";
    }
    void open_element(std::string_view name) {
        start_tag(name);
        out_ += '>';
    }
    template <Integer T>
    void append_number(T value) {
        char digits[24];
        const auto result = std::to_chars(digits, digits + sizeof digits, value);
        out_.append(digits, result.ptr);
    }

    std::string out_;
};

}  // namespace sep::detail
