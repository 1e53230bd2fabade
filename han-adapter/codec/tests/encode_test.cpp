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

TEST(codec_encode, ReadingTypeFieldOrder) {
    EXPECT_EQ(encode(test::full_reading_type()),
              "<ReadingType xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/rt/1\">"
              "<accumulationBehaviour>4</accumulationBehaviour><commodity>1</commodity>"
              "<dataQualifier>12</dataQualifier><flowDirection>1</flowDirection><intervalLength>900</intervalLength>"
              "<kind>12</kind><maxNumberOfIntervals>96</maxNumberOfIntervals>"
              "<numberOfConsumptionBlocks>2</numberOfConsumptionBlocks><numberOfTouTiers>3</numberOfTouTiers>"
              "<phase>0</phase><powerOfTenMultiplier>-3</powerOfTenMultiplier>"
              "<subIntervalLength>60</subIntervalLength><supplyLimit>281474976710655</supplyLimit>"
              "<tieredConsumptionBlocks>true</tieredConsumptionBlocks><uom>72</uom></ReadingType>");
    EXPECT_EQ(encode(ReadingType{}), "<ReadingType xmlns=\"urn:ieee:std:2030.5:ns\"></ReadingType>");
}

TEST(codec_encode, TariffProfileFieldOrder) {
    EXPECT_EQ(encode(test::full_tariff_profile()),
              "<TariffProfile xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tp/1\">"
              "<mRID>0A0B0C0D0E0F101112131415009F5B01</mRID><description>EV time-of-use</description>"
              "<version>3</version><currency>840</currency><pricePowerOfTenMultiplier>-5</pricePowerOfTenMultiplier>"
              "<primacy>1</primacy><rateCode>EV-TOU-1</rateCode><RateComponentListLink href=\"/tp/1/rc\" all=\"1\"/>"
              "<serviceCategoryKind>0</serviceCategoryKind></TariffProfile>");
}

// FunctionSetAssignmentsBase's links come before the identity, the subscribable attribute after href.
TEST(codec_encode, FunctionSetAssignmentsFieldOrder) {
    FunctionSetAssignments assignments;
    assignments.href = "/edev/3/fsa/1";
    assignments.subscribable = 0;
    assignments.tariff_profile_list_link = ListLink{"/tp", std::nullopt};
    assignments.time_link = Link{"/tm"};
    assignments.usage_point_list_link = ListLink{"/upt", 1};
    assignments.mrid = "46534131000000000000000300000000";
    assignments.description = "utility";
    EXPECT_EQ(
        encode(assignments),
        "<FunctionSetAssignments xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/3/fsa/1\" subscribable=\"0\">"
        "<TariffProfileListLink href=\"/tp\"/><TimeLink href=\"/tm\"/><UsagePointListLink href=\"/upt\" all=\"1\"/>"
        "<mRID>46534131000000000000000300000000</mRID><description>utility</description>"
        "</FunctionSetAssignments>");
}

// CustomerAgreement's links and strings interleave in the schema's order; BillingPeriod's amounts come first.
TEST(codec_encode, BillingFieldOrder) {
    CustomerAgreement agreement;
    agreement.href = "/bill/1/ca/1";
    agreement.mrid = "0A0B0C0D0E0F101112131415009F5B01";
    agreement.active_billing_period_list_link = ListLink{"/bill/1/ca/1/abp", 1};
    agreement.billing_period_list_link = ListLink{"/bill/1/ca/1/bp", 2};
    agreement.service_account = "A1";
    agreement.tariff_profile_link = Link{"/tp/EV-TOU"};
    EXPECT_EQ(encode(agreement),
              "<CustomerAgreement xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/bill/1/ca/1\">"
              "<mRID>0A0B0C0D0E0F101112131415009F5B01</mRID>"
              "<ActiveBillingPeriodListLink href=\"/bill/1/ca/1/abp\" all=\"1\"/>"
              "<BillingPeriodListLink href=\"/bill/1/ca/1/bp\" all=\"2\"/><serviceAccount>A1</serviceAccount>"
              "<TariffProfileLink href=\"/tp/EV-TOU\"/></CustomerAgreement>");
    EXPECT_EQ(encode(BillingPeriod{std::nullopt, 2'096'000, 12'345, {2'678'400, 1'782'889'200}, 1'785'567'600}),
              "<BillingPeriod xmlns=\"urn:ieee:std:2030.5:ns\"><billLastPeriod>2096000</billLastPeriod>"
              "<billToDate>12345</billToDate><interval><duration>2678400</duration><start>1782889200</start>"
              "</interval><statusTimeStamp>1785567600</statusTimeStamp></BillingPeriod>");
}

TEST(codec_encode, RateComponentFieldOrder) {
    EXPECT_EQ(encode(test::full_rate_component()),
              "<RateComponent xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tp/1/rc/1\">"
              "<mRID>1A2B3C4D5E6F708192A3B4C5009F5B01</mRID><description>energy delivered</description>"
              "<version>0</version><ActiveTimeTariffIntervalListLink href=\"/tp/1/rc/1/acttti\" all=\"1\"/>"
              "<ReadingTypeLink href=\"/rt/1\"/><roleFlags>0045</roleFlags>"
              "<TimeTariffIntervalListLink href=\"/tp/1/rc/1/tti\" all=\"3\"/></RateComponent>");
}

TEST(codec_encode, TimeTariffIntervalFieldOrder) {
    EXPECT_EQ(encode(test::full_time_tariff_interval()),
              "<TimeTariffInterval xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tp/1/rc/1/tti/2\" "
              "replyTo=\"/rsps/1/rsp\" responseRequired=\"03\" subscribable=\"1\">"
              "<mRID>2B3C4D5E6F708192A3B4C5D6009F5B01</mRID><description>on-peak</description><version>7</version>"
              "<creationTime>1699990000</creationTime>"
              "<EventStatus><currentStatus>1</currentStatus><dateTime>1700000000</dateTime>"
              "<potentiallySuperseded>true</potentiallySuperseded>"
              "<potentiallySupersededTime>1700003600</potentiallySupersededTime>"
              "<reason>superseded by a critical-peak event</reason></EventStatus>"
              "<interval><duration>14400</duration><start>1700000000</start></interval>"
              "<randomizeDuration>-3600</randomizeDuration><randomizeStart>3600</randomizeStart>"
              "<ConsumptionTariffIntervalListLink href=\"/tp/1/rc/1/tti/2/cti\" all=\"2\"/>"
              "<touTier>3</touTier></TimeTariffInterval>");
}

TEST(codec_encode, MinimalTimeTariffInterval) {
    EXPECT_EQ(encode(test::minimal_time_tariff_interval()),
              "<TimeTariffInterval xmlns=\"urn:ieee:std:2030.5:ns\"><mRID>02</mRID><creationTime>-1</creationTime>"
              "<EventStatus><currentStatus>0</currentStatus><dateTime>0</dateTime>"
              "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
              "<interval><duration>4294967295</duration><start>0</start></interval><touTier>1</touTier>"
              "</TimeTariffInterval>");
}

TEST(codec_encode, ConsumptionTariffIntervalFieldOrder) {
    EXPECT_EQ(encode(test::full_consumption_tariff_interval()),
              "<ConsumptionTariffInterval xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tp/1/rc/1/tti/2/cti/1\">"
              "<consumptionBlock>1</consumptionBlock><price>31250</price><startValue>10000</startValue>"
              "</ConsumptionTariffInterval>");
}

TEST(codec_encode, TariffListMembersInheritTheRootNamespace) {
    ConsumptionTariffIntervalList consumption;
    consumption.href = "/cti";
    consumption.all = 2;
    consumption.results = 1;
    consumption.consumption_tariff_intervals = {test::minimal_consumption_tariff_interval()};
    EXPECT_EQ(encode(consumption),
              "<ConsumptionTariffIntervalList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/cti\" all=\"2\" results=\"1\">"
              "<ConsumptionTariffInterval><consumptionBlock>0</consumptionBlock><startValue>0</startValue>"
              "</ConsumptionTariffInterval></ConsumptionTariffIntervalList>");

    for (const std::string& xml :
         {encode(test::full_tariff_profile_list()), encode(test::full_rate_component_list()),
          encode(test::full_time_tariff_interval_list()), encode(test::full_consumption_tariff_interval_list())}) {
        EXPECT_EQ(xml.find("xmlns"), xml.rfind("xmlns")) << xml;
    }
    EXPECT_NE(encode(test::full_time_tariff_interval_list()).find("<TimeTariffInterval><mRID>02</mRID>"),
              std::string::npos);
}

TEST(codec_encode, HexBitmapsAreFixedWidthAndUpperCase) {
    RateComponent component = test::minimal_rate_component();
    component.role_flags = 0x00AB;
    EXPECT_NE(encode(component).find("<roleFlags>00AB</roleFlags>"), std::string::npos);

    TimeTariffInterval interval = test::minimal_time_tariff_interval();
    interval.response_required = 0x0A;
    EXPECT_NE(encode(interval).find(" responseRequired=\"0A\">"), std::string::npos);
    interval.response_required = 0;
    EXPECT_NE(encode(interval).find(" responseRequired=\"00\">"), std::string::npos);
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
