// Test doubles for the plugin API (recording registries, a fixed clock) and a temp folder, for the tests of the
// core and of plugins.
#pragma once

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "headend/plugin/plugin.hpp"

namespace headend::testing {

class TempDir {
public:
    TempDir() {
        std::random_device random;
        path_ = std::filesystem::temp_directory_path() / ("headend-test-" + std::to_string(random()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class FakeResources final : public coap::ResourceRegistry {
public:
    void add(const std::string& pattern, coap::Handler handler, coap::ResourceOptions) override {
        handlers[pattern] = std::move(handler);
    }
    void notify(const std::string& path) override { notified.push_back(path); }
    bool serves(const std::string& path) const override { return handlers.contains(path); }  // literal patterns

    std::map<std::string, coap::Handler> handlers;
    std::vector<std::string> notified;
};

class FakeRoutes final : public http::RouteRegistry {
public:
    void add(const std::string& method, const std::string& pattern, http::Handler handler, http::Access) override {
        handlers[method + " " + pattern] = std::move(handler);
    }
    std::map<std::string, http::Handler> handlers;
};

// Listeners that bind nothing: each open() records its options and hands out a FakeRoutes; port() is 0.
class FakeListeners final : public http::Listeners {
public:
    Result<http::RouteRegistry*> open(const std::string& name, const http::ListenerOptions& options) override {
        if (routes.contains(name))
            return make_error("http.listener", "a listener named '" + name + "' is already open");
        opened[name] = options;
        return &routes[name];
    }
    std::uint16_t port(const std::string&) const override { return 0; }

    std::map<std::string, http::ListenerOptions> opened;
    std::map<std::string, FakeRoutes> routes;
};

// Devices held in memory; set_psk and the PEV registration handler are recorded for tests to drive.
class FakeDevices final : public plugin::DeviceDirectory {
public:
    std::optional<plugin::DeviceRecord> find(std::int64_t id) const override {
        for (const auto& device : devices)
            if (device.id == id)
                return device;
        return std::nullopt;
    }
    std::optional<plugin::DeviceRecord> find_lfdi(const std::string& lfdi) const override {
        for (const auto& device : devices)
            if (device.lfdi == lfdi)
                return device;
        return std::nullopt;
    }
    std::vector<plugin::DeviceRecord> list(std::optional<coap::DeviceType> type,
                                           std::optional<std::string> premises_id) const override {
        std::vector<plugin::DeviceRecord> found;
        for (const auto& device : devices) {
            if ((!type || device.type == *type) && (!premises_id || device.premises_id == premises_id))
                found.push_back(device);
        }
        return found;
    }
    std::optional<std::string> live_certificate_serial(const std::string& lfdi) const override {
        const auto found = serials.find(lfdi);
        return found == serials.end() ? std::nullopt : std::optional(found->second);
    }
    bool live_psk_session(const std::string& identity) const override { return live_psk.contains(identity); }
    void set_psk(std::int64_t device_id, std::string identity, std::vector<std::uint8_t> key,
                 std::optional<std::int64_t> expires_at, std::function<void(Result<void>)> done) override {
        for (auto& device : devices) {
            if (device.id == device_id) {
                device.psk_identity = identity;
                device.psk_expires_at = expires_at;
                psk_keys[identity] = std::move(key);
                done({});
                return;
            }
        }
        done(make_error("device.not_found", "no device"));
    }
    void set_pev_registration_handler(plugin::PevRegistrationHandler handler) override {
        pev_registration = std::move(handler);
    }

    std::vector<plugin::DeviceRecord> devices;
    std::map<std::string, std::string> serials;  // LFDI -> live certificate serial
    std::set<std::string> live_psk;              // PSK identities with a live session
    std::map<std::string, std::vector<std::uint8_t>> psk_keys;
    plugin::PevRegistrationHandler pev_registration;
};

// Alarms kept in memory, one per key as the host keeps them.
class FakeAlarms final : public plugin::Alarms {
public:
    Result<bool> raise(storage::Transaction&, const plugin::Alarm& alarm) override {
        for (const auto& raised_alarm : raised)
            if (alarm.key && raised_alarm.key == alarm.key)
                return false;
        raised.push_back(alarm);
        return true;
    }
    std::vector<plugin::Alarm> raised;
};

class FixedClock final : public plugin::Clock {
public:
    explicit FixedClock(std::int64_t now) : now_(now) {}
    std::int64_t now() const override { return now_; }
    void set(std::int64_t now) { now_ = now; }

private:
    std::int64_t now_;
};

// Log messages kept in memory as "ID message", for tests that check what an operator would see.
class RecordingLogger final : public plugin::Logger {
public:
    void log(plugin::LogLevel, std::string_view id, std::string_view message) override {
        lines.push_back(std::string(id) + " " + std::string(message));
    }
    std::vector<std::string> lines;
};

}  // namespace headend::testing
