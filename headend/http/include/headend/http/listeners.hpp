// The plugins' own HTTPS listeners (http::Listeners): one HttpServer with TLS each, bound when opened and stopped
// together by the daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "headend/http/server.hpp"
#include "headend/plugin/http.hpp"

namespace headend::http {

class ListenerHost final : public Listeners {
public:
    ListenerHost() = default;
    ~ListenerHost() override;  // stops every listener
    ListenerHost(const ListenerHost&) = delete;
    ListenerHost& operator=(const ListenerHost&) = delete;

    Result<RouteRegistry*> open(const std::string& name, const ListenerOptions& options) override;
    std::uint16_t port(const std::string& name) const override;

    // Stops the listeners, the last opened first; each lets the requests it is handling finish. Idempotent.
    void stop_all();

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::unique_ptr<HttpServer>>> servers_;
};

}  // namespace headend::http
