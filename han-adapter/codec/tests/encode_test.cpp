// Encoder output checked against literal documents: element order, namespaces, escaping.
#include <gtest/gtest.h>

#include <string>

#include "samples.hpp"
#include "sep/encode.hpp"

namespace sep {
namespace {

TEST(codec_encode, TimeFieldOrder) {
    EXPECT_EQ(encode(test::full_time()),
              "<Time xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tm\" pollRate=\"900\">"
              "<currentTime>1700000000</currentTime><dstEndTime>1699174800</dstEndTime><dstOffset>3600</dstOffset>"
              "<dstStartTime>1678615200</dstStartTime><localTime>1699971200</localTime><quality>4</quality>"
              "<tzOffset>-28800</tzOffset></Time>");
}

TEST(codec_encode, TimeWithoutOptionals) {
    EXPECT_EQ(encode(test::minimal_time()),
              "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><currentTime>-1</currentTime><dstEndTime>0</dstEndTime>"
              "<dstOffset>0</dstOffset><dstStartTime>0</dstStartTime><quality>7</quality><tzOffset>0</tzOffset>"
              "</Time>");
}

TEST(codec_encode, EndDeviceFieldOrder) {
    EXPECT_EQ(encode(test::full_end_device()),
              "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/3\" subscribable=\"1\">"
              "<ConfigurationLink href=\"/edev/3/cfg\"/>"
              "<DERListLink href=\"/edev/3/der\" all=\"0\"/>"
              "<deviceCategory>00010000</deviceCategory>"
              "<DeviceInformationLink href=\"/edev/3/di\"/>"
              "<DeviceStatusLink href=\"/edev/3/ds\"/>"
              "<FileStatusLink href=\"/edev/3/fs\"/>"
              "<IPInterfaceListLink href=\"/edev/3/ns\" all=\"1\"/>"
              "<lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>"
              "<LoadShedAvailabilityListLink href=\"/edev/3/lsl\" all=\"0\"/>"
              "<LogEventListLink href=\"/edev/3/lel\" all=\"5\"/>"
              "<PowerStatusLink href=\"/edev/3/ps\"/>"
              "<sFDI>167261211391</sFDI>"
              "<changedTime>1700000000</changedTime>"
              "<enabled>true</enabled>"
              "<FlowReservationRequestListLink href=\"/edev/3/frq\" all=\"0\"/>"
              "<FlowReservationResponseListLink href=\"/edev/3/frp\" all=\"0\"/>"
              "<FunctionSetAssignmentsListLink href=\"/edev/3/fsa\" all=\"1\"/>"
              "<postRate>300</postRate>"
              "<RegistrationLink href=\"/edev/3/reg\"/>"
              "<SubscriptionListLink href=\"/edev/3/sub\" all=\"0\"/>"
              "</EndDevice>");
}

TEST(codec_encode, MinimalEndDevice) {
    EXPECT_EQ(encode(test::minimal_end_device()),
              "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>167261211391</sFDI><changedTime>0</changedTime>"
              "</EndDevice>");
}

TEST(codec_encode, ListMembersInheritTheRootNamespace) {
    EndDeviceList list;
    list.href = "/edev";
    list.all = 1;
    list.results = 1;
    list.end_devices = {test::minimal_end_device()};
    EXPECT_EQ(encode(list),
              "<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev\" all=\"1\" results=\"1\">"
              "<EndDevice><sFDI>167261211391</sFDI><changedTime>0</changedTime></EndDevice></EndDeviceList>");
}

TEST(codec_encode, PEVBindingUsesTheExtensionNamespace) {
    EXPECT_EQ(encode(test::full_pev_binding()),
              "<PEVBinding xmlns=\"urn:pev-headend:ext:1\" xmlns:sep=\"urn:ieee:std:2030.5:ns\" href=\"/edev/3/bnd\">"
              "<status>confirmed</status><premisesID>PREM-0042</premisesID><programID>EV-TOU-1</programID>"
              "<sep:TariffProfileLink href=\"/tp/1\"/><intervalLength>900</intervalLength>"
              "<pevLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</pevLFDI>"
              "<rebindPSKIdentity>pev-3@premises-42</rebindPSKIdentity>"
              "<rebindPSKKey>00112233445566778899AABBCCDDEEFF</rebindPSKKey><expiry>1702592000</expiry>"
              "<reason>guest charging allowed by host premises</reason>"
              "<mRID>0A0B0C0D0E0F101112131415009F5B01</mRID></PEVBinding>");
}

TEST(codec_encode, ErrorBody) {
    EXPECT_EQ(encode(Error{std::nullopt, 0}),
              "<Error xmlns=\"urn:ieee:std:2030.5:ns\"><reasonCode>0</reasonCode></Error>");
}

TEST(codec_encode, HexIsUpperCase) {
    Response response = test::minimal_response();
    response.end_device_lfdi = "3e4f45ab31edfe5b67e343e5e4562e31984e23e5";
    response.subject = "0a9f";
    EXPECT_EQ(encode(response),
              "<Response xmlns=\"urn:ieee:std:2030.5:ns\"><endDeviceLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
              "</endDeviceLFDI><subject>0A9F</subject></Response>");
}

TEST(codec_encode, EscapesTextAndAttributes) {
    DeviceInformation info = test::minimal_device_information();
    info.href = "/edev/1/di?a=1&b=\"2\"<\t\n\r";
    info.mf_model = "a&b<c>d\"e'f\r\n\tg";
    const std::string xml = encode(info);
    EXPECT_NE(xml.find("href=\"/edev/1/di?a=1&amp;b=&quot;2&quot;&lt;&#9;&#10;&#13;\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("<mfModel>a&amp;b&lt;c&gt;d\"e'f&#13;\n\tg</mfModel>"), std::string::npos) << xml;
}

TEST(codec_encode, KeepsValidUnicodeAndReplacesWhatXmlCannotCarry) {
    DeviceInformation info = test::minimal_device_information();
    info.mf_model = "Grüße ✓ 𝄞";
    info.mf_ser_num =
        "a\x01"
        "b\xFF"
        "c\xC3"
        "d\xED\xA0\x80"
        "e\xEF\xBF\xBE"
        "f\xC0\xAF";
    const std::string xml = encode(info);
    EXPECT_NE(xml.find("<mfModel>Grüße ✓ 𝄞</mfModel>"), std::string::npos) << xml;
    // control character, stray byte, truncated sequence, surrogate, U+FFFE, overlong '/': every byte that is not
    // part of an allowed character becomes U+FFFD
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_NE(xml.find("<mfSerNum>a" + r + "b" + r + "c" + r + "d" + r + r + r + "e" + r + r + r + "f" + r + r +
                       "</mfSerNum>"),
              std::string::npos)
        << xml;
    EXPECT_TRUE(test::codec().validate(xml).ok());
}

TEST(codec_encode, BindingStatusNames) {
    for (const auto status :
         {BindingStatus::kRequested, BindingStatus::kConfirmed, BindingStatus::kAcknowledged, BindingStatus::kActive,
          BindingStatus::kEnded, BindingStatus::kRefused, BindingStatus::kFallback}) {
        EXPECT_EQ(parse_binding_status(to_string(status)), status);
    }
    EXPECT_EQ(to_string(BindingStatus::kAcknowledged), "acknowledged");
    EXPECT_FALSE(parse_binding_status("Confirmed").has_value());
}

}  // namespace
}  // namespace sep
