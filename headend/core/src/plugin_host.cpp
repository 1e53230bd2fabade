#include "headend/core/plugin_host.hpp"

#include <dlfcn.h>

#include "headend/core/alarm_store.hpp"

namespace headend::core {

struct PluginHost::Loaded {
    std::string name;
    void* handle = nullptr;
    const plugin::Descriptor* descriptor = nullptr;
    PluginConfigValues config;
    std::unique_ptr<SpdLogger> logger;
    std::unique_ptr<PluginAlarms> alarms;
    std::unique_ptr<plugin::Plugin> instance;
    std::unique_ptr<plugin::Context> context;
    bool started = false;

    ~Loaded() {
        // The instance's code lives in the library: destroy it before unloading.
        instance.reset();
        if (handle != nullptr)
            dlclose(handle);
    }
};

PluginHost::PluginHost(HostServices services) : services_(services) {}

PluginHost::~PluginHost() {
    stop_all();
}

Result<void> PluginHost::load(const PluginConfig& config) {
    auto fail = [&](const std::string& message) {
        return make_error("plugin", "plugin '" + config.name + "' (" + config.library.string() + "): " + message);
    };
    auto loaded = std::make_unique<Loaded>();
    loaded->name = config.name;
    // NODELETE: handlers the plugin registered may outlive the host (they sit in the servers until those stop).
    loaded->handle = dlopen(config.library.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (loaded->handle == nullptr)
        return fail(std::string("cannot load: ") + dlerror());
    void* symbol = dlsym(loaded->handle, "headend_plugin_entry_v1");
    if (symbol == nullptr)
        return fail("no headend_plugin_entry_v1 entry point: not a head-end plugin");
    auto entry = reinterpret_cast<HeadendPluginEntry>(symbol);
    try {
        loaded->descriptor = entry();
        if (loaded->descriptor == nullptr)
            return fail("the entry point returned nothing");
        if (loaded->descriptor->api_version != plugin::kApiVersion) {
            return fail("built for plugin API " + std::to_string(loaded->descriptor->api_version) +
                        ", this head-end provides " + std::to_string(plugin::kApiVersion));
        }
        auto values = PluginConfigValues::make(config.name, loaded->descriptor->config_keys(), config.settings);
        if (!values)
            return values.error();
        loaded->config = std::move(*values);
        auto migrated = services_.database.migrate(config.name, loaded->descriptor->migrations());
        if (!migrated)
            return fail("migration failed: " + migrated.error().message);
        loaded->instance = loaded->descriptor->create();
        if (!loaded->instance)
            return fail("create() returned nothing");
    } catch (const std::exception& error) {
        return fail(std::string("threw during load: ") + error.what());
    }
    loaded->logger = std::make_unique<SpdLogger>(config.name);
    loaded->alarms = std::make_unique<PluginAlarms>(config.name);
    loaded->context = std::make_unique<plugin::Context>(plugin::Context{
        services_.resources, services_.routes, services_.events, services_.database, loaded->config, *loaded->logger,
        services_.clock, services_.timers, services_.sep, services_.devices, services_.territory_time_zone,
        services_.metrics, *loaded->alarms, services_.listeners, services_.data_dir});
    plugins_.push_back(std::move(loaded));
    return {};
}

Result<void> PluginHost::start_all() {
    for (auto& plugin : plugins_) {
        Result<void> started = make_error("plugin", "not started");
        try {
            started = plugin->instance->start(*plugin->context);
        } catch (const std::exception& error) {
            started = make_error("plugin", std::string("threw: ") + error.what());
        }
        if (!started) {
            // A plugin's configuration error stays one: the daemon exits 2 for it, as for its own.
            return make_error(started.error().code == "config" ? "config" : "plugin",
                              "plugin '" + plugin->name + "' failed to start: " + started.error().message);
        }
        plugin->started = true;
    }
    return {};
}

void PluginHost::stop_all() {
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) {
        if (!(*it)->started)
            continue;
        try {
            (*it)->instance->stop();
        } catch (const std::exception&) {
            // stop() must not throw; nothing more to do on the way out.
        }
        (*it)->started = false;
    }
}

std::vector<std::string> PluginHost::names() const {
    std::vector<std::string> result;
    for (const auto& plugin : plugins_)
        result.push_back(plugin->name);
    return result;
}

}  // namespace headend::core
