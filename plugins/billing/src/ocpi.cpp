#include "billing/ocpi.hpp"

#include <date/date.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace billing::ocpi {

namespace {

using headend::make_error;
using headend::Result;

// ---- JSON with numbers kept as their text: nlohmann's SAX parser hands over the text of every float.

struct Node {
    enum class Kind { Null, Boolean, Number, String, Array, Object };
    Node() = default;
    explicit Node(Kind kind_in) : kind(kind_in) {}

    Kind kind = Kind::Null;
    bool boolean = false;
    std::string text;  // a string's value, a number's text
    std::vector<Node> items;
    std::vector<std::pair<std::string, Node>> members;

    const Node* member(std::string_view key) const {
        for (const auto& [name, value] : members)
            if (name == key)
                return &value;
        return nullptr;
    }
};

class TreeBuilder : public nlohmann::json_sax<nlohmann::json> {
public:
    Node root;
    std::string error;

    bool null() override { return add(Node{}); }
    bool boolean(bool value) override {
        Node node(Node::Kind::Boolean);
        node.boolean = value;
        return add(std::move(node));
    }
    bool number_integer(number_integer_t value) override { return number(std::to_string(value)); }
    bool number_unsigned(number_unsigned_t value) override { return number(std::to_string(value)); }
    bool number_float(number_float_t, const string_t& text) override { return number(text); }
    bool string(string_t& value) override {
        Node node(Node::Kind::String);
        node.text = std::move(value);
        return add(std::move(node));
    }
    bool binary(binary_t&) override { return false; }
    bool start_object(std::size_t) override {
        if (!deeper())
            return false;
        open_.emplace_back(Node::Kind::Object);
        return true;
    }
    bool key(string_t& value) override {
        for (const auto& [name, _] : open_.back().members)
            if (name == value) {
                error = "the key \"" + value + "\" appears twice";
                return false;
            }
        keys_.push_back(std::move(value));
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override {
        if (!deeper())
            return false;
        open_.emplace_back(Node::Kind::Array);
        return true;
    }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
        error = "not JSON (at byte " + std::to_string(position) + ")";
        return false;
    }

private:
    // A CDR is a few levels deep; the tree is freed recursively, so a peer's deep nesting must stop here.
    static constexpr std::size_t kMaxDepth = 32;
    bool deeper() {
        if (open_.size() < kMaxDepth)
            return true;
        error = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
        return false;
    }
    bool number(std::string text) {
        Node node(Node::Kind::Number);
        node.text = std::move(text);
        return add(std::move(node));
    }
    bool close() {
        Node done = std::move(open_.back());
        open_.pop_back();
        return add(std::move(done));
    }
    bool add(Node node) {
        if (open_.empty()) {
            root = std::move(node);
        } else if (open_.back().kind == Node::Kind::Array) {
            open_.back().items.push_back(std::move(node));
        } else {
            open_.back().members.emplace_back(std::move(keys_.back()), std::move(node));
            keys_.pop_back();
        }
        return true;
    }

    std::vector<Node> open_;
    std::vector<std::string> keys_;
};

Result<Node> parse_tree(std::string_view json) {
    TreeBuilder builder;
    const bool parsed = nlohmann::json::sax_parse(json.begin(), json.end(), &builder);
    if (!parsed)
        return make_error("ocpi.invalid", builder.error.empty() ? "not JSON" : builder.error);
    return std::move(builder.root);
}

// ---- Reading fields with the path of the first problem.

headend::Error invalid(const std::string& path, const std::string& problem) {
    return make_error("ocpi.invalid", path + ": " + problem);
}

std::string path_of(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// A string member: required unless `optional`, at most `max` characters (OCPI counts characters; ours are checked
// as bytes, stricter for non-ASCII).
Result<std::optional<std::string>> text_member(const Node& object, const std::string& parent, std::string_view key,
                                               std::size_t max, bool optional = false) {
    const Node* value = object.member(key);
    if (value == nullptr || value->kind == Node::Kind::Null) {
        if (optional)
            return std::optional<std::string>();
        return invalid(path_of(parent, key), "missing");
    }
    if (value->kind != Node::Kind::String)
        return invalid(path_of(parent, key), "must be a string");
    if (value->text.size() > max)
        return invalid(path_of(parent, key), "longer than " + std::to_string(max) + " characters");
    if (value->text.empty() && !optional)
        return invalid(path_of(parent, key), "empty");
    return std::optional(value->text);
}

Result<std::string> required_text(const Node& object, const std::string& parent, std::string_view key,
                                  std::size_t max) {
    auto value = text_member(object, parent, key, max);
    if (!value)
        return value.error();
    return std::move(**value);
}

Result<std::string> one_of(const Node& object, const std::string& parent, std::string_view key,
                           std::initializer_list<std::string_view> allowed) {
    auto value = required_text(object, parent, key, 32);
    if (!value)
        return value.error();
    if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end())
        return invalid(path_of(parent, key), "\"" + *value + "\" is not a known value");
    return value;
}

Result<std::int64_t> date_time_member(const Node& object, const std::string& parent, std::string_view key) {
    auto text = required_text(object, parent, key, 35);
    if (!text)
        return text.error();
    auto parsed = parse_date_time(*text);
    if (!parsed)
        return invalid(path_of(parent, key), "\"" + *text + "\" is not an RFC 3339 UTC date-time");
    return *parsed;
}

Result<std::string> decimal_text(const Node& object, const std::string& parent, std::string_view key) {
    const Node* value = object.member(key);
    if (value == nullptr)
        return invalid(path_of(parent, key), "missing");
    if (value->kind != Node::Kind::Number)
        return invalid(path_of(parent, key), "must be a number");
    return value->text;
}

Result<std::int64_t> scaled_member(const Node& object, const std::string& parent, std::string_view key, int scale,
                                   std::string_view unit) {
    auto text = decimal_text(object, parent, key);
    if (!text)
        return text.error();
    auto value = scaled_decimal(*text, scale);
    if (!value)
        return invalid(path_of(parent, key), *text + " is not a decimal of at most " + std::to_string(scale) +
                                                 " places (" + std::string(unit) + ")");
    return *value;
}

const Node* object_member(const Node& object, std::string_view key) {
    const Node* value = object.member(key);
    return value != nullptr && value->kind == Node::Kind::Object ? value : nullptr;
}

Result<CdrToken> read_token(const Node& cdr) {
    const std::string path = "cdr_token";
    const Node* token = object_member(cdr, path);
    if (token == nullptr)
        return invalid(path, "missing or not an object");
    CdrToken result;
    for (auto [field, key, max] : std::array<std::tuple<std::string*, std::string_view, std::size_t>, 4>{
             {{&result.country_code, "country_code", 2},
              {&result.party_id, "party_id", 3},
              {&result.uid, "uid", 36},
              {&result.contract_id, "contract_id", 36}}}) {
        auto value = required_text(*token, path, key, max);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    auto type = one_of(*token, path, "type", {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"});
    if (!type)
        return type.error();
    result.type = std::move(*type);
    return result;
}

Result<CdrLocation> read_location(const Node& cdr) {
    const std::string path = "cdr_location";
    const Node* location = object_member(cdr, path);
    if (location == nullptr)
        return invalid(path, "missing or not an object");
    CdrLocation result;
    for (auto [field, key, max] : std::array<std::tuple<std::string*, std::string_view, std::size_t>, 8>{
             {{&result.id, "id", 36},
              {&result.address, "address", 45},
              {&result.city, "city", 45},
              {&result.country, "country", 3},
              {&result.evse_uid, "evse_uid", 36},
              {&result.evse_id, "evse_id", 48},
              {&result.connector_id, "connector_id", 36},
              {&result.connector_standard, "connector_standard", 40}}}) {
        auto value = required_text(*location, path, key, max);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    for (auto [field, key, max] : std::array<std::tuple<std::optional<std::string>*, std::string_view, std::size_t>, 3>{
             {{&result.name, "name", 255}, {&result.postal_code, "postal_code", 10}, {&result.state, "state", 20}}}) {
        auto value = text_member(*location, path, key, max, true);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    auto format = one_of(*location, path, "connector_format", {"SOCKET", "CABLE"});
    if (!format)
        return format.error();
    result.connector_format = std::move(*format);
    auto power = one_of(*location, path, "connector_power_type",
                        {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"});
    if (!power)
        return power.error();
    result.connector_power_type = std::move(*power);
    const Node* coordinates = object_member(*location, "coordinates");
    if (coordinates == nullptr)
        return invalid(path + ".coordinates", "missing or not an object");
    for (auto [field, key] : std::array<std::pair<std::string*, std::string_view>, 2>{
             {{&result.latitude, "latitude"}, {&result.longitude, "longitude"}}}) {
        auto value = required_text(*coordinates, path + ".coordinates", key, 11);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    return result;
}

Result<std::vector<ChargingPeriod>> read_periods(const Node& cdr) {
    const Node* periods = cdr.member("charging_periods");
    if (periods == nullptr || periods->kind != Node::Kind::Array || periods->items.empty())
        return invalid("charging_periods", "missing, not an array, or empty");
    std::vector<ChargingPeriod> result;
    for (std::size_t i = 0; i < periods->items.size(); ++i) {
        const std::string path = "charging_periods[" + std::to_string(i) + "]";
        const Node& period = periods->items[i];
        if (period.kind != Node::Kind::Object)
            return invalid(path, "not an object");
        ChargingPeriod one;
        auto start = date_time_member(period, path, "start_date_time");
        if (!start)
            return start.error();
        one.start = *start;
        auto tariff = text_member(period, path, "tariff_id", 36, true);
        if (!tariff)
            return tariff.error();
        one.tariff_id = std::move(*tariff);
        const Node* dimensions = period.member("dimensions");
        if (dimensions == nullptr || dimensions->kind != Node::Kind::Array || dimensions->items.empty())
            return invalid(path + ".dimensions", "missing, not an array, or empty");
        for (std::size_t d = 0; d < dimensions->items.size(); ++d) {
            const std::string dimension_path = path + ".dimensions[" + std::to_string(d) + "]";
            const Node& dimension = dimensions->items[d];
            if (dimension.kind != Node::Kind::Object)
                return invalid(dimension_path, "not an object");
            auto type = one_of(
                dimension, dimension_path, "type",
                {"CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT", "MIN_CURRENT", "MAX_POWER",
                 "MIN_POWER", "PARKING_TIME", "POWER", "RESERVATION_TIME", "STATE_OF_CHARGE", "TIME"});
            if (!type)
                return type.error();
            auto volume = decimal_text(dimension, dimension_path, "volume");
            if (!volume)
                return volume.error();
            const int scale = *type == "ENERGY" ? 3 : 6;
            const auto scaled = scaled_decimal(*volume, scale);
            if (!scaled)
                return invalid(dimension_path + ".volume",
                               *volume + " is not a decimal of at most " + std::to_string(scale) + " places");
            if (*scaled < 0)
                return invalid(dimension_path + ".volume", "negative");
            one.dimensions.push_back({std::move(*type), std::move(*volume)});
        }
        result.push_back(std::move(one));
    }
    return result;
}

// ---- Writing: members in order, numbers from integers.

using Members = std::vector<std::pair<std::string, std::string>>;  // key, raw JSON value

std::string json_string(std::string_view text) {
    return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string object(const Members& members) {
    std::string out = "{";
    for (const auto& [key, value] : members) {
        if (out.size() > 1)
            out += ',';
        out += json_string(key);
        out += ':';
        out += value;
    }
    out += '}';
    return out;
}

void add_optional(Members& members, std::string_view key, const std::optional<std::string>& value) {
    if (value)
        members.emplace_back(key, json_string(*value));
}

}  // namespace

// ---- Decimals and date-times.

std::optional<std::int64_t> scaled_decimal(std::string_view text, int scale) {
    bool negative = false;
    if (!text.empty() && text.front() == '-') {
        negative = true;
        text.remove_prefix(1);
    }
    const auto point = text.find('.');
    const std::string_view whole = text.substr(0, point);
    const std::string_view fraction = point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
    const auto digits = [](std::string_view part) {
        return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (whole.empty() || !digits(whole) || !digits(fraction) || (point != std::string_view::npos && fraction.empty()))
        return std::nullopt;  // also refuses exponents: "1e3" is not how OCPI writes a decimal
    // Digits past the scale must be zeros.
    const std::string_view kept = fraction.substr(0, std::min<std::size_t>(fraction.size(), scale));
    if (fraction.find_first_not_of('0', kept.size()) != std::string_view::npos)
        return std::nullopt;
    std::int64_t value = 0;
    for (const char c : std::string(whole) + std::string(kept) + std::string(scale - kept.size(), '0')) {
        if (value > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10)
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
}

std::string format_decimal(std::int64_t value, int scale) {
    const bool negative = value < 0;
    // The magnitude as text, unsigned so that the lowest int64 has one too.
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    std::string digits = std::to_string(magnitude);
    if (digits.size() <= static_cast<std::size_t>(scale))
        digits.insert(0, static_cast<std::size_t>(scale) + 1 - digits.size(), '0');
    std::string whole = digits.substr(0, digits.size() - static_cast<std::size_t>(scale));
    std::string fraction = digits.substr(digits.size() - static_cast<std::size_t>(scale));
    while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
    return (negative ? "-" : "") + whole + (fraction.empty() ? "" : "." + fraction);
}

std::string format_date_time(std::int64_t utc) {
    const date::sys_seconds at{std::chrono::seconds(utc)};
    return date::format("%Y-%m-%dT%H:%M:%SZ", at);
}

std::optional<std::int64_t> parse_date_time(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then optional Z; nothing else (OCPI timestamps are UTC).
    if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
        text[13] != ':' || text[16] != ':')
        return std::nullopt;
    const auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
        int value = 0;
        const auto* begin = text.data() + at;
        const auto [end, error] = std::from_chars(begin, begin + length, value);
        if (error != std::errc() || end != begin + length || *begin == '-' || *begin == '+')
            return std::nullopt;
        return value;
    };
    const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
    const auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
    if (!year || !month || !day || !hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 59)
        return std::nullopt;
    std::string_view rest = text.substr(19);
    if (!rest.empty() && rest.front() == '.') {
        const auto digits = rest.find_first_not_of("0123456789", 1);
        if (digits == 1)
            return std::nullopt;
        rest.remove_prefix(digits == std::string_view::npos ? rest.size() : digits);
    }
    if (rest == "Z" || rest == "z" || rest == "+00:00")
        rest = {};
    if (!rest.empty())
        return std::nullopt;
    const date::year_month_day ymd{date::year(*year), date::month(static_cast<unsigned>(*month)),
                                   date::day(static_cast<unsigned>(*day))};
    if (!ymd.ok())
        return std::nullopt;
    const std::int64_t days = date::sys_days(ymd).time_since_epoch().count();
    return days * 86400 + *hour * 3600 + *minute * 60 + *second;
}

std::int64_t energy_wh(const ChargingPeriod& period) {
    std::int64_t wh = 0;
    for (const auto& dimension : period.dimensions)
        if (dimension.type == "ENERGY")
            wh += scaled_decimal(dimension.volume, 3).value_or(0);
    return wh;
}

// ---- The CDR.

Result<Cdr> parse_cdr(std::string_view json) {
    auto tree = parse_tree(json);
    if (!tree)
        return tree.error();
    const Node& node = *tree;
    if (node.kind != Node::Kind::Object)
        return invalid("CDR", "not a JSON object");
    Cdr cdr;
    for (auto [field, key, max] :
         std::array<std::tuple<std::string*, std::string_view, std::size_t>, 4>{{{&cdr.country_code, "country_code", 2},
                                                                                 {&cdr.party_id, "party_id", 3},
                                                                                 {&cdr.id, "id", 39},
                                                                                 {&cdr.currency, "currency", 3}}}) {
        auto value = required_text(node, "", key, max);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    // Who sent it and its id name the CDR wherever it is kept: ISO 3166 letters, an alphanumeric party, printable
    // ASCII (OCPI's CiString).
    const auto all = [](const std::string& text, auto allowed) {
        return std::all_of(text.begin(), text.end(), allowed);
    };
    if (cdr.country_code.size() != 2 || !all(cdr.country_code, [](unsigned char c) { return std::isalpha(c) != 0; }))
        return invalid("country_code", "two letters (ISO 3166-1 alpha-2)");
    if (cdr.party_id.size() != 3 || !all(cdr.party_id, [](unsigned char c) { return std::isalnum(c) != 0; }))
        return invalid("party_id", "three letters or digits");
    if (!all(cdr.id, [](unsigned char c) { return c >= 0x20 && c < 0x7f; }))
        return invalid("id", "printable ASCII only");
    for (auto [field, key] : std::array<std::pair<std::int64_t*, std::string_view>, 3>{
             {{&cdr.start, "start_date_time"}, {&cdr.end, "end_date_time"}, {&cdr.last_updated, "last_updated"}}}) {
        auto value = date_time_member(node, "", key);
        if (!value)
            return value.error();
        *field = *value;
    }
    if (cdr.end < cdr.start)
        return invalid("end_date_time", "before start_date_time");
    for (auto [field, key, max] : std::array<std::tuple<std::optional<std::string>*, std::string_view, std::size_t>, 3>{
             {{&cdr.session_id, "session_id", 36},
              {&cdr.meter_id, "meter_id", 255},
              {&cdr.credit_reference_id, "credit_reference_id", 39}}}) {
        auto value = text_member(node, "", key, max, true);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    auto method = one_of(node, "", "auth_method", {"AUTH_REQUEST", "COMMAND", "WHITELIST"});
    if (!method)
        return method.error();
    cdr.auth_method = std::move(*method);
    auto token = read_token(node);
    if (!token)
        return token.error();
    cdr.token = std::move(*token);
    auto location = read_location(node);
    if (!location)
        return location.error();
    cdr.location = std::move(*location);
    auto periods = read_periods(node);
    if (!periods)
        return periods.error();
    cdr.charging_periods = std::move(*periods);
    const Node* total_cost = object_member(node, "total_cost");
    if (total_cost == nullptr)
        return invalid("total_cost", "missing or not an object");
    auto excl = scaled_member(*total_cost, "total_cost", "excl_vat", 5, "10^-5 currency units");
    if (!excl)
        return excl.error();
    cdr.total_cost_excl_vat = *excl;
    if (total_cost->member("incl_vat") != nullptr) {
        auto incl = scaled_member(*total_cost, "total_cost", "incl_vat", 5, "10^-5 currency units");
        if (!incl)
            return incl.error();
        cdr.total_cost_incl_vat = *incl;
    }
    auto energy = scaled_member(node, "", "total_energy", 3, "whole Wh");
    if (!energy)
        return energy.error();
    if (*energy < 0)
        return invalid("total_energy", "negative");
    cdr.total_energy_wh = *energy;
    auto time = decimal_text(node, "", "total_time");
    if (!time)
        return time.error();
    if (!scaled_decimal(*time, 6))
        return invalid("total_time", *time + " is not a decimal of at most 6 places");
    cdr.total_time = std::move(*time);
    if (const Node* credit = node.member("credit"); credit != nullptr) {
        if (credit->kind != Node::Kind::Boolean)
            return invalid("credit", "must be true or false");
        cdr.credit = credit->boolean;
    }
    if (cdr.credit && !cdr.credit_reference_id)
        return invalid("credit_reference_id", "a credit CDR names the CDR it reverses");
    const auto wrong_sign = [&](std::int64_t cost) { return cdr.credit ? cost > 0 : cost < 0; };
    for (auto [key, cost] : std::array<std::pair<const char*, std::optional<std::int64_t>>, 2>{
             {{"total_cost.excl_vat", cdr.total_cost_excl_vat}, {"total_cost.incl_vat", cdr.total_cost_incl_vat}}})
        if (cost && wrong_sign(*cost))
            return invalid(
                key, cdr.credit ? "a credit CDR's cost is not positive" : "negative, and the CDR is not a credit");
    // The periods' energy, where they give it, is the total's: a CDR that does not add up is not billed.
    std::int64_t periods_wh = 0;
    bool periods_have_energy = false;
    for (const auto& period : cdr.charging_periods)
        for (const auto& dimension : period.dimensions)
            if (dimension.type == "ENERGY") {
                periods_have_energy = true;
                if (__builtin_add_overflow(periods_wh, *scaled_decimal(dimension.volume, 3), &periods_wh))
                    return invalid("charging_periods", "their ENERGY adds up beyond any meter");
            }
    if (periods_have_energy && periods_wh != cdr.total_energy_wh)
        return invalid("charging_periods", "their ENERGY adds up to " + format_decimal(periods_wh, 3) +
                                               " kWh, total_energy is " + format_decimal(cdr.total_energy_wh, 3) +
                                               " kWh");
    return cdr;
}

std::string format_cdr(const Cdr& cdr) {
    const auto& t = cdr.token;
    const std::string token = object({{"country_code", json_string(t.country_code)},
                                      {"party_id", json_string(t.party_id)},
                                      {"uid", json_string(t.uid)},
                                      {"type", json_string(t.type)},
                                      {"contract_id", json_string(t.contract_id)}});
    const auto& l = cdr.location;
    Members location{{"id", json_string(l.id)}};
    add_optional(location, "name", l.name);
    location.emplace_back("address", json_string(l.address));
    location.emplace_back("city", json_string(l.city));
    add_optional(location, "postal_code", l.postal_code);
    add_optional(location, "state", l.state);
    location.emplace_back("country", json_string(l.country));
    location.emplace_back("coordinates",
                          object({{"latitude", json_string(l.latitude)}, {"longitude", json_string(l.longitude)}}));
    for (auto [key, value] : std::array<std::pair<std::string_view, const std::string*>, 6>{
             {{"evse_uid", &l.evse_uid},
              {"evse_id", &l.evse_id},
              {"connector_id", &l.connector_id},
              {"connector_standard", &l.connector_standard},
              {"connector_format", &l.connector_format},
              {"connector_power_type", &l.connector_power_type}}})
        location.emplace_back(key, json_string(*value));
    std::string periods = "[";
    for (const auto& period : cdr.charging_periods) {
        std::string dimensions = "[";
        for (const auto& dimension : period.dimensions) {
            if (dimensions.size() > 1)
                dimensions += ',';
            dimensions += object({{"type", json_string(dimension.type)}, {"volume", dimension.volume}});
        }
        dimensions += ']';
        Members members{{"start_date_time", json_string(format_date_time(period.start))}, {"dimensions", dimensions}};
        add_optional(members, "tariff_id", period.tariff_id);
        if (periods.size() > 1)
            periods += ',';
        periods += object(members);
    }
    periods += ']';
    Members cost{{"excl_vat", format_decimal(cdr.total_cost_excl_vat, 5)}};
    if (cdr.total_cost_incl_vat)
        cost.emplace_back("incl_vat", format_decimal(*cdr.total_cost_incl_vat, 5));
    Members members{{"country_code", json_string(cdr.country_code)},
                    {"party_id", json_string(cdr.party_id)},
                    {"id", json_string(cdr.id)},
                    {"start_date_time", json_string(format_date_time(cdr.start))},
                    {"end_date_time", json_string(format_date_time(cdr.end))}};
    add_optional(members, "session_id", cdr.session_id);
    members.emplace_back("cdr_token", token);
    members.emplace_back("auth_method", json_string(cdr.auth_method));
    members.emplace_back("cdr_location", object(location));
    add_optional(members, "meter_id", cdr.meter_id);
    members.emplace_back("currency", json_string(cdr.currency));
    members.emplace_back("charging_periods", periods);
    members.emplace_back("total_cost", object(cost));
    members.emplace_back("total_energy", format_decimal(cdr.total_energy_wh, 3));
    members.emplace_back("total_time", cdr.total_time);
    if (cdr.credit)
        members.emplace_back("credit", "true");
    add_optional(members, "credit_reference_id", cdr.credit_reference_id);
    members.emplace_back("last_updated", json_string(format_date_time(cdr.last_updated)));
    return object(members);
}

// ---- The envelope.

std::string envelope(int status_code, std::string_view message, std::int64_t now, std::string_view data_json) {
    Members members;
    if (!data_json.empty())
        members.emplace_back("data", std::string(data_json));
    members.emplace_back("status_code", std::to_string(status_code));
    if (!message.empty())
        members.emplace_back("status_message", json_string(message));
    members.emplace_back("timestamp", json_string(format_date_time(now)));
    return object(members);
}

Result<int> envelope_status(std::string_view json) {
    auto tree = parse_tree(json);
    if (!tree)
        return tree.error();
    const Node* status = tree->kind == Node::Kind::Object ? tree->member("status_code") : nullptr;
    if (status == nullptr || status->kind != Node::Kind::Number)
        return invalid("status_code", "missing or not a number");
    auto code = scaled_decimal(status->text, 0);
    if (!code || *code < 0 || *code > 9999)
        return invalid("status_code", status->text + " is not an OCPI status code");
    return static_cast<int>(*code);
}

std::string encode_token(const std::string& token) {
    std::string out(4 * ((token.size() + 2) / 3) + 1, '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(token.data()), static_cast<int>(token.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

}  // namespace billing::ocpi
