// The northbound HTTP/1.1 server (admin API, later MDM pull and portal): Boost.Beast on its own io_context and
// threads, routes registered through the plugin API's RouteRegistry. No Beast or JSON type appears here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "headend/plugin/http.hpp"
#include "headend/plugin/result.hpp"

namespace headend::http {

// HTTPS: TLS 1.2 or later with ECDHE and AEAD ciphers only. With a client CA, client certificates are asked for and
// verified against it (a certificate it does not verify fails the handshake); Request carries the verified one.
struct TlsOptions {
    std::string certificate_file;  // PEM chain, the server's certificate first
    std::string key_file;          // PEM private key
    std::string client_ca_file;    // PEM; empty = no client certificates
    bool require_client_certificate = false;
    std::chrono::seconds handshake_timeout{10};
};

struct HttpServerOptions {
    std::string name = "admin";         // names the listener in log lines
    std::string address = "127.0.0.1";  // numeric address or host name; "::" for all interfaces
    std::uint16_t port = 0;             // 0 = ephemeral, see HttpServer::port()
    std::string admin_token;            // the bearer token of Admin routes; empty = none is accepted
    std::size_t max_body_bytes = std::size_t{1024} * 1024;
    std::chrono::seconds read_timeout{30};  // per request (header and body), idle keep-alive, and per response write
    int threads = 1;
    std::optional<TlsOptions> tls;  // unset = plain HTTP
    // Headers every answer carries (errors the server makes itself included) unless the handler set them.
    std::map<std::string, std::string> response_headers;
};

// Routing: a pattern is "/"-separated segments, each a literal or a whole-segment "{name}" placeholder. Empty
// segments are ignored on both sides, so a trailing slash does not matter. Among the routes that match a path and
// accept the method, the one with a literal at the first position where they differ wins. HEAD is served by the
// GET route when there is no HEAD route. Request::path is the raw path; Request::segments, Request::params and
// Request::query are percent-decoded ('+' is a space in the query only; a repeated query key keeps its last value).
//
// Admin routes accept `Authorization: Bearer <admin_token>` (compared in constant time) or, with TLS and a client
// CA, a verified client certificate; otherwise 401.
//
// Handlers run on the server's threads and may block; an exception from a handler becomes a 500 and is logged.
// Errors the server produces itself carry the body of json_error() with codes "http.bad_request",
// "http.not_found", "http.method_not_allowed", "http.unauthorized", "http.payload_too_large",
// "http.headers_too_large", "http.range_not_satisfiable" and "http.internal". A file response (Response::file)
// is written in pieces, each of which must go out within read_timeout.
class HttpServer final : public RouteRegistry {
public:
    explicit HttpServer(HttpServerOptions options);
    ~HttpServer() override;  // stops the server
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // May be called before or after start(). An unusable pattern or a second route for the same method and pattern
    // shape is refused and logged (HTTP_ROUTE_REJECTED); the first registration stays.
    void add(const std::string& method, const std::string& pattern, Handler handler,
             Access access = Access::Admin) override;

    // Binds, listens and starts the threads. Errors: "http.tls" (certificate, key or CA file unusable),
    // "http.address" (unusable address), "http.bind" (e.g. address in use), "http.state" (already started or
    // stopped). A server runs once: it cannot be started again after stop().
    Result<void> start();

    // The bound port once started (useful with port 0), otherwise 0.
    std::uint16_t port() const;

    // Stops accepting, closes idle connections, lets requests being handled finish and their responses be written,
    // then joins the threads. Idempotent. Must not be called from a handler.
    void stop();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// {"error":{"code":code,"message":message}} with status `status`: the shape of every error body.
Response json_error(int status, std::string code, std::string message);

}  // namespace headend::http
