// One CoAP message as it travels in a DTLS record (RFC 7252 §3): parsed from and serialized to bytes. The server's
// own message layer works on these; nothing here knows about sessions or resources.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/result.hpp"

namespace han {

enum class CoapMessageType : std::uint8_t { Confirmable = 0, NonConfirmable = 1, Acknowledgement = 2, Reset = 3 };

namespace option {
constexpr std::uint16_t kIfMatch = 1;
constexpr std::uint16_t kUriHost = 3;
constexpr std::uint16_t kETag = 4;
constexpr std::uint16_t kIfNoneMatch = 5;
constexpr std::uint16_t kObserve = 6;
constexpr std::uint16_t kUriPort = 7;
constexpr std::uint16_t kLocationPath = 8;
constexpr std::uint16_t kUriPath = 11;
constexpr std::uint16_t kContentFormat = 12;
constexpr std::uint16_t kMaxAge = 14;
constexpr std::uint16_t kUriQuery = 15;
constexpr std::uint16_t kAccept = 17;
constexpr std::uint16_t kLocationQuery = 20;
constexpr std::uint16_t kBlock2 = 23;
constexpr std::uint16_t kBlock1 = 27;
constexpr std::uint16_t kSize2 = 28;
constexpr std::uint16_t kProxyUri = 35;
constexpr std::uint16_t kProxyScheme = 39;
constexpr std::uint16_t kSize1 = 60;

// Critical options have an odd number (RFC 7252 §5.4.6).
constexpr bool is_critical(std::uint16_t number) {
    return (number & 1U) != 0;
}
}  // namespace option

struct CoapOption {
    std::uint16_t number = 0;
    std::string value;
    bool operator==(const CoapOption&) const = default;
};

struct CoapMessage {
    CoapMessageType type = CoapMessageType::Confirmable;
    std::uint8_t code = 0;  // class << 5 | detail; 0 is the empty message
    std::uint16_t mid = 0;
    std::string token;                // 0 to 8 bytes
    std::vector<CoapOption> options;  // in number order; repeated options keep their order
    std::string payload;

    bool operator==(const CoapMessage&) const = default;

    bool is_empty() const { return code == 0; }
    bool is_request() const { return code >= 1 && code <= 31; }
    bool is_response() const { return code >= 64; }
    // The first option with this number, or null.
    const CoapOption* find(std::uint16_t number) const;
    // The values of every option with this number, in order (Uri-Path segments, Uri-Query items).
    std::vector<std::string_view> values(std::uint16_t number) const;
    // An option's value as an unsigned integer (RFC 7252 §3.2): absent gives nullopt, longer than 8 bytes too.
    std::optional<std::uint64_t> uint_option(std::uint16_t number) const;
    // Adds an option keeping number order (after any options with the same number).
    void add_option(std::uint16_t number, std::string value);
};

// The response code class*100 + detail (2.05 → 205) and back.
constexpr int code_number(std::uint8_t code) {
    return (code >> 5) * 100 + (code & 0x1F);
}
constexpr std::uint8_t code_byte(int number) {
    return static_cast<std::uint8_t>(((number / 100) << 5) | (number % 100));
}

// The four header bytes of a datagram that is no valid message, when they can be read: a confirmable one is then
// answered with a Reset carrying its message id (RFC 7252 §4.2).
struct MessageHeader {
    CoapMessageType type;
    std::uint16_t mid;
};
std::optional<MessageHeader> peek_header(std::string_view datagram);

// Errors ("coap.format"): wrong version, token longer than 8 bytes, an empty message with a token, options or a
// payload, an option running past the end, the reserved option delta or length 15, a payload marker with no payload,
// an option number beyond 65535.
headend::Result<CoapMessage> parse_message(std::string_view datagram);
// Options must be in number order and the token at most 8 bytes (asserted).
std::string serialize_message(const CoapMessage& message);

// Unsigned integer option values in the fewest bytes (0 is the empty value).
std::string encode_uint(std::uint64_t value);
// Big-endian, at most 8 bytes (longer gives nullopt).
std::optional<std::uint64_t> decode_uint(std::string_view bytes);

}  // namespace han
