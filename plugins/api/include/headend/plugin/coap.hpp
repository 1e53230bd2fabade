// CoAP resources as plugins see them: plain requests and responses, the caller's authenticated identity, and
// a responder that may be called later (after a storage commit). No libcoap type appears here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace headend::coap {

enum class Method { Get, Post, Put, Delete };

// Response codes as class*100 + detail, e.g. 205 for 2.05 Content.
enum class Code : int {
    Created = 201,
    Deleted = 202,
    Valid = 203,
    Changed = 204,
    Content = 205,
    BadRequest = 400,
    Unauthorized = 401,
    BadOption = 402,
    Forbidden = 403,
    NotFound = 404,
    MethodNotAllowed = 405,
    NotAcceptable = 406,
    RequestEntityIncomplete = 408,
    Conflict = 409,
    RequestEntityTooLarge = 413,
    UnsupportedContentFormat = 415,
    InternalServerError = 500,
    ServiceUnavailable = 503,
};

inline constexpr int kContentFormatXml = 41;  // application/xml, the SEP 2.0 content format

enum class DeviceType { Esci, Eumd, Pev, Display };

// Who is on the other end of the DTLS session, decided by the handshake alone.
struct Peer {
    enum class Credential { Certificate, Psk };
    Credential credential = Credential::Psk;
    std::string lfdi;          // 40 upper-case hex digits (certificate), or the registered LFDI of a PSK device
    std::string psk_identity;  // PSK sessions only
    // The serialNumber attribute of the certificate's subject (a PEV certificate names its VIN there); certificate
    // sessions only, empty when absent.
    std::string certificate_serial;
    // Set when the identity belongs to a registered device; unset for a trusted but unregistered certificate
    // (a PEV before its first binding).
    std::optional<std::int64_t> device_id;
    std::optional<DeviceType> device_type;
    std::optional<std::string> premises_id;
    std::string session_key;  // opaque, unique per DTLS session, for per-session bookkeeping
};

struct Request {
    Method method = Method::Get;
    std::string path;                   // "/edev/3/reg", no query
    std::vector<std::string> segments;  // {"edev", "3", "reg"}
    std::map<std::string, std::string> query;
    std::string body;  // reassembled whole (Block1 handled by the adapter)
    std::optional<int> content_format;
    std::optional<std::uint32_t> observe;  // 0 = register, 1 = deregister
    Peer peer;
};

struct Response {
    Code code = Code::Content;
    std::string body;
    int content_format = kContentFormatXml;
    std::string location;  // Location-Path for 2.01, e.g. "/edev/7"
    std::optional<std::uint32_t> max_age;
};

// Calls back exactly once, from any thread. Calling it during the handler gives a piggybacked response; later
// gives a separate response (used for writes acknowledged only after their commit).
using Responder = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Responder)>;

struct ResourceOptions {
    // A GET with Observe 0 on any path of the pattern registers the caller as an observer when the answer is a
    // success (RFC 7641); what the caller may see is the handler's decision, as for any GET.
    bool observable = false;
};

// Paths are patterns of literal segments and `{name}` placeholders: "/edev/{n}/bnd". The most specific pattern
// (most literal segments) wins.
class ResourceRegistry {
public:
    virtual ~ResourceRegistry() = default;
    virtual void add(const std::string& pattern, Handler handler, ResourceOptions options = {}) = 0;
    // Tells the observers of `path` that it changed: its GET runs again for each, with that observer's identity.
    // An answer that is not a success (the instance is gone, or the observer may no longer see it) goes out as the
    // last notification and ends the observation. Safe from any thread.
    virtual void notify(const std::string& path) = 0;
    // Whether some registered pattern answers `path` (so the core can link a plugin's resources from /dcap).
    virtual bool serves(const std::string& path) const = 0;
};

}  // namespace headend::coap
