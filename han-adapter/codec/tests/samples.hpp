// Shared fixtures: the codec loaded once from the source tree's schemas, and sample resources with every optional
// field set ("full") or none ("minimal").
#pragma once

#include <cstdint>
#include <string_view>

#include "sep/codec.hpp"
#include "sep/types.hpp"

namespace sep::test {

const Codec& codec();

inline constexpr std::string_view kLfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5";
inline constexpr std::uint64_t kSfdi = 167261211391;
inline constexpr std::string_view kMrid = "0A0B0C0D0E0F101112131415009F5B01";

DeviceCapability full_device_capability();
Time full_time();
Time minimal_time();
EndDevice full_end_device();
EndDevice minimal_end_device();
EndDeviceList full_end_device_list();
Registration full_registration();
FunctionSetAssignments full_function_set_assignments();
FunctionSetAssignments minimal_function_set_assignments();
FunctionSetAssignmentsList full_function_set_assignments_list();
DeviceInformation full_device_information();
DeviceInformation minimal_device_information();
Response full_response();
Response minimal_response();
Error full_error();
PowerStatus full_power_status();
PowerStatus minimal_power_status();
PEVBinding full_pev_binding();
PEVBinding minimal_pev_binding();
ReadingType full_reading_type();
TariffProfile full_tariff_profile();
TariffProfile minimal_tariff_profile();
TariffProfileList full_tariff_profile_list();
RateComponent full_rate_component();
RateComponent minimal_rate_component();
RateComponentList full_rate_component_list();
TimeTariffInterval full_time_tariff_interval();
TimeTariffInterval minimal_time_tariff_interval();
TimeTariffIntervalList full_time_tariff_interval_list();
ConsumptionTariffInterval full_consumption_tariff_interval();
ConsumptionTariffInterval minimal_consumption_tariff_interval();
ConsumptionTariffIntervalList full_consumption_tariff_interval_list();
MirrorUsagePointList full_mirror_usage_point_list();
MirrorUsagePoint full_mirror_usage_point();
MirrorMeterReadingList full_mirror_meter_reading_list();
MirrorMeterReading full_mirror_meter_reading();
MirrorReadingSet full_mirror_reading_set();
Reading full_reading();
UsagePointList full_usage_point_list();
UsagePoint full_usage_point();
MeterReadingList full_meter_reading_list();
MeterReading full_meter_reading();
ReadingSetList full_reading_set_list();
ReadingSet full_reading_set();
ReadingList full_reading_list();

CustomerAccount full_customer_account();
CustomerAccountList full_customer_account_list();
CustomerAgreement full_customer_agreement();
CustomerAgreementList full_customer_agreement_list();
BillingPeriod full_billing_period();
BillingPeriodList full_billing_period_list();
HistoricalReading full_historical_reading();
HistoricalReadingList full_historical_reading_list();

}  // namespace sep::test
