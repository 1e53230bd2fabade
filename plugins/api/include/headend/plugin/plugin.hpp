// The plugin API: what a plugin shared library exports and what it gets from the host. Plugins include only
// headers from this folder; no libcoap, libxml2 or sqlite3 type appears here.
//
// Rules of the edge: no exception crosses it (HEADEND_PLUGIN wraps the calls), handlers must not block the
// HAN thread (storage writes go through Database::write and answer through the Responder).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "headend/plugin/alarms.hpp"
#include "headend/plugin/coap.hpp"
#include "headend/plugin/devices.hpp"
#include "headend/plugin/http.hpp"
#include "headend/plugin/metrics.hpp"
#include "headend/plugin/result.hpp"
#include "headend/plugin/sep_codec.hpp"
#include "headend/plugin/storage.hpp"

namespace headend::plugin {

// Bumped whenever anything in this folder changes incompatibly; the host refuses other versions.
// 2: Context::sep and Context::devices. 3: observability by pattern (ResourceOptions::observable), no publish();
// Context::territory_time_zone. 4: Context::metrics. 5: PSK credentials with an expiry (Devices::set_psk,
// DeviceRecord). 6: the metering and metering mirror resources in SepDocument. 7: Context::alarms.
// 8: Transaction::attempt (nested savepoints); Context::listeners (own HTTPS listeners), Context::data_dir, Request
// client certificate, file responses. 9: FunctionSetAssignmentsList and FunctionSetAssignments in SepDocument.
// 10: the billing function set (CustomerAccount, CustomerAgreement, BillingPeriod, HistoricalReading and their lists)
// in SepDocument. 11: DeviceDirectory::live_psk_session. 12: http::Request::remote_address,
// ListenerOptions::threads and response_headers.
inline constexpr int kApiVersion = 12;

enum class LogLevel { Trace, Debug, Info, Warn, Error };

// Log messages carry a stable id (upper-case, component-prefixed, e.g. "BIND_REFUSED") so operators can grep
// and alert on them across releases.
class Logger {
public:
    virtual ~Logger() = default;
    virtual void log(LogLevel level, std::string_view id, std::string_view message) = 0;
    void info(std::string_view id, std::string_view message) { log(LogLevel::Info, id, message); }
    void warn(std::string_view id, std::string_view message) { log(LogLevel::Warn, id, message); }
    void error(std::string_view id, std::string_view message) { log(LogLevel::Error, id, message); }
    void debug(std::string_view id, std::string_view message) { log(LogLevel::Debug, id, message); }
};

// UTC seconds; injected so tests control time.
class Clock {
public:
    virtual ~Clock() = default;
    virtual std::int64_t now() const = 0;
};

using TimerId = std::uint64_t;

// Timers fire on the host's event loop thread.
class Timers {
public:
    virtual ~Timers() = default;
    virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
    virtual void cancel(TimerId id) = 0;
};

struct Event {
    std::string topic;    // "device.registered", "binding.confirmed", ...
    std::string payload;  // JSON
};

class EventBus {
public:
    virtual ~EventBus() = default;
    virtual void publish(Event event) = 0;
    // Subscribers run on the event loop thread, in subscription order.
    virtual void subscribe(const std::string& topic, std::function<void(const Event&)> callback) = 0;
};

// A key the plugin accepts in its config section, with its default. The host rejects unknown keys and values of
// the wrong type before the plugin starts, naming the offending key.
struct ConfigKey {
    using Value = std::variant<std::int64_t, bool, std::string>;
    std::string name;
    Value default_value;
    std::string description;
};

class Config {
public:
    virtual ~Config() = default;
    virtual std::int64_t integer(const std::string& key) const = 0;
    virtual bool boolean(const std::string& key) const = 0;
    virtual const std::string& string(const std::string& key) const = 0;
};

struct Context {
    coap::ResourceRegistry& resources;
    http::RouteRegistry& routes;
    EventBus& events;
    storage::Database& database;
    const Config& config;
    Logger& logger;
    const Clock& clock;
    Timers& timers;
    const SepCodec& sep;
    DeviceDirectory& devices;
    const std::string& territory_time_zone;  // IANA name (territory.time_zone): /tm and time-of-use periods use it
    Metrics& metrics;                        // gauges and counters for /metrics
    Alarms& alarms;                          // raised in the plugin's transaction, listed and cleared by operators
    http::Listeners& listeners;              // the plugin's own HTTPS listeners (beside the admin API's routes)
    const std::filesystem::path& data_dir;   // server.data_dir: default place for the plugin's own folders
};

class Plugin {
public:
    virtual ~Plugin() = default;
    // Registers resources, routes and subscriptions; migrations run before this. An error stops the daemon.
    virtual Result<void> start(Context& context) = 0;
    virtual void stop() = 0;
};

struct Descriptor {
    int api_version;
    const char* name;
    const char* version;
    std::vector<storage::Migration> (*migrations)();
    std::vector<ConfigKey> (*config_keys)();
    std::unique_ptr<Plugin> (*create)();
};

}  // namespace headend::plugin

// The versioned entry point every plugin exports.
#define HEADEND_PLUGIN_ENTRY headend_plugin_entry_v1
extern "C" {
typedef const headend::plugin::Descriptor* (*HeadendPluginEntry)();  // NOLINT(modernize-use-using)
}
