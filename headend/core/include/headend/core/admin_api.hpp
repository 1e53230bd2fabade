// The admin HTTP API that headendctl talks to: devices and health.
#pragma once

#include <functional>

#include "headend/core/device_registry.hpp"
#include "headend/plugin/http.hpp"

namespace headend::core {

struct HealthReport {
    bool database_ok = false;
    std::uint16_t coaps_port = 0;
    std::size_t sessions = 0;
};

void add_admin_routes(http::RouteRegistry& routes, DeviceRegistry& devices, std::function<HealthReport()> health,
                      std::int64_t started_at, const plugin::Clock& clock);

}  // namespace headend::core
