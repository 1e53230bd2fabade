#include "reader.hpp"

#include "schema.hpp"

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
void read_value(const xmlNode* node, Problems& problems, BindingStatus& out) {
    const auto parsed = parse_binding_status(text_of(node));
    if (parsed) {
        out = *parsed;
    } else {
        problems.add(node, "not a binding status");
    }
}
void read_value(const xmlNode* node, Problems& problems, Link& out);
void read_value(const xmlNode* node, Problems& problems, ListLink& out);
template <Described T>
void read_value(const xmlNode* node, Problems& problems, T& out);

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

// Reads a description: attributes from the element, elements in order through Fields.
class Reader {
public:
    Reader(const xmlNode* node, Problems& problems) : node_(node), problems_(problems), fields_(node, problems) {}

    void uri(const char* name, std::optional<std::string>& out) { out = uri_attribute(node_, name); }
    template <typename T>
    void attribute(const char* name, T& out) {
        integer_attribute(node_, name, out, problems_);
    }
    void bits_attribute(const char* name, std::optional<std::uint8_t>& out) {
        sep::detail::bits_attribute(node_, name, out, problems_);
    }

    template <typename T>
    void element(std::string_view name, T& out) {
        fields_.get(local(name), out);
    }
    template <typename T>
    void element(std::string_view name, std::vector<T>& entries) {
        while (const xmlNode* entry = fields_.take(local(name)))
            read_value(entry, problems_, entries.emplace_back());
    }
    template <typename T>
    void hex(std::string_view name, T& out) {
        fields_.hex(name, out);
    }
    template <typename T>
    void bits(std::string_view name, T& out, int /*digits*/) {
        fields_.bits(name, out);
    }
    void bytes(std::string_view name, std::optional<std::vector<std::uint8_t>>& out) { fields_.bytes(name, out); }
    void skip(std::string_view name) { fields_.skip(name); }

private:
    // "sep:TariffProfileLink" in an extension document is element TariffProfileLink of the 2030.5 namespace.
    static std::string_view local(std::string_view name) {
        const auto colon = name.find(':');
        return colon == std::string_view::npos ? name : name.substr(colon + 1);
    }

    const xmlNode* node_;
    Problems& problems_;
    Fields fields_;
};

template <Described T>
void read_value(const xmlNode* node, Problems& problems, T& out) {
    Reader reader(node, problems);
    describe(reader, out);
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
template headend::Result<FunctionSetAssignmentsList> read_document<FunctionSetAssignmentsList>(const xmlNode*);
template headend::Result<FunctionSetAssignments> read_document<FunctionSetAssignments>(const xmlNode*);
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
template headend::Result<MirrorUsagePointList> read_document<MirrorUsagePointList>(const xmlNode*);
template headend::Result<MirrorUsagePoint> read_document<MirrorUsagePoint>(const xmlNode*);
template headend::Result<MirrorMeterReadingList> read_document<MirrorMeterReadingList>(const xmlNode*);
template headend::Result<MirrorMeterReading> read_document<MirrorMeterReading>(const xmlNode*);
template headend::Result<MirrorReadingSet> read_document<MirrorReadingSet>(const xmlNode*);
template headend::Result<Reading> read_document<Reading>(const xmlNode*);
template headend::Result<UsagePointList> read_document<UsagePointList>(const xmlNode*);
template headend::Result<UsagePoint> read_document<UsagePoint>(const xmlNode*);
template headend::Result<MeterReadingList> read_document<MeterReadingList>(const xmlNode*);
template headend::Result<MeterReading> read_document<MeterReading>(const xmlNode*);
template headend::Result<ReadingSetList> read_document<ReadingSetList>(const xmlNode*);
template headend::Result<ReadingSet> read_document<ReadingSet>(const xmlNode*);
template headend::Result<ReadingList> read_document<ReadingList>(const xmlNode*);
template headend::Result<CustomerAccountList> read_document<CustomerAccountList>(const xmlNode*);
template headend::Result<CustomerAccount> read_document<CustomerAccount>(const xmlNode*);
template headend::Result<CustomerAgreementList> read_document<CustomerAgreementList>(const xmlNode*);
template headend::Result<CustomerAgreement> read_document<CustomerAgreement>(const xmlNode*);
template headend::Result<BillingPeriodList> read_document<BillingPeriodList>(const xmlNode*);
template headend::Result<BillingPeriod> read_document<BillingPeriod>(const xmlNode*);
template headend::Result<HistoricalReadingList> read_document<HistoricalReadingList>(const xmlNode*);
template headend::Result<HistoricalReading> read_document<HistoricalReading>(const xmlNode*);

}  // namespace sep::detail
