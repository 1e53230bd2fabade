// CoAP message format (RFC 7252 §3): a strict parser and the matching serializer. The encoding of a valid message is
// unique (every extended delta or length has one form, the payload marker only comes with a payload), so
// serialize_message(parse_message(bytes)) gives back the very bytes that parsed.
#include "han/coap_message.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string>
#include <utility>

namespace han {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kMaxTokenLength = 8;
constexpr std::uint8_t kPayloadMarker = 0xFF;
constexpr std::uint32_t kMaxOptionNumber = 65535;
// Option delta and length nibbles (RFC 7252 §3.1): below 13 the value itself, 13 and 14 announce extension bytes.
constexpr std::uint8_t kOneByteNibble = 13;
constexpr std::uint8_t kTwoByteNibble = 14;
constexpr std::uint32_t kOneByteBase = 13;
constexpr std::uint32_t kTwoByteBase = 269;
// The longest option value a length can announce (only asserted, so unused under NDEBUG).
[[maybe_unused]] constexpr std::uint32_t kMaxExtended = kTwoByteBase + 0xFFFF;

headend::Error format_error(std::string message) {
    return headend::make_error("coap.format", std::move(message));
}

std::uint8_t byte_at(std::string_view bytes, std::size_t index) {
    return static_cast<std::uint8_t>(bytes[index]);
}

// The option delta or length a nibble stands for, reading its extension bytes at `pos` (advanced past them).
headend::Result<std::uint32_t> read_extended(std::uint8_t nibble, const char* what, std::string_view datagram,
                                             std::size_t& pos) {
    if (nibble < kOneByteNibble)
        return std::uint32_t{nibble};
    if (nibble == kOneByteNibble) {
        if (datagram.size() - pos < 1)
            return format_error(std::string("option ") + what + " extension byte missing at the end of the datagram");
        const std::uint32_t value = kOneByteBase + byte_at(datagram, pos);
        pos += 1;
        return value;
    }
    if (nibble == kTwoByteNibble) {
        if (datagram.size() - pos < 2)
            return format_error(std::string("option ") + what + " extension bytes missing at the end of the datagram");
        const std::uint32_t value =
            kTwoByteBase + ((std::uint32_t{byte_at(datagram, pos)} << 8U) | byte_at(datagram, pos + 1));
        pos += 2;
        return value;
    }
    return format_error(std::string("reserved option ") + what + " 15");
}

std::uint8_t nibble_for(std::uint32_t value) {
    if (value < kOneByteBase)
        return static_cast<std::uint8_t>(value);
    return value < kTwoByteBase ? kOneByteNibble : kTwoByteNibble;
}

void append_extended(std::string& out, std::uint32_t value) {
    if (value >= kTwoByteBase) {
        const std::uint32_t extra = value - kTwoByteBase;
        out.push_back(static_cast<char>((extra >> 8U) & 0xFFU));
        out.push_back(static_cast<char>(extra & 0xFFU));
    } else if (value >= kOneByteBase) {
        out.push_back(static_cast<char>(value - kOneByteBase));
    }
}

}  // namespace

const CoapOption* CoapMessage::find(std::uint16_t number) const {
    const auto it = std::ranges::find(options, number, &CoapOption::number);
    return it == options.end() ? nullptr : &*it;
}

std::vector<std::string_view> CoapMessage::values(std::uint16_t number) const {
    std::vector<std::string_view> found;
    for (const CoapOption& candidate : options) {
        if (candidate.number == number)
            found.emplace_back(candidate.value);
    }
    return found;
}

std::optional<std::uint64_t> CoapMessage::uint_option(std::uint16_t number) const {
    const CoapOption* found = find(number);
    if (found == nullptr)
        return std::nullopt;
    return decode_uint(found->value);
}

void CoapMessage::add_option(std::uint16_t number, std::string value) {
    // After the last option whose number is not above the new one: number order holds and a repeated option goes
    // after the ones already there.
    auto it = options.end();
    while (it != options.begin() && std::prev(it)->number > number)
        --it;
    options.insert(it, CoapOption{number, std::move(value)});
}

std::optional<MessageHeader> peek_header(std::string_view datagram) {
    if (datagram.size() < kHeaderSize || (byte_at(datagram, 0) >> 6U) != kVersion)
        return std::nullopt;
    const auto type = static_cast<CoapMessageType>((byte_at(datagram, 0) >> 4U) & 0x03U);
    const auto mid = static_cast<std::uint16_t>((std::uint32_t{byte_at(datagram, 2)} << 8U) | byte_at(datagram, 3));
    return MessageHeader{type, mid};
}

headend::Result<CoapMessage> parse_message(std::string_view datagram) {
    if (datagram.size() < kHeaderSize)
        return format_error("datagram of " + std::to_string(datagram.size()) + " bytes is shorter than the header");
    const std::uint8_t first = byte_at(datagram, 0);
    if ((first >> 6U) != kVersion)
        return format_error("unsupported version " + std::to_string(first >> 6U));
    const std::size_t token_length = first & 0x0FU;
    if (token_length > kMaxTokenLength)
        return format_error("token length " + std::to_string(token_length) + " is beyond 8");

    CoapMessage message;
    message.type = static_cast<CoapMessageType>((first >> 4U) & 0x03U);
    message.code = byte_at(datagram, 1);
    message.mid = static_cast<std::uint16_t>((std::uint32_t{byte_at(datagram, 2)} << 8U) | byte_at(datagram, 3));
    if (message.is_empty()) {
        if (token_length != 0)
            return format_error("empty message with a token");
        if (datagram.size() != kHeaderSize)
            return format_error("empty message with options or a payload");
        return message;
    }
    if (datagram.size() - kHeaderSize < token_length)
        return format_error("token runs past the end of the datagram");
    message.token.assign(datagram.substr(kHeaderSize, token_length));

    std::size_t pos = kHeaderSize + token_length;
    std::uint32_t number = 0;
    while (pos < datagram.size()) {
        const std::uint8_t lead = byte_at(datagram, pos);
        ++pos;
        if (lead == kPayloadMarker) {
            if (pos == datagram.size())
                return format_error("payload marker with no payload");
            message.payload.assign(datagram.substr(pos));
            break;
        }
        const auto delta = read_extended(lead >> 4U, "delta", datagram, pos);
        if (!delta.ok())
            return delta.error();
        const auto length = read_extended(lead & 0x0FU, "length", datagram, pos);
        if (!length.ok())
            return length.error();
        number += *delta;
        if (number > kMaxOptionNumber)
            return format_error("option number " + std::to_string(number) + " is beyond 65535");
        if (*length > datagram.size() - pos)
            return format_error("option " + std::to_string(number) + " value of " + std::to_string(*length) +
                                " bytes runs past the end of the datagram");
        message.options.push_back(
            CoapOption{static_cast<std::uint16_t>(number), std::string(datagram.substr(pos, *length))});
        pos += *length;
    }
    return message;
}

std::string serialize_message(const CoapMessage& message) {
    assert(message.token.size() <= kMaxTokenLength);
    assert(std::ranges::is_sorted(message.options, {}, &CoapOption::number));

    std::size_t size = kHeaderSize + message.token.size() + (message.payload.empty() ? 0 : 1 + message.payload.size());
    for (const CoapOption& option : message.options)
        size += 5 + option.value.size();
    std::string out;
    out.reserve(size);

    out.push_back(
        static_cast<char>((kVersion << 6U) | (static_cast<std::uint32_t>(message.type) << 4U) | message.token.size()));
    out.push_back(static_cast<char>(message.code));
    out.push_back(static_cast<char>(message.mid >> 8U));
    out.push_back(static_cast<char>(message.mid & 0xFFU));
    out += message.token;

    std::uint32_t previous = 0;
    for (const CoapOption& option : message.options) {
        assert(option.value.size() <= kMaxExtended);
        const std::uint32_t delta = option.number - previous;
        const auto length = static_cast<std::uint32_t>(option.value.size());
        out.push_back(static_cast<char>((nibble_for(delta) << 4U) | nibble_for(length)));
        append_extended(out, delta);
        append_extended(out, length);
        out += option.value;
        previous = option.number;
    }
    if (!message.payload.empty()) {
        out.push_back(static_cast<char>(kPayloadMarker));
        out += message.payload;
    }
    return out;
}

std::string encode_uint(std::uint64_t value) {
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8) {
        const auto byte = static_cast<std::uint8_t>((value >> static_cast<unsigned>(shift)) & 0xFFU);
        if (out.empty() && byte == 0)
            continue;
        out.push_back(static_cast<char>(byte));
    }
    return out;
}

std::optional<std::uint64_t> decode_uint(std::string_view bytes) {
    if (bytes.size() > sizeof(std::uint64_t))
        return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : bytes)
        value = (value << 8U) | static_cast<std::uint8_t>(c);
    return value;
}

}  // namespace han
