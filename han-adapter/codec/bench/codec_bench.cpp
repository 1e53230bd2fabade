// GET /tm encodes a Time per request; POST /edev decodes an EndDevice; hostile documents must be refused fast
// (issue 2: a DOCTYPE answers in well under 10 ms). Not a test: run by hand for the numbers.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "sep/codec.hpp"
#include "sep/encode.hpp"

namespace {

sep::Time sample_time() {
    sep::Time time;
    time.href = "/tm";
    time.poll_rate = 900;
    time.current_time = 1700000000;
    time.dst_end_time = 1699174800;
    time.dst_offset = 3600;
    time.dst_start_time = 1678615200;
    time.local_time = 1699971200;
    time.quality = 4;
    time.tz_offset = -28800;
    return time;
}

const std::string kEndDevice =
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/3\" subscribable=\"1\">"
    "<DeviceInformationLink href=\"/edev/3/di\"/><lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>"
    "<PowerStatusLink href=\"/edev/3/ps\"/><sFDI>167261211391</sFDI><changedTime>1700000000</changedTime>"
    "<enabled>true</enabled><FunctionSetAssignmentsListLink href=\"/edev/3/fsa\" all=\"1\"/>"
    "<RegistrationLink href=\"/edev/3/reg\"/></EndDevice>";

void BM_EncodeTime(benchmark::State& state) {
    const sep::Time time = sample_time();
    for (auto _ : state)
        benchmark::DoNotOptimize(sep::encode(time));
}
BENCHMARK(BM_EncodeTime);

void BM_DecodeEndDevice(benchmark::State& state) {
    auto loaded = sep::Codec::load(HEADEND_SCHEMA_DIR);
    if (!loaded.ok()) {
        state.SkipWithError(loaded.error().message.c_str());
        return;
    }
    const std::shared_ptr<const sep::Codec> codec = std::move(loaded).value();
    for (auto _ : state) {
        auto decoded = codec->decode<sep::EndDevice>(kEndDevice);
        if (!decoded.ok())
            state.SkipWithError(decoded.error().message.c_str());
        benchmark::DoNotOptimize(decoded);
    }
}
BENCHMARK(BM_DecodeEndDevice);

// Ten levels of ten-fold expansion: 10^10 "lol"s if anything expanded it.
std::string billion_laughs() {
    std::string doc = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol0 \"lol\">";
    for (int level = 1; level <= 10; ++level) {
        doc += "<!ENTITY lol" + std::to_string(level) + " \"";
        for (int i = 0; i < 10; ++i)
            doc += "&lol" + std::to_string(level - 1) + ";";
        doc += "\">";
    }
    return doc + "]><EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&lol10;</sFDI></EndDevice>";
}

void BM_RefuseBillionLaughs(benchmark::State& state) {
    auto loaded = sep::Codec::load(HEADEND_SCHEMA_DIR);
    if (!loaded.ok()) {
        state.SkipWithError(loaded.error().message.c_str());
        return;
    }
    const std::shared_ptr<const sep::Codec> codec = std::move(loaded).value();
    const std::string doc = billion_laughs();
    for (auto _ : state) {
        auto decoded = codec->decode<sep::EndDevice>(doc);
        if (decoded.ok())
            state.SkipWithError("a billion laughs document was accepted");
        benchmark::DoNotOptimize(decoded);
    }
}
BENCHMARK(BM_RefuseBillionLaughs)->Unit(benchmark::kMicrosecond);

}  // namespace
