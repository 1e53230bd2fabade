// What devices may legitimately send: any lexical form XML and XML Schema allow reads to the same values.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

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

TEST(codec_decode, SchemaValidElementsTheStructsDoNotCarryAreSkipped) {
    const auto reading_type = test::codec().decode<ReadingType>(
        "<ReadingType xmlns=\"urn:ieee:std:2030.5:ns\"><accumulationBehaviour>4</accumulationBehaviour>"
        "<calorificValue><multiplier>0</multiplier><unit>72</unit><value>1</value></calorificValue>"
        "<commodity>1</commodity>"
        "<conversionFactor><multiplier>-1</multiplier><unit>72</unit><value>10</value></conversionFactor>"
        "<uom>72</uom></ReadingType>");
    ASSERT_TRUE(reading_type.ok()) << reading_type.error().message;
    ReadingType expected_reading_type;
    expected_reading_type.accumulation_behaviour = 4;
    expected_reading_type.commodity = 1;
    expected_reading_type.uom = 72;
    EXPECT_EQ(*reading_type, expected_reading_type);

    const auto component = test::codec().decode<RateComponent>(
        "<RateComponent xmlns=\"urn:ieee:std:2030.5:ns\"><mRID>01</mRID>"
        "<flowRateEndLimit><multiplier>3</multiplier><unit>38</unit><value>7</value></flowRateEndLimit>"
        "<flowRateStartLimit><multiplier>0</multiplier><unit>38</unit><value>0</value></flowRateStartLimit>"
        "<ReadingTypeLink href=\"/rt/2\"/><roleFlags>FFFF</roleFlags>"
        "<TimeTariffIntervalListLink href=\"/tp/1/rc/2/tti\"/></RateComponent>");
    ASSERT_TRUE(component.ok()) << component.error().message;
    EXPECT_EQ(*component, test::minimal_rate_component());

    const auto consumption = test::codec().decode<ConsumptionTariffInterval>(
        "<ConsumptionTariffInterval xmlns=\"urn:ieee:std:2030.5:ns\"><consumptionBlock>0</consumptionBlock>"
        "<EnvironmentalCost><amount>1</amount><costKind>0</costKind><costLevel>1</costLevel>"
        "<numCostLevels>3</numCostLevels></EnvironmentalCost>"
        "<EnvironmentalCost><amount>2</amount><costKind>0</costKind><costLevel>2</costLevel>"
        "<numCostLevels>3</numCostLevels></EnvironmentalCost>"
        "<startValue>0</startValue></ConsumptionTariffInterval>");
    ASSERT_TRUE(consumption.ok()) << consumption.error().message;
    EXPECT_EQ(*consumption, test::minimal_consumption_tariff_interval());
}

TEST(codec_decode, LexicalVariantsOfATimeTariffInterval) {
    const auto result = test::codec().decode<TimeTariffInterval>(
        "<s:TimeTariffInterval xmlns:s=\"urn:ieee:std:2030.5:ns\" replyTo=\" /rsps/1/rsp \" responseRequired=\"0a\">"
        "<s:mRID>2b3c4d5e6f708192a3b4c5d6009f5b01</s:mRID><s:creationTime>+5</s:creationTime>"
        "<s:EventStatus><s:currentStatus>01</s:currentStatus><s:dateTime>0</s:dateTime>"
        "<s:potentiallySuperseded>0</s:potentiallySuperseded></s:EventStatus>"
        "<s:interval><s:duration>60</s:duration><s:start>-60</s:start></s:interval>"
        "<s:randomizeStart>+0</s:randomizeStart><s:touTier>2</s:touTier></s:TimeTariffInterval>");
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->reply_to, "/rsps/1/rsp");
    EXPECT_EQ(result->response_required, 0x0A);
    EXPECT_EQ(result->mrid, "2B3C4D5E6F708192A3B4C5D6009F5B01");
    EXPECT_EQ(result->creation_time, 5);
    EXPECT_EQ(result->event_status, (EventStatus{1, 0, false, std::nullopt, std::nullopt}));
    EXPECT_EQ(result->interval, (DateTimeInterval{60, -60}));
    EXPECT_EQ(result->randomize_start, 0);
    EXPECT_EQ(result->tou_tier, 2);
}

TEST(codec_decode, TariffListsWithEntries) {
    const auto profiles = test::codec().decode<TariffProfileList>(encode(test::full_tariff_profile_list()));
    ASSERT_TRUE(profiles.ok()) << profiles.error().message;
    ASSERT_EQ(profiles->tariff_profiles.size(), 2u);
    EXPECT_EQ(profiles->tariff_profiles[0], test::full_tariff_profile());
    EXPECT_EQ(profiles->tariff_profiles[1], test::minimal_tariff_profile());

    const auto intervals = test::codec().decode<TimeTariffIntervalList>(encode(test::full_time_tariff_interval_list()));
    ASSERT_TRUE(intervals.ok()) << intervals.error().message;
    ASSERT_EQ(intervals->time_tariff_intervals.size(), 2u);
    EXPECT_EQ(intervals->time_tariff_intervals[0], test::full_time_tariff_interval());
    EXPECT_EQ(intervals->time_tariff_intervals[1], test::minimal_time_tariff_interval());
    EXPECT_EQ(intervals->all, 3u);
    EXPECT_EQ(intervals->results, 2u);
}

template <Decodable T>
void expect_schema_error(std::string_view xml) {
    const auto result = test::codec().decode<T>(xml);
    ASSERT_FALSE(result.ok()) << xml;
    EXPECT_EQ(result.error().code, "xml.schema") << result.error().message;
}

TEST(codec_decode, OutOfRangeTariffValuesFailValidation) {
    TimeTariffInterval interval = test::minimal_time_tariff_interval();
    interval.randomize_duration = 3601;  // OneHourRangeType
    expect_schema_error<TimeTariffInterval>(encode(interval));

    expect_schema_error<TimeTariffInterval>(
        "<TimeTariffInterval xmlns=\"urn:ieee:std:2030.5:ns\" responseRequired=\"0100\"><mRID>02</mRID>"
        "<creationTime>0</creationTime><EventStatus><currentStatus>0</currentStatus><dateTime>0</dateTime>"
        "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
        "<interval><duration>0</duration><start>0</start></interval><touTier>1</touTier></TimeTariffInterval>");

    RateComponent component = test::minimal_rate_component();
    component.mrid = std::string(34, 'A');  // mRIDType is at most 16 bytes
    expect_schema_error<RateComponent>(encode(component));

    ConsumptionTariffInterval consumption = test::minimal_consumption_tariff_interval();
    consumption.start_value = 281474976710656ull;  // UInt48 maximum + 1
    expect_schema_error<ConsumptionTariffInterval>(encode(consumption));
}

TEST(codec_decode, FunctionSetAssignmentsOutOfSchemaOrderOrWithoutMridFailValidation) {
    // TimeLink before TariffProfileListLink: FunctionSetAssignmentsBase's order is the schema's.
    expect_schema_error<FunctionSetAssignments>(
        "<FunctionSetAssignments xmlns=\"urn:ieee:std:2030.5:ns\"><TimeLink href=\"/tm\"/>"
        "<TariffProfileListLink href=\"/tp\"/><mRID>01</mRID></FunctionSetAssignments>");
    expect_schema_error<FunctionSetAssignments>(
        "<FunctionSetAssignments xmlns=\"urn:ieee:std:2030.5:ns\"><TimeLink href=\"/tm\"/></FunctionSetAssignments>");
    FunctionSetAssignments assignments = test::minimal_function_set_assignments();
    assignments.mrid = std::string(34, 'A');  // mRIDType is at most 16 bytes
    expect_schema_error<FunctionSetAssignments>(encode(assignments));
    // A list without its counts.
    expect_schema_error<FunctionSetAssignmentsList>(
        "<FunctionSetAssignmentsList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/3/fsa\"/>");
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
