// libFuzzer harness for the CoAP message codec. Besides "no crash", it checks the round-trip property: whatever
// parses serializes to a datagram that parses to the same message. The encoding of a valid message is unique, so the
// serialized bytes must also be the input itself.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "han/coap_message.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_coap_message: %s\n", what);
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);
    const auto header = han::peek_header(datagram);
    const auto parsed = han::parse_message(datagram);
    if (!parsed.ok()) {
        if (parsed.error().code != "coap.format")
            fail("parse error without the coap.format code");
        return 0;
    }
    const han::CoapMessage& message = *parsed;
    if (!header || header->type != message.type || header->mid != message.mid)
        fail("peek_header disagrees with parse_message");

    const std::string wire = han::serialize_message(message);
    const auto reparsed = han::parse_message(wire);
    if (!reparsed.ok() || !(*reparsed == message))
        fail("serialized message does not parse back to the same message");
    if (wire != datagram)
        fail("serialized bytes differ from the datagram that parsed");

    // Unsigned option values: what decodes encodes back to the value without its leading zero bytes.
    for (const han::CoapOption& option : message.options) {
        const auto value = han::decode_uint(option.value);
        if (value.has_value() != (option.value.size() <= 8))
            fail("decode_uint accepts the wrong lengths");
        if (!value)
            continue;
        const std::size_t significant = option.value.find_first_not_of('\0');
        const std::string minimal = significant == std::string::npos ? std::string() : option.value.substr(significant);
        if (han::encode_uint(*value) != minimal)
            fail("encode_uint(decode_uint(v)) is not v without leading zeros");
        if (message.find(option.number) == nullptr || message.values(option.number).empty())
            fail("an option present is not found");
    }
    return 0;
}
