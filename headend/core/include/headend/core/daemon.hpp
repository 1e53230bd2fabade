// The head-end daemon as an object: tests start it in process, main() wraps it with signals.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "headend/core/config.hpp"
#include "headend/core/device_registry.hpp"
#include "headend/plugin/plugin.hpp"

namespace headend::core {

class Daemon {
public:
    // Creates the data folder, the admin token, TLS material and the database; loads plugins; starts listening.
    // Every failure is returned with a message an operator can act on.
    static Result<std::unique_ptr<Daemon>> start(Config config, std::shared_ptr<const plugin::Clock> clock = nullptr);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    std::uint16_t coaps_port() const;
    std::uint16_t admin_port() const;
    // The bound port of a plugin's own listener ("mdm-export", "ocpi"), 0 when none is open by that name.
    std::uint16_t listener_port(const std::string& name) const;
    const std::string& admin_token() const;
    DeviceRegistry& devices();
    // An injected clock (tests) moved forward by `by`: the timers follow it, as under --simulated-time.
    void time_moved(std::chrono::seconds by);

    // Blocks until stop() or SIGINT/SIGTERM (when install_signal_handlers was called).
    void wait();
    void install_signal_handlers();
    // Stops listening, lets in-flight writes commit and their answers go out, closes storage. Idempotent.
    void stop();

    class Impl;

private:
    explicit Daemon(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace headend::core
