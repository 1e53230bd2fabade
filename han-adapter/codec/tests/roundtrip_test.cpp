// encode -> validate against schemas/ -> decode gives back the same value, for every type the codec carries.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "samples.hpp"
#include "sep/encode.hpp"

namespace sep {
namespace {

template <Decodable T>
void expect_round_trip(const T& original) {
    const std::string xml = encode(original);
    const auto valid = test::codec().validate(xml);
    ASSERT_TRUE(valid.ok()) << valid.error().code << ": " << valid.error().message << "\n" << xml;
    const auto decoded = test::codec().decode<T>(xml);
    ASSERT_TRUE(decoded.ok()) << decoded.error().code << ": " << decoded.error().message << "\n" << xml;
    EXPECT_TRUE(*decoded == original) << xml;
    EXPECT_EQ(encode(*decoded), xml);
}

TEST(codec_roundtrip, DeviceCapability) {
    expect_round_trip(test::full_device_capability());
    expect_round_trip(DeviceCapability{});
}

TEST(codec_roundtrip, Time) {
    expect_round_trip(test::full_time());
    expect_round_trip(test::minimal_time());
}

TEST(codec_roundtrip, EndDevice) {
    expect_round_trip(test::full_end_device());
    expect_round_trip(test::minimal_end_device());
    EndDevice largest = test::minimal_end_device();
    largest.sfdi = 687194767359;  // 2^36 - 1 with check digit 9
    expect_round_trip(largest);
}

TEST(codec_roundtrip, EndDeviceList) {
    expect_round_trip(test::full_end_device_list());
    expect_round_trip(EndDeviceList{});
}

TEST(codec_roundtrip, Registration) {
    expect_round_trip(test::full_registration());
    expect_round_trip(Registration{});
}

TEST(codec_roundtrip, FunctionSetAssignments) {
    expect_round_trip(test::full_function_set_assignments());
    expect_round_trip(test::minimal_function_set_assignments());
}

TEST(codec_roundtrip, FunctionSetAssignmentsList) {
    expect_round_trip(test::full_function_set_assignments_list());
    expect_round_trip(FunctionSetAssignmentsList{});
}

// The billing function set (/bill): every field it carries, and the least.
TEST(codec_roundtrip, BillingResources) {
    expect_round_trip(test::full_customer_account());
    expect_round_trip(test::full_customer_account_list());
    expect_round_trip(CustomerAccountList{});
    expect_round_trip(test::full_customer_agreement());
    expect_round_trip(test::full_customer_agreement_list());
    expect_round_trip(test::full_billing_period());
    expect_round_trip(BillingPeriod{std::nullopt, std::nullopt, -140'737'488'355'328, {0, 0}, std::nullopt});
    expect_round_trip(test::full_billing_period_list());
    expect_round_trip(test::full_historical_reading());
    expect_round_trip(test::full_historical_reading_list());
}

TEST(codec_roundtrip, DeviceInformation) {
    expect_round_trip(test::full_device_information());
    expect_round_trip(test::minimal_device_information());
}

TEST(codec_roundtrip, Response) {
    expect_round_trip(test::full_response());
    expect_round_trip(test::minimal_response());
}

TEST(codec_roundtrip, Error) {
    expect_round_trip(test::full_error());
    expect_round_trip(Error{});
}

TEST(codec_roundtrip, PowerStatus) {
    expect_round_trip(test::full_power_status());
    expect_round_trip(test::minimal_power_status());
}

TEST(codec_roundtrip, PEVBinding) {
    expect_round_trip(test::full_pev_binding());
    expect_round_trip(test::minimal_pev_binding());
    PEVBinding refused = test::minimal_pev_binding();
    refused.status = BindingStatus::kRefused;
    refused.reason = "VIN not enrolled";
    refused.rebind_psk_key = std::vector<std::uint8_t>(32, 0xA5);
    expect_round_trip(refused);
}

TEST(codec_roundtrip, ReadingType) {
    expect_round_trip(test::full_reading_type());
    expect_round_trip(ReadingType{});
}

TEST(codec_roundtrip, TariffProfile) {
    expect_round_trip(test::full_tariff_profile());
    expect_round_trip(test::minimal_tariff_profile());
}

TEST(codec_roundtrip, TariffProfileList) {
    expect_round_trip(test::full_tariff_profile_list());
    expect_round_trip(TariffProfileList{});
}

TEST(codec_roundtrip, RateComponent) {
    expect_round_trip(test::full_rate_component());
    expect_round_trip(test::minimal_rate_component());
}

TEST(codec_roundtrip, RateComponentList) {
    expect_round_trip(test::full_rate_component_list());
    expect_round_trip(RateComponentList{});
}

TEST(codec_roundtrip, TimeTariffInterval) {
    expect_round_trip(test::full_time_tariff_interval());
    expect_round_trip(test::minimal_time_tariff_interval());
    TimeTariffInterval cancelled = test::minimal_time_tariff_interval();
    cancelled.response_required = 0xFF;
    cancelled.event_status.current_status = 2;
    cancelled.event_status.reason = std::string(192, 'r');
    cancelled.randomize_start = -3600;
    expect_round_trip(cancelled);
}

TEST(codec_roundtrip, TimeTariffIntervalList) {
    expect_round_trip(test::full_time_tariff_interval_list());
    expect_round_trip(TimeTariffIntervalList{});
}

TEST(codec_roundtrip, ConsumptionTariffInterval) {
    expect_round_trip(test::full_consumption_tariff_interval());
    expect_round_trip(test::minimal_consumption_tariff_interval());
    ConsumptionTariffInterval extreme = test::full_consumption_tariff_interval();
    extreme.consumption_block = 255;
    extreme.price = INT32_MIN;
    extreme.start_value = 281474976710655ull;  // UInt48 maximum
    expect_round_trip(extreme);
}

TEST(codec_roundtrip, ConsumptionTariffIntervalList) {
    expect_round_trip(test::full_consumption_tariff_interval_list());
    expect_round_trip(ConsumptionTariffIntervalList{});
}

TEST(codec_roundtrip, UnicodeAndMarkupCharactersInStrings) {
    DeviceInformation info = test::full_device_information();
    info.mf_model = "<EndDevice>&amp;]]>\"'";
    info.mf_ser_num = "日本語 テキスト Ünïcödé";
    info.sw_ver = "line\nbreak\ttab\rreturn";
    info.gps_location = GPSLocation{" 34.05 ", "-118.24\n"};
    expect_round_trip(info);

    PEVBinding binding = test::full_pev_binding();
    binding.href = "/edev/3/bnd?x=\"1\"&y=<2>";
    binding.reason = std::string(192, 'x');
    binding.premises_id = "Prämisse №42 – \"Süd\"";
    expect_round_trip(binding);
}

}  // namespace
}  // namespace sep
