#include "han/coap_server.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>

#include "han/block1.hpp"
#include "han/coap_message.hpp"
#include "han/dtls_endpoint.hpp"
#include "han/exchange_cache.hpp"
#include "han/identity.hpp"
#include "han/router.hpp"

namespace han {

namespace {

using headend::coap::Code;
using headend::coap::Method;
using headend::coap::Peer;
using headend::coap::Request;
using headend::coap::Response;

// The IEEE 2030.5 suites; nothing else is negotiated.
constexpr const char* kAllowedCiphers = "ECDHE-ECDSA-AES128-CCM8:PSK-AES128-CCM8";
constexpr const char* kPskCipher = "PSK-AES128-CCM8";
constexpr const char* kAllowedGroups = "P-256";
constexpr int kVerifyMode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE;
constexpr int kVerifyDepth = 4;
// The largest message sent: what fits a 1280-byte IPv6 link with the DTLS record and UDP/IP headers.
constexpr std::size_t kMaxMessageBytes = 1152;
constexpr int kProxyingNotSupported = 505;

std::optional<Method> method_of(std::uint8_t code) {
    switch (code) {
        case 1:
            return Method::Get;
        case 2:
            return Method::Post;
        case 3:
            return Method::Put;
        case 4:
            return Method::Delete;
        default:
            return std::nullopt;
    }
}

const char* method_name(std::uint8_t code) {
    switch (code) {
        case 1:
            return "GET";
        case 2:
            return "POST";
        case 3:
            return "PUT";
        case 4:
            return "DELETE";
        default:
            return "other";
    }
}

// The Block2 option of a request: which block of the answer, and how big (RFC 7959 §2.2).
struct Block2Request {
    std::uint32_t num = 0;
    unsigned szx = 6;
};

// SZX 7 is reserved (RFC 7959 §2.2): a block option carrying it is malformed.
bool reserved_block_size(const CoapMessage& message, std::uint16_t number) {
    const auto value = message.uint_option(number);
    return value && (*value & 7U) == 7U;
}

// The critical options this server acts on (RFC 7252 §5.4.1); any other critical option in a request is refused,
// conditional requests (If-Match, If-None-Match) among them: nothing here evaluates them.
bool understood(std::uint16_t number) {
    switch (number) {
        case option::kUriHost:
        case option::kUriPort:
        case option::kUriPath:
        case option::kUriQuery:
        case option::kAccept:
        case option::kBlock2:
        case option::kBlock1:
            return true;
        default:
            return !option::is_critical(number);
    }
}

// Uri-Path segments joined with '/'; a '/' or '%' inside a segment is escaped, so no segment can pose as two.
std::string path_of(const CoapMessage& request) {
    std::string path;
    for (const std::string_view segment : request.values(option::kUriPath)) {
        path += '/';
        for (const char c : segment) {
            if (c == '/')
                path += "%2F";
            else if (c == '%')
                path += "%25";
            else
                path += c;
        }
    }
    return path.empty() ? "/" : path;
}

std::map<std::string, std::string> query_of(const CoapMessage& request) {
    std::map<std::string, std::string> result;
    for (const std::string_view item : request.values(option::kUriQuery)) {
        if (item.empty())
            continue;
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            result.emplace(std::string(item), "");
        else
            result.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    }
    return result;
}

bool is_ecdsa_p256(EVP_PKEY* key) {
    if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return false;
    std::array<char, 64> group{};
    std::size_t length = 0;
    return EVP_PKEY_get_group_name(key, group.data(), group.size(), &length) == 1 &&
           std::string_view(group.data(), length) == "prime256v1";
}

// A short strong validator so block-wise readers notice a representation that changed between blocks.
std::string etag_of(const std::string& body) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data());
    return {reinterpret_cast<const char*>(digest.data()), 8};
}

// Options stay in number order, as they go on the wire.
void insert_option(CachedResponse& response, std::uint16_t number, std::string value) {
    const auto after = std::find_if(response.options.begin(), response.options.end(),
                                    [number](const CachedOption& option) { return option.number > number; });
    response.options.insert(after, CachedOption{number, std::move(value)});
}

CoapMessage message_of(CoapMessageType type, std::uint16_t mid, const std::string& token,
                       const CachedResponse& response) {
    CoapMessage message;
    message.type = type;
    message.code = code_byte(response.code);
    message.mid = mid;
    message.token = token;
    for (const auto& option : response.options)
        message.add_option(option.number, option.value);
    message.payload = response.payload;
    return message;
}

// At most `per_second` log lines a second for something any stranger can cause. admit() says whether to log and,
// if so, how many were left out since the last one.
class LogRateLimit {
public:
    explicit LogRateLimit(unsigned per_second = 10) : per_second_(per_second) {}
    std::optional<std::uint64_t> admit(std::chrono::steady_clock::time_point now) {
        if (now - window_start_ >= std::chrono::seconds(1)) {
            window_start_ = now;
            in_window_ = 0;
        }
        if (in_window_ >= per_second_) {
            ++suppressed_;
            return std::nullopt;
        }
        ++in_window_;
        return std::exchange(suppressed_, 0);
    }

private:
    unsigned per_second_;
    std::chrono::steady_clock::time_point window_start_{};
    unsigned in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

// A DTLS connection as CoAP sees it: who is on the other end, and the confirmable messages we send on it.
struct SessionInfo {
    std::string key;   // unique for the life of the process
    std::string peer;  // address:port, for logs
    // When the device last sent anything, or when its observations were last checked for liveness.
    std::chrono::steady_clock::time_point last_heard = std::chrono::steady_clock::now();
    bool certificate = false;
    std::string lfdi;
    std::string certificate_serial;
    std::string psk_identity;
    std::string cipher;
    std::int64_t established_at = 0;  // UTC seconds

    std::uint16_t next_mid = 0;
    // One confirmable message in flight at a time (NSTART 1, RFC 7252 §4.7), the others wait in order.
    std::optional<CoapMessage> in_flight;
    std::string in_flight_bytes;
    unsigned retransmissions = 0;
    std::chrono::milliseconds retransmit_timeout{};
    std::shared_ptr<boost::asio::steady_timer> retransmit_timer;
    std::deque<CoapMessage> waiting;
};

// The subject's serialNumber attribute, or empty.
std::string subject_serial_number(X509* certificate) {
    const X509_NAME* subject = X509_get_subject_name(certificate);
    const int index = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
    if (index < 0)
        return {};
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, value);
    std::string text;
    if (length > 0)
        text.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return text;
}

struct ObserverKey {
    std::string session_key;
    std::string token;
    auto operator<=>(const ObserverKey&) const = default;
};

struct RouteTarget {
    headend::coap::Handler handler;
    headend::coap::ResourceOptions options;
};

}  // namespace

class CoapServer::Impl : public std::enable_shared_from_this<CoapServer::Impl> {
public:
    Impl(boost::asio::io_context& io, ServerOptions options, std::shared_ptr<const SecurityStore> security)
        : io_(io),
          options_(std::move(options)),
          security_(std::move(security)),
          timer_(io),
          block1_(options_.limits.max_body_bytes, options_.limits.block1_timeout),
          random_(std::random_device{}()) {}

    ~Impl() { close(); }

    headend::Result<void> start();
    void close();

    std::uint16_t port() const { return endpoint_ ? endpoint_->port() : 0; }
    boost::asio::io_context& io() { return io_; }
    bool serves(const std::string& path) const { return router_.known(split_path(path)); }
    std::optional<std::string> certificate_serial(const std::string& lfdi) const {
        const auto found = live_certificates_.find(lfdi);
        return found == live_certificates_.end() ? std::nullopt : std::optional(found->second.serial);
    }
    std::vector<SessionSummary> sessions() const {
        std::lock_guard lock(stats_mutex_);
        std::vector<SessionSummary> list;
        list.reserve(summaries_.size());
        for (const auto& [id, summary] : summaries_)  // connection ids grow: oldest first
            list.push_back(summary);
        return list;
    }
    ServerStats stats() const {
        std::unique_lock lock(stats_mutex_);
        ServerStats stats = stats_;
        lock.unlock();
        stats.exchanges_remembered = exchanges_remembered_.load();
        if (endpoint_) {
            const DtlsStats dtls = endpoint_->stats();
            stats.receive_buffer_drops = dtls.receive_buffer_drops;
            stats.receive_buffer_bytes = dtls.receive_buffer_bytes;
            stats.hello_verify_requests = dtls.hello_verify_requests;
            stats.handshakes_in_progress = dtls.handshakes_in_progress;
            stats.handshakes_refused_busy = dtls.handshakes_refused_busy;
            stats.handshakes_evicted = dtls.handshakes_evicted;
            stats.sessions_replaced = dtls.connections_replaced;
        }
        return stats;
    }

    void add_route(const std::string& pattern, headend::coap::Handler handler, headend::coap::ResourceOptions options) {
        router_.add(pattern, RouteTarget{std::move(handler), options});
    }

    void notify(const std::string& path) {
        boost::asio::post(io_, [self = shared_from_this(), path] { self->notify_now(path); });
    }
    void close_sessions_of(const std::string& lfdi, const std::optional<std::string>& psk_identity);

    // OpenSSL callbacks (C linkage targets; never throw).
    static unsigned int on_psk(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_length) noexcept;
    static int on_verify_chain(X509_STORE_CTX* store, void* arg) noexcept;
    static int on_verify_certificate(int preverify_ok, X509_STORE_CTX* store) noexcept;

private:
    headend::Result<void> configure_tls();

    // From the DTLS endpoint.
    void on_established(ConnectionId id, SSL* ssl);
    void on_message(ConnectionId id, std::string_view datagram);
    void on_handshake_failed(const std::string& peer, const std::string& reason);

    // The CoAP message layer (RFC 7252 §4).
    void transmit(ConnectionId id, const CoapMessage& message);
    void send_confirmable(ConnectionId id, CoapMessage message);
    void start_transmission(ConnectionId id, SessionInfo& info, CoapMessage message);
    void arm_retransmission(ConnectionId id, SessionInfo& info);
    void on_acknowledged(ConnectionId id, SessionInfo& info, std::uint16_t mid, bool reset);
    void answer(ConnectionId id, const CoapMessage& request, const CachedResponse& response);

    void handle(ConnectionId id, const CoapMessage& request);
    Peer resolve_peer(ConnectionId id, const SessionInfo& info) const;
    // A PSK session whose identity no longer works (expired, replaced) closes instead of being answered: it would
    // otherwise outlive its credential for as long as the device keeps it busy. True when it was closed.
    bool close_if_credential_lapsed(ConnectionId id, const SessionInfo& info);
    void forget_session(ConnectionId id);
    void close_session(ConnectionId id);
    // Beyond max_sessions the session heard from least recently, observed ones spared, makes room.
    void make_room();
    static std::string identity_of(const SessionInfo& info);

    // Observation (RFC 7641).
    struct Observation {
        ConnectionId session = 0;
        std::string path;
        std::map<std::string, std::string> query;
        std::string identity;
        std::optional<unsigned> block_szx;  // the block size the registration asked for
        bool refreshing = false;            // one GET in flight per observer, so notifications go out in order
        bool changed_meanwhile = false;     // notified while refreshing: the answer in flight is stale
    };
    // A registration takes its slot under the identity's cap when it arrives, so registrations answered late
    // cannot pass the cap together. False when the cap is reached: the GET is then served without registering.
    bool reserve_observation(const std::string& identity, const ObserverKey& key);
    void release_reservation(const std::string& identity, const ObserverKey& key);
    // A device that rebooted registers again from a new session: its registration for the same resource replaces
    // the one it left behind (the identity decides, not the address).
    void replace_earlier_registration(const std::string& identity, const ObserverKey& key, const std::string& path,
                                      const std::map<std::string, std::string>& query);
    void start_observation(const ObserverKey& key, Observation observation);
    void end_observation(const ObserverKey& key);
    void end_observations_of(const std::string& session_key);
    // Observed sessions that went quiet get a confirmable notification; an observer that never acknowledges it
    // is gone, and its session with it (RFC 7641 §4.5). Other sessions that went quiet close.
    void check_idle_sessions(std::chrono::steady_clock::time_point now);
    // Registers the observer if the answer to its GET with Observe 0 is a success, adding the Observe option.
    void complete_registration(const ObserverKey& key, const Observation& observation, CachedResponse& answer);
    void refresh_observer(const ObserverKey& key);
    void deliver_notification(const ObserverKey& key, const Response& answer);
    std::string next_observe_value() {
        observe_sequence_ = (observe_sequence_ + 1) & 0xFFFFFFU;  // 24 bits (RFC 7641 §4.4)
        return encode_uint(observe_sequence_);
    }
    void notify_now(const std::string& path);

    CachedResponse build_response(const Response& response, const std::optional<Block2Request>& block2,
                                  const std::optional<std::string>& block1_echo) const;

    // Block1 transfers left unfinished are dropped, and idle sessions looked at, once a second.
    void schedule_housekeeping();
    void count(std::uint64_t ServerStats::*field) {
        std::lock_guard lock(stats_mutex_);
        ++(stats_.*field);
    }
    void count_answer(const char* method, int code) {
        std::lock_guard lock(stats_mutex_);
        ++stats_.answers[{method, code}];
    }
    void count_refusal(const char* reason) {
        std::lock_guard lock(stats_mutex_);
        ++stats_.handshake_refusals[reason];
    }
    void count_block1_transfers() {
        std::lock_guard lock(stats_mutex_);
        stats_.block1_in_progress = block1_.pending();
    }
    // A session known (+1) or forgotten (-1).
    void count_session(ConnectionId id, const SessionInfo& info, int change) {
        std::lock_guard lock(stats_mutex_);
        auto& kind = info.certificate ? stats_.sessions_certificate : stats_.sessions_psk;
        kind = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(kind) + change);
        stats_.sessions = stats_.sessions_certificate + stats_.sessions_psk;
        if (change > 0) {
            ++stats_.handshakes_completed;
            summaries_[id] =
                SessionSummary{info.peer,         info.certificate, info.lfdi,          info.certificate_serial,
                               info.psk_identity, info.cipher,      info.established_at};
        } else {
            summaries_.erase(id);
        }
    }

    boost::asio::io_context& io_;
    ServerOptions options_;
    std::shared_ptr<const SecurityStore> security_;
    boost::asio::steady_timer timer_;
    std::unique_ptr<DtlsEndpoint> endpoint_;
    bool stopped_ = false;

    Router<RouteTarget> router_;
    std::unordered_map<ConnectionId, SessionInfo> sessions_;
    std::unordered_map<std::string, std::deque<ConnectionId>> sessions_by_identity_;  // oldest first
    struct LiveCertificate {
        std::string serial;
        std::size_t sessions = 0;
    };
    std::unordered_map<std::string, LiveCertificate> live_certificates_;  // by LFDI, while a session presents it
    ExchangeCache exchanges_;
    std::atomic<std::size_t> exchanges_remembered_{0};  // exchanges_.size(), readable from other threads
    Block1Assembler block1_;
    std::map<ObserverKey, Observation> observations_;
    std::map<std::string, std::set<ObserverKey>> observers_by_path_;
    std::map<std::string, std::set<ObserverKey>> observers_by_identity_;  // for the cap per identity
    std::uint32_t observe_sequence_ = 0;
    std::mt19937 random_;  // message ids and retransmission jitter (RFC 7252 §4.4, §4.8)

    SSL_CTX* tls_context_ = nullptr;
    // The key of every unknown PSK identity: nobody has it, so such a handshake fails as a wrong key does.
    std::vector<std::uint8_t> decoy_psk_;
    X509_STORE* trust_store_ = nullptr;
    // Device certificates whose chain verified, by SHA-256 of their DER, with their notAfter: a device that
    // reconnects is not verified again (the trust store does not change while the server runs).
    static constexpr std::size_t kMaxVerifiedCertificates = 65536;
    std::unordered_map<std::string, std::int64_t> verified_certificates_;

    mutable std::mutex stats_mutex_;
    ServerStats stats_;
    std::map<ConnectionId, SessionSummary> summaries_;  // what sessions() tells other threads
    LogRateLimit unknown_psk_log_;  // anyone can make these lines: a few a second, and how many were left out
};

headend::Result<void> CoapServer::Impl::configure_tls() {
    tls_context_ = SSL_CTX_new(DTLS_server_method());
    if (tls_context_ == nullptr)
        return headend::make_error("coap.dtls", "cannot create the DTLS context");
    SSL_CTX_set_app_data(tls_context_, this);
    SSL_CTX_set_min_proto_version(tls_context_, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(tls_context_, DTLS1_2_VERSION);
    // No session tickets or cache: re-binding resumes with the re-bind PSK (DESIGN §6), not a TLS session.
    SSL_CTX_set_options(tls_context_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(tls_context_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(tls_context_, 1);

    // PSK: every identity is decided by on_psk; an unknown one goes on with a key nobody has.
    decoy_psk_.resize(16);
    RAND_bytes(decoy_psk_.data(), static_cast<int>(decoy_psk_.size()));
    SSL_CTX_set_psk_server_callback(tls_context_, &Impl::on_psk);
    if (const auto& hint = options_.credentials.psk_hint;
        hint && SSL_CTX_use_psk_identity_hint(tls_context_, hint->c_str()) != 1)
        return headend::make_error("coap.psk", "the PSK identity hint was refused");

    const auto& credentials = options_.credentials;
    const bool certificates = !credentials.certificate_der.empty();
    if (SSL_CTX_set_cipher_list(tls_context_, certificates ? kAllowedCiphers : kPskCipher) != 1 ||
        SSL_CTX_set1_groups_list(tls_context_, kAllowedGroups) != 1)
        return headend::make_error("coap.dtls", "the TLS library lacks the IEEE 2030.5 suites");
    if (!certificates)
        return {};

    trust_store_ = X509_STORE_new();
    for (const auto& der : credentials.trusted_ca_der) {
        const unsigned char* p = der.data();
        X509* ca = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
        if (ca == nullptr || X509_STORE_add_cert(trust_store_, ca) != 1) {
            X509_free(ca);
            return headend::make_error("coap.trust_store", "a trusted CA certificate could not be loaded");
        }
        X509_free(ca);
    }
    const unsigned char* cert_bytes = credentials.certificate_der.data();
    X509* certificate = d2i_X509(nullptr, &cert_bytes, static_cast<long>(credentials.certificate_der.size()));
    const unsigned char* key_bytes = credentials.private_key_der.data();
    EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &key_bytes, static_cast<long>(credentials.private_key_der.size()));
    const bool usable = certificate != nullptr && key != nullptr && X509_check_private_key(certificate, key) == 1 &&
                        SSL_CTX_use_certificate(tls_context_, certificate) == 1 &&
                        SSL_CTX_use_PrivateKey(tls_context_, key) == 1;
    X509_free(certificate);
    EVP_PKEY_free(key);
    if (!usable)
        return headend::make_error("coap.pki", "the head-end certificate and key are unreadable or do not match");
    // Every session that agrees on the ECDSA suite must present a device certificate; PSK sessions agree on the PSK
    // suite and are asked for none.
    SSL_CTX_set1_verify_cert_store(tls_context_, trust_store_);
    SSL_CTX_set_verify(tls_context_, kVerifyMode, &Impl::on_verify_certificate);
    SSL_CTX_set_verify_depth(tls_context_, kVerifyDepth);
    SSL_CTX_set_cert_verify_callback(tls_context_, &Impl::on_verify_chain, this);
    return {};
}

headend::Result<void> CoapServer::Impl::start() {
    if (auto configured = configure_tls(); !configured)
        return configured;
    DtlsLimits limits;
    limits.max_handshakes = options_.limits.max_handshakes;
    limits.receive_buffer_bytes = options_.limits.receive_buffer_bytes;
    limits.handshake_timeout = options_.limits.handshake_timeout;
    DtlsEndpoint::Callbacks callbacks;
    const std::weak_ptr<Impl> weak = weak_from_this();
    // The endpoint lives inside this object and calls back on the loop: `this` outlives every call.
    callbacks.established = [this](ConnectionId id, SSL* ssl) { on_established(id, ssl); };
    callbacks.received = [this](ConnectionId id, std::string_view data) { on_message(id, data); };
    callbacks.closed = [this](ConnectionId id) { forget_session(id); };
    callbacks.handshake_failed = [this](const std::string& peer, const std::string& reason) {
        on_handshake_failed(peer, reason);
    };
    endpoint_ = std::make_unique<DtlsEndpoint>(io_, tls_context_, limits, std::move(callbacks));
    if (auto opened = endpoint_->open(options_.address, options_.port); !opened)
        return opened;
    schedule_housekeeping();
    return {};
}

void CoapServer::Impl::close() {
    if (stopped_)
        return;
    stopped_ = true;
    timer_.cancel();
    for (auto& [id, info] : sessions_) {
        if (info.retransmit_timer)
            info.retransmit_timer->cancel();
    }
    if (endpoint_)
        endpoint_->close();
    sessions_.clear();
    sessions_by_identity_.clear();
    observations_.clear();
    observers_by_path_.clear();
    observers_by_identity_.clear();
    if (tls_context_ != nullptr) {
        SSL_CTX_free(tls_context_);
        tls_context_ = nullptr;
    }
    if (trust_store_ != nullptr) {
        X509_STORE_free(trust_store_);
        trust_store_ = nullptr;
    }
}

void CoapServer::Impl::schedule_housekeeping() {
    if (stopped_)
        return;
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || error || self->stopped_)
            return;
        self->block1_.expire(Block1Assembler::Clock::now());
        self->count_block1_transfers();
        self->check_idle_sessions(std::chrono::steady_clock::now());
        self->schedule_housekeeping();
    });
}

void CoapServer::Impl::on_established(ConnectionId id, SSL* ssl) {
    SessionInfo info;
    info.key = "s" + std::to_string(id);
    info.peer = endpoint_->peer_text(id);
    info.next_mid = static_cast<std::uint16_t>(random_());
    if (X509* certificate = SSL_get0_peer_certificate(ssl)) {
        unsigned char* der = nullptr;
        const int length = i2d_X509(certificate, &der);
        if (length > 0) {
            // The handshake already parsed and verified the certificate: hash its DER, do not decode it again.
            std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
            SHA256(der, static_cast<std::size_t>(length), digest.data());
            info.certificate = true;
            info.lfdi = lfdi_from_hash(digest);
            info.certificate_serial = subject_serial_number(certificate);
            auto& live = live_certificates_[info.lfdi];
            live.serial = info.certificate_serial;
            ++live.sessions;
        }
        OPENSSL_free(der);
    } else if (const char* identity = SSL_get_psk_identity(ssl)) {
        info.psk_identity = identity;
    }
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl))
        info.cipher = SSL_CIPHER_get_name(cipher);
    info.established_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    count_session(id, info, +1);
    auto& same_identity = sessions_by_identity_[identity_of(info)];
    same_identity.push_back(id);
    sessions_.emplace(id, std::move(info));
    while (same_identity.size() > options_.limits.max_sessions_per_identity)
        close_session(same_identity.front());  // takes itself off the list
    make_room();
}

std::string CoapServer::Impl::identity_of(const SessionInfo& info) {
    return info.certificate ? "lfdi:" + info.lfdi : "psk:" + info.psk_identity;
}

void CoapServer::Impl::make_room() {
    while (sessions_.size() > options_.limits.max_sessions) {
        std::set<std::string> observed;
        for (const auto& [key, observation] : observations_)
            observed.insert(key.session_key);
        const auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [&](const auto& a, const auto& b) {
            const bool a_observed = observed.contains(a.second.key);
            const bool b_observed = observed.contains(b.second.key);
            if (a_observed != b_observed)
                return !a_observed;
            return a.second.last_heard < b.second.last_heard;
        });
        close_session(oldest->first);
    }
}

void CoapServer::Impl::on_handshake_failed(const std::string& peer, const std::string& reason) {
    count(&ServerStats::handshake_failures);
    spdlog::info("[HAN_DTLS_FAILED] DTLS handshake with {} failed: {}", peer, reason);
}

Peer CoapServer::Impl::resolve_peer(ConnectionId, const SessionInfo& info) const {
    Peer peer;
    peer.session_key = info.key;
    std::optional<RegisteredDevice> device;
    if (info.certificate) {
        peer.credential = Peer::Credential::Certificate;
        peer.lfdi = info.lfdi;
        peer.certificate_serial = info.certificate_serial;
        device = security_->find_by_lfdi(info.lfdi);
    } else {
        peer.credential = Peer::Credential::Psk;
        peer.psk_identity = info.psk_identity;
        // Looked up per request: a device removed since the handshake loses access at once.
        if (auto credential = security_->find_psk(info.psk_identity))
            device = credential->device;
    }
    if (device) {
        peer.device_id = device->device_id;
        peer.device_type = device->type;
        peer.premises_id = device->premises_id;
        if (peer.lfdi.empty())
            peer.lfdi = device->lfdi;
    }
    return peer;
}

bool CoapServer::Impl::close_if_credential_lapsed(ConnectionId id, const SessionInfo& info) {
    if (info.certificate || security_->find_psk(info.psk_identity))
        return false;
    spdlog::info(
        "[HAN_CREDENTIAL_LAPSED] the PSK identity of session {} no longer works (expired or replaced): the "
        "session closes",
        info.key);
    count(&ServerStats::sessions_credential_lapsed);
    close_session(id);
    return true;
}

void CoapServer::Impl::forget_session(ConnectionId id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end())
        return;
    if (it->second.certificate) {
        auto live = live_certificates_.find(it->second.lfdi);
        if (live != live_certificates_.end() && --live->second.sessions == 0)
            live_certificates_.erase(live);
    }
    if (it->second.retransmit_timer)
        it->second.retransmit_timer->cancel();
    if (auto same = sessions_by_identity_.find(identity_of(it->second)); same != sessions_by_identity_.end()) {
        std::erase(same->second, id);
        if (same->second.empty())
            sessions_by_identity_.erase(same);
    }
    const std::string key = it->second.key;
    exchanges_.forget_session(key);
    exchanges_remembered_ = exchanges_.size();
    block1_.forget_prefix(key + '|');
    count_session(id, it->second, -1);
    sessions_.erase(it);
    end_observations_of(key);
}

void CoapServer::Impl::close_session(ConnectionId id) {
    forget_session(id);
    if (endpoint_)
        endpoint_->close_connection(id);
}

void CoapServer::Impl::close_sessions_of(const std::string& lfdi, const std::optional<std::string>& psk_identity) {
    if (stopped_)
        return;
    std::vector<ConnectionId> closing;
    for (const auto& [id, info] : sessions_) {
        if ((info.certificate && !lfdi.empty() && info.lfdi == lfdi) ||
            (!info.certificate && psk_identity && info.psk_identity == *psk_identity))
            closing.push_back(id);
    }
    for (const ConnectionId id : closing)
        close_session(id);
}

// ---- The message layer ----

void CoapServer::Impl::on_message(ConnectionId id, std::string_view datagram) {
    const auto found = sessions_.find(id);
    if (found == sessions_.end())
        return;
    SessionInfo& info = found->second;
    auto parsed = parse_message(datagram);
    // What the device says of its own accord keeps its session busy; its acknowledgements of ours do not (a liveness
    // check is answered, and the next one is due an idle timeout after the check, not after the answer).
    if (!parsed || (parsed->type != CoapMessageType::Acknowledgement && parsed->type != CoapMessageType::Reset))
        info.last_heard = std::chrono::steady_clock::now();
    if (!parsed) {
        // A confirmable message we cannot read is rejected (RFC 7252 §4.2); anything else is ignored (§4.3).
        if (const auto header = peek_header(datagram); header && header->type == CoapMessageType::Confirmable) {
            CoapMessage reset;
            reset.type = CoapMessageType::Reset;
            reset.mid = header->mid;
            transmit(id, reset);
        }
        return;
    }
    const CoapMessage& message = *parsed;
    switch (message.type) {
        case CoapMessageType::Acknowledgement:
            on_acknowledged(id, info, message.mid, false);
            return;
        case CoapMessageType::Reset:
            on_acknowledged(id, info, message.mid, true);
            return;
        case CoapMessageType::Confirmable:
        case CoapMessageType::NonConfirmable:
            break;
    }
    if (message.is_request()) {
        handle(id, message);
        return;
    }
    // A ping (an empty confirmable message, RFC 7252 §4.3) or a confirmable response we never asked for: Reset.
    if (message.type == CoapMessageType::Confirmable) {
        CoapMessage reset;
        reset.type = CoapMessageType::Reset;
        reset.mid = message.mid;
        transmit(id, reset);
    }
}

void CoapServer::Impl::transmit(ConnectionId id, const CoapMessage& message) {
    if (endpoint_)
        endpoint_->send(id, serialize_message(message));
}

// A newer notification for the same observation replaces one still waiting (RFC 7641 §4.5.2): the device wants the
// current state, not every state in between.
void CoapServer::Impl::send_confirmable(ConnectionId id, CoapMessage message) {
    const auto found = sessions_.find(id);
    if (found == sessions_.end())
        return;
    SessionInfo& info = found->second;
    if (!info.in_flight) {
        start_transmission(id, info, std::move(message));
        return;
    }
    if (message.find(option::kObserve) != nullptr) {
        for (auto& waiting : info.waiting) {
            if (waiting.token == message.token && waiting.find(option::kObserve) != nullptr) {
                waiting = std::move(message);
                return;
            }
        }
    }
    info.waiting.push_back(std::move(message));
}

void CoapServer::Impl::start_transmission(ConnectionId id, SessionInfo& info, CoapMessage message) {
    message.mid = info.next_mid++;
    info.in_flight_bytes = serialize_message(message);
    info.in_flight = std::move(message);
    info.retransmissions = 0;
    // ACK_TIMEOUT times a random factor between 1 and ACK_RANDOM_FACTOR 1.5 (RFC 7252 §4.8).
    const auto base = options_.limits.ack_timeout.count();
    info.retransmit_timeout =
        std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(base, base + base / 2)(random_));
    if (endpoint_)
        endpoint_->send(id, info.in_flight_bytes);
    arm_retransmission(id, info);
}

void CoapServer::Impl::arm_retransmission(ConnectionId id, SessionInfo& info) {
    if (!info.retransmit_timer)
        info.retransmit_timer = std::make_shared<boost::asio::steady_timer>(io_);
    info.retransmit_timer->expires_after(info.retransmit_timeout);
    const std::uint16_t mid = info.in_flight->mid;
    info.retransmit_timer->async_wait([weak = weak_from_this(), id, mid](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->stopped_)
            return;
        const auto found = self->sessions_.find(id);
        if (found == self->sessions_.end() || !found->second.in_flight || found->second.in_flight->mid != mid)
            return;
        SessionInfo& session = found->second;
        if (session.retransmissions >= self->options_.limits.max_retransmit) {
            // Never acknowledged: the device is gone. Its observations end and its session closes (RFC 7641 §4.5).
            spdlog::info("[HAN_PEER_GONE] {} acknowledged nothing after {} retransmissions: its session closes",
                         session.peer, session.retransmissions);
            self->close_session(id);
            return;
        }
        ++session.retransmissions;
        session.retransmit_timeout *= 2;
        self->endpoint_->send(id, session.in_flight_bytes);
        self->arm_retransmission(id, session);
    });
}

void CoapServer::Impl::on_acknowledged(ConnectionId id, SessionInfo& info, std::uint16_t mid, bool reset) {
    if (!info.in_flight || info.in_flight->mid != mid)
        return;  // a duplicate, or an answer to nothing we sent
    const CoapMessage acknowledged = std::move(*info.in_flight);
    info.in_flight.reset();
    info.retransmit_timer->cancel();
    // A notification the observer reset ends its observation (RFC 7641 §3.6).
    if (reset && acknowledged.find(option::kObserve) != nullptr)
        end_observation(ObserverKey{info.key, acknowledged.token});
    const auto still = sessions_.find(id);
    if (still == sessions_.end() || still->second.in_flight || still->second.waiting.empty())
        return;
    CoapMessage next = std::move(still->second.waiting.front());
    still->second.waiting.pop_front();
    start_transmission(id, still->second, std::move(next));
}

// The answer to a request: piggybacked on the ACK of a confirmable one, a non-confirmable message otherwise.
void CoapServer::Impl::answer(ConnectionId id, const CoapMessage& request, const CachedResponse& response) {
    if (request.type == CoapMessageType::Confirmable) {
        transmit(id, message_of(CoapMessageType::Acknowledgement, request.mid, request.token, response));
        return;
    }
    const auto found = sessions_.find(id);
    if (found != sessions_.end())
        transmit(id, message_of(CoapMessageType::NonConfirmable, found->second.next_mid++, request.token, response));
}

// ---- Observation ----

bool CoapServer::Impl::reserve_observation(const std::string& identity, const ObserverKey& key) {
    auto& slots = observers_by_identity_[identity];
    if (slots.contains(key))
        return true;
    if (slots.size() >= options_.limits.max_observers_per_identity)
        return false;
    slots.insert(key);
    return true;
}

void CoapServer::Impl::release_reservation(const std::string& identity, const ObserverKey& key) {
    const auto observed = observations_.find(key);
    if (observed != observations_.end() && observed->second.identity == identity)
        return;  // the slot is the observation's now
    auto slots = observers_by_identity_.find(identity);
    if (slots == observers_by_identity_.end())
        return;
    slots->second.erase(key);
    if (slots->second.empty())
        observers_by_identity_.erase(slots);
}

void CoapServer::Impl::replace_earlier_registration(const std::string& identity, const ObserverKey& key,
                                                    const std::string& path,
                                                    const std::map<std::string, std::string>& query) {
    const auto slots = observers_by_identity_.find(identity);
    if (slots == observers_by_identity_.end())
        return;
    std::vector<ObserverKey> earlier;
    for (const auto& other : slots->second) {
        const auto observed = observations_.find(other);
        if (other != key && observed != observations_.end() && observed->second.path == path &&
            observed->second.query == query)
            earlier.push_back(other);
    }
    for (const auto& other : earlier)
        end_observation(other);
}

void CoapServer::Impl::start_observation(const ObserverKey& key, Observation observation) {
    auto existing = observations_.find(key);
    if (existing != observations_.end()) {
        // The same token again: a re-registration, which keeps the observation (RFC 7641 §4.1).
        observation.refreshing = existing->second.refreshing;
        // A refresh still in flight is older than this registration's answer: fetch again instead of sending it.
        observation.changed_meanwhile = existing->second.refreshing;
        if (existing->second.path != observation.path) {
            observers_by_path_[existing->second.path].erase(key);
            observers_by_path_[observation.path].insert(key);
        }
        if (existing->second.identity != observation.identity) {
            // Registered again under another identity (the device's record changed): the slot moves with it.
            const std::string old_identity = existing->second.identity;
            existing->second.identity = observation.identity;
            release_reservation(old_identity, key);
        }
        existing->second = std::move(observation);
        return;
    }
    observers_by_path_[observation.path].insert(key);
    observers_by_identity_[observation.identity].insert(key);
    observations_.emplace(key, std::move(observation));
    std::lock_guard lock(stats_mutex_);
    stats_.observations = observations_.size();
}

void CoapServer::Impl::end_observation(const ObserverKey& key) {
    auto found = observations_.find(key);
    if (found == observations_.end())
        return;
    const auto drop = [&key](std::map<std::string, std::set<ObserverKey>>& index, const std::string& name) {
        auto entry = index.find(name);
        if (entry == index.end())
            return;
        entry->second.erase(key);
        if (entry->second.empty())
            index.erase(entry);
    };
    drop(observers_by_path_, found->second.path);
    drop(observers_by_identity_, found->second.identity);
    observations_.erase(found);
    std::lock_guard lock(stats_mutex_);
    stats_.observations = observations_.size();
}

void CoapServer::Impl::complete_registration(const ObserverKey& key, const Observation& observation,
                                             CachedResponse& answer) {
    if (answer.code / 100 != 2) {
        end_observation(key);  // an error answer to a re-registration ends the observation too
        release_reservation(observation.identity, key);
        return;
    }
    start_observation(key, observation);
    insert_option(answer, option::kObserve, next_observe_value());
}

void CoapServer::Impl::end_observations_of(const std::string& session_key) {
    std::vector<ObserverKey> ended;
    for (auto o = observations_.lower_bound(ObserverKey{session_key, {}});
         o != observations_.end() && o->first.session_key == session_key; ++o)
        ended.push_back(o->first);
    for (const auto& observer : ended)
        end_observation(observer);
}

void CoapServer::Impl::check_idle_sessions(std::chrono::steady_clock::time_point now) {
    const auto quiet_after = options_.limits.idle_timeout;
    std::vector<ConnectionId> idle;
    std::vector<ObserverKey> to_check;
    for (auto& [id, info] : sessions_) {
        if (now - info.last_heard < quiet_after || info.in_flight)
            continue;
        const auto observed = observations_.lower_bound(ObserverKey{info.key, {}});
        if (observed != observations_.end() && observed->first.session_key == info.key) {
            info.last_heard = now;  // one notification per session is enough
            to_check.push_back(observed->first);
        } else {
            idle.push_back(id);
        }
    }
    for (const ConnectionId id : idle)
        close_session(id);
    for (const auto& key : to_check)
        refresh_observer(key);
}

// The observer's GET again, with its identity as it is now: one that lost access hears so and stops observing.
void CoapServer::Impl::refresh_observer(const ObserverKey& key) {
    auto found = observations_.find(key);
    if (found == observations_.end())
        return;
    Observation& observation = found->second;
    if (observation.refreshing) {
        observation.changed_meanwhile = true;  // one more GET once the one in flight is back, not a second now
        return;
    }
    const auto session = sessions_.find(observation.session);
    if (session == sessions_.end())
        return;
    if (close_if_credential_lapsed(observation.session, session->second))
        return;
    observation.refreshing = true;
    Request req;
    req.peer = resolve_peer(observation.session, session->second);
    req.method = Method::Get;
    req.path = observation.path;
    req.segments = split_path(req.path);
    req.query = observation.query;
    auto match = router_.match(req.segments);
    if (!match) {
        deliver_notification(key, Response{Code::NotFound, "", headend::coap::kContentFormatXml, "", {}});
        return;
    }
    // One answer per refresh, delivered on the loop. A Responder dropped unanswered (a handler bug) counts as 5.00,
    // which ends the observation instead of leaving it refreshing, and so silent, for good.
    struct Refresh {
        std::weak_ptr<Impl> server;
        ObserverKey key;
        std::atomic<bool> answered{false};
        Refresh(std::weak_ptr<Impl> owner, ObserverKey observer) : server(std::move(owner)), key(std::move(observer)) {}
        Refresh(const Refresh&) = delete;
        Refresh& operator=(const Refresh&) = delete;
        ~Refresh() { answer(Response{Code::InternalServerError, "", headend::coap::kContentFormatXml, "", {}}); }
        void answer(Response response) {
            if (answered.exchange(true))
                return;  // a second answer is a handler bug; the first one stands
            auto self = server.lock();
            if (!self)
                return;
            boost::asio::post(self->io_, [weak = server, observer = key, response = std::move(response)] {
                if (auto owner = weak.lock(); owner && !owner->stopped_)
                    owner->deliver_notification(observer, response);
            });
        }
    };
    auto refresh = std::make_shared<Refresh>(weak_from_this(), key);
    headend::coap::Responder responder = [refresh](Response answer) { refresh->answer(std::move(answer)); };
    try {
        match->target->handler(req, std::move(responder));
    } catch (const std::exception& error) {
        spdlog::error("[HAN_HANDLER_EXCEPTION] notification of {}: {}", req.path, error.what());
        refresh->answer(Response{Code::InternalServerError, "", headend::coap::kContentFormatXml, "", {}});
    }
}

// Confirmable, so an observer that went away is noticed (no ACK, or a Reset) and dropped.
void CoapServer::Impl::deliver_notification(const ObserverKey& key, const Response& answer) {
    auto found = observations_.find(key);
    if (found == observations_.end())
        return;  // ended while the handler worked
    Observation& observation = found->second;
    observation.refreshing = false;
    if (observation.changed_meanwhile) {
        observation.changed_meanwhile = false;  // this answer is older than the change: fetch the newer one
        refresh_observer(key);
        return;
    }
    // The first block, in the size the registration asked for, with an ETag (RFC 7959 §2.6).
    std::optional<Block2Request> block2;
    if (observation.block_szx)
        block2 = Block2Request{0, *observation.block_szx};
    CachedResponse built = build_response(answer, block2, std::nullopt);
    const bool observing = built.code / 100 == 2;
    if (observing)
        insert_option(built, option::kObserve, next_observe_value());
    const ConnectionId session = observation.session;
    if (!observing)
        end_observation(key);  // a notification that is not 2.xx ends the observation (RFC 7641 §3.2)
    send_confirmable(session, message_of(CoapMessageType::Confirmable, 0, key.token, built));
    count(&ServerStats::notifications);
}

void CoapServer::Impl::notify_now(const std::string& path) {
    auto observers = observers_by_path_.find(path);
    if (stopped_ || observers == observers_by_path_.end())
        return;
    const std::vector<ObserverKey> keys(observers->second.begin(), observers->second.end());
    for (const auto& key : keys)
        refresh_observer(key);
}

CachedResponse CoapServer::Impl::build_response(const Response& response, const std::optional<Block2Request>& block2,
                                                const std::optional<std::string>& block1_echo) const {
    CachedResponse out;
    out.code = static_cast<int>(response.code);
    if (!response.location.empty()) {
        for (const auto& segment : split_path(response.location))
            out.options.push_back({option::kLocationPath, segment});
    }
    const bool has_body = !response.body.empty();
    if (has_body)
        out.options.push_back({option::kContentFormat, encode_uint(static_cast<unsigned>(response.content_format))});
    if (response.max_age)
        out.options.push_back({option::kMaxAge, encode_uint(*response.max_age)});

    // Block2 when the body does not fit one message, or when the client asked for blocks.
    unsigned szx = 6;
    while (szx > 0 && (std::size_t{1} << (szx + 4)) + 64 > kMaxMessageBytes)
        --szx;
    if (block2)
        szx = std::min(szx, block2->szx);
    const std::size_t block_size = std::size_t{1} << (szx + 4);
    if (has_body && (block2 || response.body.size() > block_size)) {
        const std::size_t num = block2 ? block2->num : 0;
        const std::size_t offset = num * block_size;
        if (offset >= response.body.size())
            return CachedResponse{static_cast<int>(Code::BadOption), {}, "block number out of range"};
        const bool more = offset + block_size < response.body.size();
        out.options.insert(out.options.begin(), {option::kETag, etag_of(response.body)});
        out.options.push_back({option::kBlock2, encode_uint((num << 4) | (more ? 8U : 0U) | szx)});
        if (num == 0)
            out.options.push_back({option::kSize2, encode_uint(response.body.size())});
        out.payload = response.body.substr(offset, block_size);
    } else {
        out.payload = response.body;
    }
    if (block1_echo)
        out.options.push_back({option::kBlock1, *block1_echo});
    std::stable_sort(out.options.begin(), out.options.end(),
                     [](const CachedOption& a, const CachedOption& b) { return a.number < b.number; });
    return out;
}

// ---- Requests ----

void CoapServer::Impl::handle(ConnectionId id, const CoapMessage& request) {
    count(&ServerStats::requests);
    const auto now = ExchangeCache::Clock::now();
    const SessionInfo& info = sessions_.at(id);
    const std::string session_key = info.key;

    // Only confirmable exchanges that change something are deduplicated: a repeated GET is answered again (RFC 7252
    // §4.5), which keeps the cache to the write rate instead of the read rate.
    const bool confirmable = request.type == CoapMessageType::Confirmable;
    const bool confirmable_exchange = confirmable && request.code != 1;
    const std::uint16_t mid = request.mid;
    if (confirmable_exchange) {
        if (const CachedResponse* cached = exchanges_.find(session_key, mid, now)) {
            count(&ServerStats::retransmissions_answered_from_cache);
            if (cached->code != 0) {
                answer(id, request, *cached);
            } else {
                CoapMessage ack;  // still pending: the empty ACK again
                ack.type = CoapMessageType::Acknowledgement;
                ack.mid = mid;
                transmit(id, ack);
            }
            return;
        }
    }

    if (close_if_credential_lapsed(id, info))
        return;
    Request req;
    req.peer = resolve_peer(id, info);
    const char* method_text = method_name(request.code);
    auto remember = [&](const CachedResponse& response) {
        if (confirmable_exchange) {
            exchanges_.put(session_key, mid, response, now);
            exchanges_remembered_ = exchanges_.size();
        }
    };
    auto answer_now = [&](const CachedResponse& response) {
        remember(response);
        answer(id, request, response);
        count_answer(method_text, response.code);
    };

    const auto method = method_of(request.code);
    if (!method) {
        answer_now(CachedResponse{static_cast<int>(Code::MethodNotAllowed), {}, {}});
        return;
    }
    req.method = *method;
    for (const auto& item : request.options) {
        if (item.number == option::kProxyUri || item.number == option::kProxyScheme) {
            answer_now(CachedResponse{kProxyingNotSupported, {}, "no proxying here"});
            return;
        }
        if (!understood(item.number)) {
            answer_now(CachedResponse{
                static_cast<int>(Code::BadOption), {}, "unrecognized critical option " + std::to_string(item.number)});
            return;
        }
    }
    // Option values longer than their format allows (RFC 7252 §5.4.3, RFC 7959 §2.2, RFC 7641 §2): a critical one
    // makes the request malformed, an elective one is ignored.
    const auto too_long = [&request](std::uint16_t number, std::size_t longest) {
        const CoapOption* found = request.find(number);
        return found != nullptr && found->value.size() > longest;
    };
    if (too_long(option::kBlock1, 3) || too_long(option::kBlock2, 3) || too_long(option::kAccept, 2)) {
        answer_now(CachedResponse{static_cast<int>(Code::BadOption), {}, "option value too long"});
        return;
    }
    req.path = path_of(request);
    req.segments = split_path(req.path);
    req.query = query_of(request);
    if (auto format = request.uint_option(option::kContentFormat))
        req.content_format = static_cast<int>(*format);
    if (auto observe = request.uint_option(option::kObserve); observe && !too_long(option::kObserve, 3))
        req.observe = static_cast<std::uint32_t>(*observe);
    const std::string& token = request.token;

    if (reserved_block_size(request, option::kBlock1) || reserved_block_size(request, option::kBlock2)) {
        answer_now(CachedResponse{static_cast<int>(Code::BadRequest), {}, "reserved block size (SZX 7)"});
        return;
    }
    // Every representation served here is application/xml.
    if (auto accept = request.uint_option(option::kAccept); accept && *accept != headend::coap::kContentFormatXml) {
        answer_now(CachedResponse{static_cast<int>(Code::NotAcceptable), {}, "only application/xml (41)"});
        return;
    }
    std::optional<Block2Request> block2;
    if (auto value = request.uint_option(option::kBlock2))
        block2 = Block2Request{static_cast<std::uint32_t>(*value >> 4), static_cast<unsigned>(*value & 7U)};

    // Nothing is assembled for a path nobody serves.
    auto match = router_.match(req.segments);
    if (!match) {
        answer_now(CachedResponse{static_cast<int>(Code::NotFound), {}, {}});
        return;
    }
    const RouteTarget& target = *match->target;

    // Request bodies: Block1 reassembled here (a few uploads at a time per session), whole bodies capped.
    const std::string_view payload = request.payload;
    std::optional<std::string> block1_echo;
    if (auto value = request.uint_option(option::kBlock1)) {
        const Block1Option block1{static_cast<std::uint32_t>(*value >> 4), (*value & 8U) != 0,
                                  static_cast<unsigned>(*value & 7U)};
        std::optional<std::size_t> size1;
        if (auto size = request.uint_option(option::kSize1))
            size1 = static_cast<std::size_t>(*size);
        const std::string transfer_key = session_key + '|' + std::to_string(static_cast<int>(req.method)) + req.path;
        auto outcome = block1_.add(transfer_key, block1, size1, payload, now);
        count_block1_transfers();
        const std::string echo = encode_uint((std::uint64_t{block1.num} << 4) | (block1.more ? 8U : 0U) | block1.szx);
        if (std::holds_alternative<Block1Assembler::Continue>(outcome)) {
            answer_now(CachedResponse{231, {{option::kBlock1, echo}}, {}});
            return;
        }
        if (std::holds_alternative<Block1Assembler::TooLarge>(outcome)) {
            answer_now(CachedResponse{static_cast<int>(Code::RequestEntityTooLarge),
                                      {{option::kSize1, encode_uint(block1_.max_body())}},
                                      "request body too large"});
            return;
        }
        if (std::holds_alternative<Block1Assembler::Busy>(outcome)) {
            answer_now(CachedResponse{static_cast<int>(Code::ServiceUnavailable), {}, "too many uploads at once"});
            return;
        }
        if (std::holds_alternative<Block1Assembler::Incomplete>(outcome)) {
            answer_now(CachedResponse{static_cast<int>(Code::RequestEntityIncomplete), {}, "block out of sequence"});
            return;
        }
        req.body = std::move(std::get<Block1Assembler::Complete>(outcome).body);
        block1_echo = echo;
    } else {
        if (payload.size() > options_.limits.max_body_bytes) {
            answer_now(CachedResponse{static_cast<int>(Code::RequestEntityTooLarge),
                                      {{option::kSize1, encode_uint(options_.limits.max_body_bytes)}},
                                      "request body too large"});
            return;
        }
        req.body.assign(payload);
    }

    // GET with Observe 0 registers (once the answer is a success), Observe 1 deregisters; capped per identity.
    // Over the cap the GET is answered without registering (RFC 7641 §4.1).
    std::optional<std::pair<ObserverKey, Observation>> registering;
    if (req.method == Method::Get && req.observe && target.options.observable) {
        const ObserverKey key{session_key, token};
        if (*req.observe == 0) {
            Observation observation;
            observation.session = id;
            observation.path = req.path;
            observation.query = req.query;
            observation.identity = req.peer.lfdi.empty() ? req.peer.psk_identity : req.peer.lfdi;
            if (block2)
                observation.block_szx = block2->szx;
            replace_earlier_registration(observation.identity, key, req.path, req.query);
            if (reserve_observation(observation.identity, key))
                registering.emplace(key, std::move(observation));
        } else if (*req.observe == 1) {
            end_observation(key);
        }
    }

    // The handler answers now (piggybacked) or later (separate response). State shared with the Responder.
    struct Pending {
        std::mutex mutex;
        bool in_handler = true;
        std::optional<Response> early;
        bool answered = false;
        std::function<void(Response)> late;  // sends an answer that comes after the handler returned
        Pending() = default;
        Pending(const Pending&) = delete;
        Pending& operator=(const Pending&) = delete;
        // A handler that dropped its Responder without answering is a bug; the exchange is still answered (5.00),
        // so its observer slot is given back instead of leaking.
        ~Pending() {
            if (!answered && late)
                late(Response{Code::InternalServerError, "", headend::coap::kContentFormatXml, "", {}});
        }
    };
    auto pending = std::make_shared<Pending>();
    std::weak_ptr<Impl> weak = weak_from_this();

    headend::coap::Responder responder = [pending](Response response) {
        {
            std::lock_guard lock(pending->mutex);
            if (pending->answered)
                return;  // a second answer is a handler bug; the first one stands
            pending->answered = true;
            if (pending->in_handler) {
                pending->early = std::move(response);
                return;
            }
        }
        pending->late(std::move(response));
    };
    const CoapMessageType separate_type = confirmable ? CoapMessageType::Confirmable : CoapMessageType::NonConfirmable;
    pending->late = [weak, id, separate_type, token, session_key, mid, confirmable_exchange, block1_echo, block2, now,
                     registering, method_text](Response response) {
        auto self = weak.lock();
        if (!self)
            return;
        boost::asio::post(
            self->io_, [weak, id, separate_type, token, session_key, mid, confirmable_exchange, block1_echo, block2,
                        now, registering, method_text, response = std::move(response)] {
                auto server = weak.lock();
                if (!server || server->stopped_)
                    return;
                // The session may have closed while the handler worked: then the answer has nobody to go to, and no
                // observation may start.
                const auto session = server->sessions_.find(id);
                if (session == server->sessions_.end()) {
                    if (registering)
                        server->release_reservation(registering->second.identity, registering->first);
                    return;
                }
                CachedResponse built = server->build_response(response, block2, block1_echo);
                if (registering)
                    server->complete_registration(registering->first, registering->second, built);
                if (confirmable_exchange) {
                    server->exchanges_.put(session_key, mid, built, now);
                    server->exchanges_remembered_ = server->exchanges_.size();
                }
                if (separate_type == CoapMessageType::Confirmable) {
                    server->send_confirmable(id, message_of(CoapMessageType::Confirmable, 0, token, built));
                } else {
                    server->transmit(
                        id, message_of(CoapMessageType::NonConfirmable, session->second.next_mid++, token, built));
                }
                server->count(&ServerStats::separate_responses);
                server->count_answer(method_text, built.code);
            });
    };

    try {
        target.handler(req, std::move(responder));
    } catch (const std::exception& error) {
        spdlog::error("[HAN_HANDLER_EXCEPTION] {} {}: {}", static_cast<int>(req.method), req.path, error.what());
        std::lock_guard lock(pending->mutex);
        if (!pending->answered) {
            pending->answered = true;
            pending->early = Response{Code::InternalServerError, "", headend::coap::kContentFormatXml, "", {}};
        }
    }

    std::unique_lock lock(pending->mutex);
    pending->in_handler = false;
    if (pending->early) {
        lock.unlock();
        CachedResponse built = build_response(*pending->early, block2, block1_echo);
        if (registering)
            complete_registration(registering->first, registering->second, built);
        answer_now(built);
        return;
    }
    lock.unlock();
    // Answer later: remember the exchange as pending so a retransmission gets an empty ACK, not a second effect,
    // and acknowledge the request now so the device stops retransmitting (RFC 7252 §5.2.2).
    remember(CachedResponse{});
    if (confirmable) {
        CoapMessage ack;
        ack.type = CoapMessageType::Acknowledgement;
        ack.mid = mid;
        transmit(id, ack);
    }
}

// ---- OpenSSL callbacks ----

unsigned int CoapServer::Impl::on_psk(SSL* ssl, const char* identity, unsigned char* psk,
                                      unsigned int max_length) noexcept {
    auto* self = static_cast<Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    try {
        const std::string name = identity != nullptr ? identity : "";
        auto credential = self->security_->find_psk(name);
        std::vector<std::uint8_t> key;
        if (!credential || credential->key.empty()) {
            // An unknown identity goes on with a key nobody has, so it fails as a wrong key does: silently, at the
            // Finished message. Refusing it here would send an alert and tell a prober which identities exist.
            if (const auto suppressed = self->unknown_psk_log_.admit(std::chrono::steady_clock::now())) {
                spdlog::info("[HAN_PSK_UNKNOWN] handshake with unknown PSK identity '{}' will fail{}", name,
                             *suppressed == 0 ? "" : fmt::format(" ({} more not logged)", *suppressed));
            }
            self->count_refusal("unknown_psk_identity");
            key = self->decoy_psk_;
        } else {
            key = std::move(credential->key);
        }
        if (key.size() > max_length)
            return 0;
        std::copy(key.begin(), key.end(), psk);
        return static_cast<unsigned int>(key.size());
    } catch (const std::exception&) {
        return 0;
    }
}

int CoapServer::Impl::on_verify_chain(X509_STORE_CTX* store, void* arg) noexcept {
    auto* self = static_cast<Impl*>(arg);
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    unsigned char* der = nullptr;
    const int length = leaf != nullptr ? i2d_X509(leaf, &der) : -1;
    if (length <= 0)
        return X509_verify_cert(store);
    std::string digest(SHA256_DIGEST_LENGTH, '\0');
    SHA256(der, static_cast<std::size_t>(length), reinterpret_cast<unsigned char*>(digest.data()));
    OPENSSL_free(der);
    const std::int64_t now = std::time(nullptr);
    auto it = self->verified_certificates_.find(digest);
    if (it != self->verified_certificates_.end()) {
        if (now <= it->second)
            return 1;
        self->verified_certificates_.erase(it);
    }
    const int verified = X509_verify_cert(store);
    if (verified == 1) {
        std::tm not_after{};
        if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &not_after) == 1) {
            if (self->verified_certificates_.size() >= kMaxVerifiedCertificates)
                self->verified_certificates_.clear();
            self->verified_certificates_.emplace(std::move(digest), static_cast<std::int64_t>(timegm(&not_after)));
        }
    }
    return verified;
}

// Logs why a device certificate was refused; the verdict is OpenSSL's.
int CoapServer::Impl::on_verify_certificate(int preverify_ok, X509_STORE_CTX* store) noexcept {
    // Device certificates carry ECDSA P-256 keys (DESIGN §4); one the CA signed over another key is refused too.
    if (preverify_ok != 0 && X509_STORE_CTX_get_error_depth(store) == 0 &&
        !is_ecdsa_p256(X509_get0_pubkey(X509_STORE_CTX_get_current_cert(store)))) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        preverify_ok = 0;
    }
    if (preverify_ok == 0) {
        spdlog::info("[HAN_CERT_REFUSED] device certificate refused at depth {}: {}",
                     X509_STORE_CTX_get_error_depth(store),
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
        const auto* ssl =
            static_cast<const SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        if (ssl != nullptr) {
            if (auto* self = static_cast<Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))))
                self->count_refusal("certificate_refused");
        }
    }
    return preverify_ok;
}

CoapServer::CoapServer(boost::asio::io_context& io, ServerOptions options,
                       std::shared_ptr<const SecurityStore> security)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(security))) {}

CoapServer::~CoapServer() {
    impl_->close();
}

headend::Result<void> CoapServer::start() {
    return impl_->start();
}
void CoapServer::stop() {
    impl_->close();
}
std::uint16_t CoapServer::port() const {
    return impl_->port();
}
ServerStats CoapServer::stats() const {
    return impl_->stats();
}
std::vector<SessionSummary> CoapServer::sessions() const {
    return impl_->sessions();
}
std::optional<std::string> CoapServer::certificate_serial(const std::string& lfdi) const {
    return impl_->certificate_serial(lfdi);
}

void CoapServer::add(const std::string& pattern, headend::coap::Handler handler,
                     headend::coap::ResourceOptions options) {
    impl_->add_route(pattern, std::move(handler), options);
}
void CoapServer::notify(const std::string& path) {
    impl_->notify(path);
}
void CoapServer::close_sessions(const std::string& lfdi, const std::optional<std::string>& psk_identity) {
    boost::asio::post(impl_->io(), [weak = std::weak_ptr<Impl>(impl_), lfdi, psk_identity] {
        if (auto impl = weak.lock())
            impl->close_sessions_of(lfdi, psk_identity);
    });
}
bool CoapServer::serves(const std::string& path) const {
    return impl_->serves(path);
}

}  // namespace han
