// Plain C++ views of the IEEE 2030.5 (SEP 2.0) resources the head-end exchanges, plus our PEVBinding extension.
// Members follow the 2030.5 element order. Absent optional elements are std::nullopt; times are UTC seconds.
// Values must lie in the 2030.5 ranges noted below; the encoder writes what it is given.
//
// Part of the plugin API: plain data only. Plugins encode and decode them through headend::plugin::SepCodec.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sep {

inline constexpr std::string_view kSepNamespace = "urn:ieee:std:2030.5:ns";
inline constexpr std::string_view kExtNamespace = "urn:pev-headend:ext:1";

struct Link {
    std::string href;
    bool operator==(const Link&) const = default;
};

struct ListLink {
    std::string href;
    std::optional<std::uint32_t> all;
    bool operator==(const ListLink&) const = default;
};

struct ActivePower {
    std::int8_t multiplier = 0;  // power of ten
    std::int16_t value = 0;      // W
    bool operator==(const ActivePower&) const = default;
};

struct RealEnergy {
    std::int8_t multiplier = 0;  // power of ten
    std::uint64_t value = 0;     // Wh, at most 2^48 - 1
    bool operator==(const RealEnergy&) const = default;
};

struct DeviceCapability {
    std::optional<std::string> href;
    std::optional<std::uint32_t> poll_rate;
    std::optional<ListLink> customer_account_list_link;
    std::optional<ListLink> demand_response_program_list_link;
    std::optional<ListLink> der_program_list_link;
    std::optional<ListLink> file_list_link;
    std::optional<ListLink> messaging_program_list_link;
    std::optional<ListLink> prepayment_list_link;
    std::optional<ListLink> response_set_list_link;
    std::optional<ListLink> tariff_profile_list_link;
    std::optional<Link> time_link;
    std::optional<ListLink> usage_point_list_link;
    std::optional<ListLink> end_device_list_link;
    std::optional<ListLink> mirror_usage_point_list_link;
    std::optional<Link> self_device_link;
    bool operator==(const DeviceCapability&) const = default;
};

struct Time {
    std::optional<std::string> href;
    std::optional<std::uint32_t> poll_rate;
    std::int64_t current_time = 0;
    std::int64_t dst_end_time = 0;
    std::int32_t dst_offset = 0;
    std::int64_t dst_start_time = 0;
    std::optional<std::int64_t> local_time;
    std::uint8_t quality = 0;  // 3 authoritative (NTP) ... 7 uncoordinated
    std::int32_t tz_offset = 0;
    bool operator==(const Time&) const = default;
};

struct EndDevice {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::optional<Link> configuration_link;
    std::optional<ListLink> der_list_link;
    std::optional<std::uint32_t> device_category;  // DeviceCategoryType bitmap, sent as 8 hex digits
    std::optional<Link> device_information_link;
    std::optional<Link> device_status_link;
    std::optional<Link> file_status_link;
    std::optional<ListLink> ip_interface_list_link;
    std::optional<std::string> lfdi;  // 40 hex digits; upper case on output and after decoding
    std::optional<ListLink> load_shed_availability_list_link;
    std::optional<ListLink> log_event_list_link;
    std::optional<Link> power_status_link;
    std::uint64_t sfdi = 0;  // at most 687194767359 (36 bits and a check digit)
    std::int64_t changed_time = 0;
    std::optional<bool> enabled;
    std::optional<ListLink> flow_reservation_request_list_link;
    std::optional<ListLink> flow_reservation_response_list_link;
    std::optional<ListLink> function_set_assignments_list_link;
    std::optional<std::uint32_t> post_rate;
    std::optional<Link> registration_link;
    std::optional<ListLink> subscription_list_link;
    bool operator==(const EndDevice&) const = default;
};

struct EndDeviceList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;  // should equal end_devices.size()
    std::optional<std::uint32_t> poll_rate;
    std::vector<EndDevice> end_devices;
    bool operator==(const EndDeviceList&) const = default;
};

struct Registration {
    std::optional<std::string> href;
    std::optional<std::uint32_t> poll_rate;
    std::int64_t date_time_registered = 0;
    std::uint32_t pin = 0;  // six digits including the check digit
    bool operator==(const Registration&) const = default;
};

// The links of FunctionSetAssignmentsBase are those DeviceCapability starts with, in the same order.
struct FunctionSetAssignments {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::optional<ListLink> customer_account_list_link;
    std::optional<ListLink> demand_response_program_list_link;
    std::optional<ListLink> der_program_list_link;
    std::optional<ListLink> file_list_link;
    std::optional<ListLink> messaging_program_list_link;
    std::optional<ListLink> prepayment_list_link;
    std::optional<ListLink> response_set_list_link;
    std::optional<ListLink> tariff_profile_list_link;
    std::optional<Link> time_link;
    std::optional<ListLink> usage_point_list_link;
    std::string mrid;  // 32 hex digits, upper case after decoding
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    bool operator==(const FunctionSetAssignments&) const = default;
};

struct FunctionSetAssignmentsList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::optional<std::uint32_t> poll_rate;
    std::vector<FunctionSetAssignments> function_set_assignments;
    bool operator==(const FunctionSetAssignmentsList&) const = default;
};

struct DRLCCapabilities {
    RealEnergy average_energy;
    ActivePower max_demand;
    std::uint32_t options_implemented = 0;  // bitmap, sent as 8 hex digits
    bool operator==(const DRLCCapabilities&) const = default;
};

struct GPSLocation {
    std::string lat;  // decimal degrees, up to 32 characters
    std::string lon;
    bool operator==(const GPSLocation&) const = default;
};

// String members are 2030.5 String32: at most 32 characters.
struct DeviceInformation {
    std::optional<std::string> href;
    std::optional<std::uint32_t> poll_rate;
    std::optional<DRLCCapabilities> drlc_capabilities;
    std::optional<std::uint64_t> functions_implemented;  // bitmap, sent as 16 hex digits
    std::optional<GPSLocation> gps_location;
    std::string lfdi;
    std::int64_t mf_date = 0;
    std::string mf_hw_ver;
    std::uint32_t mf_id = 0;  // IANA PEN
    std::optional<std::string> mf_info;
    std::string mf_model;
    std::string mf_ser_num;
    std::uint8_t primary_power = 0;  // PowerSourceType: 0 none, 1 mains, 2 battery, 3 local generation, 4 emergency
    std::uint8_t secondary_power = 0;
    std::optional<ListLink> supported_locale_list_link;
    std::int64_t sw_act_time = 0;
    std::string sw_ver;
    bool operator==(const DeviceInformation&) const = default;
};

struct Response {
    std::optional<std::string> href;
    std::optional<std::int64_t> created_date_time;
    std::string end_device_lfdi;
    std::optional<std::uint8_t> status;
    std::string subject;  // mRID of the resource responded to, up to 32 hex digits
    bool operator==(const Response&) const = default;
};

// The 2030.5 Error body (not to be confused with headend::Error).
struct Error {
    std::optional<std::uint16_t> max_retry_duration;
    std::uint16_t reason_code = 0;
    bool operator==(const Error&) const = default;
};

struct PEVInfo {
    ActivePower charging_power_now;
    RealEnergy energy_request_now;
    ActivePower max_forward_power;
    std::uint32_t minimum_charging_duration = 0;
    std::uint16_t target_state_of_charge = 0;  // hundredths of a percent, at most 10000
    std::int64_t time_charge_is_needed = 0;
    std::int64_t time_charging_status_pev = 0;
    bool operator==(const PEVInfo&) const = default;
};

struct PowerStatus {
    std::optional<std::string> href;
    std::optional<std::uint32_t> poll_rate;
    std::uint8_t battery_status = 0;
    std::int64_t changed_time = 0;
    std::uint8_t current_power_source = 0;                    // PowerSourceType
    std::optional<std::uint16_t> estimated_charge_remaining;  // hundredths of a percent
    std::optional<std::uint32_t> estimated_time_remaining;
    std::optional<PEVInfo> pev_info;
    std::optional<std::uint32_t> session_time_on_battery;
    std::optional<std::uint32_t> total_time_on_battery;
    bool operator==(const PowerStatus&) const = default;
};

// Extension namespace (urn:pev-headend:ext:1): the binding confirmation at /edev/{n}/bnd.
// On the wire as lower-case words: requested, confirmed, acknowledged, active, ended, refused, fallback.
enum class BindingStatus { kRequested, kConfirmed, kAcknowledged, kActive, kEnded, kRefused, kFallback };

inline constexpr std::array<std::pair<BindingStatus, std::string_view>, 7> kBindingStatusNames{{
    {BindingStatus::kRequested, "requested"},
    {BindingStatus::kConfirmed, "confirmed"},
    {BindingStatus::kAcknowledged, "acknowledged"},
    {BindingStatus::kActive, "active"},
    {BindingStatus::kEnded, "ended"},
    {BindingStatus::kRefused, "refused"},
    {BindingStatus::kFallback, "fallback"},
}};

inline std::string_view to_string(BindingStatus status) {
    for (const auto& [value, name] : kBindingStatusNames) {
        if (value == status)
            return name;
    }
    return "";  // not a BindingStatus: the document will fail validation rather than carry a wrong status
}

inline std::optional<BindingStatus> parse_binding_status(std::string_view text) {
    for (const auto& [value, name] : kBindingStatusNames) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

struct PEVBinding {
    std::optional<std::string> href;
    BindingStatus status = BindingStatus::kRequested;
    std::string premises_id;  // up to 42 characters
    std::string program_id;   // up to 20 characters
    Link tariff_profile_link;
    std::uint32_t interval_length = 0;                        // seconds
    std::optional<std::string> pev_lfdi;                      // the EUMD's view: the PEV it meters
    std::optional<std::string> rebind_psk_identity;           // up to 64 characters
    std::optional<std::vector<std::uint8_t>> rebind_psk_key;  // 16 to 32 bytes
    std::optional<std::int64_t> expiry;
    std::optional<std::string> reason;  // up to 192 characters
    std::string mrid;
    bool operator==(const PEVBinding&) const = default;
};

struct DateTimeInterval {
    std::uint32_t duration = 0;  // seconds
    std::int64_t start = 0;
    bool operator==(const DateTimeInterval&) const = default;
};

struct EventStatus {
    std::uint8_t current_status =
        0;  // 0 scheduled, 1 active, 2 cancelled, 3 cancelled with randomization, 4 superseded
    std::int64_t date_time = 0;
    bool potentially_superseded = false;
    std::optional<std::int64_t> potentially_superseded_time;
    std::optional<std::string> reason;  // up to 192 characters
    bool operator==(const EventStatus&) const = default;
};

// What a reading measures. Codes in ../shared/reference/sep2-fields.md (uom 72 = Wh, kind 12 = energy, ...).
// The UnitValueType members (calorificValue, conversionFactor) are not used here and not carried.
struct ReadingType {
    std::optional<std::string> href;
    std::optional<std::uint8_t> accumulation_behaviour;
    std::optional<std::uint8_t> commodity;
    std::optional<std::uint8_t> data_qualifier;
    std::optional<std::uint8_t> flow_direction;
    std::optional<std::uint32_t> interval_length;
    std::optional<std::uint8_t> kind;
    std::optional<std::uint8_t> max_number_of_intervals;
    std::optional<std::uint8_t> number_of_consumption_blocks;
    std::optional<std::uint8_t> number_of_tou_tiers;
    std::optional<std::uint8_t> phase;
    std::optional<std::int8_t> power_of_ten_multiplier;
    std::optional<std::uint32_t> sub_interval_length;
    std::optional<std::uint64_t> supply_limit;  // UInt48
    std::optional<bool> tiered_consumption_blocks;
    std::optional<std::uint8_t> uom;
    bool operator==(const ReadingType&) const = default;
};

// Members of IdentifiedObject: mRID is 32 hex digits (upper case after decoding); description a String32.
struct TariffProfile {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<std::uint16_t> currency;  // ISO 4217 numeric
    std::optional<std::int8_t> price_power_of_ten_multiplier;
    std::uint8_t primacy = 0;
    std::optional<std::string> rate_code;  // up to 20 characters
    std::optional<ListLink> rate_component_list_link;
    std::uint8_t service_category_kind = 0;  // 0 electricity
    bool operator==(const TariffProfile&) const = default;
};

struct TariffProfileList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::optional<std::uint32_t> poll_rate;
    std::vector<TariffProfile> tariff_profiles;
    bool operator==(const TariffProfileList&) const = default;
};

// flowRateStartLimit / flowRateEndLimit (UnitValueType) are not used here and not carried.
struct RateComponent {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<ListLink> active_time_tariff_interval_list_link;
    Link reading_type_link;
    std::uint16_t role_flags = 0;  // RoleFlagsType bitmap, sent as 4 hex digits
    ListLink time_tariff_interval_list_link;
    bool operator==(const RateComponent&) const = default;
};

struct RateComponentList {
    std::optional<std::string> href;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<RateComponent> rate_components;
    bool operator==(const RateComponentList&) const = default;
};

struct TimeTariffInterval {
    std::optional<std::string> href;
    std::optional<std::string> reply_to;
    std::optional<std::uint8_t> response_required;  // HexBinary8 bitmap, sent as 2 hex digits
    std::optional<std::uint8_t> subscribable;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::int64_t creation_time = 0;
    EventStatus event_status;
    DateTimeInterval interval;
    std::optional<std::int16_t> randomize_duration;  // OneHourRangeType: -3600..3600
    std::optional<std::int16_t> randomize_start;
    std::optional<ListLink> consumption_tariff_interval_list_link;
    std::uint8_t tou_tier = 0;
    bool operator==(const TimeTariffInterval&) const = default;
};

struct TimeTariffIntervalList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<TimeTariffInterval> time_tariff_intervals;
    bool operator==(const TimeTariffIntervalList&) const = default;
};

// EnvironmentalCost is not used here and not carried.
struct ConsumptionTariffInterval {
    std::optional<std::string> href;
    std::uint8_t consumption_block = 0;
    // Per unit of the RateComponent's ReadingType (uom × 10^powerOfTenMultiplier), in the TariffProfile's currency
    // × 10^pricePowerOfTenMultiplier.
    std::optional<std::int32_t> price;
    std::uint64_t start_value = 0;  // UInt48, in the ReadingType's unit
    bool operator==(const ConsumptionTariffInterval&) const = default;
};

struct ConsumptionTariffIntervalList {
    std::optional<std::string> href;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<ConsumptionTariffInterval> consumption_tariff_intervals;
    bool operator==(const ConsumptionTariffIntervalList&) const = default;
};

// ---- Metering (utility's view) and metering mirror (a device's readings posted to the head-end)

// RoleFlagsType bits (UsagePointBase.roleFlags), sent as 4 hex digits.
inline constexpr std::uint16_t kRoleIsMirror = 1U << 0;
inline constexpr std::uint16_t kRoleIsPremisesAggregationPoint = 1U << 1;
inline constexpr std::uint16_t kRoleIsPev = 1U << 2;
inline constexpr std::uint16_t kRoleIsSubmeter = 1U << 6;

// One value of a ReadingType over timePeriod. qualityFlags bits: 0 valid, 1 manually edited, 2 estimated using
// reference day, 3 estimated using linear interpolation, 4 questionable, 5 derived, 6 projected.
struct Reading {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::optional<std::uint8_t> consumption_block;
    std::optional<std::uint16_t> quality_flags;  // HexBinary16 bitmap, sent as 4 hex digits
    std::optional<DateTimeInterval> time_period;
    std::optional<std::uint8_t> tou_tier;
    std::optional<std::int64_t> value;      // Int48, in the ReadingType's uom × 10^powerOfTenMultiplier
    std::optional<std::uint16_t> local_id;  // HexBinary16, sent as 4 hex digits
    bool operator==(const Reading&) const = default;
};

struct MirrorReadingSet {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    DateTimeInterval time_period;
    std::vector<Reading> readings;
    bool operator==(const MirrorReadingSet&) const = default;
};

struct MirrorMeterReading {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<std::int64_t> last_update_time;
    std::vector<MirrorReadingSet> mirror_reading_sets;
    std::optional<std::int64_t> next_update_time;
    std::optional<Reading> reading;
    std::optional<ReadingType> reading_type;
    bool operator==(const MirrorMeterReading&) const = default;
};

struct MirrorMeterReadingList {
    std::optional<std::string> href;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<MirrorMeterReading> mirror_meter_readings;
    bool operator==(const MirrorMeterReadingList&) const = default;
};

struct MirrorUsagePoint {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::uint16_t role_flags = 0;            // RoleFlagsType bitmap
    std::uint8_t service_category_kind = 0;  // 0 electricity
    std::uint8_t status = 0;                 // 0 off, 1 on
    std::string device_lfdi;                 // 40 hex digits
    std::vector<MirrorMeterReading> mirror_meter_readings;
    std::optional<std::uint32_t> post_rate;  // seconds between the mirror's POSTs
    bool operator==(const MirrorUsagePoint&) const = default;
};

struct MirrorUsagePointList {
    std::optional<std::string> href;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::optional<std::uint32_t> poll_rate;
    std::vector<MirrorUsagePoint> mirror_usage_points;
    bool operator==(const MirrorUsagePointList&) const = default;
};

struct ReadingList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<Reading> readings;
    bool operator==(const ReadingList&) const = default;
};

struct ReadingSet {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    DateTimeInterval time_period;
    std::optional<ListLink> reading_list_link;
    bool operator==(const ReadingSet&) const = default;
};

struct ReadingSetList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<ReadingSet> reading_sets;
    bool operator==(const ReadingSetList&) const = default;
};

struct MeterReading {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<ListLink> rate_component_list_link;
    std::optional<Link> reading_link;
    std::optional<ListLink> reading_set_list_link;
    Link reading_type_link;
    bool operator==(const MeterReading&) const = default;
};

struct MeterReadingList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<MeterReading> meter_readings;
    bool operator==(const MeterReadingList&) const = default;
};

struct UsagePoint {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::uint16_t role_flags = 0;
    std::uint8_t service_category_kind = 0;
    std::uint8_t status = 0;
    std::optional<std::string> device_lfdi;
    std::optional<ListLink> meter_reading_list_link;
    bool operator==(const UsagePoint&) const = default;
};

struct UsagePointList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::optional<std::uint32_t> poll_rate;
    std::vector<UsagePoint> usage_points;
    bool operator==(const UsagePointList&) const = default;
};

// ---- Billing (/bill): the customer's account, its agreement, the billing periods with their charges, and the
// meters it is billed for. Money in the account's currency × 10^pricePowerOfTenMultiplier.

struct CustomerAccount {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::uint16_t currency = 840;                 // ISO 4217 numeric
    std::optional<std::string> customer_account;  // up to 42 characters
    std::optional<ListLink> customer_agreement_list_link;
    std::optional<std::string> customer_name;  // up to 42 characters
    std::int8_t price_power_of_ten_multiplier = 0;
    bool operator==(const CustomerAccount&) const = default;
};

struct CustomerAccountList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::optional<std::uint32_t> poll_rate;
    std::vector<CustomerAccount> customer_accounts;
    bool operator==(const CustomerAccountList&) const = default;
};

struct CustomerAgreement {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<ListLink> active_billing_period_list_link;
    std::optional<ListLink> billing_period_list_link;
    std::optional<ListLink> historical_reading_list_link;
    std::optional<std::string> service_account;   // up to 42 characters
    std::optional<std::string> service_location;  // up to 42 characters
    std::optional<Link> tariff_profile_link;
    std::optional<Link> usage_point_link;
    bool operator==(const CustomerAgreement&) const = default;
};

struct CustomerAgreementList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<CustomerAgreement> customer_agreements;
    bool operator==(const CustomerAgreementList&) const = default;
};

struct BillingPeriod {
    std::optional<std::string> href;
    std::optional<std::int64_t> bill_last_period;  // Int48: the amount of the last bill
    std::optional<std::int64_t> bill_to_date;      // Int48: charges so far in this period
    DateTimeInterval interval;
    std::optional<std::int64_t> status_time_stamp;  // when the amounts were worked out
    bool operator==(const BillingPeriod&) const = default;
};

struct BillingPeriodList {
    std::optional<std::string> href;
    std::optional<std::uint8_t> subscribable;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<BillingPeriod> billing_periods;
    bool operator==(const BillingPeriodList&) const = default;
};

struct HistoricalReading {
    std::optional<std::string> href;
    std::string mrid;
    std::optional<std::string> description;
    std::optional<std::uint16_t> version;
    std::optional<Link> reading_type_link;
    bool operator==(const HistoricalReading&) const = default;
};

struct HistoricalReadingList {
    std::optional<std::string> href;
    std::uint32_t all = 0;
    std::uint32_t results = 0;
    std::vector<HistoricalReading> historical_readings;
    bool operator==(const HistoricalReadingList&) const = default;
};

}  // namespace sep
