#include "storm_report.hpp"

namespace bench {

nlohmann::json phase_json(const PhaseResult& phase) {
    const std::size_t bindings = phase.attempts >= phase.failures ? phase.attempts - phase.failures : 0;
    // Per successful binding; 0 when none succeeded (JSON has no NaN or infinity).
    const auto per_binding = [bindings](double total) {
        return bindings == 0 ? 0.0 : total / static_cast<double>(bindings);
    };
    return {{"attempts", phase.attempts},
            {"bindings", bindings},
            {"failures", phase.failures},
            {"seconds", phase.seconds},
            {"bindings_per_s", phase.seconds > 0 ? static_cast<double>(bindings) / phase.seconds : 0.0},
            {"exchanges_per_binding", per_binding(static_cast<double>(phase.exchanges))},
            {"pev_handshake_ms_mean",
             per_binding(std::chrono::duration<double, std::milli>(phase.pev_handshake_time).count())},
            {"server_cpu_ms_per_binding", per_binding(phase.server_cpu_seconds * 1000.0)},
            {"emulator_cpu_ms_per_binding", per_binding(phase.emulator_cpu_seconds * 1000.0)}};
}

}  // namespace bench
