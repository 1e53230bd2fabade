// What devices may legitimately send: any lexical form XML and XML Schema allow reads to the same values.
#include <gtest/gtest.h>

#include <string>

#include "samples.hpp"
#include "sep/encode.hpp"

namespace sep {
namespace {

TEST(codec_decode, LexicalVariantsOfTheSameEndDevice) {
    const auto result = test::codec().decode<EndDevice>(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- posted by an ESCI -->\n"
        "<s:EndDevice xmlns:s=\"urn:ieee:std:2030.5:ns\" href=\" /edev/3 \" subscribable=\"01\">\n"
        "  <s:lFDI> 3e4f45ab31edfe5b67e343e5e4562e31984e23e5 </s:lFDI>\n"
        "  <?vendor hint?>\n"
        "  <s:sFDI>0167261211391</s:sFDI>\n"
        "  <s:changedTime>+17</s:changedTime>\n"
        "  <s:enabled> 1 </s:enabled>\n"
        "  <s:postRate>0300</s:postRate>\n"
        "</s:EndDevice>\n");
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->href, "/edev/3");
    EXPECT_EQ(result->subscribable, 1);
    EXPECT_EQ(result->lfdi, test::kLfdi);
    EXPECT_EQ(result->sfdi, test::kSfdi);
    EXPECT_EQ(result->changed_time, 17);
    EXPECT_EQ(result->enabled, true);
    EXPECT_EQ(result->post_rate, 300u);
}

TEST(codec_decode, StringsKeepEntitiesCharacterReferencesAndCdata) {
    const auto result = test::codec().decode<DeviceInformation>(
        "<DeviceInformation xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>"
        "<mfDate>0</mfDate><mfHwVer>a&amp;b&lt;c&gt;&quot;&apos;</mfHwVer><mfID>1</mfID>"
        "<mfInfo>&#x1F697; &#233;</mfInfo><mfModel><![CDATA[<raw> & ]]>x</mfModel><mfSerNum></mfSerNum>"
        "<primaryPower>1</primaryPower><secondaryPower>0</secondaryPower><swActTime>0</swActTime>"
        "<swVer> 1.0 </swVer></DeviceInformation>");
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->mf_hw_ver, "a&b<c>\"'");
    EXPECT_EQ(result->mf_info, "\xF0\x9F\x9A\x97 \xC3\xA9");
    EXPECT_EQ(result->mf_model, "<raw> & x");
    EXPECT_EQ(result->mf_ser_num, "");
    EXPECT_EQ(result->sw_ver, " 1.0 ");  // xs:string keeps its whitespace
}

TEST(codec_decode, BitmapsAndBytesAcceptEitherCase) {
    auto binding = test::codec().decode<PEVBinding>(
        "<b:PEVBinding xmlns:b=\"urn:pev-headend:ext:1\" xmlns=\"urn:ieee:std:2030.5:ns\">"
        "<b:status>active</b:status><b:premisesID>P</b:premisesID><b:programID>EV</b:programID>"
        "<TariffProfileLink href=\"/tp/2\"/><b:intervalLength>60</b:intervalLength>"
        "<b:rebindPSKKey>a5a5a5a5a5a5a5a5A5A5A5A5A5A5A5A5</b:rebindPSKKey><b:mRID>0a</b:mRID></b:PEVBinding>");
    ASSERT_TRUE(binding.ok()) << binding.error().message;
    EXPECT_EQ(binding->status, BindingStatus::kActive);
    EXPECT_EQ(binding->tariff_profile_link.href, "/tp/2");
    EXPECT_EQ(binding->rebind_psk_key, std::vector<std::uint8_t>(16, 0xA5));
    EXPECT_EQ(binding->mrid, "0A");

    auto device = test::codec().decode<EndDevice>(
        "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><deviceCategory>0001ff</deviceCategory><sFDI>1</sFDI>"
        "<changedTime>0</changedTime></EndDevice>");
    ASSERT_TRUE(device.ok()) << device.error().message;
    EXPECT_EQ(device->device_category, 0x0001FFu);
}

TEST(codec_decode, ListWithEntries) {
    const auto result = test::codec().decode<EndDeviceList>(encode(test::full_end_device_list()));
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_EQ(result->end_devices.size(), 2u);
    EXPECT_EQ(result->end_devices[0], test::full_end_device());
    EXPECT_EQ(result->end_devices[1], test::minimal_end_device());
    EXPECT_EQ(result->all, 3u);
    EXPECT_EQ(result->results, 2u);
}

TEST(codec_decode, ExtremeValues) {
    PowerStatus status = test::full_power_status();
    status.changed_time = INT64_MIN;
    status.pev_info->time_charge_is_needed = INT64_MAX;
    status.pev_info->charging_power_now = ActivePower{-128, -32768};
    status.pev_info->max_forward_power = ActivePower{127, 32767};
    const auto result = test::codec().decode<PowerStatus>(encode(status));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(*result, status);
}

TEST(codec_load, MissingFolder) {
    const auto result = Codec::load("/nonexistent/schemas");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "codec.schema_load");
    EXPECT_NE(result.error().message.find("pev-ext.xsd"), std::string::npos) << result.error().message;
}

TEST(codec_load, BadLimits) {
    EXPECT_EQ(Codec::load(HEADEND_SCHEMA_DIR, CodecLimits{0, 32}).error().code, "codec.limits");
    EXPECT_EQ(Codec::load(HEADEND_SCHEMA_DIR, CodecLimits{65536, 0}).error().code, "codec.limits");
}

}  // namespace
}  // namespace sep
