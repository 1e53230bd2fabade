// The admin HTTP API that headendctl talks to: devices, their live HAN sessions, and health.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "han/session_summary.hpp"
#include "headend/core/device_registry.hpp"
#include "headend/core/services.hpp"
#include "headend/plugin/http.hpp"

namespace headend::core {

struct HealthReport {
    bool database_ok = false;
    std::uint16_t coaps_port = 0;
    std::size_t sessions = 0;
    std::size_t observations = 0;  // RFC 7641 observations in force
    // The storage writer and its write-ahead log.
    std::size_t write_queue = 0;
    std::uint64_t wal_bytes = 0;
    std::uint64_t wal_warn_bytes = 0;
    std::uint64_t checkpoint_lag_frames = 0;  // frames in the WAL not yet checkpointed
    double checkpoint_lag_seconds = 0;        // how long the oldest of them has waited
};

// The body of POST /api/v1/devices as a NewDevice, or why it is not one ("device.invalid"). Exposed for tests and
// the fuzz target.
Result<NewDevice> new_device_from_json(std::string_view body);

// `sessions` lists the live DTLS sessions (GET /api/v1/han/sessions), any thread.
void add_admin_routes(http::RouteRegistry& routes, DeviceRegistry& devices, std::function<HealthReport()> health,
                      std::function<std::vector<han::SessionSummary>()> sessions, std::int64_t started_at,
                      const plugin::Clock& clock);

// GET /api/v1/clock (the head-end's now) and POST /api/v1/clock {"advance_s": N} (moves it forward, answers the new
// now), for a head-end on simulated time. Never added otherwise: the routes are then unknown (404).
void add_clock_routes(http::RouteRegistry& routes, SimulatedClock& clock);

}  // namespace headend::core
