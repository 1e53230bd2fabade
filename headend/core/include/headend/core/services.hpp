// The host-side implementations of what plugins get in their Context: logger, clock, timers, event bus and
// their config section.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "headend/core/config.hpp"
#include "headend/plugin/plugin.hpp"

namespace headend::core {

// Log lines look like "[ID] message" with the component as the logger name (Kea-style stable ids).
class SpdLogger final : public plugin::Logger {
public:
    explicit SpdLogger(std::string component) : component_(std::move(component)) {}
    void log(plugin::LogLevel level, std::string_view id, std::string_view message) override;

private:
    std::string component_;
};

class SystemClock final : public plugin::Clock {
public:
    std::int64_t now() const override;
};

// The system's time moved forward on request (headend --simulated-time), so test and demo systems live through days
// without waiting for them. Never backwards: what the head-end stored stays in its past.
class SimulatedClock final : public plugin::Clock {
public:
    std::int64_t now() const override;
    std::int64_t offset() const { return offset_.load(); }
    // Moves forward by `seconds` (0 leaves it where it is) and returns the new now; a negative move is refused
    // ("clock.backwards"). Every move is logged as a warning.
    Result<std::int64_t> advance(std::int64_t seconds);
    // Told of every move (the timers follow the clock); set once before the clock is shared.
    void on_advance(std::function<void(std::chrono::seconds)> moved) { moved_ = std::move(moved); }

private:
    SystemClock system_;
    std::atomic<std::int64_t> offset_{0};
    std::function<void(std::chrono::seconds)> moved_;
};

class AsioTimers final : public plugin::Timers {
public:
    explicit AsioTimers(boost::asio::io_context& io) : io_(io) {}
    ~AsioTimers() override;
    plugin::TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override;
    void cancel(plugin::TimerId id) override;
    // Simulated time moved forward: every pending timer is that much closer to firing (those now due fire).
    void advance(std::chrono::seconds by);

private:
    struct Pending {
        std::shared_ptr<boost::asio::steady_timer> timer;
        std::function<void()> callback;
    };
    // With mutex_ held: every operation on a timer is, so the I/O thread and advance() never race on one.
    void arm(plugin::TimerId id, boost::asio::steady_timer& timer);
    void fire(plugin::TimerId id, const boost::system::error_code& error);

    boost::asio::io_context& io_;
    std::mutex mutex_;
    plugin::TimerId next_id_ = 1;
    std::map<plugin::TimerId, Pending> timers_;
};

class AsioEventBus final : public plugin::EventBus {
public:
    explicit AsioEventBus(boost::asio::io_context& io) : io_(io) {}
    void publish(plugin::Event event) override;
    void subscribe(const std::string& topic, std::function<void(const plugin::Event&)> callback) override;

private:
    boost::asio::io_context& io_;
    std::mutex mutex_;
    std::multimap<std::string, std::function<void(const plugin::Event&)>> subscribers_;
};

// A plugin's section checked against the keys it declares: unknown keys and wrong types are errors naming the key.
class PluginConfigValues final : public plugin::Config {
public:
    static Result<PluginConfigValues> make(const std::string& plugin_name, const std::vector<plugin::ConfigKey>& keys,
                                           const std::map<std::string, plugin::ConfigKey::Value>& settings);
    std::int64_t integer(const std::string& key) const override;
    bool boolean(const std::string& key) const override;
    const std::string& string(const std::string& key) const override;

private:
    std::map<std::string, plugin::ConfigKey::Value> values_;
};

}  // namespace headend::core
