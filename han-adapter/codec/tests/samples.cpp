#include "samples.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace sep::test {

const Codec& codec() {
    static const std::shared_ptr<const Codec> instance = [] {
        auto loaded = Codec::load(HEADEND_SCHEMA_DIR);
        if (!loaded.ok()) {
            std::fprintf(stderr, "cannot load schemas: %s\n", loaded.error().message.c_str());
            std::abort();
        }
        return std::move(loaded).value();
    }();
    return *instance;
}

DeviceCapability full_device_capability() {
    DeviceCapability v;
    v.href = "/dcap";
    v.poll_rate = 900;
    v.customer_account_list_link = ListLink{"/bill", 1};
    v.demand_response_program_list_link = ListLink{"/dr", 0};
    v.der_program_list_link = ListLink{"/derp", 0};
    v.file_list_link = ListLink{"/file", 0};
    v.messaging_program_list_link = ListLink{"/msg", 2};
    v.prepayment_list_link = ListLink{"/ppy", 0};
    v.response_set_list_link = ListLink{"/rsps", 3};
    v.tariff_profile_list_link = ListLink{"/tp", 2};
    v.time_link = Link{"/tm"};
    v.usage_point_list_link = ListLink{"/upt", 1};
    v.end_device_list_link = ListLink{"/edev", 4};
    v.mirror_usage_point_list_link = ListLink{"/mup", 0};
    v.self_device_link = Link{"/sdev"};
    return v;
}

Time full_time() {
    Time v;
    v.href = "/tm";
    v.poll_rate = 900;
    v.current_time = 1700000000;
    v.dst_end_time = 1699174800;
    v.dst_offset = 3600;
    v.dst_start_time = 1678615200;
    v.local_time = 1699971200;
    v.quality = 4;
    v.tz_offset = -28800;
    return v;
}

Time minimal_time() {
    Time v;
    v.current_time = -1;  // TimeType is signed
    v.quality = 7;
    return v;
}

EndDevice full_end_device() {
    EndDevice v;
    v.href = "/edev/3";
    v.subscribable = 1;
    v.configuration_link = Link{"/edev/3/cfg"};
    v.der_list_link = ListLink{"/edev/3/der", 0};
    v.device_category = 0x00010000;  // electric vehicle
    v.device_information_link = Link{"/edev/3/di"};
    v.device_status_link = Link{"/edev/3/ds"};
    v.file_status_link = Link{"/edev/3/fs"};
    v.ip_interface_list_link = ListLink{"/edev/3/ns", 1};
    v.lfdi = std::string(kLfdi);
    v.load_shed_availability_list_link = ListLink{"/edev/3/lsl", 0};
    v.log_event_list_link = ListLink{"/edev/3/lel", 5};
    v.power_status_link = Link{"/edev/3/ps"};
    v.sfdi = kSfdi;
    v.changed_time = 1700000000;
    v.enabled = true;
    v.flow_reservation_request_list_link = ListLink{"/edev/3/frq", 0};
    v.flow_reservation_response_list_link = ListLink{"/edev/3/frp", 0};
    v.function_set_assignments_list_link = ListLink{"/edev/3/fsa", 1};
    v.post_rate = 300;
    v.registration_link = Link{"/edev/3/reg"};
    v.subscription_list_link = ListLink{"/edev/3/sub", 0};
    return v;
}

EndDevice minimal_end_device() {
    EndDevice v;
    v.sfdi = kSfdi;
    v.changed_time = 0;
    return v;
}

EndDeviceList full_end_device_list() {
    EndDeviceList v;
    v.href = "/edev";
    v.subscribable = 0;
    v.all = 3;
    v.results = 2;
    v.poll_rate = 60;
    v.end_devices = {full_end_device(), minimal_end_device()};
    return v;
}

Registration full_registration() {
    Registration v;
    v.href = "/edev/3/reg";
    v.poll_rate = 86400;
    v.date_time_registered = 1690000000;
    v.pin = 111115;
    return v;
}

FunctionSetAssignments full_function_set_assignments() {
    FunctionSetAssignments v;
    v.href = "/edev/3/fsa/1";
    v.subscribable = 0;
    v.customer_account_list_link = ListLink{"/bill", 1};
    v.demand_response_program_list_link = ListLink{"/dr", 0};
    v.der_program_list_link = ListLink{"/derp", 0};
    v.file_list_link = ListLink{"/file", 0};
    v.messaging_program_list_link = ListLink{"/msg", 2};
    v.prepayment_list_link = ListLink{"/ppy", 0};
    v.response_set_list_link = ListLink{"/rsps", 3};
    v.tariff_profile_list_link = ListLink{"/tp", 2};
    v.time_link = Link{"/tm"};
    v.usage_point_list_link = ListLink{"/upt", 1};
    v.mrid = "0A0B0C0D0E0F101112131415009F5B02";
    v.description = "EV program";
    v.version = 1;
    return v;
}

FunctionSetAssignments minimal_function_set_assignments() {
    FunctionSetAssignments v;
    v.mrid = "01";
    return v;
}

FunctionSetAssignmentsList full_function_set_assignments_list() {
    FunctionSetAssignmentsList v;
    v.href = "/edev/3/fsa";
    v.subscribable = 0;
    v.all = 3;
    v.results = 2;
    v.poll_rate = 900;
    v.function_set_assignments = {full_function_set_assignments(), minimal_function_set_assignments()};
    return v;
}

DeviceInformation full_device_information() {
    DeviceInformation v;
    v.href = "/edev/3/di";
    v.poll_rate = 3600;
    v.drlc_capabilities = DRLCCapabilities{RealEnergy{3, 7}, ActivePower{3, 11}, 0x00100007};
    v.functions_implemented = 0x00000000001FFFFFull;
    v.gps_location = GPSLocation{"34.0522", "-118.2437"};
    v.lfdi = std::string(kLfdi);
    v.mf_date = 1600000000;
    v.mf_hw_ver = "rev C";
    v.mf_id = 37244;
    v.mf_info = "Grüße & <stuff> \"quoted\"";
    v.mf_model = "EV-charger ✓ 𝄞";
    v.mf_ser_num = "SN-0001";
    v.primary_power = 1;
    v.secondary_power = 0;
    v.supported_locale_list_link = ListLink{"/edev/3/di/loc", 1};
    v.sw_act_time = 1650000000;
    v.sw_ver = "2.4.1";
    return v;
}

DeviceInformation minimal_device_information() {
    DeviceInformation v;
    v.lfdi = std::string(kLfdi);
    v.mf_hw_ver = "1";
    v.mf_model = "M";
    v.mf_ser_num = "S";
    v.sw_ver = "0";
    return v;
}

Response full_response() {
    Response v;
    v.href = "/rsps/1/rsp/7";
    v.created_date_time = 1700000123;
    v.end_device_lfdi = std::string(kLfdi);
    v.status = 1;
    v.subject = std::string(kMrid);
    return v;
}

Response minimal_response() {
    Response v;
    v.end_device_lfdi = std::string(kLfdi);
    v.subject = "01";
    return v;
}

Error full_error() {
    return Error{120, 2};
}

PowerStatus full_power_status() {
    PowerStatus v;
    v.href = "/edev/3/ps";
    v.poll_rate = 60;
    v.battery_status = 1;
    v.changed_time = 1700000200;
    v.current_power_source = 1;
    v.estimated_charge_remaining = 4550;
    v.estimated_time_remaining = 7200;
    PEVInfo pev;
    pev.charging_power_now = ActivePower{3, 7};
    pev.energy_request_now = RealEnergy{0, 281474976710655ull};
    pev.max_forward_power = ActivePower{0, -32768};
    pev.minimum_charging_duration = 5400;
    pev.target_state_of_charge = 10000;
    pev.time_charge_is_needed = 1700030000;
    pev.time_charging_status_pev = 1700000190;
    v.pev_info = pev;
    v.session_time_on_battery = 10;
    v.total_time_on_battery = 4000000000u;
    return v;
}

PowerStatus minimal_power_status() {
    PowerStatus v;
    v.battery_status = 4;
    v.changed_time = 1700000200;
    v.current_power_source = 1;
    return v;
}

PEVBinding full_pev_binding() {
    PEVBinding v;
    v.href = "/edev/3/bnd";
    v.status = BindingStatus::kConfirmed;
    v.premises_id = "PREM-0042";
    v.program_id = "EV-TOU-1";
    v.tariff_profile_link = Link{"/tp/1"};
    v.interval_length = 900;
    v.pev_lfdi = std::string(kLfdi);
    v.rebind_psk_identity = "pev-3@premises-42";
    v.rebind_psk_key = std::vector<std::uint8_t>{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                                 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
    v.expiry = 1702592000;
    v.reason = "guest charging allowed by host premises";
    v.mrid = std::string(kMrid);
    return v;
}

PEVBinding minimal_pev_binding() {
    PEVBinding v;
    v.status = BindingStatus::kFallback;
    v.premises_id = "P";
    v.program_id = "default";
    v.tariff_profile_link = Link{"/tp/0"};
    v.interval_length = 3600;
    v.mrid = "00";
    return v;
}

ReadingType full_reading_type() {
    ReadingType v;
    v.href = "/rt/1";
    v.accumulation_behaviour = 4;  // deltaData
    v.commodity = 1;
    v.data_qualifier = 12;
    v.flow_direction = 1;
    v.interval_length = 900;
    v.kind = 12;  // energy
    v.max_number_of_intervals = 96;
    v.number_of_consumption_blocks = 2;
    v.number_of_tou_tiers = 3;
    v.phase = 0;
    v.power_of_ten_multiplier = -3;
    v.sub_interval_length = 60;
    v.supply_limit = 281474976710655ull;
    v.tiered_consumption_blocks = true;
    v.uom = 72;  // Wh
    return v;
}

TariffProfile full_tariff_profile() {
    TariffProfile v;
    v.href = "/tp/1";
    v.mrid = std::string(kMrid);
    v.description = "EV time-of-use";
    v.version = 3;
    v.currency = 840;  // USD
    v.price_power_of_ten_multiplier = -5;
    v.primacy = 1;
    v.rate_code = "EV-TOU-1";
    v.rate_component_list_link = ListLink{"/tp/1/rc", 1};
    v.service_category_kind = 0;
    return v;
}

TariffProfile minimal_tariff_profile() {
    TariffProfile v;
    v.mrid = "00";
    v.primacy = 89;
    return v;
}

TariffProfileList full_tariff_profile_list() {
    TariffProfileList v;
    v.href = "/tp";
    v.subscribable = 1;
    v.all = 3;
    v.results = 2;
    v.poll_rate = 3600;
    v.tariff_profiles = {full_tariff_profile(), minimal_tariff_profile()};
    return v;
}

RateComponent full_rate_component() {
    RateComponent v;
    v.href = "/tp/1/rc/1";
    v.mrid = "1A2B3C4D5E6F708192A3B4C5009F5B01";
    v.description = "energy delivered";
    v.version = 0;
    v.active_time_tariff_interval_list_link = ListLink{"/tp/1/rc/1/acttti", 1};
    v.reading_type_link = Link{"/rt/1"};
    v.role_flags = 0x0045;  // isMirror | isPEV | isSubmeter
    v.time_tariff_interval_list_link = ListLink{"/tp/1/rc/1/tti", 3};
    return v;
}

RateComponent minimal_rate_component() {
    RateComponent v;
    v.mrid = "01";
    v.reading_type_link = Link{"/rt/2"};
    v.role_flags = 0xFFFF;
    v.time_tariff_interval_list_link = ListLink{"/tp/1/rc/2/tti", std::nullopt};
    return v;
}

RateComponentList full_rate_component_list() {
    RateComponentList v;
    v.href = "/tp/1/rc";
    v.all = 2;
    v.results = 2;
    v.rate_components = {full_rate_component(), minimal_rate_component()};
    return v;
}

TimeTariffInterval full_time_tariff_interval() {
    TimeTariffInterval v;
    v.href = "/tp/1/rc/1/tti/2";
    v.reply_to = "/rsps/1/rsp";
    v.response_required = 0x03;
    v.subscribable = 1;
    v.mrid = "2B3C4D5E6F708192A3B4C5D6009F5B01";
    v.description = "on-peak";
    v.version = 7;
    v.creation_time = 1699990000;
    v.event_status = EventStatus{1, 1700000000, true, 1700003600, "superseded by a critical-peak event"};
    v.interval = DateTimeInterval{14400, 1700000000};
    v.randomize_duration = -3600;
    v.randomize_start = 3600;
    v.consumption_tariff_interval_list_link = ListLink{"/tp/1/rc/1/tti/2/cti", 2};
    v.tou_tier = 3;
    return v;
}

TimeTariffInterval minimal_time_tariff_interval() {
    TimeTariffInterval v;
    v.mrid = "02";
    v.creation_time = -1;  // TimeType is signed
    v.event_status = EventStatus{0, 0, false, std::nullopt, std::nullopt};
    v.interval = DateTimeInterval{4294967295u, 0};
    v.tou_tier = 1;
    return v;
}

TimeTariffIntervalList full_time_tariff_interval_list() {
    TimeTariffIntervalList v;
    v.href = "/tp/1/rc/1/tti";
    v.subscribable = 0;
    v.all = 3;
    v.results = 2;
    v.time_tariff_intervals = {full_time_tariff_interval(), minimal_time_tariff_interval()};
    return v;
}

ConsumptionTariffInterval full_consumption_tariff_interval() {
    ConsumptionTariffInterval v;
    v.href = "/tp/1/rc/1/tti/2/cti/1";
    v.consumption_block = 1;
    v.price = 31250;  // 0.31250 USD/kWh at the profile's multiplier -5
    v.start_value = 10000;
    return v;
}

ConsumptionTariffInterval minimal_consumption_tariff_interval() {
    ConsumptionTariffInterval v;
    v.consumption_block = 0;
    v.start_value = 0;
    return v;
}

ConsumptionTariffIntervalList full_consumption_tariff_interval_list() {
    ConsumptionTariffIntervalList v;
    v.href = "/tp/1/rc/1/tti/2/cti";
    v.all = 2;
    v.results = 2;
    v.consumption_tariff_intervals = {full_consumption_tariff_interval(), minimal_consumption_tariff_interval()};
    return v;
}

Reading full_reading() {
    Reading v;
    v.href = "/upt/1/mr/1/rs/1/r/0";
    v.subscribable = 0;
    v.consumption_block = 1;
    v.quality_flags = 0x0009;  // valid, estimated by linear interpolation
    v.time_period = DateTimeInterval{900, 1782907200};
    v.tou_tier = 2;
    v.value = -1234;
    v.local_id = 0x00A1;
    return v;
}

MirrorReadingSet full_mirror_reading_set() {
    MirrorReadingSet v;
    v.href = "/mup/1/rs/1";
    v.mrid = std::string(kMrid);
    v.description = "charging";
    v.version = 1;
    v.time_period = DateTimeInterval{3600, 1782907200};
    v.readings = {full_reading(), Reading{}};
    return v;
}

MirrorMeterReading full_mirror_meter_reading() {
    MirrorMeterReading v;
    v.href = "/mup/1/mr/1";
    v.mrid = "0A0B0C0D0E0F101112131415009F5B02";
    v.description = "PEV energy";
    v.version = 2;
    v.last_update_time = 1782910800;
    v.mirror_reading_sets = {full_mirror_reading_set()};
    v.next_update_time = 1782914400;
    v.reading = full_reading();
    v.reading_type = full_reading_type();
    return v;
}

MirrorMeterReadingList full_mirror_meter_reading_list() {
    MirrorMeterReadingList v;
    v.href = "/mup/1";
    v.all = 2;
    v.results = 1;
    v.mirror_meter_readings = {full_mirror_meter_reading()};
    return v;
}

MirrorUsagePoint full_mirror_usage_point() {
    MirrorUsagePoint v;
    v.href = "/mup/1";
    v.mrid = "0A0B0C0D0E0F101112131415009F5B03";
    v.description = "PEV submeter";
    v.version = 0;
    v.role_flags = kRoleIsMirror | kRoleIsPev | kRoleIsSubmeter;
    v.service_category_kind = 0;
    v.status = 1;
    v.device_lfdi = std::string(kLfdi);
    v.mirror_meter_readings = {full_mirror_meter_reading()};
    v.post_rate = 900;
    return v;
}

MirrorUsagePointList full_mirror_usage_point_list() {
    MirrorUsagePointList v;
    v.href = "/mup";
    v.all = 1;
    v.results = 1;
    v.poll_rate = 900;
    v.mirror_usage_points = {full_mirror_usage_point()};
    return v;
}

UsagePoint full_usage_point() {
    UsagePoint v;
    v.href = "/upt/1";
    v.mrid = "0A0B0C0D0E0F101112131415009F5B04";
    v.description = "PEV";
    v.version = 3;
    v.role_flags = kRoleIsPev | kRoleIsSubmeter;
    v.service_category_kind = 0;
    v.status = 1;
    v.device_lfdi = std::string(kLfdi);
    v.meter_reading_list_link = ListLink{"/upt/1/mr", 1};
    return v;
}

UsagePointList full_usage_point_list() {
    UsagePointList v;
    v.href = "/upt";
    v.subscribable = 1;
    v.all = 1;
    v.results = 1;
    v.poll_rate = 900;
    v.usage_points = {full_usage_point()};
    return v;
}

MeterReading full_meter_reading() {
    MeterReading v;
    v.href = "/upt/1/mr/1";
    v.mrid = "0A0B0C0D0E0F101112131415009F5B05";
    v.description = "energy";
    v.version = 1;
    v.rate_component_list_link = ListLink{"/tp/EV-TOU/rc", 1};
    v.reading_link = Link{"/upt/1/mr/1/r"};
    v.reading_set_list_link = ListLink{"/upt/1/mr/1/rs", 4};
    v.reading_type_link = Link{"/upt/1/mr/1/rt"};
    return v;
}

MeterReadingList full_meter_reading_list() {
    MeterReadingList v;
    v.href = "/upt/1/mr";
    v.subscribable = 0;
    v.all = 1;
    v.results = 1;
    v.meter_readings = {full_meter_reading()};
    return v;
}

ReadingSet full_reading_set() {
    ReadingSet v;
    v.href = "/upt/1/mr/1/rs/1";
    v.mrid = "0A0B0C0D0E0F101112131415009F5B06";
    v.description = "day";
    v.version = 1;
    v.time_period = DateTimeInterval{86400, 1782864000};
    v.reading_list_link = ListLink{"/upt/1/mr/1/rs/1/r", 96};
    return v;
}

ReadingSetList full_reading_set_list() {
    ReadingSetList v;
    v.href = "/upt/1/mr/1/rs";
    v.subscribable = 1;
    v.all = 4;
    v.results = 1;
    v.reading_sets = {full_reading_set()};
    return v;
}

ReadingList full_reading_list() {
    ReadingList v;
    v.href = "/upt/1/mr/1/rs/1/r";
    v.subscribable = 0;
    v.all = 96;
    v.results = 2;
    v.readings = {full_reading(), Reading{}};
    return v;
}

CustomerAccount full_customer_account() {
    CustomerAccount v;
    v.href = "/bill/1";
    v.mrid = std::string(kMrid);
    v.description = "account";
    v.currency = 840;
    v.customer_account = "A1";
    v.customer_agreement_list_link = ListLink{"/bill/1/ca", 1};
    v.customer_name = "Jane Doe";
    v.price_power_of_ten_multiplier = -5;
    return v;
}

CustomerAccountList full_customer_account_list() {
    return {"/bill", 0, 1, 1, 900, {full_customer_account()}};
}

CustomerAgreement full_customer_agreement() {
    CustomerAgreement v;
    v.href = "/bill/1/ca/1";
    v.mrid = std::string(kMrid);
    v.active_billing_period_list_link = ListLink{"/bill/1/ca/1/abp", 1};
    v.billing_period_list_link = ListLink{"/bill/1/ca/1/bp", 3};
    v.historical_reading_list_link = ListLink{"/bill/1/ca/1/hr", 2};
    v.service_account = "A1";
    v.service_location = "1 Main St";
    v.tariff_profile_link = Link{"/tp/EV-TOU"};
    v.usage_point_link = Link{"/upt/1"};
    return v;
}

CustomerAgreementList full_customer_agreement_list() {
    return {"/bill/1/ca", std::nullopt, 1, 1, {full_customer_agreement()}};
}

BillingPeriod full_billing_period() {
    return {"/bill/1/ca/1/bp/1", 2'096'000, 12'345, {2'678'400, 1'782'889'200}, 1'785'567'600};
}

BillingPeriodList full_billing_period_list() {
    return {"/bill/1/ca/1/bp", std::nullopt, 1, 1, {full_billing_period()}};
}

HistoricalReading full_historical_reading() {
    return {"/bill/1/ca/1/hr/1", std::string(kMrid), "premises meter", std::nullopt, Link{"/upt/1/mr/1/rt"}};
}

HistoricalReadingList full_historical_reading_list() {
    return {"/bill/1/ca/1/hr", 1, 1, {full_historical_reading()}};
}

}  // namespace sep::test
