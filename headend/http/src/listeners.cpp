#include "headend/http/listeners.hpp"

#include <algorithm>

namespace headend::http {
ListenerHost::~ListenerHost() {
    stop_all();
}

Result<RouteRegistry*> ListenerHost::open(const std::string& name, const ListenerOptions& options) {
    if (name.empty()) {
        return make_error("http.listener", "a listener needs a name");
    }
    if (options.certificate_file.empty() || options.key_file.empty()) {
        return make_error("http.tls", "listener '" + name + "' needs a certificate file and a key file");
    }
    std::lock_guard lock(mutex_);
    const auto same_name = [&](const auto& server) { return server.first == name; };
    if (std::any_of(servers_.begin(), servers_.end(), same_name)) {
        return make_error("http.listener", "a listener named '" + name + "' is already open");
    }
    HttpServerOptions server_options;
    server_options.name = name;
    server_options.address = options.address;
    server_options.port = options.port;
    server_options.admin_token = options.bearer_token;
    // Handlers may block on storage while downloads run on the same threads, so one thread is not enough.
    if (options.threads < 2 || options.threads > 64) {
        return make_error("http.listener", "listener '" + name + "' needs 2 to 64 threads");
    }
    server_options.threads = options.threads;
    server_options.response_headers = options.response_headers;
    server_options.tls = TlsOptions{options.certificate_file, options.key_file, options.client_ca_file,
                                    options.require_client_certificate};
    auto server = std::make_unique<HttpServer>(std::move(server_options));
    if (auto started = server->start(); !started) {
        return make_error(started.error().code, "listener '" + name + "': " + started.error().message);
    }
    RouteRegistry* routes = server.get();
    servers_.emplace_back(name, std::move(server));
    return routes;
}

std::uint16_t ListenerHost::port(const std::string& name) const {
    std::lock_guard lock(mutex_);
    for (const auto& [server_name, server] : servers_) {
        if (server_name == name) {
            return server->port();
        }
    }
    return 0;
}

void ListenerHost::stop_all() {
    std::lock_guard lock(mutex_);
    for (auto it = servers_.rbegin(); it != servers_.rend(); ++it) {
        it->second->stop();
    }
}

}  // namespace headend::http
