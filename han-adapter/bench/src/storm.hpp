// Binding storm (issue 3): many emulated PEVs in one process bind for the first time, then all re-bind, against the
// real daemon with the enrollment and binding plugins. Reports bindings per second, CoAP exchanges per binding,
// handshake time and server CPU per binding for both phases, and the ratios the issue sets goals for.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace bench {

struct StormOptions {
    unsigned pevs = 2000;
    unsigned premises = 200;  // PEVs are spread over premises, each with its own ESCI and EUMD
    unsigned threads = 4;     // emulator threads; a premises' PEVs bind one after another
    // Where to write a /metrics scrape taken while the first bindings run (for promtool); empty: none.
    std::filesystem::path metrics_out;
};

nlohmann::json run_storm(const std::filesystem::path& headend, const StormOptions& options);

}  // namespace bench
