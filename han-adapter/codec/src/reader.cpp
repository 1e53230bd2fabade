#include "reader.hpp"

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sep::detail {
namespace {

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

std::string_view name_of(const xmlNode* node) {
    return reinterpret_cast<const char*>(node->name);
}

const xmlNode* element_from(const xmlNode* node) {
    while (node != nullptr && node->type != XML_ELEMENT_NODE)
        node = node->next;
    return node;
}

// Concatenated text children (CDATA is already folded into text by the parser options).
std::string text_of(const xmlNode* node) {
    std::string text;
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
        if (child->type == XML_TEXT_NODE && child->content != nullptr) {
            text += reinterpret_cast<const char*>(child->content);
        }
    }
    return text;
}

std::optional<std::string> attribute_of(const xmlNode* node, const char* name) {
    for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
        if (attr->ns != nullptr || std::strcmp(reinterpret_cast<const char*>(attr->name), name) != 0)
            continue;
        std::string value;
        for (const xmlNode* child = attr->children; child != nullptr; child = child->next) {
            if (child->content != nullptr)
                value += reinterpret_cast<const char*>(child->content);
        }
        return value;
    }
    return std::nullopt;
}

// XML Schema whitespace "collapse" for atomic values: surrounding space goes.
std::string_view trimmed(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// xs:integer lexical forms: leading zeros, and a '+' on signed types (libxml2 takes no sign on unsigned ones).
template <Integer T>
bool parse_integer(std::string_view text, T& out) {
    text = trimmed(text);
    if (!text.empty() && text.front() == '+')
        text.remove_prefix(1);
    using Wide = std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>;
    Wide value{};
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || !std::in_range<T>(value))
        return false;
    out = static_cast<T>(value);
    return true;
}

bool parse_boolean(std::string_view text, bool& out) {
    text = trimmed(text);
    if (text == "true" || text == "1") {
        out = true;
    } else if (text == "false" || text == "0") {
        out = false;
    } else {
        return false;
    }
    return true;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool parse_hex_text(std::string_view text, std::string& out) {
    text = trimmed(text);
    out.clear();
    out.reserve(text.size());
    for (const char c : text) {
        const int digit = hex_digit(c);
        if (digit < 0)
            return false;
        out += "0123456789ABCDEF"[digit];
    }
    return out.size() % 2 == 0;
}

bool parse_hex_bits(std::string_view text, std::uint64_t& out) {
    text = trimmed(text);
    if (text.size() > 16 || text.size() % 2 != 0)
        return false;
    out = 0;
    for (const char c : text) {
        const int digit = hex_digit(c);
        if (digit < 0)
            return false;
        out = (out << 4) | static_cast<std::uint64_t>(digit);
    }
    return true;
}

bool parse_hex_bytes(std::string_view text, std::vector<std::uint8_t>& out) {
    text = trimmed(text);
    if (text.size() % 2 != 0)
        return false;
    out.clear();
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = hex_digit(text[i]);
        const int low = hex_digit(text[i + 1]);
        if (high < 0 || low < 0)
            return false;
        out.push_back(static_cast<std::uint8_t>(high * 16 + low));
    }
    return true;
}

// Collects the first problem; reading goes on with defaults so the code stays linear.
class Problems {
public:
    void add(const xmlNode* node, std::string_view what) {
        if (!first_.empty())
            return;
        first_ = "line " + std::to_string(xmlGetLineNo(node)) + ": element '" + std::string(name_of(node)) +
                 "': " + std::string(what);
    }
    bool any() const { return !first_.empty(); }
    std::string take() { return std::move(first_); }

private:
    std::string first_;
};

// One overload per value type; composite ones are defined after Fields.
template <Integer T>
void read_value(const xmlNode* node, Problems& problems, T& out) {
    if (!parse_integer(text_of(node), out))
        problems.add(node, "not an integer in range");
}
void read_value(const xmlNode* node, Problems& problems, bool& out) {
    if (!parse_boolean(text_of(node), out))
        problems.add(node, "not a boolean");
}
void read_value(const xmlNode* node, Problems&, std::string& out) {
    out = text_of(node);
}
void read_value(const xmlNode* node, Problems& problems, Link& out);
void read_value(const xmlNode* node, Problems& problems, ListLink& out);
void read_value(const xmlNode* node, Problems& problems, ActivePower& out);
void read_value(const xmlNode* node, Problems& problems, RealEnergy& out);
void read_value(const xmlNode* node, Problems& problems, DRLCCapabilities& out);
void read_value(const xmlNode* node, Problems& problems, GPSLocation& out);
void read_value(const xmlNode* node, Problems& problems, PEVInfo& out);
void read_value(const xmlNode* node, Problems& problems, EndDevice& out);
void read_value(const xmlNode* node, Problems& problems, DateTimeInterval& out);
void read_value(const xmlNode* node, Problems& problems, EventStatus& out);

// Walks the element children of one element in document order; anything left over at the end is a problem.
class Fields {
public:
    Fields(const xmlNode* parent, Problems& problems)
        : parent_(parent), next_(element_from(parent->children)), problems_(problems) {}
    Fields(const Fields&) = delete;
    Fields& operator=(const Fields&) = delete;
    ~Fields() {
        if (next_ != nullptr)
            problems_.add(next_, "not expected here");
    }

    const xmlNode* take(std::string_view name) {
        if (next_ == nullptr || name_of(next_) != name)
            return nullptr;
        const xmlNode* node = next_;
        next_ = element_from(node->next);
        return node;
    }

    template <typename T>
    void get(std::string_view name, T& out) {
        if (const xmlNode* node = require(name))
            read_value(node, problems_, out);
    }
    template <typename T>
    void get(std::string_view name, std::optional<T>& out) {
        if (const xmlNode* node = take(name))
            read_value(node, problems_, out.emplace());
    }

    // hexBinary kept as upper-case text (LFDI, mRID).
    void hex(std::string_view name, std::string& out) {
        if (const xmlNode* node = require(name))
            read_hex(node, out);
    }
    void hex(std::string_view name, std::optional<std::string>& out) {
        if (const xmlNode* node = take(name))
            read_hex(node, out.emplace());
    }

    // hexBinary bitmaps read as integers.
    template <std::unsigned_integral T>
    void bits(std::string_view name, T& out) {
        if (const xmlNode* node = require(name))
            read_bits(node, out);
    }
    template <std::unsigned_integral T>
    void bits(std::string_view name, std::optional<T>& out) {
        if (const xmlNode* node = take(name))
            read_bits(node, out.emplace());
    }

    // Schema-valid elements the structs do not carry (see sep/types.hpp): read past, not an error.
    void skip(std::string_view name) {
        while (take(name) != nullptr)
            continue;
    }

    void bytes(std::string_view name, std::optional<std::vector<std::uint8_t>>& out) {
        const xmlNode* node = take(name);
        if (node != nullptr && !parse_hex_bytes(text_of(node), out.emplace()))
            problems_.add(node, "not hexBinary");
    }

private:
    const xmlNode* require(std::string_view name) {
        const xmlNode* node = take(name);
        if (node == nullptr)
            problems_.add(parent_, "missing <" + std::string(name) + ">");
        return node;
    }
    void read_hex(const xmlNode* node, std::string& out) {
        if (!parse_hex_text(text_of(node), out))
            problems_.add(node, "not hexBinary");
    }
    template <std::unsigned_integral T>
    void read_bits(const xmlNode* node, T& out) {
        std::uint64_t value = 0;
        if (!parse_hex_bits(text_of(node), value) || !std::in_range<T>(value)) {
            problems_.add(node, "not a hexBinary bitmap in range");
            return;
        }
        out = static_cast<T>(value);
    }

    const xmlNode* parent_;
    const xmlNode* next_;
    Problems& problems_;
};

template <Integer T>
void integer_attribute(const xmlNode* node, const char* name, std::optional<T>& out, Problems& problems) {
    const auto text = attribute_of(node, name);
    if (text && !parse_integer(*text, out.emplace())) {
        problems.add(node, std::string("attribute '") + name + "' is not an integer in range");
    }
}

template <Integer T>
void integer_attribute(const xmlNode* node, const char* name, T& out, Problems& problems) {
    std::optional<T> value;
    integer_attribute(node, name, value, problems);
    if (value) {
        out = *value;
    } else {
        problems.add(node, std::string("missing attribute '") + name + "'");
    }
}

void bits_attribute(const xmlNode* node, const char* name, std::optional<std::uint8_t>& out, Problems& problems) {
    const auto text = attribute_of(node, name);
    if (!text)
        return;
    std::uint64_t value = 0;
    if (!parse_hex_bits(*text, value) || !std::in_range<std::uint8_t>(value)) {
        problems.add(node, std::string("attribute '") + name + "' is not a hexBinary bitmap in range");
        return;
    }
    out = static_cast<std::uint8_t>(value);
}

// xs:anyURI collapses whitespace.
std::optional<std::string> uri_attribute(const xmlNode* node, const char* name) {
    auto value = attribute_of(node, name);
    if (value)
        *value = std::string(trimmed(*value));
    return value;
}

std::string required_uri_attribute(const xmlNode* node, const char* name, Problems& problems) {
    auto value = uri_attribute(node, name);
    if (!value)
        problems.add(node, std::string("missing attribute '") + name + "'");
    return std::move(value).value_or(std::string());
}

void read_value(const xmlNode* node, Problems& problems, Link& out) {
    out.href = required_uri_attribute(node, "href", problems);
}

void read_value(const xmlNode* node, Problems& problems, ListLink& out) {
    out.href = required_uri_attribute(node, "href", problems);
    integer_attribute(node, "all", out.all, problems);
}

void read_value(const xmlNode* node, Problems& problems, ActivePower& out) {
    Fields f(node, problems);
    f.get("multiplier", out.multiplier);
    f.get("value", out.value);
}

void read_value(const xmlNode* node, Problems& problems, RealEnergy& out) {
    Fields f(node, problems);
    f.get("multiplier", out.multiplier);
    f.get("value", out.value);
}

void read_value(const xmlNode* node, Problems& problems, DRLCCapabilities& out) {
    Fields f(node, problems);
    f.get("averageEnergy", out.average_energy);
    f.get("maxDemand", out.max_demand);
    f.bits("optionsImplemented", out.options_implemented);
}

void read_value(const xmlNode* node, Problems& problems, GPSLocation& out) {
    Fields f(node, problems);
    f.get("lat", out.lat);
    f.get("lon", out.lon);
}

void read_value(const xmlNode* node, Problems& problems, PEVInfo& out) {
    Fields f(node, problems);
    f.get("chargingPowerNow", out.charging_power_now);
    f.get("energyRequestNow", out.energy_request_now);
    f.get("maxForwardPower", out.max_forward_power);
    f.get("minimumChargingDuration", out.minimum_charging_duration);
    f.get("targetStateOfCharge", out.target_state_of_charge);
    f.get("timeChargeIsNeeded", out.time_charge_is_needed);
    f.get("timeChargingStatusPEV", out.time_charging_status_pev);
}

void read_value(const xmlNode* node, Problems& problems, DateTimeInterval& out) {
    Fields f(node, problems);
    f.get("duration", out.duration);
    f.get("start", out.start);
}

void read_value(const xmlNode* node, Problems& problems, EventStatus& out) {
    Fields f(node, problems);
    f.get("currentStatus", out.current_status);
    f.get("dateTime", out.date_time);
    f.get("potentiallySuperseded", out.potentially_superseded);
    f.get("potentiallySupersededTime", out.potentially_superseded_time);
    f.get("reason", out.reason);
}

// IdentifiedObject's elements, which every resource with an mRID starts with.
template <typename T>
void read_identity(Fields& f, T& out) {
    f.hex("mRID", out.mrid);
    f.get("description", out.description);
    f.get("version", out.version);
}

void read_value(const xmlNode* node, Problems& problems, EndDevice& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "subscribable", out.subscribable, problems);
    Fields f(node, problems);
    f.get("ConfigurationLink", out.configuration_link);
    f.get("DERListLink", out.der_list_link);
    f.bits("deviceCategory", out.device_category);
    f.get("DeviceInformationLink", out.device_information_link);
    f.get("DeviceStatusLink", out.device_status_link);
    f.get("FileStatusLink", out.file_status_link);
    f.get("IPInterfaceListLink", out.ip_interface_list_link);
    f.hex("lFDI", out.lfdi);
    f.get("LoadShedAvailabilityListLink", out.load_shed_availability_list_link);
    f.get("LogEventListLink", out.log_event_list_link);
    f.get("PowerStatusLink", out.power_status_link);
    f.get("sFDI", out.sfdi);
    f.get("changedTime", out.changed_time);
    f.get("enabled", out.enabled);
    f.get("FlowReservationRequestListLink", out.flow_reservation_request_list_link);
    f.get("FlowReservationResponseListLink", out.flow_reservation_response_list_link);
    f.get("FunctionSetAssignmentsListLink", out.function_set_assignments_list_link);
    f.get("postRate", out.post_rate);
    f.get("RegistrationLink", out.registration_link);
    f.get("SubscriptionListLink", out.subscription_list_link);
}

void read_value(const xmlNode* node, Problems& problems, DeviceCapability& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    f.get("CustomerAccountListLink", out.customer_account_list_link);
    f.get("DemandResponseProgramListLink", out.demand_response_program_list_link);
    f.get("DERProgramListLink", out.der_program_list_link);
    f.get("FileListLink", out.file_list_link);
    f.get("MessagingProgramListLink", out.messaging_program_list_link);
    f.get("PrepaymentListLink", out.prepayment_list_link);
    f.get("ResponseSetListLink", out.response_set_list_link);
    f.get("TariffProfileListLink", out.tariff_profile_list_link);
    f.get("TimeLink", out.time_link);
    f.get("UsagePointListLink", out.usage_point_list_link);
    f.get("EndDeviceListLink", out.end_device_list_link);
    f.get("MirrorUsagePointListLink", out.mirror_usage_point_list_link);
    f.get("SelfDeviceLink", out.self_device_link);
}

void read_value(const xmlNode* node, Problems& problems, Time& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    f.get("currentTime", out.current_time);
    f.get("dstEndTime", out.dst_end_time);
    f.get("dstOffset", out.dst_offset);
    f.get("dstStartTime", out.dst_start_time);
    f.get("localTime", out.local_time);
    f.get("quality", out.quality);
    f.get("tzOffset", out.tz_offset);
}

void read_value(const xmlNode* node, Problems& problems, EndDeviceList& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "subscribable", out.subscribable, problems);
    integer_attribute(node, "all", out.all, problems);
    integer_attribute(node, "results", out.results, problems);
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    while (const xmlNode* device = f.take("EndDevice"))
        read_value(device, problems, out.end_devices.emplace_back());
}

void read_value(const xmlNode* node, Problems& problems, Registration& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    f.get("dateTimeRegistered", out.date_time_registered);
    f.get("pIN", out.pin);
}

void read_value(const xmlNode* node, Problems& problems, DeviceInformation& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    f.get("DRLCCapabilities", out.drlc_capabilities);
    f.bits("functionsImplemented", out.functions_implemented);
    f.get("gpsLocation", out.gps_location);
    f.hex("lFDI", out.lfdi);
    f.get("mfDate", out.mf_date);
    f.get("mfHwVer", out.mf_hw_ver);
    f.get("mfID", out.mf_id);
    f.get("mfInfo", out.mf_info);
    f.get("mfModel", out.mf_model);
    f.get("mfSerNum", out.mf_ser_num);
    f.get("primaryPower", out.primary_power);
    f.get("secondaryPower", out.secondary_power);
    f.get("SupportedLocaleListLink", out.supported_locale_list_link);
    f.get("swActTime", out.sw_act_time);
    f.get("swVer", out.sw_ver);
}

void read_value(const xmlNode* node, Problems& problems, Response& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    f.get("createdDateTime", out.created_date_time);
    f.hex("endDeviceLFDI", out.end_device_lfdi);
    f.get("status", out.status);
    f.hex("subject", out.subject);
}

void read_value(const xmlNode* node, Problems& problems, Error& out) {
    Fields f(node, problems);
    f.get("maxRetryDuration", out.max_retry_duration);
    f.get("reasonCode", out.reason_code);
}

void read_value(const xmlNode* node, Problems& problems, PowerStatus& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    f.get("batteryStatus", out.battery_status);
    f.get("changedTime", out.changed_time);
    f.get("currentPowerSource", out.current_power_source);
    f.get("estimatedChargeRemaining", out.estimated_charge_remaining);
    f.get("estimatedTimeRemaining", out.estimated_time_remaining);
    f.get("PEVInfo", out.pev_info);
    f.get("sessionTimeOnBattery", out.session_time_on_battery);
    f.get("totalTimeOnBattery", out.total_time_on_battery);
}

void read_value(const xmlNode* node, Problems& problems, PEVBinding& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    if (const xmlNode* status = f.take("status")) {
        const auto parsed = parse_binding_status(text_of(status));
        if (parsed) {
            out.status = *parsed;
        } else {
            problems.add(status, "not a binding status");
        }
    } else {
        problems.add(node, "missing <status>");
    }
    f.get("premisesID", out.premises_id);
    f.get("programID", out.program_id);
    f.get("TariffProfileLink", out.tariff_profile_link);
    f.get("intervalLength", out.interval_length);
    f.hex("pevLFDI", out.pev_lfdi);
    f.get("rebindPSKIdentity", out.rebind_psk_identity);
    f.bytes("rebindPSKKey", out.rebind_psk_key);
    f.get("expiry", out.expiry);
    f.get("reason", out.reason);
    f.hex("mRID", out.mrid);
}

void read_value(const xmlNode* node, Problems& problems, ReadingType& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    f.get("accumulationBehaviour", out.accumulation_behaviour);
    f.skip("calorificValue");
    f.get("commodity", out.commodity);
    f.skip("conversionFactor");
    f.get("dataQualifier", out.data_qualifier);
    f.get("flowDirection", out.flow_direction);
    f.get("intervalLength", out.interval_length);
    f.get("kind", out.kind);
    f.get("maxNumberOfIntervals", out.max_number_of_intervals);
    f.get("numberOfConsumptionBlocks", out.number_of_consumption_blocks);
    f.get("numberOfTouTiers", out.number_of_tou_tiers);
    f.get("phase", out.phase);
    f.get("powerOfTenMultiplier", out.power_of_ten_multiplier);
    f.get("subIntervalLength", out.sub_interval_length);
    f.get("supplyLimit", out.supply_limit);
    f.get("tieredConsumptionBlocks", out.tiered_consumption_blocks);
    f.get("uom", out.uom);
}

void read_value(const xmlNode* node, Problems& problems, TariffProfile& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    read_identity(f, out);
    f.get("currency", out.currency);
    f.get("pricePowerOfTenMultiplier", out.price_power_of_ten_multiplier);
    f.get("primacy", out.primacy);
    f.get("rateCode", out.rate_code);
    f.get("RateComponentListLink", out.rate_component_list_link);
    f.get("serviceCategoryKind", out.service_category_kind);
}

void read_value(const xmlNode* node, Problems& problems, TariffProfileList& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "subscribable", out.subscribable, problems);
    integer_attribute(node, "all", out.all, problems);
    integer_attribute(node, "results", out.results, problems);
    integer_attribute(node, "pollRate", out.poll_rate, problems);
    Fields f(node, problems);
    while (const xmlNode* profile = f.take("TariffProfile"))
        read_value(profile, problems, out.tariff_profiles.emplace_back());
}

void read_value(const xmlNode* node, Problems& problems, RateComponent& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    read_identity(f, out);
    f.get("ActiveTimeTariffIntervalListLink", out.active_time_tariff_interval_list_link);
    f.skip("flowRateEndLimit");
    f.skip("flowRateStartLimit");
    f.get("ReadingTypeLink", out.reading_type_link);
    f.bits("roleFlags", out.role_flags);
    f.get("TimeTariffIntervalListLink", out.time_tariff_interval_list_link);
}

void read_value(const xmlNode* node, Problems& problems, RateComponentList& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "all", out.all, problems);
    integer_attribute(node, "results", out.results, problems);
    Fields f(node, problems);
    while (const xmlNode* component = f.take("RateComponent"))
        read_value(component, problems, out.rate_components.emplace_back());
}

void read_value(const xmlNode* node, Problems& problems, TimeTariffInterval& out) {
    out.href = uri_attribute(node, "href");
    out.reply_to = uri_attribute(node, "replyTo");
    bits_attribute(node, "responseRequired", out.response_required, problems);
    integer_attribute(node, "subscribable", out.subscribable, problems);
    Fields f(node, problems);
    read_identity(f, out);
    f.get("creationTime", out.creation_time);
    f.get("EventStatus", out.event_status);
    f.get("interval", out.interval);
    f.get("randomizeDuration", out.randomize_duration);
    f.get("randomizeStart", out.randomize_start);
    f.get("ConsumptionTariffIntervalListLink", out.consumption_tariff_interval_list_link);
    f.get("touTier", out.tou_tier);
}

void read_value(const xmlNode* node, Problems& problems, TimeTariffIntervalList& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "subscribable", out.subscribable, problems);
    integer_attribute(node, "all", out.all, problems);
    integer_attribute(node, "results", out.results, problems);
    Fields f(node, problems);
    while (const xmlNode* interval = f.take("TimeTariffInterval"))
        read_value(interval, problems, out.time_tariff_intervals.emplace_back());
}

void read_value(const xmlNode* node, Problems& problems, ConsumptionTariffInterval& out) {
    out.href = uri_attribute(node, "href");
    Fields f(node, problems);
    f.get("consumptionBlock", out.consumption_block);
    f.skip("EnvironmentalCost");
    f.get("price", out.price);
    f.get("startValue", out.start_value);
}

void read_value(const xmlNode* node, Problems& problems, ConsumptionTariffIntervalList& out) {
    out.href = uri_attribute(node, "href");
    integer_attribute(node, "all", out.all, problems);
    integer_attribute(node, "results", out.results, problems);
    Fields f(node, problems);
    while (const xmlNode* interval = f.take("ConsumptionTariffInterval"))
        read_value(interval, problems, out.consumption_tariff_intervals.emplace_back());
}

}  // namespace

template <Decodable T>
headend::Result<T> read_document(const xmlNode* root) {
    Problems problems;
    T value;
    read_value(root, problems, value);
    if (problems.any())
        return headend::make_error("xml.schema", problems.take());
    return value;
}

template headend::Result<DeviceCapability> read_document<DeviceCapability>(const xmlNode*);
template headend::Result<Time> read_document<Time>(const xmlNode*);
template headend::Result<EndDevice> read_document<EndDevice>(const xmlNode*);
template headend::Result<EndDeviceList> read_document<EndDeviceList>(const xmlNode*);
template headend::Result<Registration> read_document<Registration>(const xmlNode*);
template headend::Result<DeviceInformation> read_document<DeviceInformation>(const xmlNode*);
template headend::Result<Response> read_document<Response>(const xmlNode*);
template headend::Result<Error> read_document<Error>(const xmlNode*);
template headend::Result<PowerStatus> read_document<PowerStatus>(const xmlNode*);
template headend::Result<PEVBinding> read_document<PEVBinding>(const xmlNode*);
template headend::Result<ReadingType> read_document<ReadingType>(const xmlNode*);
template headend::Result<TariffProfileList> read_document<TariffProfileList>(const xmlNode*);
template headend::Result<TariffProfile> read_document<TariffProfile>(const xmlNode*);
template headend::Result<RateComponentList> read_document<RateComponentList>(const xmlNode*);
template headend::Result<RateComponent> read_document<RateComponent>(const xmlNode*);
template headend::Result<TimeTariffIntervalList> read_document<TimeTariffIntervalList>(const xmlNode*);
template headend::Result<TimeTariffInterval> read_document<TimeTariffInterval>(const xmlNode*);
template headend::Result<ConsumptionTariffIntervalList> read_document<ConsumptionTariffIntervalList>(const xmlNode*);
template headend::Result<ConsumptionTariffInterval> read_document<ConsumptionTariffInterval>(const xmlNode*);

}  // namespace sep::detail
