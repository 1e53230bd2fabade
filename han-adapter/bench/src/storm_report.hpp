// One phase of the binding storm as measured, and its report: figures per binding count only the bindings that
// succeeded, so failures cannot make the head-end look cheaper or faster.
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>

namespace bench {

struct PhaseResult {
    double seconds = 0;
    double server_cpu_seconds = 0;
    double emulator_cpu_seconds = 0;
    std::size_t exchanges = 0;
    std::chrono::nanoseconds pev_handshake_time{0};
    std::size_t attempts = 0;  // PEVs that tried to bind
    std::size_t failures = 0;  // of those, the ones whose binding failed at some step
};

nlohmann::json phase_json(const PhaseResult& phase);

}  // namespace bench
