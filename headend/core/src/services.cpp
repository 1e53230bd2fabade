#include "headend/core/services.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cassert>

namespace headend::core {

void SpdLogger::log(plugin::LogLevel level, std::string_view id, std::string_view message) {
    static constexpr spdlog::level::level_enum levels[] = {
        spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
    spdlog::log(levels[static_cast<int>(level)], "[{}] {}: {}", id, component_, message);
}

std::int64_t SystemClock::now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t SimulatedClock::now() const {
    return system_.now() + offset_.load();
}

Result<std::int64_t> SimulatedClock::advance(std::int64_t seconds) {
    if (seconds < 0)
        return make_error(
            "clock.backwards",
            "the simulated clock only moves forward: advance_s must be 0 or more, not " + std::to_string(seconds));
    if (seconds == 0)
        return now();
    const std::int64_t offset = offset_ += seconds;
    const std::int64_t moved_to = system_.now() + offset;
    spdlog::warn("[HEADEND_CLOCK_ADVANCED] simulated time moved forward {} s to {} ({} s ahead of the system clock)",
                 seconds, moved_to, offset);
    if (moved_)
        moved_(std::chrono::seconds(seconds));
    return moved_to;
}

AsioTimers::~AsioTimers() {
    std::map<plugin::TimerId, Pending> pending;
    {
        std::lock_guard lock(mutex_);
        pending.swap(timers_);
    }
    for (auto& [id, timer] : pending)
        timer.timer->cancel();
}

plugin::TimerId AsioTimers::after(std::chrono::milliseconds delay, std::function<void()> callback) {
    std::lock_guard lock(mutex_);
    const plugin::TimerId id = next_id_++;
    auto& pending = timers_[id];
    pending.timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
    pending.callback = std::move(callback);
    arm(id, *pending.timer);
    return id;
}

void AsioTimers::arm(plugin::TimerId id, boost::asio::steady_timer& timer) {
    timer.async_wait([this, id](const boost::system::error_code& error) { fire(id, error); });
}

void AsioTimers::fire(plugin::TimerId id, const boost::system::error_code& error) {
    std::function<void()> callback;
    {
        std::lock_guard lock(mutex_);
        const auto it = timers_.find(id);
        if (it == timers_.end())
            return;  // cancelled
        if (error) {
            arm(id, *it->second.timer);  // moved by advance(): wait for its new expiry
            return;
        }
        callback = std::move(it->second.callback);
        timers_.erase(it);
    }
    callback();
}

void AsioTimers::cancel(plugin::TimerId id) {
    std::lock_guard lock(mutex_);
    const auto it = timers_.find(id);
    if (it == timers_.end())
        return;
    const auto timer = it->second.timer;
    timers_.erase(it);
    timer->cancel();
}

void AsioTimers::advance(std::chrono::seconds by) {
    const auto now = boost::asio::steady_timer::clock_type::now();
    std::lock_guard lock(mutex_);
    for (auto& [id, pending] : timers_) {
        // Due already: left as it is (moving it further back would only pile up moves towards an overflow).
        const auto expiry = pending.timer->expiry();
        if (expiry > now)
            pending.timer->expires_at(expiry - now > by ? expiry - by : now);
    }
}

void AsioEventBus::publish(plugin::Event event) {
    std::vector<std::function<void(const plugin::Event&)>> callbacks;
    {
        std::lock_guard lock(mutex_);
        auto [first, last] = subscribers_.equal_range(event.topic);
        for (auto it = first; it != last; ++it)
            callbacks.push_back(it->second);
    }
    if (callbacks.empty())
        return;
    boost::asio::post(io_, [callbacks = std::move(callbacks), event = std::move(event)] {
        for (const auto& callback : callbacks)
            callback(event);
    });
}

void AsioEventBus::subscribe(const std::string& topic, std::function<void(const plugin::Event&)> callback) {
    std::lock_guard lock(mutex_);
    subscribers_.emplace(topic, std::move(callback));
}

Result<PluginConfigValues> PluginConfigValues::make(const std::string& plugin_name,
                                                    const std::vector<plugin::ConfigKey>& keys,
                                                    const std::map<std::string, plugin::ConfigKey::Value>& settings) {
    PluginConfigValues config;
    for (const auto& key : keys)
        config.values_[key.name] = key.default_value;
    for (const auto& [name, value] : settings) {
        auto it = config.values_.find(name);
        const std::string full = "plugin." + plugin_name + "." + name;
        if (it == config.values_.end())
            return make_error("config", full + ": unknown key");
        if (it->second.index() != value.index()) {
            static constexpr const char* kinds[] = {"an integer", "true or false", "a string"};
            return make_error("config", full + ": expected " + kinds[it->second.index()]);
        }
        it->second = value;
    }
    return config;
}

std::int64_t PluginConfigValues::integer(const std::string& key) const {
    return std::get<std::int64_t>(values_.at(key));
}
bool PluginConfigValues::boolean(const std::string& key) const {
    return std::get<bool>(values_.at(key));
}
const std::string& PluginConfigValues::string(const std::string& key) const {
    return std::get<std::string>(values_.at(key));
}

}  // namespace headend::core
