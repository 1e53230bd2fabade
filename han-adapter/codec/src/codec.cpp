#include "sep/codec.hpp"

#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <climits>
#include <string>
#include <system_error>
#include <vector>

#include "document.hpp"
#include "libxml_env.hpp"
#include "reader.hpp"

namespace sep {
namespace {

void remember_first(void* ctx, xmlErrorPtr error) noexcept {
    auto& first = *static_cast<std::string*>(ctx);
    if (!first.empty() || error == nullptr || error->message == nullptr)
        return;
    try {
        first = error->message;
        while (!first.empty() && first.back() == '\n')
            first.pop_back();
        if (error->file != nullptr)
            first += " (" + std::string(error->file) + ":" + std::to_string(error->line) + ")";
    } catch (...) {  // out of memory while formatting
    }
}

// Routes this thread's libxml2 errors into `sink` while schemas compile (imported files are parsed without the
// schema parser's own error hooks), restoring the previous handler afterwards.
class ThreadErrorRedirect {
public:
    explicit ThreadErrorRedirect(std::string* sink)
        : previous_(xmlStructuredError), previous_context_(xmlStructuredErrorContext) {
        xmlSetStructuredErrorFunc(sink, remember_first);
    }
    ~ThreadErrorRedirect() { xmlSetStructuredErrorFunc(previous_context_, previous_); }
    ThreadErrorRedirect(const ThreadErrorRedirect&) = delete;
    ThreadErrorRedirect& operator=(const ThreadErrorRedirect&) = delete;

private:
    xmlStructuredErrorFunc previous_;
    void* previous_context_;
};

headend::Error load_error(std::string message) {
    return headend::make_error("codec.schema_load", std::move(message));
}

}  // namespace

struct Codec::Schema {
    explicit Schema(xmlSchemaPtr compiled) : ptr(compiled) {}
    ~Schema() { xmlSchemaFree(ptr); }
    Schema(const Schema&) = delete;
    Schema& operator=(const Schema&) = delete;

    xmlSchemaPtr ptr;
};

Codec::Codec(std::unique_ptr<Schema> schema, CodecLimits limits) : schema_(std::move(schema)), limits_(limits) {}

Codec::~Codec() = default;

headend::Result<std::shared_ptr<const Codec>> Codec::load(const std::filesystem::path& schema_dir, CodecLimits limits) {
    if (limits.max_document_bytes == 0 || limits.max_document_bytes > INT_MAX || limits.max_depth < 1) {
        return headend::make_error(
            "codec.limits", "max_document_bytes must be 1.." + std::to_string(INT_MAX) + " and max_depth at least 1");
    }
    detail::ensure_libxml_ready();

    std::error_code ec;
    const auto dir = std::filesystem::weakly_canonical(std::filesystem::absolute(schema_dir, ec), ec);
    if (ec)
        return load_error("cannot resolve schema folder " + schema_dir.string() + ": " + ec.message());
    const std::vector<std::filesystem::path> files{dir / "pev-ext.xsd", dir / "sep.xsd"};
    for (const auto& file : files) {
        if (!std::filesystem::is_regular_file(file, ec))
            return load_error("schema file missing: " + file.string());
    }

    std::string first_error;
    xmlSchemaPtr compiled = nullptr;
    {
        const detail::SchemaFileAllowance allowance(files);
        const ThreadErrorRedirect redirect(&first_error);
        xmlSchemaParserCtxtPtr parser = xmlSchemaNewParserCtxt(files.front().c_str());
        if (parser == nullptr)
            return load_error("cannot create a schema parser");
        xmlSchemaSetParserStructuredErrors(parser, remember_first, &first_error);
        compiled = xmlSchemaParse(parser);
        xmlSchemaFreeParserCtxt(parser);
    }
    if (compiled == nullptr) {
        return load_error("cannot compile " + files.front().string() + ": " +
                          (first_error.empty() ? std::string("unknown error") : first_error));
    }
    return std::shared_ptr<const Codec>(new Codec(std::make_unique<Schema>(compiled), limits));
}

headend::Result<void> Codec::validate(std::string_view xml) const {
    auto doc = detail::parse_and_validate(xml, limits_, schema_->ptr, nullptr);
    if (!doc.ok())
        return doc.error();
    return {};
}

template <Decodable T>
headend::Result<T> Codec::decode(std::string_view xml) const {
    auto doc = detail::parse_and_validate(xml, limits_, schema_->ptr, &detail::kRootOf<T>);
    if (!doc.ok())
        return doc.error();
    return detail::read_document<T>(xmlDocGetRootElement(doc->get()));
}

std::uint64_t Codec::refused_external_loads() {
    return detail::refused_external_loads();
}

template headend::Result<DeviceCapability> Codec::decode<DeviceCapability>(std::string_view) const;
template headend::Result<Time> Codec::decode<Time>(std::string_view) const;
template headend::Result<EndDevice> Codec::decode<EndDevice>(std::string_view) const;
template headend::Result<EndDeviceList> Codec::decode<EndDeviceList>(std::string_view) const;
template headend::Result<Registration> Codec::decode<Registration>(std::string_view) const;
template headend::Result<FunctionSetAssignmentsList> Codec::decode<FunctionSetAssignmentsList>(std::string_view) const;
template headend::Result<FunctionSetAssignments> Codec::decode<FunctionSetAssignments>(std::string_view) const;
template headend::Result<DeviceInformation> Codec::decode<DeviceInformation>(std::string_view) const;
template headend::Result<Response> Codec::decode<Response>(std::string_view) const;
template headend::Result<Error> Codec::decode<Error>(std::string_view) const;
template headend::Result<PowerStatus> Codec::decode<PowerStatus>(std::string_view) const;
template headend::Result<PEVBinding> Codec::decode<PEVBinding>(std::string_view) const;
template headend::Result<ReadingType> Codec::decode<ReadingType>(std::string_view) const;
template headend::Result<TariffProfileList> Codec::decode<TariffProfileList>(std::string_view) const;
template headend::Result<TariffProfile> Codec::decode<TariffProfile>(std::string_view) const;
template headend::Result<RateComponentList> Codec::decode<RateComponentList>(std::string_view) const;
template headend::Result<RateComponent> Codec::decode<RateComponent>(std::string_view) const;
template headend::Result<TimeTariffIntervalList> Codec::decode<TimeTariffIntervalList>(std::string_view) const;
template headend::Result<TimeTariffInterval> Codec::decode<TimeTariffInterval>(std::string_view) const;
template headend::Result<ConsumptionTariffIntervalList> Codec::decode<ConsumptionTariffIntervalList>(
    std::string_view) const;
template headend::Result<ConsumptionTariffInterval> Codec::decode<ConsumptionTariffInterval>(std::string_view) const;
template headend::Result<MirrorUsagePointList> Codec::decode<MirrorUsagePointList>(std::string_view) const;
template headend::Result<MirrorUsagePoint> Codec::decode<MirrorUsagePoint>(std::string_view) const;
template headend::Result<MirrorMeterReadingList> Codec::decode<MirrorMeterReadingList>(std::string_view) const;
template headend::Result<MirrorMeterReading> Codec::decode<MirrorMeterReading>(std::string_view) const;
template headend::Result<MirrorReadingSet> Codec::decode<MirrorReadingSet>(std::string_view) const;
template headend::Result<Reading> Codec::decode<Reading>(std::string_view) const;
template headend::Result<UsagePointList> Codec::decode<UsagePointList>(std::string_view) const;
template headend::Result<UsagePoint> Codec::decode<UsagePoint>(std::string_view) const;
template headend::Result<MeterReadingList> Codec::decode<MeterReadingList>(std::string_view) const;
template headend::Result<MeterReading> Codec::decode<MeterReading>(std::string_view) const;
template headend::Result<ReadingSetList> Codec::decode<ReadingSetList>(std::string_view) const;
template headend::Result<ReadingSet> Codec::decode<ReadingSet>(std::string_view) const;
template headend::Result<ReadingList> Codec::decode<ReadingList>(std::string_view) const;
template headend::Result<CustomerAccountList> Codec::decode<CustomerAccountList>(std::string_view) const;
template headend::Result<CustomerAccount> Codec::decode<CustomerAccount>(std::string_view) const;
template headend::Result<CustomerAgreementList> Codec::decode<CustomerAgreementList>(std::string_view) const;
template headend::Result<CustomerAgreement> Codec::decode<CustomerAgreement>(std::string_view) const;
template headend::Result<BillingPeriodList> Codec::decode<BillingPeriodList>(std::string_view) const;
template headend::Result<BillingPeriod> Codec::decode<BillingPeriod>(std::string_view) const;
template headend::Result<HistoricalReadingList> Codec::decode<HistoricalReadingList>(std::string_view) const;
template headend::Result<HistoricalReading> Codec::decode<HistoricalReading>(std::string_view) const;

}  // namespace sep
