#include "sep/encode.hpp"

#include "schema.hpp"
#include "xml_writer.hpp"

namespace sep {
namespace {

using detail::describe;
using detail::XmlWriter;

// Roughly the size of a typical document, so the hot paths append without reallocating.
constexpr std::size_t kDocumentCapacity = 1024;

// Writes a description: attributes into the open start tag, then, from the first element on, the content.
class Writer {
public:
    explicit Writer(XmlWriter& w) : w_(w) {}

    void uri(std::string_view name, const std::optional<std::string>& value) { w_.attribute(name, value); }
    template <typename T>
    void attribute(std::string_view name, const T& value) {
        w_.attribute(name, value);
    }
    // HexBinary8: two hex digits, as bitmap_element writes them.
    void bits_attribute(std::string_view name, const std::optional<std::uint8_t>& bits) {
        if (!bits)
            return;
        static constexpr char kDigits[] = "0123456789ABCDEF";
        const char text[] = {kDigits[*bits >> 4], kDigits[*bits & 0xFu]};
        w_.attribute(name, std::string_view(text, sizeof text));
    }

    template <typename T>
    void element(std::string_view name, const T& value) {
        open_content();
        write(name, value);
    }
    void hex(std::string_view name, const std::string& text) {
        open_content();
        w_.hex_element(name, text);
    }
    void hex(std::string_view name, const std::optional<std::string>& text) {
        open_content();
        w_.hex_element(name, text);
    }
    template <std::unsigned_integral T>
    void bits(std::string_view name, T value, int digits) {
        open_content();
        w_.bitmap_element(name, value, digits);
    }
    template <std::unsigned_integral T>
    void bits(std::string_view name, const std::optional<T>& value, int digits) {
        open_content();
        if (value)
            w_.bitmap_element(name, *value, digits);
    }
    void bytes(std::string_view name, const std::optional<std::vector<std::uint8_t>>& value) {
        open_content();
        if (value)
            w_.bytes_element(name, *value);
    }
    void skip(std::string_view) {}

    // Ends the element the description was written into.
    void close(std::string_view name) {
        open_content();
        w_.end_tag(name);
    }

private:
    void open_content() {
        if (!content_) {
            w_.end_start_tag();
            content_ = true;
        }
    }

    template <detail::Integer T>
    void write(std::string_view name, T value) {
        w_.element(name, value);
    }
    void write(std::string_view name, bool value) { w_.element(name, value); }
    void write(std::string_view name, const std::string& text) { w_.element(name, text); }
    void write(std::string_view name, BindingStatus status) { w_.element(name, to_string(status)); }
    void write(std::string_view name, const Link& link) { w_.link(name, link); }
    void write(std::string_view name, const ListLink& link) { w_.link(name, link); }
    template <detail::Described T>
    void write(std::string_view name, const T& value) {
        w_.start_tag(name);
        Writer nested(w_);
        describe(nested, value);
        nested.close(name);
    }
    template <typename T>
    void write(std::string_view name, const std::optional<T>& value) {
        if (value)
            write(name, *value);
    }
    template <typename T>
    void write(std::string_view name, const std::vector<T>& entries) {
        for (const auto& entry : entries)
            write(name, entry);
    }

    XmlWriter& w_;
    bool content_ = false;
};

template <Decodable T>
std::string encode_document(const T& value, std::size_t entries = 0) {
    constexpr detail::ExpectedRoot root = detail::kRootOf<T>;
    XmlWriter w(kDocumentCapacity * (1 + entries));
    w.start_tag(root.name);
    w.attribute("xmlns", root.ns);
    if (root.ns == kExtNamespace)
        w.attribute("xmlns:sep", kSepNamespace);
    Writer writer(w);
    describe(writer, value);
    writer.close(root.name);
    return w.take();
}

}  // namespace

std::string encode(const DeviceCapability& v) {
    return encode_document(v);
}
std::string encode(const Time& v) {
    return encode_document(v);
}
std::string encode(const EndDevice& v) {
    return encode_document(v);
}
std::string encode(const EndDeviceList& v) {
    return encode_document(v, v.end_devices.size());
}
std::string encode(const Registration& v) {
    return encode_document(v);
}
std::string encode(const FunctionSetAssignmentsList& v) {
    return encode_document(v, v.function_set_assignments.size());
}
std::string encode(const FunctionSetAssignments& v) {
    return encode_document(v);
}
std::string encode(const DeviceInformation& v) {
    return encode_document(v);
}
std::string encode(const Response& v) {
    return encode_document(v);
}
std::string encode(const Error& v) {
    return encode_document(v);
}
std::string encode(const PowerStatus& v) {
    return encode_document(v);
}
std::string encode(const PEVBinding& v) {
    return encode_document(v);
}
std::string encode(const ReadingType& v) {
    return encode_document(v);
}
std::string encode(const TariffProfileList& v) {
    return encode_document(v, v.tariff_profiles.size());
}
std::string encode(const TariffProfile& v) {
    return encode_document(v);
}
std::string encode(const RateComponentList& v) {
    return encode_document(v, v.rate_components.size());
}
std::string encode(const RateComponent& v) {
    return encode_document(v);
}
std::string encode(const TimeTariffIntervalList& v) {
    return encode_document(v, v.time_tariff_intervals.size());
}
std::string encode(const TimeTariffInterval& v) {
    return encode_document(v);
}
std::string encode(const ConsumptionTariffIntervalList& v) {
    return encode_document(v, v.consumption_tariff_intervals.size());
}
std::string encode(const ConsumptionTariffInterval& v) {
    return encode_document(v);
}

std::string encode(const MirrorUsagePointList& v) {
    return encode_document(v, v.mirror_usage_points.size());
}
std::string encode(const MirrorUsagePoint& v) {
    return encode_document(v, v.mirror_meter_readings.size());
}
std::string encode(const MirrorMeterReadingList& v) {
    return encode_document(v, v.mirror_meter_readings.size());
}
std::string encode(const MirrorMeterReading& v) {
    return encode_document(v, v.mirror_reading_sets.size());
}
std::string encode(const MirrorReadingSet& v) {
    return encode_document(v, v.readings.size());
}
std::string encode(const Reading& v) {
    return encode_document(v);
}
std::string encode(const UsagePointList& v) {
    return encode_document(v, v.usage_points.size());
}
std::string encode(const UsagePoint& v) {
    return encode_document(v);
}
std::string encode(const MeterReadingList& v) {
    return encode_document(v, v.meter_readings.size());
}
std::string encode(const MeterReading& v) {
    return encode_document(v);
}
std::string encode(const ReadingSetList& v) {
    return encode_document(v, v.reading_sets.size());
}
std::string encode(const ReadingSet& v) {
    return encode_document(v);
}
std::string encode(const ReadingList& v) {
    return encode_document(v, v.readings.size());
}

std::string encode(const CustomerAccountList& v) {
    return encode_document(v, v.customer_accounts.size());
}
std::string encode(const CustomerAccount& v) {
    return encode_document(v);
}
std::string encode(const CustomerAgreementList& v) {
    return encode_document(v, v.customer_agreements.size());
}
std::string encode(const CustomerAgreement& v) {
    return encode_document(v);
}
std::string encode(const BillingPeriodList& v) {
    return encode_document(v, v.billing_periods.size());
}
std::string encode(const BillingPeriod& v) {
    return encode_document(v);
}
std::string encode(const HistoricalReadingList& v) {
    return encode_document(v, v.historical_readings.size());
}
std::string encode(const HistoricalReading& v) {
    return encode_document(v);
}

}  // namespace sep
