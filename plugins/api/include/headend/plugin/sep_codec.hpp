// SEP XML for plugins: encode any resource of sep/types.hpp, and decode a device's document with the host's
// hardening and schema validation (DESIGN §4). Plugins never see the XML library.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "headend/plugin/result.hpp"
#include "sep/types.hpp"

namespace headend::plugin {

using SepDocument =
    std::variant<sep::DeviceCapability, sep::Time, sep::EndDevice, sep::EndDeviceList, sep::Registration,
                 sep::DeviceInformation, sep::Response, sep::Error, sep::PowerStatus, sep::PEVBinding, sep::ReadingType,
                 sep::TariffProfileList, sep::TariffProfile, sep::RateComponentList, sep::RateComponent,
                 sep::TimeTariffIntervalList, sep::TimeTariffInterval, sep::ConsumptionTariffIntervalList,
                 sep::ConsumptionTariffInterval, sep::MirrorUsagePointList, sep::MirrorUsagePoint,
                 sep::MirrorMeterReadingList, sep::MirrorMeterReading, sep::MirrorReadingSet, sep::Reading,
                 sep::UsagePointList, sep::UsagePoint, sep::MeterReadingList, sep::MeterReading, sep::ReadingSetList,
                 sep::ReadingSet, sep::ReadingList, sep::FunctionSetAssignmentsList, sep::FunctionSetAssignments,
                 sep::CustomerAccountList, sep::CustomerAccount, sep::CustomerAgreementList, sep::CustomerAgreement,
                 sep::BillingPeriodList, sep::BillingPeriod, sep::HistoricalReadingList, sep::HistoricalReading>;

// Immutable and safe to use from any thread.
class SepCodec {
public:
    virtual ~SepCodec() = default;

    // Exact 2030.5 element order, root namespace declared; schema-valid when the values respect sep/types.hpp.
    virtual std::string encode(const SepDocument& document) const = 0;

    // The document's root must be T's element. Errors: xml.too_large, xml.doctype, xml.too_deep, xml.malformed,
    // xml.unexpected_root, xml.schema, each with a message naming the line and element.
    template <typename T>
    Result<T> decode(std::string_view xml) const {
        auto document = decode_as(xml, SepDocument(std::in_place_type<T>).index());
        if (!document)
            return document.error();
        return std::get<T>(std::move(*document));
    }

protected:
    // Decodes a document whose root must be that of SepDocument's alternative `index`.
    virtual Result<SepDocument> decode_as(std::string_view xml, std::size_t index) const = 0;
};

}  // namespace headend::plugin
