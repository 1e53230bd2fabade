// Each SEP type described once: its root element, then its attributes and elements in 2030.5 schema order. The
// encoder walks a description to write a document and the reader walks the same one to read it back, so the two
// cannot disagree on a name or an order; a new resource is one describe() here (and its root, if it is one).
//
// A visitor V offers, for attributes (all before the first element):
//   uri(name, optional<string>)           an anyURI attribute (href, replyTo)
//   attribute(name, integer or optional)  an integer attribute
//   bits_attribute(name, optional<uint8>) a HexBinary8 attribute
// and for elements:
//   element(name, value)   a scalar, enumeration, Link/ListLink, described type, optional of one, or a vector
//                          (repeated element); a name with a "sep:" prefix is an element of the 2030.5 namespace
//                          inside an extension document
//   hex(name, text)        hexBinary kept as upper-case text (LFDI, mRID)
//   bits(name, v, digits)  a hexBinary bitmap of `digits` hex digits
//   bytes(name, optional<vector<uint8>>)  hexBinary bytes
//   skip(name)             schema-valid elements the structs do not carry: read past, never written
#pragma once

#include <concepts>
#include <type_traits>

#include "document.hpp"
#include "sep/codec.hpp"
#include "sep/types.hpp"

namespace sep::detail {

// S is T or const T: one description serves the encoder (const) and the reader.
template <typename S, typename T>
concept Is = std::same_as<std::remove_const_t<S>, T>;

template <Decodable T>
inline constexpr ExpectedRoot kRootOf{};
template <>
inline constexpr ExpectedRoot kRootOf<DeviceCapability>{kSepNamespace, "DeviceCapability"};
template <>
inline constexpr ExpectedRoot kRootOf<Time>{kSepNamespace, "Time"};
template <>
inline constexpr ExpectedRoot kRootOf<EndDevice>{kSepNamespace, "EndDevice"};
template <>
inline constexpr ExpectedRoot kRootOf<EndDeviceList>{kSepNamespace, "EndDeviceList"};
template <>
inline constexpr ExpectedRoot kRootOf<Registration>{kSepNamespace, "Registration"};
template <>
inline constexpr ExpectedRoot kRootOf<FunctionSetAssignmentsList>{kSepNamespace, "FunctionSetAssignmentsList"};
template <>
inline constexpr ExpectedRoot kRootOf<FunctionSetAssignments>{kSepNamespace, "FunctionSetAssignments"};
template <>
inline constexpr ExpectedRoot kRootOf<DeviceInformation>{kSepNamespace, "DeviceInformation"};
template <>
inline constexpr ExpectedRoot kRootOf<Response>{kSepNamespace, "Response"};
template <>
inline constexpr ExpectedRoot kRootOf<Error>{kSepNamespace, "Error"};
template <>
inline constexpr ExpectedRoot kRootOf<PowerStatus>{kSepNamespace, "PowerStatus"};
template <>
inline constexpr ExpectedRoot kRootOf<PEVBinding>{kExtNamespace, "PEVBinding"};
template <>
inline constexpr ExpectedRoot kRootOf<ReadingType>{kSepNamespace, "ReadingType"};
template <>
inline constexpr ExpectedRoot kRootOf<TariffProfileList>{kSepNamespace, "TariffProfileList"};
template <>
inline constexpr ExpectedRoot kRootOf<TariffProfile>{kSepNamespace, "TariffProfile"};
template <>
inline constexpr ExpectedRoot kRootOf<RateComponentList>{kSepNamespace, "RateComponentList"};
template <>
inline constexpr ExpectedRoot kRootOf<RateComponent>{kSepNamespace, "RateComponent"};
template <>
inline constexpr ExpectedRoot kRootOf<TimeTariffIntervalList>{kSepNamespace, "TimeTariffIntervalList"};
template <>
inline constexpr ExpectedRoot kRootOf<TimeTariffInterval>{kSepNamespace, "TimeTariffInterval"};
template <>
inline constexpr ExpectedRoot kRootOf<ConsumptionTariffIntervalList>{kSepNamespace, "ConsumptionTariffIntervalList"};
template <>
inline constexpr ExpectedRoot kRootOf<ConsumptionTariffInterval>{kSepNamespace, "ConsumptionTariffInterval"};
template <>
inline constexpr ExpectedRoot kRootOf<MirrorUsagePointList>{kSepNamespace, "MirrorUsagePointList"};
template <>
inline constexpr ExpectedRoot kRootOf<MirrorUsagePoint>{kSepNamespace, "MirrorUsagePoint"};
template <>
inline constexpr ExpectedRoot kRootOf<MirrorMeterReadingList>{kSepNamespace, "MirrorMeterReadingList"};
template <>
inline constexpr ExpectedRoot kRootOf<MirrorMeterReading>{kSepNamespace, "MirrorMeterReading"};
template <>
inline constexpr ExpectedRoot kRootOf<MirrorReadingSet>{kSepNamespace, "MirrorReadingSet"};
template <>
inline constexpr ExpectedRoot kRootOf<Reading>{kSepNamespace, "Reading"};
template <>
inline constexpr ExpectedRoot kRootOf<UsagePointList>{kSepNamespace, "UsagePointList"};
template <>
inline constexpr ExpectedRoot kRootOf<UsagePoint>{kSepNamespace, "UsagePoint"};
template <>
inline constexpr ExpectedRoot kRootOf<MeterReadingList>{kSepNamespace, "MeterReadingList"};
template <>
inline constexpr ExpectedRoot kRootOf<MeterReading>{kSepNamespace, "MeterReading"};
template <>
inline constexpr ExpectedRoot kRootOf<ReadingSetList>{kSepNamespace, "ReadingSetList"};
template <>
inline constexpr ExpectedRoot kRootOf<ReadingSet>{kSepNamespace, "ReadingSet"};
template <>
inline constexpr ExpectedRoot kRootOf<ReadingList>{kSepNamespace, "ReadingList"};
template <>
inline constexpr ExpectedRoot kRootOf<CustomerAccountList>{kSepNamespace, "CustomerAccountList"};
template <>
inline constexpr ExpectedRoot kRootOf<CustomerAccount>{kSepNamespace, "CustomerAccount"};
template <>
inline constexpr ExpectedRoot kRootOf<CustomerAgreementList>{kSepNamespace, "CustomerAgreementList"};
template <>
inline constexpr ExpectedRoot kRootOf<CustomerAgreement>{kSepNamespace, "CustomerAgreement"};
template <>
inline constexpr ExpectedRoot kRootOf<BillingPeriodList>{kSepNamespace, "BillingPeriodList"};
template <>
inline constexpr ExpectedRoot kRootOf<BillingPeriod>{kSepNamespace, "BillingPeriod"};
template <>
inline constexpr ExpectedRoot kRootOf<HistoricalReadingList>{kSepNamespace, "HistoricalReadingList"};
template <>
inline constexpr ExpectedRoot kRootOf<HistoricalReading>{kSepNamespace, "HistoricalReading"};

// ---- building blocks

// IdentifiedObject's elements, which every resource with an mRID starts with.
template <typename V, typename S>
void describe_identity(V& v, S& x) {
    v.hex("mRID", x.mrid);
    v.element("description", x.description);
    v.element("version", x.version);
}

// The attributes of a List: subscribable where the list is, then all and results.
template <typename V, typename S>
void describe_list_counts(V& v, S& x) {
    v.attribute("all", x.all);
    v.attribute("results", x.results);
}

template <typename V, Is<ActivePower> S>
void describe(V& v, S& x) {
    v.element("multiplier", x.multiplier);
    v.element("value", x.value);
}

template <typename V, Is<RealEnergy> S>
void describe(V& v, S& x) {
    v.element("multiplier", x.multiplier);
    v.element("value", x.value);
}

template <typename V, Is<DRLCCapabilities> S>
void describe(V& v, S& x) {
    v.element("averageEnergy", x.average_energy);
    v.element("maxDemand", x.max_demand);
    v.bits("optionsImplemented", x.options_implemented, 8);
}

template <typename V, Is<GPSLocation> S>
void describe(V& v, S& x) {
    v.element("lat", x.lat);
    v.element("lon", x.lon);
}

template <typename V, Is<PEVInfo> S>
void describe(V& v, S& x) {
    v.element("chargingPowerNow", x.charging_power_now);
    v.element("energyRequestNow", x.energy_request_now);
    v.element("maxForwardPower", x.max_forward_power);
    v.element("minimumChargingDuration", x.minimum_charging_duration);
    v.element("targetStateOfCharge", x.target_state_of_charge);
    v.element("timeChargeIsNeeded", x.time_charge_is_needed);
    v.element("timeChargingStatusPEV", x.time_charging_status_pev);
}

template <typename V, Is<DateTimeInterval> S>
void describe(V& v, S& x) {
    v.element("duration", x.duration);
    v.element("start", x.start);
}

template <typename V, Is<EventStatus> S>
void describe(V& v, S& x) {
    v.element("currentStatus", x.current_status);
    v.element("dateTime", x.date_time);
    v.element("potentiallySuperseded", x.potentially_superseded);
    v.element("potentiallySupersededTime", x.potentially_superseded_time);
    v.element("reason", x.reason);
}

// ---- resources

// FunctionSetAssignmentsBase's links, which DeviceCapability and FunctionSetAssignments start with.
template <typename V, typename S>
void describe_function_set_assignments_base(V& v, S& x) {
    v.element("CustomerAccountListLink", x.customer_account_list_link);
    v.element("DemandResponseProgramListLink", x.demand_response_program_list_link);
    v.element("DERProgramListLink", x.der_program_list_link);
    v.element("FileListLink", x.file_list_link);
    v.element("MessagingProgramListLink", x.messaging_program_list_link);
    v.element("PrepaymentListLink", x.prepayment_list_link);
    v.element("ResponseSetListLink", x.response_set_list_link);
    v.element("TariffProfileListLink", x.tariff_profile_list_link);
    v.element("TimeLink", x.time_link);
    v.element("UsagePointListLink", x.usage_point_list_link);
}

template <typename V, Is<DeviceCapability> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("pollRate", x.poll_rate);
    describe_function_set_assignments_base(v, x);
    v.element("EndDeviceListLink", x.end_device_list_link);
    v.element("MirrorUsagePointListLink", x.mirror_usage_point_list_link);
    v.element("SelfDeviceLink", x.self_device_link);
}

template <typename V, Is<Time> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("pollRate", x.poll_rate);
    v.element("currentTime", x.current_time);
    v.element("dstEndTime", x.dst_end_time);
    v.element("dstOffset", x.dst_offset);
    v.element("dstStartTime", x.dst_start_time);
    v.element("localTime", x.local_time);
    v.element("quality", x.quality);
    v.element("tzOffset", x.tz_offset);
}

template <typename V, Is<EndDevice> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    v.element("ConfigurationLink", x.configuration_link);
    v.element("DERListLink", x.der_list_link);
    v.bits("deviceCategory", x.device_category, 8);
    v.element("DeviceInformationLink", x.device_information_link);
    v.element("DeviceStatusLink", x.device_status_link);
    v.element("FileStatusLink", x.file_status_link);
    v.element("IPInterfaceListLink", x.ip_interface_list_link);
    v.hex("lFDI", x.lfdi);
    v.element("LoadShedAvailabilityListLink", x.load_shed_availability_list_link);
    v.element("LogEventListLink", x.log_event_list_link);
    v.element("PowerStatusLink", x.power_status_link);
    v.element("sFDI", x.sfdi);
    v.element("changedTime", x.changed_time);
    v.element("enabled", x.enabled);
    v.element("FlowReservationRequestListLink", x.flow_reservation_request_list_link);
    v.element("FlowReservationResponseListLink", x.flow_reservation_response_list_link);
    v.element("FunctionSetAssignmentsListLink", x.function_set_assignments_list_link);
    v.element("postRate", x.post_rate);
    v.element("RegistrationLink", x.registration_link);
    v.element("SubscriptionListLink", x.subscription_list_link);
}

template <typename V, Is<EndDeviceList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("EndDevice", x.end_devices);
}

template <typename V, Is<Registration> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("pollRate", x.poll_rate);
    v.element("dateTimeRegistered", x.date_time_registered);
    v.element("pIN", x.pin);
}

template <typename V, Is<FunctionSetAssignmentsList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("FunctionSetAssignments", x.function_set_assignments);
}

template <typename V, Is<FunctionSetAssignments> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_function_set_assignments_base(v, x);
    describe_identity(v, x);
}

template <typename V, Is<DeviceInformation> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("pollRate", x.poll_rate);
    v.element("DRLCCapabilities", x.drlc_capabilities);
    v.bits("functionsImplemented", x.functions_implemented, 16);
    v.element("gpsLocation", x.gps_location);
    v.hex("lFDI", x.lfdi);
    v.element("mfDate", x.mf_date);
    v.element("mfHwVer", x.mf_hw_ver);
    v.element("mfID", x.mf_id);
    v.element("mfInfo", x.mf_info);
    v.element("mfModel", x.mf_model);
    v.element("mfSerNum", x.mf_ser_num);
    v.element("primaryPower", x.primary_power);
    v.element("secondaryPower", x.secondary_power);
    v.element("SupportedLocaleListLink", x.supported_locale_list_link);
    v.element("swActTime", x.sw_act_time);
    v.element("swVer", x.sw_ver);
}

template <typename V, Is<Response> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.element("createdDateTime", x.created_date_time);
    v.hex("endDeviceLFDI", x.end_device_lfdi);
    v.element("status", x.status);
    v.hex("subject", x.subject);
}

template <typename V, Is<Error> S>
void describe(V& v, S& x) {
    v.element("maxRetryDuration", x.max_retry_duration);
    v.element("reasonCode", x.reason_code);
}

template <typename V, Is<PowerStatus> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("pollRate", x.poll_rate);
    v.element("batteryStatus", x.battery_status);
    v.element("changedTime", x.changed_time);
    v.element("currentPowerSource", x.current_power_source);
    v.element("estimatedChargeRemaining", x.estimated_charge_remaining);
    v.element("estimatedTimeRemaining", x.estimated_time_remaining);
    v.element("PEVInfo", x.pev_info);
    v.element("sessionTimeOnBattery", x.session_time_on_battery);
    v.element("totalTimeOnBattery", x.total_time_on_battery);
}

template <typename V, Is<PEVBinding> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.element("status", x.status);
    v.element("premisesID", x.premises_id);
    v.element("programID", x.program_id);
    v.element("sep:TariffProfileLink", x.tariff_profile_link);
    v.element("intervalLength", x.interval_length);
    v.hex("pevLFDI", x.pev_lfdi);
    v.element("rebindPSKIdentity", x.rebind_psk_identity);
    v.bytes("rebindPSKKey", x.rebind_psk_key);
    v.element("expiry", x.expiry);
    v.element("reason", x.reason);
    v.hex("mRID", x.mrid);
}

template <typename V, Is<ReadingType> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.element("accumulationBehaviour", x.accumulation_behaviour);
    v.skip("calorificValue");
    v.element("commodity", x.commodity);
    v.skip("conversionFactor");
    v.element("dataQualifier", x.data_qualifier);
    v.element("flowDirection", x.flow_direction);
    v.element("intervalLength", x.interval_length);
    v.element("kind", x.kind);
    v.element("maxNumberOfIntervals", x.max_number_of_intervals);
    v.element("numberOfConsumptionBlocks", x.number_of_consumption_blocks);
    v.element("numberOfTouTiers", x.number_of_tou_tiers);
    v.element("phase", x.phase);
    v.element("powerOfTenMultiplier", x.power_of_ten_multiplier);
    v.element("subIntervalLength", x.sub_interval_length);
    v.element("supplyLimit", x.supply_limit);
    v.element("tieredConsumptionBlocks", x.tiered_consumption_blocks);
    v.element("uom", x.uom);
}

template <typename V, Is<TariffProfile> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("currency", x.currency);
    v.element("pricePowerOfTenMultiplier", x.price_power_of_ten_multiplier);
    v.element("primacy", x.primacy);
    v.element("rateCode", x.rate_code);
    v.element("RateComponentListLink", x.rate_component_list_link);
    v.element("serviceCategoryKind", x.service_category_kind);
}

template <typename V, Is<TariffProfileList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("TariffProfile", x.tariff_profiles);
}

template <typename V, Is<RateComponent> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("ActiveTimeTariffIntervalListLink", x.active_time_tariff_interval_list_link);
    v.skip("flowRateEndLimit");
    v.skip("flowRateStartLimit");
    v.element("ReadingTypeLink", x.reading_type_link);
    v.bits("roleFlags", x.role_flags, 4);
    v.element("TimeTariffIntervalListLink", x.time_tariff_interval_list_link);
}

template <typename V, Is<RateComponentList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_list_counts(v, x);
    v.element("RateComponent", x.rate_components);
}

template <typename V, Is<TimeTariffInterval> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.uri("replyTo", x.reply_to);
    v.bits_attribute("responseRequired", x.response_required);
    v.attribute("subscribable", x.subscribable);
    describe_identity(v, x);
    v.element("creationTime", x.creation_time);
    v.element("EventStatus", x.event_status);
    v.element("interval", x.interval);
    v.element("randomizeDuration", x.randomize_duration);
    v.element("randomizeStart", x.randomize_start);
    v.element("ConsumptionTariffIntervalListLink", x.consumption_tariff_interval_list_link);
    v.element("touTier", x.tou_tier);
}

template <typename V, Is<TimeTariffIntervalList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("TimeTariffInterval", x.time_tariff_intervals);
}

template <typename V, Is<ConsumptionTariffInterval> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.element("consumptionBlock", x.consumption_block);
    v.skip("EnvironmentalCost");
    v.element("price", x.price);
    v.element("startValue", x.start_value);
}

template <typename V, Is<ConsumptionTariffIntervalList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_list_counts(v, x);
    v.element("ConsumptionTariffInterval", x.consumption_tariff_intervals);
}

// ---- metering mirror and metering

template <typename V, Is<Reading> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    v.element("consumptionBlock", x.consumption_block);
    v.bits("qualityFlags", x.quality_flags, 4);
    v.element("timePeriod", x.time_period);
    v.element("touTier", x.tou_tier);
    v.element("value", x.value);
    v.bits("localID", x.local_id, 4);
}

template <typename V, Is<MirrorReadingSet> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("timePeriod", x.time_period);
    v.element("Reading", x.readings);
}

template <typename V, Is<MirrorMeterReading> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("lastUpdateTime", x.last_update_time);
    v.element("MirrorReadingSet", x.mirror_reading_sets);
    v.element("nextUpdateTime", x.next_update_time);
    v.element("Reading", x.reading);
    v.element("ReadingType", x.reading_type);
}

template <typename V, Is<MirrorMeterReadingList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_list_counts(v, x);
    v.element("MirrorMeterReading", x.mirror_meter_readings);
}

// UsagePointBase's elements after IdentifiedObject's.
template <typename V, typename S>
void describe_usage_point_base(V& v, S& x) {
    describe_identity(v, x);
    v.bits("roleFlags", x.role_flags, 4);
    v.element("serviceCategoryKind", x.service_category_kind);
    v.element("status", x.status);
}

template <typename V, Is<MirrorUsagePoint> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_usage_point_base(v, x);
    v.hex("deviceLFDI", x.device_lfdi);
    v.element("MirrorMeterReading", x.mirror_meter_readings);
    v.element("postRate", x.post_rate);
}

template <typename V, Is<MirrorUsagePointList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("MirrorUsagePoint", x.mirror_usage_points);
}

template <typename V, Is<ReadingList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("Reading", x.readings);
}

template <typename V, Is<ReadingSet> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("timePeriod", x.time_period);
    v.element("ReadingListLink", x.reading_list_link);
}

template <typename V, Is<ReadingSetList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("ReadingSet", x.reading_sets);
}

template <typename V, Is<MeterReading> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("RateComponentListLink", x.rate_component_list_link);
    v.element("ReadingLink", x.reading_link);
    v.element("ReadingSetListLink", x.reading_set_list_link);
    v.element("ReadingTypeLink", x.reading_type_link);
}

template <typename V, Is<MeterReadingList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("MeterReading", x.meter_readings);
}

template <typename V, Is<UsagePoint> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_usage_point_base(v, x);
    v.hex("deviceLFDI", x.device_lfdi);
    v.element("MeterReadingListLink", x.meter_reading_list_link);
}

template <typename V, Is<UsagePointList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("UsagePoint", x.usage_points);
}

// A type with a description (a nested element or a resource), as opposed to a scalar, link or enumeration.
struct ProbeVisitor {};
template <typename T>
concept Described = requires(ProbeVisitor& v, T& x) {
    describe(v, x);
};

// ---- billing

template <typename V, Is<CustomerAccount> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("currency", x.currency);
    v.element("customerAccount", x.customer_account);
    v.element("CustomerAgreementListLink", x.customer_agreement_list_link);
    v.element("customerName", x.customer_name);
    v.element("pricePowerOfTenMultiplier", x.price_power_of_ten_multiplier);
    v.skip("ServiceSupplierLink");
}

template <typename V, Is<CustomerAccountList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.attribute("pollRate", x.poll_rate);
    v.element("CustomerAccount", x.customer_accounts);
}

template <typename V, Is<CustomerAgreement> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.element("ActiveBillingPeriodListLink", x.active_billing_period_list_link);
    v.skip("ActiveProjectionReadingListLink");
    v.skip("ActiveTargetReadingListLink");
    v.element("BillingPeriodListLink", x.billing_period_list_link);
    v.element("HistoricalReadingListLink", x.historical_reading_list_link);
    v.skip("PrepaymentLink");
    v.skip("ProjectionReadingListLink");
    v.element("serviceAccount", x.service_account);
    v.element("serviceLocation", x.service_location);
    v.skip("TargetReadingListLink");
    v.element("TariffProfileLink", x.tariff_profile_link);
    v.element("UsagePointLink", x.usage_point_link);
}

template <typename V, Is<CustomerAgreementList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("CustomerAgreement", x.customer_agreements);
}

template <typename V, Is<BillingPeriod> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.element("billLastPeriod", x.bill_last_period);
    v.element("billToDate", x.bill_to_date);
    v.element("interval", x.interval);
    v.element("statusTimeStamp", x.status_time_stamp);
}

template <typename V, Is<BillingPeriodList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    v.attribute("subscribable", x.subscribable);
    describe_list_counts(v, x);
    v.element("BillingPeriod", x.billing_periods);
}

template <typename V, Is<HistoricalReading> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_identity(v, x);
    v.skip("BillingReadingSetListLink");
    v.element("ReadingTypeLink", x.reading_type_link);
}

template <typename V, Is<HistoricalReadingList> S>
void describe(V& v, S& x) {
    v.uri("href", x.href);
    describe_list_counts(v, x);
    v.element("HistoricalReading", x.historical_readings);
}

}  // namespace sep::detail
