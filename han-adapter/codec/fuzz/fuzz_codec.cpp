// libFuzzer harness for the SEP XML decoder. Besides "no crash, no leak", it checks a round-trip property: whatever
// decodes must re-encode to a document that validates and decodes to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "sep/codec.hpp"
#include "sep/encode.hpp"

namespace {

const sep::Codec& codec() {
    static const std::shared_ptr<const sep::Codec> instance = [] {
        auto loaded = sep::Codec::load(HEADEND_SCHEMA_DIR);
        if (!loaded.ok()) {
            std::fprintf(stderr, "fuzz_codec: %s\n", loaded.error().message.c_str());
            std::abort();
        }
        return std::move(loaded).value();
    }();
    return *instance;
}

template <sep::Decodable T>
void decode_and_round_trip(std::string_view xml) {
    const auto decoded = codec().decode<T>(xml);
    if (!decoded.ok())
        return;
    const std::string again = sep::encode(*decoded);
    const auto redecoded = codec().decode<T>(again);
    if (!redecoded.ok() || !(*redecoded == *decoded)) {
        std::fprintf(stderr, "round trip broke:\n%s\n", again.c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view xml(reinterpret_cast<const char*>(data), size);
    (void)codec().validate(xml);
    decode_and_round_trip<sep::EndDevice>(xml);
    decode_and_round_trip<sep::EndDeviceList>(xml);
    decode_and_round_trip<sep::DeviceInformation>(xml);
    decode_and_round_trip<sep::PowerStatus>(xml);
    decode_and_round_trip<sep::Response>(xml);
    decode_and_round_trip<sep::Registration>(xml);
    decode_and_round_trip<sep::FunctionSetAssignmentsList>(xml);
    decode_and_round_trip<sep::FunctionSetAssignments>(xml);
    decode_and_round_trip<sep::Time>(xml);
    decode_and_round_trip<sep::DeviceCapability>(xml);
    decode_and_round_trip<sep::Error>(xml);
    decode_and_round_trip<sep::PEVBinding>(xml);
    decode_and_round_trip<sep::ReadingType>(xml);
    decode_and_round_trip<sep::TariffProfileList>(xml);
    decode_and_round_trip<sep::TariffProfile>(xml);
    decode_and_round_trip<sep::RateComponentList>(xml);
    decode_and_round_trip<sep::RateComponent>(xml);
    decode_and_round_trip<sep::TimeTariffIntervalList>(xml);
    decode_and_round_trip<sep::TimeTariffInterval>(xml);
    decode_and_round_trip<sep::ConsumptionTariffIntervalList>(xml);
    decode_and_round_trip<sep::ConsumptionTariffInterval>(xml);
    decode_and_round_trip<sep::MirrorUsagePointList>(xml);
    decode_and_round_trip<sep::MirrorUsagePoint>(xml);
    decode_and_round_trip<sep::MirrorMeterReadingList>(xml);
    decode_and_round_trip<sep::MirrorMeterReading>(xml);
    decode_and_round_trip<sep::MirrorReadingSet>(xml);
    decode_and_round_trip<sep::Reading>(xml);
    decode_and_round_trip<sep::UsagePointList>(xml);
    decode_and_round_trip<sep::UsagePoint>(xml);
    decode_and_round_trip<sep::MeterReadingList>(xml);
    decode_and_round_trip<sep::MeterReading>(xml);
    decode_and_round_trip<sep::ReadingSetList>(xml);
    decode_and_round_trip<sep::ReadingSet>(xml);
    decode_and_round_trip<sep::ReadingList>(xml);
    return 0;
}
