#include "sep/encode.hpp"

#include "xml_writer.hpp"

namespace sep {
namespace {

using detail::XmlWriter;

// Roughly the size of a typical document, so the hot paths append without reallocating.
constexpr std::size_t kSmallDocument = 384;
constexpr std::size_t kLargeDocument = 1024;

void root_start(XmlWriter& w, std::string_view name, const std::optional<std::string>& href) {
    w.start_tag(name);
    w.attribute("xmlns", kSepNamespace);
    w.attribute("href", href);
}

void write_active_power(XmlWriter& w, std::string_view name, const ActivePower& value) {
    w.start_tag(name);
    w.end_start_tag();
    w.element("multiplier", value.multiplier);
    w.element("value", value.value);
    w.end_tag(name);
}

void write_real_energy(XmlWriter& w, std::string_view name, const RealEnergy& value) {
    w.start_tag(name);
    w.end_start_tag();
    w.element("multiplier", value.multiplier);
    w.element("value", value.value);
    w.end_tag(name);
}

void write_end_device(XmlWriter& w, const EndDevice& v, bool root) {
    w.start_tag("EndDevice");
    if (root)
        w.attribute("xmlns", kSepNamespace);
    w.attribute("href", v.href);
    w.attribute("subscribable", v.subscribable);
    w.end_start_tag();
    w.link("ConfigurationLink", v.configuration_link);
    w.link("DERListLink", v.der_list_link);
    if (v.device_category)
        w.bitmap_element("deviceCategory", *v.device_category, 8);
    w.link("DeviceInformationLink", v.device_information_link);
    w.link("DeviceStatusLink", v.device_status_link);
    w.link("FileStatusLink", v.file_status_link);
    w.link("IPInterfaceListLink", v.ip_interface_list_link);
    w.hex_element("lFDI", v.lfdi);
    w.link("LoadShedAvailabilityListLink", v.load_shed_availability_list_link);
    w.link("LogEventListLink", v.log_event_list_link);
    w.link("PowerStatusLink", v.power_status_link);
    w.element("sFDI", v.sfdi);
    w.element("changedTime", v.changed_time);
    w.element("enabled", v.enabled);
    w.link("FlowReservationRequestListLink", v.flow_reservation_request_list_link);
    w.link("FlowReservationResponseListLink", v.flow_reservation_response_list_link);
    w.link("FunctionSetAssignmentsListLink", v.function_set_assignments_list_link);
    w.element("postRate", v.post_rate);
    w.link("RegistrationLink", v.registration_link);
    w.link("SubscriptionListLink", v.subscription_list_link);
    w.end_tag("EndDevice");
}

// IdentifiedObject's elements, which every resource with an mRID starts with.
template <typename T>
void write_identity(XmlWriter& w, const T& v) {
    w.hex_element("mRID", v.mrid);
    w.element("description", v.description);
    w.element("version", v.version);
}

// A HexBinary8 attribute (responseRequired): two hex digits, as bitmap_element writes them.
void bitmap_attribute(XmlWriter& w, std::string_view name, const std::optional<std::uint8_t>& bits) {
    if (!bits)
        return;
    static constexpr char kDigits[] = "0123456789ABCDEF";
    const char text[] = {kDigits[*bits >> 4], kDigits[*bits & 0xFu]};
    w.attribute(name, std::string_view(text, sizeof text));
}

void write_date_time_interval(XmlWriter& w, std::string_view name, const DateTimeInterval& value) {
    w.start_tag(name);
    w.end_start_tag();
    w.element("duration", value.duration);
    w.element("start", value.start);
    w.end_tag(name);
}

void write_event_status(XmlWriter& w, const EventStatus& value) {
    w.start_tag("EventStatus");
    w.end_start_tag();
    w.element("currentStatus", value.current_status);
    w.element("dateTime", value.date_time);
    w.element("potentiallySuperseded", value.potentially_superseded);
    w.element("potentiallySupersededTime", value.potentially_superseded_time);
    w.element("reason", value.reason);
    w.end_tag("EventStatus");
}

void write_tariff_profile(XmlWriter& w, const TariffProfile& v, bool root) {
    w.start_tag("TariffProfile");
    if (root)
        w.attribute("xmlns", kSepNamespace);
    w.attribute("href", v.href);
    w.end_start_tag();
    write_identity(w, v);
    w.element("currency", v.currency);
    w.element("pricePowerOfTenMultiplier", v.price_power_of_ten_multiplier);
    w.element("primacy", v.primacy);
    w.element("rateCode", v.rate_code);
    w.link("RateComponentListLink", v.rate_component_list_link);
    w.element("serviceCategoryKind", v.service_category_kind);
    w.end_tag("TariffProfile");
}

void write_rate_component(XmlWriter& w, const RateComponent& v, bool root) {
    w.start_tag("RateComponent");
    if (root)
        w.attribute("xmlns", kSepNamespace);
    w.attribute("href", v.href);
    w.end_start_tag();
    write_identity(w, v);
    w.link("ActiveTimeTariffIntervalListLink", v.active_time_tariff_interval_list_link);
    w.link("ReadingTypeLink", v.reading_type_link);
    w.bitmap_element("roleFlags", v.role_flags, 4);
    w.link("TimeTariffIntervalListLink", v.time_tariff_interval_list_link);
    w.end_tag("RateComponent");
}

void write_time_tariff_interval(XmlWriter& w, const TimeTariffInterval& v, bool root) {
    w.start_tag("TimeTariffInterval");
    if (root)
        w.attribute("xmlns", kSepNamespace);
    w.attribute("href", v.href);
    w.attribute("replyTo", v.reply_to);
    bitmap_attribute(w, "responseRequired", v.response_required);
    w.attribute("subscribable", v.subscribable);
    w.end_start_tag();
    write_identity(w, v);
    w.element("creationTime", v.creation_time);
    write_event_status(w, v.event_status);
    write_date_time_interval(w, "interval", v.interval);
    w.element("randomizeDuration", v.randomize_duration);
    w.element("randomizeStart", v.randomize_start);
    w.link("ConsumptionTariffIntervalListLink", v.consumption_tariff_interval_list_link);
    w.element("touTier", v.tou_tier);
    w.end_tag("TimeTariffInterval");
}

void write_consumption_tariff_interval(XmlWriter& w, const ConsumptionTariffInterval& v, bool root) {
    w.start_tag("ConsumptionTariffInterval");
    if (root)
        w.attribute("xmlns", kSepNamespace);
    w.attribute("href", v.href);
    w.end_start_tag();
    w.element("consumptionBlock", v.consumption_block);
    w.element("price", v.price);
    w.element("startValue", v.start_value);
    w.end_tag("ConsumptionTariffInterval");
}

}  // namespace

std::string encode(const DeviceCapability& v) {
    XmlWriter w(kLargeDocument);
    root_start(w, "DeviceCapability", v.href);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    w.link("CustomerAccountListLink", v.customer_account_list_link);
    w.link("DemandResponseProgramListLink", v.demand_response_program_list_link);
    w.link("DERProgramListLink", v.der_program_list_link);
    w.link("FileListLink", v.file_list_link);
    w.link("MessagingProgramListLink", v.messaging_program_list_link);
    w.link("PrepaymentListLink", v.prepayment_list_link);
    w.link("ResponseSetListLink", v.response_set_list_link);
    w.link("TariffProfileListLink", v.tariff_profile_list_link);
    w.link("TimeLink", v.time_link);
    w.link("UsagePointListLink", v.usage_point_list_link);
    w.link("EndDeviceListLink", v.end_device_list_link);
    w.link("MirrorUsagePointListLink", v.mirror_usage_point_list_link);
    w.link("SelfDeviceLink", v.self_device_link);
    w.end_tag("DeviceCapability");
    return w.take();
}

std::string encode(const Time& v) {
    XmlWriter w(kSmallDocument);
    root_start(w, "Time", v.href);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    w.element("currentTime", v.current_time);
    w.element("dstEndTime", v.dst_end_time);
    w.element("dstOffset", v.dst_offset);
    w.element("dstStartTime", v.dst_start_time);
    w.element("localTime", v.local_time);
    w.element("quality", v.quality);
    w.element("tzOffset", v.tz_offset);
    w.end_tag("Time");
    return w.take();
}

std::string encode(const EndDevice& v) {
    XmlWriter w(kLargeDocument);
    write_end_device(w, v, true);
    return w.take();
}

std::string encode(const EndDeviceList& v) {
    XmlWriter w(kLargeDocument * (1 + v.end_devices.size()));
    root_start(w, "EndDeviceList", v.href);
    w.attribute("subscribable", v.subscribable);
    w.attribute("all", v.all);
    w.attribute("results", v.results);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    for (const auto& device : v.end_devices)
        write_end_device(w, device, false);
    w.end_tag("EndDeviceList");
    return w.take();
}

std::string encode(const Registration& v) {
    XmlWriter w(kSmallDocument);
    root_start(w, "Registration", v.href);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    w.element("dateTimeRegistered", v.date_time_registered);
    w.element("pIN", v.pin);
    w.end_tag("Registration");
    return w.take();
}

std::string encode(const DeviceInformation& v) {
    XmlWriter w(kLargeDocument);
    root_start(w, "DeviceInformation", v.href);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    if (v.drlc_capabilities) {
        w.start_tag("DRLCCapabilities");
        w.end_start_tag();
        write_real_energy(w, "averageEnergy", v.drlc_capabilities->average_energy);
        write_active_power(w, "maxDemand", v.drlc_capabilities->max_demand);
        w.bitmap_element("optionsImplemented", v.drlc_capabilities->options_implemented, 8);
        w.end_tag("DRLCCapabilities");
    }
    if (v.functions_implemented)
        w.bitmap_element("functionsImplemented", *v.functions_implemented, 16);
    if (v.gps_location) {
        w.start_tag("gpsLocation");
        w.end_start_tag();
        w.element("lat", v.gps_location->lat);
        w.element("lon", v.gps_location->lon);
        w.end_tag("gpsLocation");
    }
    w.hex_element("lFDI", v.lfdi);
    w.element("mfDate", v.mf_date);
    w.element("mfHwVer", v.mf_hw_ver);
    w.element("mfID", v.mf_id);
    w.element("mfInfo", v.mf_info);
    w.element("mfModel", v.mf_model);
    w.element("mfSerNum", v.mf_ser_num);
    w.element("primaryPower", v.primary_power);
    w.element("secondaryPower", v.secondary_power);
    w.link("SupportedLocaleListLink", v.supported_locale_list_link);
    w.element("swActTime", v.sw_act_time);
    w.element("swVer", v.sw_ver);
    w.end_tag("DeviceInformation");
    return w.take();
}

std::string encode(const Response& v) {
    XmlWriter w(kSmallDocument);
    root_start(w, "Response", v.href);
    w.end_start_tag();
    w.element("createdDateTime", v.created_date_time);
    w.hex_element("endDeviceLFDI", v.end_device_lfdi);
    w.element("status", v.status);
    w.hex_element("subject", v.subject);
    w.end_tag("Response");
    return w.take();
}

std::string encode(const Error& v) {
    XmlWriter w(kSmallDocument);
    w.start_tag("Error");
    w.attribute("xmlns", kSepNamespace);
    w.end_start_tag();
    w.element("maxRetryDuration", v.max_retry_duration);
    w.element("reasonCode", v.reason_code);
    w.end_tag("Error");
    return w.take();
}

std::string encode(const PowerStatus& v) {
    XmlWriter w(kLargeDocument);
    root_start(w, "PowerStatus", v.href);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    w.element("batteryStatus", v.battery_status);
    w.element("changedTime", v.changed_time);
    w.element("currentPowerSource", v.current_power_source);
    w.element("estimatedChargeRemaining", v.estimated_charge_remaining);
    w.element("estimatedTimeRemaining", v.estimated_time_remaining);
    if (v.pev_info) {
        const PEVInfo& pev = *v.pev_info;
        w.start_tag("PEVInfo");
        w.end_start_tag();
        write_active_power(w, "chargingPowerNow", pev.charging_power_now);
        write_real_energy(w, "energyRequestNow", pev.energy_request_now);
        write_active_power(w, "maxForwardPower", pev.max_forward_power);
        w.element("minimumChargingDuration", pev.minimum_charging_duration);
        w.element("targetStateOfCharge", pev.target_state_of_charge);
        w.element("timeChargeIsNeeded", pev.time_charge_is_needed);
        w.element("timeChargingStatusPEV", pev.time_charging_status_pev);
        w.end_tag("PEVInfo");
    }
    w.element("sessionTimeOnBattery", v.session_time_on_battery);
    w.element("totalTimeOnBattery", v.total_time_on_battery);
    w.end_tag("PowerStatus");
    return w.take();
}

std::string encode(const PEVBinding& v) {
    XmlWriter w(kLargeDocument);
    w.start_tag("PEVBinding");
    w.attribute("xmlns", kExtNamespace);
    w.attribute("xmlns:sep", kSepNamespace);
    w.attribute("href", v.href);
    w.end_start_tag();
    w.element("status", to_string(v.status));
    w.element("premisesID", v.premises_id);
    w.element("programID", v.program_id);
    w.link("sep:TariffProfileLink", v.tariff_profile_link);
    w.element("intervalLength", v.interval_length);
    w.hex_element("pevLFDI", v.pev_lfdi);
    w.element("rebindPSKIdentity", v.rebind_psk_identity);
    if (v.rebind_psk_key)
        w.bytes_element("rebindPSKKey", *v.rebind_psk_key);
    w.element("expiry", v.expiry);
    w.element("reason", v.reason);
    w.hex_element("mRID", v.mrid);
    w.end_tag("PEVBinding");
    return w.take();
}

std::string encode(const ReadingType& v) {
    XmlWriter w(kLargeDocument);
    root_start(w, "ReadingType", v.href);
    w.end_start_tag();
    w.element("accumulationBehaviour", v.accumulation_behaviour);
    w.element("commodity", v.commodity);
    w.element("dataQualifier", v.data_qualifier);
    w.element("flowDirection", v.flow_direction);
    w.element("intervalLength", v.interval_length);
    w.element("kind", v.kind);
    w.element("maxNumberOfIntervals", v.max_number_of_intervals);
    w.element("numberOfConsumptionBlocks", v.number_of_consumption_blocks);
    w.element("numberOfTouTiers", v.number_of_tou_tiers);
    w.element("phase", v.phase);
    w.element("powerOfTenMultiplier", v.power_of_ten_multiplier);
    w.element("subIntervalLength", v.sub_interval_length);
    w.element("supplyLimit", v.supply_limit);
    w.element("tieredConsumptionBlocks", v.tiered_consumption_blocks);
    w.element("uom", v.uom);
    w.end_tag("ReadingType");
    return w.take();
}

std::string encode(const TariffProfileList& v) {
    XmlWriter w(kLargeDocument * (1 + v.tariff_profiles.size()));
    root_start(w, "TariffProfileList", v.href);
    w.attribute("subscribable", v.subscribable);
    w.attribute("all", v.all);
    w.attribute("results", v.results);
    w.attribute("pollRate", v.poll_rate);
    w.end_start_tag();
    for (const auto& profile : v.tariff_profiles)
        write_tariff_profile(w, profile, false);
    w.end_tag("TariffProfileList");
    return w.take();
}

std::string encode(const TariffProfile& v) {
    XmlWriter w(kLargeDocument);
    write_tariff_profile(w, v, true);
    return w.take();
}

std::string encode(const RateComponentList& v) {
    XmlWriter w(kLargeDocument * (1 + v.rate_components.size()));
    root_start(w, "RateComponentList", v.href);
    w.attribute("all", v.all);
    w.attribute("results", v.results);
    w.end_start_tag();
    for (const auto& component : v.rate_components)
        write_rate_component(w, component, false);
    w.end_tag("RateComponentList");
    return w.take();
}

std::string encode(const RateComponent& v) {
    XmlWriter w(kLargeDocument);
    write_rate_component(w, v, true);
    return w.take();
}

std::string encode(const TimeTariffIntervalList& v) {
    XmlWriter w(kLargeDocument * (1 + v.time_tariff_intervals.size()));
    root_start(w, "TimeTariffIntervalList", v.href);
    w.attribute("subscribable", v.subscribable);
    w.attribute("all", v.all);
    w.attribute("results", v.results);
    w.end_start_tag();
    for (const auto& interval : v.time_tariff_intervals)
        write_time_tariff_interval(w, interval, false);
    w.end_tag("TimeTariffIntervalList");
    return w.take();
}

std::string encode(const TimeTariffInterval& v) {
    XmlWriter w(kLargeDocument);
    write_time_tariff_interval(w, v, true);
    return w.take();
}

std::string encode(const ConsumptionTariffIntervalList& v) {
    XmlWriter w(kSmallDocument * (1 + v.consumption_tariff_intervals.size()));
    root_start(w, "ConsumptionTariffIntervalList", v.href);
    w.attribute("all", v.all);
    w.attribute("results", v.results);
    w.end_start_tag();
    for (const auto& interval : v.consumption_tariff_intervals)
        write_consumption_tariff_interval(w, interval, false);
    w.end_tag("ConsumptionTariffIntervalList");
    return w.take();
}

std::string encode(const ConsumptionTariffInterval& v) {
    XmlWriter w(kSmallDocument);
    write_consumption_tariff_interval(w, v, true);
    return w.take();
}

}  // namespace sep
