// Test doubles for the plugin API (recording registries, a fixed clock) and a temp folder, for the tests of the
// core and of plugins.
#pragma once

#include <filesystem>
#include <map>
#include <random>
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
    void publish(const std::string& path) override { published.push_back(path); }
    void unpublish(const std::string& path) override { unpublished.push_back(path); }
    void notify(const std::string& path) override { notified.push_back(path); }

    std::map<std::string, coap::Handler> handlers;
    std::vector<std::string> published, unpublished, notified;
};

class FakeRoutes final : public http::RouteRegistry {
public:
    void add(const std::string& method, const std::string& pattern, http::Handler handler, http::Access) override {
        handlers[method + " " + pattern] = std::move(handler);
    }
    std::map<std::string, http::Handler> handlers;
};

class FixedClock final : public plugin::Clock {
public:
    explicit FixedClock(std::int64_t now) : now_(now) {}
    std::int64_t now() const override { return now_; }
    void set(std::int64_t now) { now_ = now; }

private:
    std::int64_t now_;
};

}  // namespace headend::testing
