// Rating 10 million intervals (issue 11: goal ≥ 2 million intervals/s on one core): a month of quarter hours for
// 3,472 channels on EV-TOU, each channel rated as the bill cycle rates it (one Rater prepared for the month). Beside
// it in the same run: the floor (the same intervals priced at one flat price, a multiply-add over memory) and the
// naive way (a time-zone lookup per interval with Calendar::rate_at, on fewer intervals).
//   build/plugins/billing/billing-rating-bench
#include <benchmark/benchmark.h>
#include <date/date.h>
#include <date/tz.h>

#include <stdexcept>

#include "billing/rating.hpp"

namespace {

constexpr std::int64_t kQuarter = 900;
constexpr std::int64_t kChannels = 3472;
constexpr std::int64_t kJuly2026 = 1'782'889'200;  // 2026-07-01 00:00 America/Los_Angeles (PDT, UTC-7)
constexpr std::int64_t kMonth = 31 * 86400;
constexpr std::int64_t kPerChannel = kMonth / kQuarter;  // 2976: 10.3 million intervals in all

struct Fixture {
    tariff::Versions versions;
    const tariff::Calendar* calendar = nullptr;
    const tariff::Program* ev = nullptr;
    std::vector<billing::Interval> channel;  // one channel's month; every channel the same shape

    Fixture() {
        auto loaded = tariff::load_catalog(PROGRAMS_FILE);
        if (!loaded)
            throw std::runtime_error(loaded.error().message);
        versions = tariff::Versions({std::make_shared<const tariff::Version>(1, std::move(*loaded))});
        calendar = &versions[0].calendar();
        ev = versions[0].catalog().find("EV-TOU");
        for (std::int64_t i = 0; i < kPerChannel; ++i)
            channel.push_back({kJuly2026 + i * kQuarter, 100 + (i * 37) % 1700});
    }
};

Fixture& fixture() {
    static Fixture instance;
    return instance;
}

void BM_RateMonthOfChannels(benchmark::State& state) {
    auto& f = fixture();
    const billing::Rater rater(f.versions, "EV-TOU", kJuly2026, kJuly2026 + kMonth);
    std::vector<billing::RatedInterval> rated;
    rated.reserve(kPerChannel);
    std::int64_t checksum = 0;
    for (auto _ : state) {
        for (std::int64_t c = 0; c < kChannels; ++c) {
            rated.clear();
            if (!rater.rate(f.channel, rated))
                state.SkipWithError("refused");
            checksum += rated.back().cost;
        }
    }
    benchmark::DoNotOptimize(checksum);
    state.SetItemsProcessed(state.iterations() * kChannels * kPerChannel);
}
BENCHMARK(BM_RateMonthOfChannels)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_FlatPriceFloor(benchmark::State& state) {
    auto& f = fixture();
    std::vector<billing::RatedInterval> rated;
    rated.reserve(kPerChannel);
    std::int64_t checksum = 0;
    for (auto _ : state) {
        for (std::int64_t c = 0; c < kChannels; ++c) {
            rated.clear();
            for (const auto& interval : f.channel)
                rated.push_back(
                    {interval.start, interval.wh, billing::interval_cost(interval.wh, 32000), 0, nullptr, nullptr});
            checksum += rated.back().cost;
        }
    }
    benchmark::DoNotOptimize(checksum);
    state.SetItemsProcessed(state.iterations() * kChannels * kPerChannel);
}
BENCHMARK(BM_FlatPriceFloor)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_TimeZoneLookupPerInterval(benchmark::State& state) {
    auto& f = fixture();
    std::int64_t checksum = 0;
    for (auto _ : state) {
        for (const auto& interval : f.channel)
            checksum += billing::interval_cost(interval.wh, f.calendar->rate_at(*f.ev, interval.start).period->price);
    }
    benchmark::DoNotOptimize(checksum);
    state.SetItemsProcessed(state.iterations() * kPerChannel);
}
BENCHMARK(BM_TimeZoneLookupPerInterval)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
