// Northbound HTTP routes (admin API, later MDM pull and portal) as plugins see them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "headend/plugin/result.hpp"

namespace headend::http {

struct Request {
    std::string method;  // "GET", "POST", ...
    std::string path;    // without query
    std::vector<std::string> segments;
    std::map<std::string, std::string> params;  // `{name}` placeholders of the route
    std::map<std::string, std::string> query;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    // On a listener with a client CA, the certificate the client presented and that CA verified (lower-case hex
    // SHA-256 of its DER, and its subject CN); empty otherwise. Handlers may pin a fingerprint on top of the CA.
    std::string client_certificate_sha256;
    std::string client_subject_cn;
    // The client's IP address as the connection shows it (not a forwarding header): throttling per address.
    std::string remote_address;
};

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::map<std::string, std::string> headers;
    // When set, the body is this file, read as it is written to the client (never held in memory), and `body` is
    // ignored. The answer carries Content-Length and Accept-Ranges; for a 200, a single `Range: bytes=N-`,
    // `bytes=N-M` or `bytes=-N` gets 206 with Content-Range (honoured with If-Range only when it equals the ETag
    // header the handler set), a range starting beyond the end 416. A file that cannot be opened answers 404.
    // Serve only finished files: one still being written is sent with the length it has when the request arrives.
    std::string file;
};

using Handler = std::function<Response(const Request&)>;

enum class Access {
    Admin,   // requires the listener's credentials: its bearer token, or (own listeners) a verified client certificate
    Public,  // no token (health probes, later portal pages with their own login)
};

class RouteRegistry {
public:
    virtual ~RouteRegistry() = default;
    // `pattern` like "/api/v1/devices/{id}"; handlers run on the HTTP thread and may block on storage.
    virtual void add(const std::string& method, const std::string& pattern, Handler handler,
                     Access access = Access::Admin) = 0;
};

// A plugin's own HTTPS listener (e.g. where an MDM system pulls export files). TLS 1.2 or later only. Its Admin
// routes accept a client whose certificate the client CA verified, or one sending `Authorization: Bearer <token>`
// with bearer_token (compared in constant time); anything else gets 401. Neither configured: every Admin route is
// closed. Public routes need nothing.
struct ListenerOptions {
    std::string address = "0.0.0.0";  // numeric address or host name; "::" for all interfaces
    std::uint16_t port = 0;           // 0 = ephemeral, see Listeners::port()
    std::string certificate_file;     // PEM certificate chain, the listener's certificate first (required)
    std::string key_file;             // PEM private key (required)
    std::string client_ca_file;       // PEM CA(s) for client certificates; empty = none are asked for
    // With client_ca_file: a client without a certificate fails the handshake. Without this flag a certificate is
    // asked for but optional (the client may use the token instead); a certificate the CA does not verify always
    // fails the handshake.
    bool require_client_certificate = false;
    std::string bearer_token;  // empty = no token is accepted
    int threads = 2;           // threads serving requests (handlers may block on storage or hashing)
    // Headers every answer carries, the listener's own errors (404, 413, ...) included, unless the handler set them
    // (e.g. a portal's Content-Security-Policy).
    std::map<std::string, std::string> response_headers;
};

class Listeners {
public:
    virtual ~Listeners() = default;
    // Binds and starts listening at once (the port is known on return, also with port 0), and returns where to add
    // the listener's routes; the registry lives until the daemon stops, which closes the listener after the plugins
    // have stopped. Names are the daemon's: a name already open is refused ("http.listener"). Other errors:
    // "http.tls" (certificate, key or CA file unusable), "http.address", "http.bind".
    virtual Result<RouteRegistry*> open(const std::string& name, const ListenerOptions& options) = 0;
    // The bound port of an open listener, 0 for an unknown name.
    virtual std::uint16_t port(const std::string& name) const = 0;
};

}  // namespace headend::http
