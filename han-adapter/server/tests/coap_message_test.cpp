#include "han/coap_message.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace han {
namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int value : values)
        out.push_back(static_cast<char>(value));
    return out;
}

// A confirmable GET with message id 0x1234 and no token: the header the option tests build on.
const std::string kGetHeader = bytes({0x40, 0x01, 0x12, 0x34});

CoapMessage request_with_option(std::uint16_t number, std::string value) {
    CoapMessage message;
    message.code = 1;
    message.mid = 0x1234;
    message.options.push_back(CoapOption{number, std::move(value)});
    return message;
}

void expect_format_error(std::string_view datagram) {
    const auto parsed = parse_message(datagram);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, "coap.format");
    EXPECT_FALSE(parsed.error().message.empty());
}

TEST(CoapMessage, RoundTripsARequestWithTokenOptionsAndPayload) {
    CoapMessage request;
    request.type = CoapMessageType::Confirmable;
    request.code = 3;  // PUT
    request.mid = 0xBEEF;
    request.token = bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
    request.add_option(option::kBlock1, encode_uint(0x0A));  // block 0, more, 64 bytes
    request.add_option(option::kUriPath, "edev");
    request.add_option(option::kUriQuery, "l=5");
    request.add_option(option::kUriPath, "3");
    request.add_option(option::kContentFormat, encode_uint(41));
    request.payload = "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"/>";

    const std::string wire = serialize_message(request);
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, request);
    EXPECT_TRUE(parsed->is_request());
    EXPECT_EQ(parsed->values(option::kUriPath), (std::vector<std::string_view>{"edev", "3"}));
    EXPECT_EQ(parsed->uint_option(option::kBlock1), 0x0AU);
    EXPECT_EQ(parsed->uint_option(option::kContentFormat), 41U);
    EXPECT_EQ(parsed->find(option::kUriQuery)->value, "l=5");
    EXPECT_EQ(serialize_message(*parsed), wire);
}

TEST(CoapMessage, SerializesAGetWithTokenAndUriPathToTheExpectedBytes) {
    CoapMessage get;
    get.code = 1;
    get.mid = 0x1234;
    get.token = "\xAB";
    get.add_option(option::kUriPath, "edev");
    get.add_option(option::kUriPath, "3");
    const std::string expected = bytes({0x41, 0x01, 0x12, 0x34, 0xAB, 0xB4, 'e', 'd', 'e', 'v', 0x01, '3'});
    EXPECT_EQ(serialize_message(get), expected);
    const auto parsed = parse_message(expected);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, get);
}

TEST(CoapMessage, ParsesAnEmptyConfirmablePing) {
    const auto parsed = parse_message(bytes({0x40, 0x00, 0x00, 0x07}));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_TRUE(parsed->is_empty());
    EXPECT_EQ(parsed->type, CoapMessageType::Confirmable);
    EXPECT_EQ(parsed->mid, 7);
    EXPECT_EQ(serialize_message(*parsed), bytes({0x40, 0x00, 0x00, 0x07}));
}

TEST(CoapMessage, ParsesAPiggybackedAcknowledgement) {
    const std::string wire = bytes({0x62, 0x45, 0x12, 0x34, 0xAB, 0xCD, 0xC0, 0xFF, 'o', 'k'});
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->type, CoapMessageType::Acknowledgement);
    EXPECT_TRUE(parsed->is_response());
    EXPECT_EQ(code_number(parsed->code), 205);
    EXPECT_EQ(parsed->token, bytes({0xAB, 0xCD}));
    ASSERT_NE(parsed->find(option::kContentFormat), nullptr);
    EXPECT_EQ(parsed->uint_option(option::kContentFormat), 0U);
    EXPECT_EQ(parsed->payload, "ok");
}

TEST(CoapMessage, EncodesSize1WithAOneByteDeltaExtension) {
    const std::string wire = serialize_message(request_with_option(option::kSize1, encode_uint(1024)));
    EXPECT_EQ(wire, kGetHeader + bytes({0xD2, 60 - 13, 0x04, 0x00}));
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->uint_option(option::kSize1), 1024U);
}

TEST(CoapMessage, EncodesOptionNumber2048WithATwoByteDeltaExtension) {
    const std::string wire = serialize_message(request_with_option(2048, ""));
    EXPECT_EQ(wire, kGetHeader + bytes({0xE0, 0x06, 0xF3}));  // 2048 - 269 = 0x06F3
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, request_with_option(2048, ""));
}

TEST(CoapMessage, EncodesA300ByteValueWithATwoByteLengthExtension) {
    const std::string value(300, 'v');
    const std::string wire = serialize_message(request_with_option(option::kUriPath, value));
    EXPECT_EQ(wire, kGetHeader + bytes({0xBE, 0x00, 0x1F}) + value);  // 300 - 269 = 0x001F
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->find(option::kUriPath)->value, value);
}

TEST(CoapMessage, EncodesTwoByteDeltaAndLengthExtensionsTogether) {
    const std::string value(300, 'v');
    const std::string wire = serialize_message(request_with_option(2048, value));
    EXPECT_EQ(wire, kGetHeader + bytes({0xEE, 0x06, 0xF3, 0x00, 0x1F}) + value);
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, request_with_option(2048, value));
}

TEST(CoapMessage, EncodesTheHighestOptionNumber) {
    const std::string wire = serialize_message(request_with_option(65535, "x"));
    EXPECT_EQ(wire, kGetHeader + bytes({0xE1, 0xFE, 0xF2, 'x'}));  // 65535 - 269 = 0xFEF2
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, request_with_option(65535, "x"));
}

TEST(CoapMessage, SwitchesExtensionsAtTheBoundaries12And13And268And269) {
    struct Case {
        std::uint16_t value;
        int nibble;
        std::string extension;
    };
    const std::vector<Case> cases = {
        {12, 12, ""},
        {13, 13, bytes({0x00})},
        {268, 13, bytes({0xFF})},
        {269, 14, bytes({0x00, 0x00})},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.value);
        // The same boundary as an option number (delta from 0) and as a value length.
        const CoapMessage message = request_with_option(c.value, std::string(c.value, 'z'));
        const std::string wire = serialize_message(message);
        const std::string expected =
            kGetHeader + bytes({(c.nibble << 4) | c.nibble}) + c.extension + c.extension + std::string(c.value, 'z');
        EXPECT_EQ(wire, expected);
        const auto parsed = parse_message(wire);
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        EXPECT_EQ(*parsed, message);
    }
}

TEST(CoapMessage, EncodesDeltasBetweenOptionsNotAbsoluteNumbers) {
    CoapMessage message = request_with_option(option::kUriPath, "a");
    message.add_option(option::kSize1, "");  // delta 49 → 13 + 36
    const std::string wire = serialize_message(message);
    EXPECT_EQ(wire, kGetHeader + bytes({0xB1, 'a', 0xD0, 49 - 13}));
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, message);
}

TEST(CoapMessageParse, RejectsADatagramShorterThanTheHeader) {
    expect_format_error("");
    expect_format_error(bytes({0x40, 0x01, 0x00}));
}

TEST(CoapMessageParse, RejectsVersion0And2And3) {
    expect_format_error(bytes({0x00, 0x01, 0x00, 0x01}));
    expect_format_error(bytes({0x80, 0x01, 0x00, 0x01}));
    expect_format_error(bytes({0xC0, 0x01, 0x00, 0x01}));
}

TEST(CoapMessageParse, RejectsATokenLengthAbove8) {
    expect_format_error(bytes({0x49, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    expect_format_error(bytes({0x4F, 0x01, 0x00, 0x01}));
}

TEST(CoapMessageParse, RejectsATokenRunningPastTheEnd) {
    expect_format_error(bytes({0x44, 0x01, 0x00, 0x01, 0xAA, 0xBB}));
}

TEST(CoapMessageParse, RejectsAnEmptyMessageWithAToken) {
    expect_format_error(bytes({0x41, 0x00, 0x00, 0x01, 0xAA}));
}

TEST(CoapMessageParse, RejectsAnEmptyMessageWithOptionsOrAPayload) {
    expect_format_error(bytes({0x40, 0x00, 0x00, 0x01, 0xB1, 'a'}));
    expect_format_error(bytes({0x40, 0x00, 0x00, 0x01, 0xFF, 'x'}));
}

TEST(CoapMessageParse, RejectsTheReservedOptionDelta15) {
    expect_format_error(kGetHeader + bytes({0xF0}));
    expect_format_error(kGetHeader + bytes({0xF1, 'x'}));
}

TEST(CoapMessageParse, RejectsTheReservedOptionLength15) {
    expect_format_error(kGetHeader + bytes({0xBF, 'x'}));
    expect_format_error(kGetHeader + bytes({0x0F}));
}

TEST(CoapMessageParse, RejectsAnOptionNumberBeyond65535) {
    // Option 65535 followed by a delta of 1.
    expect_format_error(kGetHeader + bytes({0xE0, 0xFE, 0xF2, 0x10}));
    // A single delta of 65535 + 269.
    expect_format_error(kGetHeader + bytes({0xE0, 0xFF, 0xFF}));
}

TEST(CoapMessageParse, RejectsADeltaExtensionRunningPastTheEnd) {
    expect_format_error(kGetHeader + bytes({0xD0}));
    expect_format_error(kGetHeader + bytes({0xE0, 0x01}));
}

TEST(CoapMessageParse, RejectsALengthExtensionRunningPastTheEnd) {
    expect_format_error(kGetHeader + bytes({0xBD}));
    expect_format_error(kGetHeader + bytes({0xBE, 0x00}));
    expect_format_error(kGetHeader + bytes({0xDE, 0x01, 0x00}));
}

TEST(CoapMessageParse, RejectsAnOptionValueRunningPastTheEnd) {
    expect_format_error(kGetHeader + bytes({0xB4, 'e', 'd', 'e'}));
    expect_format_error(kGetHeader + bytes({0xBD, 0x00}) + std::string(12, 'x'));
}

TEST(CoapMessageParse, RejectsAPayloadMarkerWithNoPayload) {
    expect_format_error(kGetHeader + bytes({0xFF}));
    expect_format_error(kGetHeader + bytes({0xB1, 'a', 0xFF}));
}

TEST(CoapMessageParse, KeepsPayloadBytesThatLookLikeOptions) {
    const auto parsed = parse_message(kGetHeader + bytes({0xFF, 0xFF, 0xF0, 0x00}));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_TRUE(parsed->options.empty());
    EXPECT_EQ(parsed->payload, bytes({0xFF, 0xF0, 0x00}));
}

TEST(CoapMessagePeekHeader, ReadsTypeAndMessageIdOfAnUnparsableDatagram) {
    const std::string datagram = bytes({0x49, 0x01, 0xAB, 0xCD, 0x00});  // token length 9
    ASSERT_FALSE(parse_message(datagram).ok());
    const auto header = peek_header(datagram);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->type, CoapMessageType::Confirmable);
    EXPECT_EQ(header->mid, 0xABCD);
    EXPECT_EQ(peek_header(bytes({0x70, 0x00, 0x00, 0x02}))->type, CoapMessageType::Reset);
}

TEST(CoapMessagePeekHeader, GivesNothingForAShortDatagram) {
    EXPECT_FALSE(peek_header("").has_value());
    EXPECT_FALSE(peek_header(bytes({0x40, 0x01, 0x12})).has_value());
}

TEST(CoapMessagePeekHeader, GivesNothingForVersion2) {
    EXPECT_FALSE(peek_header(bytes({0x80, 0x01, 0x12, 0x34})).has_value());
}

TEST(CoapMessageUint, EncodesInTheFewestBytes) {
    EXPECT_EQ(encode_uint(0), "");
    EXPECT_EQ(encode_uint(1), bytes({0x01}));
    EXPECT_EQ(encode_uint(255), bytes({0xFF}));
    EXPECT_EQ(encode_uint(256), bytes({0x01, 0x00}));
    EXPECT_EQ(encode_uint(std::uint64_t{1} << 32U), bytes({0x01, 0x00, 0x00, 0x00, 0x00}));
    EXPECT_EQ(encode_uint(std::numeric_limits<std::uint64_t>::max()), std::string(8, '\xFF'));
}

TEST(CoapMessageUint, DecodesWhatItEncodes) {
    for (const std::uint64_t value : {std::uint64_t{0}, std::uint64_t{255}, std::uint64_t{256}, std::uint64_t{1} << 32U,
                                      std::numeric_limits<std::uint64_t>::max()}) {
        SCOPED_TRACE(value);
        EXPECT_EQ(decode_uint(encode_uint(value)), value);
    }
}

TEST(CoapMessageUint, DecodesEmptyAsZeroAndAcceptsLeadingZeros) {
    EXPECT_EQ(decode_uint(""), 0U);
    EXPECT_EQ(decode_uint(bytes({0x00, 0x00, 0x01})), 1U);
    EXPECT_EQ(decode_uint(std::string(8, '\0')), 0U);
}

TEST(CoapMessageUint, RefusesMoreThan8Bytes) {
    EXPECT_FALSE(decode_uint(std::string(9, '\0')).has_value());
    EXPECT_FALSE(decode_uint(std::string(9, '\xFF')).has_value());
}

TEST(CoapMessageUint, UintOptionIsNulloptWhenAbsentOrTooLong) {
    CoapMessage message = request_with_option(option::kObserve, std::string(9, '\x01'));
    EXPECT_FALSE(message.uint_option(option::kObserve).has_value());
    EXPECT_FALSE(message.uint_option(option::kMaxAge).has_value());
    message.add_option(option::kMaxAge, "");
    EXPECT_EQ(message.uint_option(option::kMaxAge), 0U);
}

TEST(CoapMessageOptions, ValuesOfARepeatedOptionKeepTheirOrder) {
    const std::string wire =
        kGetHeader + bytes({0xB1, 'c', 0x01, 'a', 0x01, 'b', 0x43, 'x', '=', '1', 0x03, 'y', '=', '2'});
    const auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->values(option::kUriPath), (std::vector<std::string_view>{"c", "a", "b"}));
    EXPECT_EQ(parsed->values(option::kUriQuery), (std::vector<std::string_view>{"x=1", "y=2"}));
    EXPECT_TRUE(parsed->values(option::kAccept).empty());
    ASSERT_NE(parsed->find(option::kUriPath), nullptr);
    EXPECT_EQ(parsed->find(option::kUriPath)->value, "c");
    EXPECT_EQ(parsed->find(option::kAccept), nullptr);
}

TEST(CoapMessageOptions, AddOptionKeepsNumberOrderAndRepeatsInInsertionOrder) {
    CoapMessage message;
    message.add_option(option::kUriQuery, "q");
    message.add_option(option::kUriPath, "a");
    message.add_option(option::kContentFormat, "");
    message.add_option(option::kUriPath, "b");
    message.add_option(option::kObserve, "");
    message.add_option(option::kUriPath, "c");
    message.add_option(option::kSize1, encode_uint(10));
    const std::vector<CoapOption> expected = {
        {option::kObserve, ""},
        {option::kUriPath, "a"},
        {option::kUriPath, "b"},
        {option::kUriPath, "c"},
        {option::kContentFormat, ""},
        {option::kUriQuery, "q"},
        {option::kSize1, encode_uint(10)},
    };
    EXPECT_EQ(message.options, expected);
}

TEST(CoapMessageCode, ConvertsBetweenCodeBytesAndNumbers) {
    static_assert(code_number(0x45) == 205);
    static_assert(code_byte(205) == 0x45);
    EXPECT_EQ(code_number(0x45), 205);
    EXPECT_EQ(code_byte(205), 0x45);
    EXPECT_EQ(code_number(0x84), 404);
    EXPECT_EQ(code_byte(404), 0x84);
    EXPECT_EQ(code_number(0x5F), 231);
    EXPECT_EQ(code_byte(231), 0x5F);
}

}  // namespace
}  // namespace han
