// Hardened decoding of SEP XML from devices: size cap, no DOCTYPE/DTD/entities, no file or network access,
// depth cap, then validation against schemas/ (compiled once) before anything is read.
//
// Error codes: xml.too_large, xml.doctype, xml.too_deep, xml.malformed, xml.unexpected_root, xml.schema, and
// xml.internal when libxml2 cannot allocate; codec.schema_load and codec.limits from Codec::load. Messages name the
// line and element a device developer has to fix.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "headend/plugin/result.hpp"
#include "sep/types.hpp"

namespace sep {

struct CodecLimits {
    std::size_t max_document_bytes = 65536;
    int max_depth = 32;  // element nesting, the root counting as 1
};

template <typename T>
concept Decodable = std::same_as<T, DeviceCapability> || std::same_as<T, Time> || std::same_as<T, EndDevice> ||
    std::same_as<T, EndDeviceList> || std::same_as<T, Registration> || std::same_as<T, FunctionSetAssignmentsList> ||
    std::same_as<T, FunctionSetAssignments> || std::same_as<T, DeviceInformation> || std::same_as<T, Response> ||
    std::same_as<T, Error> || std::same_as<T, PowerStatus> || std::same_as<T, PEVBinding> ||
    std::same_as<T, ReadingType> || std::same_as<T, TariffProfileList> || std::same_as<T, TariffProfile> ||
    std::same_as<T, RateComponentList> || std::same_as<T, RateComponent> || std::same_as<T, TimeTariffIntervalList> ||
    std::same_as<T, TimeTariffInterval> || std::same_as<T, ConsumptionTariffIntervalList> ||
    std::same_as<T, ConsumptionTariffInterval> || std::same_as<T, MirrorUsagePointList> ||
    std::same_as<T, MirrorUsagePoint> || std::same_as<T, MirrorMeterReadingList> ||
    std::same_as<T, MirrorMeterReading> || std::same_as<T, MirrorReadingSet> || std::same_as<T, Reading> ||
    std::same_as<T, UsagePointList> || std::same_as<T, UsagePoint> || std::same_as<T, MeterReadingList> ||
    std::same_as<T, MeterReading> || std::same_as<T, ReadingSetList> || std::same_as<T, ReadingSet> ||
    std::same_as<T, ReadingList> || std::same_as<T, CustomerAccountList> || std::same_as<T, CustomerAccount> ||
    std::same_as<T, CustomerAgreementList> || std::same_as<T, CustomerAgreement> ||
    std::same_as<T, BillingPeriodList> || std::same_as<T, BillingPeriod> || std::same_as<T, HistoricalReadingList> ||
    std::same_as<T, HistoricalReading>;

// Immutable after load and safe to share between threads: every call uses its own parser and validation context.
class Codec {
public:
    // Compiles <schema_dir>/pev-ext.xsd, which imports <schema_dir>/sep.xsd; the only files libxml2 may ever open.
    static headend::Result<std::shared_ptr<const Codec>> load(const std::filesystem::path& schema_dir,
                                                              CodecLimits limits = {});

    ~Codec();
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    // Any 2030.5 or extension resource, whatever its root.
    headend::Result<void> validate(std::string_view xml) const;

    // The document's root must be T's element in T's namespace.
    template <Decodable T>
    headend::Result<T> decode(std::string_view xml) const;

    const CodecLimits& limits() const { return limits_; }

    // How many times libxml2 asked to open an external resource (DTD, entity, schema) outside Codec::load and was
    // refused. Documents never get that far, so this stays 0 unless something bypasses the checks.
    static std::uint64_t refused_external_loads();

private:
    struct Schema;
    Codec(std::unique_ptr<Schema> schema, CodecLimits limits);

    std::unique_ptr<Schema> schema_;
    CodecLimits limits_;
};

}  // namespace sep
