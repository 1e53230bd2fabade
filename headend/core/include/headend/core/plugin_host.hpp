// Loads plugin shared libraries named in the config through their versioned entry point, checks their config
// section, runs their migrations and starts them. Any failure is returned with a message naming the plugin.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "headend/core/config.hpp"
#include "headend/core/services.hpp"
#include "headend/plugin/plugin.hpp"

namespace headend::core {

struct HostServices {
    coap::ResourceRegistry& resources;
    http::RouteRegistry& routes;
    plugin::EventBus& events;
    storage::Database& database;
    const plugin::Clock& clock;
    plugin::Timers& timers;
    const plugin::SepCodec& sep;
    plugin::DeviceDirectory& devices;
    std::string territory_time_zone;
    plugin::Metrics& metrics;
    http::Listeners& listeners;
    std::filesystem::path data_dir;
};

class PluginHost {
public:
    explicit PluginHost(HostServices services);
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    Result<void> load(const PluginConfig& config);
    Result<void> start_all();
    void stop_all();
    std::vector<std::string> names() const;

private:
    struct Loaded;
    HostServices services_;
    std::vector<std::unique_ptr<Loaded>> plugins_;
};

}  // namespace headend::core
