// The operator's alarms: one table for every plugin's alarms, listed and cleared through the admin API
// (GET /api/v1/alarms, POST /api/v1/alarms/{id}/clear). Plugins raise them through plugin::Alarms.
#pragma once

#include <string>
#include <vector>

#include "headend/plugin/alarms.hpp"
#include "headend/plugin/http.hpp"
#include "headend/plugin/plugin.hpp"

namespace headend::core {

// The schema of the "alarms" component.
std::vector<storage::Migration> alarm_migrations();

// What one plugin raises, recorded under its name.
class PluginAlarms final : public plugin::Alarms {
public:
    explicit PluginAlarms(std::string source) : source_(std::move(source)) {}
    Result<bool> raise(storage::Transaction& tx, const plugin::Alarm& alarm) override;

private:
    std::string source_;
};

// GET /api/v1/alarms[?state=open|cleared|all][&kind=K][&premises=P]: newest first, open ones by default.
// POST /api/v1/alarms/{id}/clear with {"note": "..."}: 404 for no such alarm, 409 when it is cleared already.
void add_alarm_routes(http::RouteRegistry& routes, storage::Database& database, const plugin::Clock& clock);

}  // namespace headend::core
