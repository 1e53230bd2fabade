#include "han/coap_server.hpp"

#include <coap3/coap.h>
#include <dirent.h>
#include <fmt/format.h>
#include <linux/sock_diag.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "han/block1.hpp"
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

constexpr std::uint16_t kOptionETag = 4;
constexpr std::uint16_t kOptionObserve = 6;
constexpr std::uint16_t kOptionLocationPath = 8;
constexpr std::uint16_t kOptionContentFormat = 12;
constexpr std::uint16_t kOptionMaxAge = 14;
constexpr std::uint16_t kOptionAccept = 17;
constexpr std::uint16_t kOptionBlock2 = 23;
constexpr std::uint16_t kOptionBlock1 = 27;
constexpr std::uint16_t kOptionSize2 = 28;
constexpr std::uint16_t kOptionSize1 = 60;

// The IEEE 2030.5 suites; nothing else is negotiated.
constexpr const char* kAllowedCiphers = "ECDHE-ECDSA-AES128-CCM8:PSK-AES128-CCM8";
constexpr const char* kAllowedGroups = "P-256";
constexpr int kVerifyMode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE;
constexpr int kVerifyDepth = 4;

std::once_flag coap_startup_once;

std::string encode_uint(std::uint64_t value) {
    std::array<std::uint8_t, 8> buf{};
    const unsigned length = coap_encode_var_safe8(buf.data(), buf.size(), value);
    return {reinterpret_cast<const char*>(buf.data()), length};
}

std::optional<std::uint64_t> option_uint(const coap_pdu_t* pdu, std::uint16_t number) {
    coap_opt_iterator_t iterator;
    const coap_opt_t* option = coap_check_option(pdu, number, &iterator);
    if (option == nullptr)
        return std::nullopt;
    return coap_decode_var_bytes8(coap_opt_value(option), coap_opt_length(option));
}

std::map<std::string, std::string> parse_query(const coap_string_t* query) {
    std::map<std::string, std::string> result;
    if (query == nullptr)
        return result;
    const std::string_view text(reinterpret_cast<const char*>(query->s), query->length);
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('&', start), text.size());
        const std::string_view item = text.substr(start, end - start);
        if (!item.empty()) {
            const std::size_t eq = item.find('=');
            if (eq == std::string_view::npos) {
                result.emplace(std::string(item), "");
            } else {
                result.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
            }
        }
        start = end + 1;
    }
    return result;
}

std::optional<Method> method_of(coap_pdu_code_t code) {
    switch (code) {
        case COAP_REQUEST_CODE_GET:
            return Method::Get;
        case COAP_REQUEST_CODE_POST:
            return Method::Post;
        case COAP_REQUEST_CODE_PUT:
            return Method::Put;
        case COAP_REQUEST_CODE_DELETE:
            return Method::Delete;
        default:
            return std::nullopt;
    }
}

// The Block2 option of a request: which block of the answer, and how big (RFC 7959 §2.2).
struct Block2Request {
    std::uint32_t num = 0;
    unsigned szx = 6;
};

// SZX 7 is reserved (RFC 7959 §2.2): a block option carrying it is malformed.
bool reserved_block_size(const coap_pdu_t* pdu, std::uint16_t number) {
    const auto value = option_uint(pdu, number);
    return value && (*value & 7U) == 7U;
}

const char* method_name(coap_pdu_code_t code) {
    switch (code) {
        case COAP_REQUEST_CODE_GET:
            return "GET";
        case COAP_REQUEST_CODE_POST:
            return "POST";
        case COAP_REQUEST_CODE_PUT:
            return "PUT";
        case COAP_REQUEST_CODE_DELETE:
            return "DELETE";
        default:
            return "other";
    }
}

// libcoap 4.3.1 does not hand out its endpoint's socket: find the UDP socket bound to our port among our own
// descriptors. -1 if none (then the buffer keeps the system default and drops are not counted).
int find_udp_socket(std::uint16_t port) {
    DIR* fds = opendir("/proc/self/fd");
    if (fds == nullptr)
        return -1;
    int found = -1;
    while (const dirent* entry = readdir(fds)) {
        const int fd = std::atoi(entry->d_name);
        int type = 0;
        socklen_t type_length = sizeof type;
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_DGRAM ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            continue;
        std::uint16_t bound = 0;
        if (address.ss_family == AF_INET)
            bound = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
        else if (address.ss_family == AF_INET6)
            bound = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
        if (bound == port) {
            found = fd;
            break;
        }
    }
    closedir(fds);
    return found;
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

struct SessionInfo {
    std::string key;  // unique for the life of the process
    // When the device last sent a request, or when its observations were last checked for liveness.
    std::chrono::steady_clock::time_point last_heard = std::chrono::steady_clock::now();
    bool certificate = false;
    std::string lfdi;
    std::string certificate_serial;
    std::string psk_identity;
    bool probing = false;   // a ping is checking whether the device behind this session is still the same one
    bool answered = false;  // the device answered that ping (its Reset)
    bool heard = false;     // a record of the session's epoch arrived during the check: the device is the same one
    std::chrono::steady_clock::time_point last_confirmable_sent{};
};

coap_tick_t now_ticks() {
    coap_tick_t now = 0;
    coap_ticks(&now);
    return now;
}

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

// Servers by libcoap context, for callbacks that carry no user pointer (event handler, TLS setup).
std::mutex servers_mutex;
std::unordered_map<const coap_context_t*, std::weak_ptr<CoapServer::Impl>> servers;

}  // namespace

class CoapServer::Impl : public std::enable_shared_from_this<CoapServer::Impl> {
public:
    Impl(boost::asio::io_context& io, ServerOptions options, std::shared_ptr<const SecurityStore> security)
        : io_(io),
          options_(std::move(options)),
          security_(std::move(security)),
          descriptor_(io),
          timer_(io),
          coap_timer_(io),
          block1_(options_.limits.max_body_bytes, options_.limits.block1_timeout) {}

    ~Impl() { close(); }

    headend::Result<void> start();
    void close();

    std::uint16_t port() const { return port_; }
    boost::asio::io_context& io() { return io_; }
    bool serves(const std::string& path) const { return router_.known(split_path(path)); }
    std::optional<std::string> certificate_serial(const std::string& lfdi) const {
        const auto found = live_certificates_.find(lfdi);
        return found == live_certificates_.end() ? std::nullopt : std::optional(found->second.serial);
    }
    ServerStats stats() const {
        std::unique_lock lock(stats_mutex_);
        ServerStats stats = stats_;
        lock.unlock();
        stats.exchanges_remembered = exchanges_remembered_.load();
        if (socket_fd_ >= 0) {
            std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
            socklen_t length = sizeof meminfo;
            if (getsockopt(socket_fd_, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &length) == 0)
                stats.receive_buffer_drops = meminfo[SK_MEMINFO_DROPS];
            int granted = 0;
            socklen_t granted_length = sizeof granted;
            if (getsockopt(socket_fd_, SOL_SOCKET, SO_RCVBUF, &granted, &granted_length) == 0)
                stats.receive_buffer_bytes = static_cast<std::size_t>(granted);
        }
        return stats;
    }

    void add_route(const std::string& pattern, headend::coap::Handler handler, headend::coap::ResourceOptions options) {
        router_.add(pattern, RouteTarget{std::move(handler), options});
    }

    void notify(const std::string& path) {
        boost::asio::post(io_, [self = shared_from_this(), path] { self->notify_now(path); });
    }

    // libcoap callbacks (C linkage targets; never throw).
    static void on_request(coap_resource_t*, coap_session_t* session, const coap_pdu_t* request,
                           const coap_string_t* query, coap_pdu_t* response) noexcept;
    static int on_event(coap_session_t* session, coap_event_t event) noexcept;
    static void on_nack(coap_session_t* session, const coap_pdu_t* sent, coap_nack_reason_t reason,
                        coap_mid_t mid) noexcept;
    static const coap_bin_const_t* on_psk_identity(coap_bin_const_t* identity, coap_session_t* session,
                                                   void* arg) noexcept;
    static int on_tls_setup(void* tls_session, coap_dtls_pki_t* setup) noexcept;
    static int on_verify_chain(X509_STORE_CTX* store, void* arg) noexcept;
    static int on_verify_certificate(int preverify_ok, X509_STORE_CTX* store) noexcept;
    static void on_record(int write_p, int version, int content_type, const void* buf, std::size_t len, SSL* ssl,
                          void* arg) noexcept;
    static std::shared_ptr<Impl> server_of(const coap_session_t* session);

private:
    void handle(coap_session_t* session, const coap_pdu_t* request, const coap_string_t* query, coap_pdu_t* response);
    SessionInfo& session_info(coap_session_t* session);
    Peer resolve_peer(coap_session_t* session);
    void forget_session(coap_session_t* session);

    // Observation (RFC 7641) is kept here rather than in libcoap: libcoap 4.3.1 walks every resource it holds on
    // each ACK of a confirmable 2.xx it sent (coap_touch_observer, net.c), and every separate response is one, so a
    // libcoap resource per observable path would cost a walk over all devices per device write.
    struct Observation {
        coap_session_t* session = nullptr;  // referenced while the observation lasts
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
    // is gone, and its session with it (RFC 7641 §4.5).
    void check_quiet_observers(std::chrono::steady_clock::time_point now);
    void close_session_later(coap_session_t* session, const std::string& session_key);
    // A ClientHello (a handshake record of epoch 0) on an established session: the device rebooted and kept its port
    // (RFC 6347 §4.2.8), or somebody spoofs its address. libcoap 4.3.1 hands such a record to the old session, where
    // OpenSSL drops it, so the device would be locked out. A ping with a short retransmission tells: a live device
    // answers it and keeps its session; a rebooted one cannot, and its old session closes, so the ClientHello it
    // sends again starts a new handshake.
    void probe_session(coap_session_t* session, const std::string& session_key);
    void judge_probe(coap_session_t* session, const std::string& session_key, int extensions);
    std::size_t probes_in_progress_ = 0;
    void close_session(coap_session_t* session, const std::string& session_key);

public:
    void close_sessions_of(const std::string& lfdi, const std::optional<std::string>& psk_identity);

private:
    // Registers the observer if the answer to its GET with Observe 0 is a success, adding the Observe option.
    void complete_registration(const ObserverKey& key, const Observation& observation, CachedResponse& answer);
    void refresh_observer(const ObserverKey& key);
    void deliver_notification(const ObserverKey& key, const Response& answer);
    std::string next_observe_value() {
        observe_sequence_ = (observe_sequence_ + 1) & 0xFFFFFFU;  // 24 bits (RFC 7641 §4.4)
        return encode_uint(observe_sequence_);
    }

    CachedResponse build_response(const Response& response, const std::optional<Block2Request>& block2,
                                  coap_session_t* session, const std::optional<std::string>& block1_echo) const;
    static void write_response(coap_pdu_t* pdu, const CachedResponse& response);
    void send_message(coap_session_t* session, coap_pdu_type_t type, const std::string& token,
                      const CachedResponse& response);
    // A session referenced while a handler's answer is pending; close() gives back what is still held, since
    // libcoap frees sessions only when nothing holds them (and asserts it).
    void hold_for_answer(coap_session_t* session) {
        coap_session_reference(session);
        ++answer_holds_[session];
    }
    void release_answer_hold(coap_session_t* session) {
        auto held = answer_holds_.find(session);
        if (held == answer_holds_.end())
            return;
        if (--held->second == 0)
            answer_holds_.erase(held);
        coap_session_release(session);
    }

    void notify_now(const std::string& path);
    void apply_transmission_parameters(coap_session_t* session) const {
        const auto ms = options_.limits.ack_timeout.count();
        coap_session_set_ack_timeout(
            session, coap_fixed_point_t{static_cast<uint16_t>(ms / 1000), static_cast<uint16_t>(ms % 1000)});
        coap_session_set_max_retransmit(session, options_.limits.max_retransmit);
    }

    void arm_io();
    void process_io();
    // libcoap's own timer (a timerfd in its epoll set) can end up disarmed with work due (coap_io_prepare_epoll
    // disarms it when the deadline passed during its walk), and then retransmissions, DTLS handshake timers and
    // session expiry wait for the next datagram. This timer runs libcoap's timeouts itself, armed from the next
    // timeout libcoap reports and at least once a second.
    void run_coap_timers();
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
    void count_session(const SessionInfo& info, int change) {
        std::lock_guard lock(stats_mutex_);
        auto& kind = info.certificate ? stats_.sessions_certificate : stats_.sessions_psk;
        kind = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(kind) + change);
        stats_.sessions = stats_.sessions_certificate + stats_.sessions_psk;
        if (change > 0)
            ++stats_.handshakes_completed;
    }

    boost::asio::io_context& io_;
    ServerOptions options_;
    std::shared_ptr<const SecurityStore> security_;
    boost::asio::posix::stream_descriptor descriptor_;
    int epoll_fd_ = -1;  // libcoap's own epoll set (descriptor_ holds a duplicate for Asio)
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer coap_timer_;

    coap_context_t* context_ = nullptr;
    std::uint16_t port_ = 0;
    bool stopped_ = false;

    Router<RouteTarget> router_;
    std::unordered_map<coap_session_t*, SessionInfo> sessions_;
    struct LiveCertificate {
        std::string serial;
        std::size_t sessions = 0;
    };
    std::unordered_map<std::string, LiveCertificate> live_certificates_;  // by LFDI, while a session presents it
    std::uint64_t next_session_id_ = 1;
    ExchangeCache exchanges_;
    std::atomic<std::size_t> exchanges_remembered_{0};  // exchanges_.size(), readable from other threads
    Block1Assembler block1_;
    std::map<ObserverKey, Observation> observations_;
    std::unordered_map<coap_session_t*, std::size_t> answer_holds_;
    std::map<std::string, std::set<ObserverKey>> observers_by_path_;
    std::map<std::string, std::set<ObserverKey>> observers_by_identity_;  // for the cap per identity
    std::uint32_t observe_sequence_ = 0;

    // Kept alive for libcoap: the decoy PSK key (libcoap's default key, and the key of every unknown identity) and the
    // handed-out key of the current lookup.
    std::vector<std::uint8_t> decoy_psk_;
    std::vector<std::uint8_t> psk_scratch_;
    coap_bin_const_t psk_answer_{};
    X509_STORE* trust_store_ = nullptr;
    // The head-end's certificate and key, decoded once: OpenSSL 3 decoding per handshake costs more than the
    // handshake's own cryptography.
    // Device certificates whose chain verified, by SHA-256 of their DER, with their notAfter: a device that
    // reconnects is not verified again (the trust store does not change while the server runs).
    static constexpr std::size_t kMaxVerifiedCertificates = 65536;
    std::unordered_map<std::string, std::int64_t> verified_certificates_;
    const SSL_CTX* configured_context_ = nullptr;
    X509* certificate_ = nullptr;
    EVP_PKEY* private_key_ = nullptr;

    mutable std::mutex stats_mutex_;
    ServerStats stats_;
    LogRateLimit unknown_psk_log_;  // anyone can make these lines: a few a second, and how many were left out
    int socket_fd_ = -1;            // the endpoint's UDP socket (libcoap's), for its buffer size and drop count
};

headend::Result<void> CoapServer::Impl::start() {
    std::call_once(coap_startup_once, [] {
        coap_startup();
        coap_set_log_level(LOG_EMERG);
        coap_dtls_set_log_level(LOG_EMERG);
    });
    if (!coap_dtls_is_supported())
        return headend::make_error("coap.dtls", "libcoap was built without DTLS");

    context_ = coap_new_context(nullptr);
    if (context_ == nullptr)
        return headend::make_error("coap.context", "cannot create the libcoap context");
    {
        std::lock_guard lock(servers_mutex);
        servers[context_] = weak_from_this();
    }
    coap_register_event_handler(context_, &Impl::on_event);
    coap_register_nack_handler(context_, &Impl::on_nack);
    coap_context_set_max_idle_sessions(context_, static_cast<unsigned>(options_.limits.max_sessions));
    coap_context_set_max_handshake_sessions(context_, static_cast<unsigned>(options_.limits.max_handshakes));
    coap_context_set_session_timeout(context_, static_cast<unsigned>(options_.limits.idle_timeout.count()));

    // PSK: every identity is decided by on_psk_identity. libcoap only offers PSK when a default key is set, so it
    // gets a random one that nobody knows.
    decoy_psk_.resize(32);
    RAND_bytes(decoy_psk_.data(), static_cast<int>(decoy_psk_.size()));
    coap_dtls_spsk_t psk{};
    psk.version = COAP_DTLS_SPSK_SETUP_VERSION;
    psk.validate_id_call_back = &Impl::on_psk_identity;
    psk.id_call_back_arg = this;
    psk.psk_info.key.s = decoy_psk_.data();
    psk.psk_info.key.length = decoy_psk_.size();
    const auto& hint = options_.credentials.psk_hint;
    if (hint) {
        psk.psk_info.hint.s = reinterpret_cast<const std::uint8_t*>(hint->data());
        psk.psk_info.hint.length = hint->size();
    }
    if (!coap_context_set_psk2(context_, &psk))
        return headend::make_error("coap.psk", "cannot set up DTLS-PSK");

    const auto& credentials = options_.credentials;
    if (!credentials.certificate_der.empty()) {
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
        coap_dtls_pki_t pki{};
        pki.version = COAP_DTLS_PKI_SETUP_VERSION;
        pki.verify_peer_cert = 0;  // on_tls_setup installs our own verification against trust_store_
        pki.additional_tls_setup_call_back = &Impl::on_tls_setup;
        pki.cn_call_back_arg = this;
        const unsigned char* cert_bytes = credentials.certificate_der.data();
        certificate_ = d2i_X509(nullptr, &cert_bytes, static_cast<long>(credentials.certificate_der.size()));
        const unsigned char* key_bytes = credentials.private_key_der.data();
        private_key_ = d2i_AutoPrivateKey(nullptr, &key_bytes, static_cast<long>(credentials.private_key_der.size()));
        if (certificate_ == nullptr || private_key_ == nullptr ||
            X509_check_private_key(certificate_, private_key_) != 1) {
            return headend::make_error("coap.pki", "the head-end certificate and key are unreadable or do not match");
        }
        // libcoap 4.3.1 would decode key material given to it on every handshake; it gets an empty ASN1 key (its
        // per-handshake setup then does nothing) and on_tls_setup installs the decoded objects by reference.
        pki.pki_key.key_type = COAP_PKI_KEY_ASN1;
        if (!coap_context_set_pki(context_, &pki)) {
            return headend::make_error("coap.pki", "the head-end certificate or key was refused by the TLS library");
        }
    }

    coap_address_t address;
    coap_address_init(&address);
    address.addr.sin.sin_family = AF_INET;
    address.addr.sin.sin_port = htons(options_.port);
    address.size = sizeof(address.addr.sin);
    if (inet_pton(AF_INET, options_.address.c_str(), &address.addr.sin.sin_addr) != 1) {
        coap_address_init(&address);
        address.addr.sin6.sin6_family = AF_INET6;
        address.addr.sin6.sin6_port = htons(options_.port);
        address.size = sizeof(address.addr.sin6);
        if (inet_pton(AF_INET6, options_.address.c_str(), &address.addr.sin6.sin6_addr) != 1) {
            return headend::make_error(
                "coap.address", "listen address '" + options_.address + "' is not a numeric IPv4 or IPv6 address");
        }
    }
    coap_endpoint_t* endpoint = coap_new_endpoint(context_, &address, COAP_PROTO_DTLS);
    if (endpoint == nullptr) {
        return headend::make_error("coap.bind", "cannot listen for CoAPS on " + options_.address + " port " +
                                                    std::to_string(options_.port) + " (in use or not permitted)");
    }
    // coap_endpoint_str gives "addr:port (DTLS)"; libcoap 4.3.1 has no other way to learn an ephemeral port.
    const std::string endpoint_text = coap_endpoint_str(endpoint);
    const auto colon = endpoint_text.rfind(':');
    port_ = static_cast<std::uint16_t>(std::stoi(endpoint_text.substr(colon + 1)));
    socket_fd_ = find_udp_socket(port_);
    if (socket_fd_ >= 0) {
        // As root the configured size is granted whatever net.core.rmem_max says; otherwise up to that maximum.
        const int wanted = static_cast<int>(std::min<std::size_t>(options_.limits.receive_buffer_bytes, INT32_MAX / 2));
        if (setsockopt(socket_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0)
            setsockopt(socket_fd_, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
    }

    coap_resource_t* unknown = coap_resource_unknown_init2(&Impl::on_request, 0);
    coap_register_request_handler(unknown, COAP_REQUEST_GET, &Impl::on_request);
    coap_register_request_handler(unknown, COAP_REQUEST_POST, &Impl::on_request);
    coap_register_request_handler(unknown, COAP_REQUEST_DELETE, &Impl::on_request);
    coap_add_resource(context_, unknown);

    const int fd = coap_context_get_coap_fd(context_);
    if (fd < 0)
        return headend::make_error("coap.epoll", "libcoap was built without epoll support");
    epoll_fd_ = fd;
    descriptor_.assign(::dup(fd));
    run_coap_timers();
    arm_io();
    schedule_housekeeping();
    return {};
}

void CoapServer::Impl::close() {
    if (stopped_)
        return;
    stopped_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    coap_timer_.cancel();
    descriptor_.cancel(ignored);
    descriptor_.close(ignored);
    if (context_ != nullptr) {
        {
            std::lock_guard lock(servers_mutex);
            servers.erase(context_);
        }
        // libcoap frees sessions only when nothing holds them.
        for (auto& [key, observation] : observations_)
            coap_session_release(observation.session);
        for (auto& [session, holds] : answer_holds_)
            for (std::size_t i = 0; i < holds; ++i)
                coap_session_release(session);
        answer_holds_.clear();
        observations_.clear();
        observers_by_path_.clear();
        observers_by_identity_.clear();
        coap_free_context(context_);
        context_ = nullptr;
    }
    if (trust_store_ != nullptr) {
        X509_STORE_free(trust_store_);
        trust_store_ = nullptr;
    }
    if (certificate_ != nullptr) {
        X509_free(certificate_);
        certificate_ = nullptr;
    }
    if (private_key_ != nullptr) {
        EVP_PKEY_free(private_key_);
        private_key_ = nullptr;
    }
}

void CoapServer::Impl::arm_io() {
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [weak = weak_from_this()](const boost::system::error_code& error) {
                               auto self = weak.lock();
                               if (!self || error || self->stopped_)
                                   return;
                               self->process_io();
                               self->arm_io();
                           });
}

// libcoap's own timers (retransmissions, notifications, session expiry) sit on a timerfd inside its epoll set, so
// they wake this descriptor too; nothing else needs arming.
//
// coap_io_process() reads one datagram per call and walks every session first (coap_io_prepare_epoll), so under
// load the walk is paid per packet. libcoap 4.3.1's coap_io_do_epoll() is no better on its own: all DTLS sessions
// share the endpoint's one socket, so epoll reports it once however many datagrams wait, coap_io_do_epoll() reads
// one datagram per event and then walks every session (net.c). So while the socket stays readable the endpoint's
// event is handed over more times per round (1, 2, 4 … 16): one walk serves a batch under load, and a lone
// datagram costs one read. A read that finds the socket empty returns at once (libcoap only logs it, and its
// logging is off here). The timerfd's event (null data) is passed once.
void CoapServer::Impl::process_io() {
    constexpr int kMaxEvents = 16;
    constexpr int kMaxDatagramsPerWalk = 16;
    constexpr int kMaxRounds = 16;  // bounds the time spent here under a flood
    std::array<epoll_event, kMaxEvents> ready_events{};
    std::array<epoll_event, std::size_t{kMaxEvents} * kMaxDatagramsPerWalk> batch{};
    int copies = 1;
    int round = 0;
    for (; round < kMaxRounds && !stopped_; ++round) {
        const int ready = epoll_wait(epoll_fd_, ready_events.data(), kMaxEvents, 0);
        if (ready <= 0)
            break;
        std::size_t count = 0;
        for (int i = 0; i < ready; ++i) {
            const bool socket = ready_events[i].data.ptr != nullptr && (ready_events[i].events & EPOLLIN) != 0;
            for (int copy = 0; copy < (socket ? copies : 1); ++copy)
                batch[count++] = ready_events[i];
        }
        coap_io_do_epoll(context_, batch.data(), count);
        copies = std::min(copies * 2, kMaxDatagramsPerWalk);
    }
    // Stopped at the round limit with datagrams possibly still queued: the descriptor's edge-triggered wait would
    // not wake again until the next datagram, so carry on after whatever else is waiting on the loop.
    if (round == kMaxRounds && !stopped_) {
        boost::asio::post(io_, [weak = weak_from_this()] {
            if (auto self = weak.lock(); self && !self->stopped_)
                self->process_io();
        });
    }
}

void CoapServer::Impl::run_coap_timers() {
    if (stopped_)
        return;
    constexpr unsigned kMaxWaitMs = 1000;
    const unsigned next_ms = coap_io_prepare_epoll(context_, now_ticks());
    const unsigned wait_ms = next_ms == 0 ? kMaxWaitMs : std::clamp(next_ms, 1U, kMaxWaitMs);
    coap_timer_.expires_after(std::chrono::milliseconds(wait_ms));
    coap_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || error || self->stopped_)
            return;
        self->run_coap_timers();
    });
}

// Block1 transfers left unfinished are dropped once a second.
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
        self->check_quiet_observers(std::chrono::steady_clock::now());
        self->schedule_housekeeping();
    });
}

SessionInfo& CoapServer::Impl::session_info(coap_session_t* session) {
    auto it = sessions_.find(session);
    if (it != sessions_.end())
        return it->second;
    SessionInfo info;
    info.key = "s" + std::to_string(next_session_id_++);
    apply_transmission_parameters(session);
    coap_tls_library_t library{};
    auto* ssl = static_cast<SSL*>(coap_session_get_tls(session, &library));
    if (ssl != nullptr) {
        SSL_set_msg_callback(ssl, &Impl::on_record);
        SSL_set_msg_callback_arg(ssl, this);
    }
    X509* certificate = ssl != nullptr ? SSL_get0_peer_certificate(ssl) : nullptr;
    if (certificate != nullptr) {
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
    } else if (const coap_bin_const_t* psk_identity = coap_session_get_psk_identity(session)) {
        info.psk_identity.assign(reinterpret_cast<const char*>(psk_identity->s), psk_identity->length);
    }
    count_session(info, +1);
    return sessions_.emplace(session, std::move(info)).first->second;
}

Peer CoapServer::Impl::resolve_peer(coap_session_t* session) {
    const SessionInfo& info = session_info(session);
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

void CoapServer::Impl::forget_session(coap_session_t* session) {
    auto it = sessions_.find(session);
    if (it == sessions_.end())
        return;
    if (it->second.certificate) {
        auto live = live_certificates_.find(it->second.lfdi);
        if (live != live_certificates_.end() && --live->second.sessions == 0)
            live_certificates_.erase(live);
    }
    const std::string& key = it->second.key;
    exchanges_.forget_session(key);
    block1_.forget_prefix(key + '|');
    end_observations_of(key);
    count_session(it->second, -1);
    sessions_.erase(it);
}

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
        observation.session = existing->second.session;
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
    coap_session_reference(observation.session);
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
    coap_session_release(found->second.session);
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
    insert_option(answer, kOptionObserve, next_observe_value());
}

void CoapServer::Impl::end_observations_of(const std::string& session_key) {
    std::vector<ObserverKey> ended;
    for (auto o = observations_.lower_bound(ObserverKey{session_key, {}});
         o != observations_.end() && o->first.session_key == session_key; ++o)
        ended.push_back(o->first);
    for (const auto& observer : ended)
        end_observation(observer);
}

void CoapServer::Impl::check_quiet_observers(std::chrono::steady_clock::time_point now) {
    const auto quiet_after = options_.limits.idle_timeout;
    std::vector<ObserverKey> to_check;
    const std::string* previous_session = nullptr;
    for (const auto& [key, observation] : observations_) {
        if (previous_session != nullptr && *previous_session == key.session_key)
            continue;  // one notification per session is enough
        previous_session = &key.session_key;
        auto info = sessions_.find(observation.session);
        if (info == sessions_.end() || now - info->second.last_heard < quiet_after)
            continue;
        info->second.last_heard = now;
        to_check.push_back(key);
    }
    for (const auto& key : to_check)
        refresh_observer(key);
}

void CoapServer::Impl::on_record(int write_p, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
                                 void* arg) noexcept {
    constexpr int kHandshake = 22;
    if (write_p != 0 || content_type != SSL3_RT_HEADER || len < DTLS1_RT_HEADER_LENGTH)
        return;
    const auto* header = static_cast<const unsigned char*>(buf);
    auto* self = static_cast<Impl*>(arg);
    // OpenSSL also reports "headers" it reads inside a record it is discarding, so only a well-formed DTLS 1.2 header
    // counts: a known content type, the version (a ClientHello may say DTLS 1.0), and epoch 0 (a ClientHello) or 1 (the
    // session's, as nothing here renegotiates).
    const bool dtls12 =
        header[0] >= 20 && header[0] <= 23 && header[1] == 0xfe && (header[2] == 0xfd || header[2] == 0xff);
    const bool epoch_zero = header[3] == 0 && header[4] == 0;
    const bool session_epoch = header[3] == 0 && header[4] == 1;
    if (!dtls12 || (!epoch_zero && !session_epoch))
        return;
    if (session_epoch && self->probes_in_progress_ == 0)
        return;  // the common case: a record of an established session, and nothing being checked
    if (epoch_zero && header[0] != kHandshake)
        return;
    auto* session = static_cast<coap_session_t*>(SSL_get_app_data(ssl));
    const auto info = session != nullptr ? self->sessions_.find(session) : self->sessions_.end();
    if (!epoch_zero) {
        // Only the device that holds the session's keys speaks in its epoch (an ACK, a request, the ping's Reset).
        if (info != self->sessions_.end() && info->second.probing)
            info->second.heard = true;
        return;
    }
    if (info == self->sessions_.end() || info->second.probing ||
        coap_session_get_state(session) != COAP_SESSION_STATE_ESTABLISHED)
        return;
    info->second.probing = true;
    // Not from inside OpenSSL's read of this very session.
    boost::asio::post(self->io_, [weak = self->weak_from_this(), session, key = info->second.key] {
        if (auto server = weak.lock(); server && !server->stopped_)
            server->probe_session(session, key);
    });
}

void CoapServer::Impl::probe_session(coap_session_t* session, const std::string& session_key) {
    const auto info = sessions_.find(session);
    if (info == sessions_.end() || info->second.key != session_key)
        return;
    spdlog::info("[HAN_HELLO_ON_SESSION] a ClientHello reached the established session with {}: checking the device",
                 coap_session_str(session));
    // The ping goes with the session's usual transmission parameters (nothing else on the session is hurried). The
    // device counts as the same one when anything arrives in the session's epoch meanwhile (the ping's Reset, an ACK,
    // a request). The deadline is long enough for the ping's first retransmission (ACK_TIMEOUT × 1.5 at most) to be
    // answered and short enough that a rebooted device's next ClientHello (DTLS doubles its timer from 1 s: 1, 3,
    // 7 s) finds the address free after about one more round; it is extended while a confirmable message of ours may
    // still hold the ping back (NSTART 1), as a live device on a lossy link would otherwise be cut off.
    info->second.answered = false;
    info->second.heard = false;
    ++probes_in_progress_;
    coap_session_send_ping(session);
    judge_probe(session, session_key, 0);
}

void CoapServer::Impl::judge_probe(coap_session_t* session, const std::string& session_key, int extensions) {
    const auto deadline = options_.limits.ack_timeout * 5 / 2;
    auto settled = std::make_shared<boost::asio::steady_timer>(io_, deadline);
    settled->async_wait([weak = weak_from_this(), settled, session, session_key, extensions,
                         deadline](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || error || self->stopped_)
            return;
        const auto still = self->sessions_.find(session);
        if (still == self->sessions_.end() || still->second.key != session_key) {
            --self->probes_in_progress_;  // closed meanwhile
            return;
        }
        SessionInfo& info = still->second;
        constexpr int kMaxExtensions = 2;
        const bool held_back = std::chrono::steady_clock::now() - info.last_confirmable_sent < deadline * 3;
        if (!info.answered && !info.heard && held_back && extensions < kMaxExtensions) {
            self->judge_probe(session, session_key, extensions + 1);
            return;
        }
        --self->probes_in_progress_;
        info.probing = false;
        if (!info.answered && !info.heard) {
            spdlog::info("[HAN_SESSION_REPLACED] the device at {} did not answer: its old session closes",
                         coap_session_str(session));
            self->close_session(session, session_key);
        }
    });
}

void CoapServer::Impl::close_session_later(coap_session_t* session, const std::string& session_key) {
    boost::asio::post(io_, [weak = weak_from_this(), session, session_key] {
        if (auto self = weak.lock(); self && !self->stopped_)
            self->close_session(session, session_key);
    });
}

// libcoap frees a server session once nothing holds it, at its next timer run.
void CoapServer::Impl::close_session(coap_session_t* session, const std::string& session_key) {
    const auto info = sessions_.find(session);
    if (info == sessions_.end() || info->second.key != session_key)
        return;  // already gone
    forget_session(session);
    coap_session_disconnected(session, COAP_NACK_NOT_DELIVERABLE);
}

void CoapServer::Impl::close_sessions_of(const std::string& lfdi, const std::optional<std::string>& psk_identity) {
    if (stopped_)
        return;
    std::vector<std::pair<coap_session_t*, std::string>> closing;
    for (const auto& [session, info] : sessions_) {
        if ((info.certificate && !lfdi.empty() && info.lfdi == lfdi) ||
            (!info.certificate && psk_identity && info.psk_identity == *psk_identity))
            closing.emplace_back(session, info.key);
    }
    for (const auto& [session, key] : closing)
        close_session(session, key);
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
    observation.refreshing = true;
    Request req;
    req.peer = resolve_peer(observation.session);
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

// Confirmable, so an observer that went away is noticed (no ACK, or a Reset) and dropped (on_nack).
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
    coap_session_t* session = observation.session;
    // The first block, in the size the registration asked for, with an ETag (RFC 7959 §2.6).
    std::optional<Block2Request> block2;
    if (observation.block_szx)
        block2 = Block2Request{0, *observation.block_szx};
    CachedResponse built = build_response(answer, block2, session, std::nullopt);
    const bool observing = built.code / 100 == 2;
    if (observing)
        insert_option(built, kOptionObserve, next_observe_value());
    send_message(session, COAP_MESSAGE_CON, key.token, built);
    count(&ServerStats::notifications);
    if (!observing)
        end_observation(key);  // a notification that is not 2.xx ends the observation (RFC 7641 §3.2)
}

CachedResponse CoapServer::Impl::build_response(const Response& response, const std::optional<Block2Request>& block2,
                                                coap_session_t* session,
                                                const std::optional<std::string>& block1_echo) const {
    CachedResponse out;
    out.code = static_cast<int>(response.code);
    if (!response.location.empty()) {
        for (const auto& segment : split_path(response.location))
            out.options.push_back({kOptionLocationPath, segment});
    }
    const bool has_body = !response.body.empty();
    if (has_body)
        out.options.push_back({kOptionContentFormat, encode_uint(static_cast<unsigned>(response.content_format))});
    if (response.max_age)
        out.options.push_back({kOptionMaxAge, encode_uint(*response.max_age)});

    // Block2 when the body does not fit one datagram, or when the client asked for blocks.
    const std::size_t max_pdu = coap_session_max_pdu_size(session);
    unsigned szx = 6;
    while (szx > 0 && (std::size_t{1} << (szx + 4)) + 64 > max_pdu)
        --szx;
    if (block2)
        szx = std::min(szx, block2->szx);
    const std::size_t block_size = std::size_t{1} << (szx + 4);
    if (has_body && (block2 || response.body.size() > block_size)) {
        const std::size_t num = block2 ? block2->num : 0;
        const std::size_t offset = num * block_size;
        if (offset >= response.body.size()) {
            out = CachedResponse{static_cast<int>(Code::BadOption), {}, "block number out of range"};
            return out;
        }
        const bool more = offset + block_size < response.body.size();
        out.options.insert(out.options.begin(), {kOptionETag, etag_of(response.body)});
        out.options.push_back({kOptionBlock2, encode_uint((num << 4) | (more ? 8U : 0U) | szx)});
        if (num == 0)
            out.options.push_back({kOptionSize2, encode_uint(response.body.size())});
        out.payload = response.body.substr(offset, block_size);
    } else {
        out.payload = response.body;
    }
    if (block1_echo)
        out.options.push_back({kOptionBlock1, *block1_echo});
    return out;
}

void CoapServer::Impl::write_response(coap_pdu_t* pdu, const CachedResponse& response) {
    coap_pdu_set_code(pdu, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(response.code)));
    for (const auto& option : response.options) {
        coap_add_option(pdu, option.number, option.value.size(),
                        reinterpret_cast<const std::uint8_t*>(option.value.data()));
    }
    if (!response.payload.empty()) {
        coap_add_data(pdu, response.payload.size(), reinterpret_cast<const std::uint8_t*>(response.payload.data()));
    }
}

void CoapServer::Impl::send_message(coap_session_t* session, coap_pdu_type_t type, const std::string& token,
                                    const CachedResponse& response) {
    if (type == COAP_MESSAGE_CON) {
        if (auto info = sessions_.find(session); info != sessions_.end())
            info->second.last_confirmable_sent = std::chrono::steady_clock::now();
    }
    coap_pdu_t* pdu =
        coap_pdu_init(type, COAP_EMPTY_CODE, coap_new_message_id(session), coap_session_max_pdu_size(session));
    if (pdu == nullptr)
        return;
    coap_add_token(pdu, token.size(), reinterpret_cast<const std::uint8_t*>(token.data()));
    write_response(pdu, response);
    coap_send(session, pdu);
}

void CoapServer::Impl::handle(coap_session_t* session, const coap_pdu_t* request, const coap_string_t* query,
                              coap_pdu_t* response) {
    count(&ServerStats::requests);
    const auto now = ExchangeCache::Clock::now();
    Peer peer = resolve_peer(session);
    const std::string session_key = peer.session_key;
    session_info(session).last_heard = std::chrono::steady_clock::now();

    // Only confirmable exchanges that change something are deduplicated: a repeated GET is answered again (RFC 7252
    // §4.5), which keeps the cache to the write rate instead of the read rate.
    const bool acknowledged = coap_pdu_get_type(response) == COAP_MESSAGE_ACK;
    const bool confirmable_exchange = acknowledged && coap_pdu_get_code(request) != COAP_REQUEST_CODE_GET;
    const auto mid = static_cast<std::uint16_t>(coap_pdu_get_mid(request));
    if (confirmable_exchange) {
        if (const CachedResponse* cached = exchanges_.find(session_key, mid, now)) {
            count(&ServerStats::retransmissions_answered_from_cache);
            if (cached->code != 0)
                write_response(response, *cached);  // else: still pending, empty ACK again
            return;
        }
    }

    Request req;
    req.peer = std::move(peer);
    const auto method = method_of(coap_pdu_get_code(request));
    if (!method) {
        write_response(response, CachedResponse{static_cast<int>(Code::MethodNotAllowed), {}, {}});
        count_answer("other", static_cast<int>(Code::MethodNotAllowed));
        return;
    }
    req.method = *method;
    if (coap_string_t* uri_path = coap_get_uri_path(request)) {
        req.path = "/" + std::string(reinterpret_cast<const char*>(uri_path->s), uri_path->length);
        coap_delete_string(uri_path);
    } else {
        req.path = "/";
    }
    req.segments = split_path(req.path);
    req.query = parse_query(query);
    if (auto format = option_uint(request, kOptionContentFormat))
        req.content_format = static_cast<int>(*format);
    if (auto observe = option_uint(request, kOptionObserve))
        req.observe = static_cast<std::uint32_t>(*observe);
    const coap_bin_const_t token_bin = coap_pdu_get_token(request);
    std::string token(reinterpret_cast<const char*>(token_bin.s), token_bin.length);

    auto remember = [&](const CachedResponse& answer) {
        if (confirmable_exchange) {
            exchanges_.put(session_key, mid, answer, now);
            exchanges_remembered_ = exchanges_.size();
        }
    };
    const char* method_text = method_name(coap_pdu_get_code(request));
    auto answer_now = [&](const CachedResponse& answer) {
        remember(answer);
        write_response(response, answer);
        count_answer(method_text, answer.code);
    };

    if (reserved_block_size(request, kOptionBlock1) || reserved_block_size(request, kOptionBlock2)) {
        answer_now(CachedResponse{static_cast<int>(Code::BadRequest), {}, "reserved block size (SZX 7)"});
        return;
    }
    // Every representation served here is application/xml.
    if (auto accept = option_uint(request, kOptionAccept); accept && *accept != headend::coap::kContentFormatXml) {
        answer_now(CachedResponse{static_cast<int>(Code::NotAcceptable), {}, "only application/xml (41)"});
        return;
    }
    std::optional<Block2Request> block2;
    if (auto value = option_uint(request, kOptionBlock2))
        block2 = Block2Request{static_cast<std::uint32_t>(*value >> 4), static_cast<unsigned>(*value & 7U)};

    // Request bodies: Block1 reassembled here, whole bodies capped.
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    coap_get_data(request, &length, &data);
    const std::string_view payload(reinterpret_cast<const char*>(data), length);
    std::optional<std::string> block1_echo;
    coap_block_b_t block1{};
    if (coap_get_block_b(session, request, COAP_OPTION_BLOCK1, &block1)) {
        Block1Option option{block1.num, block1.m != 0, block1.szx};
        std::optional<std::size_t> size1;
        if (auto value = option_uint(request, kOptionSize1))
            size1 = static_cast<std::size_t>(*value);
        const std::string transfer_key = session_key + '|' + std::to_string(static_cast<int>(req.method)) + req.path;
        auto outcome = block1_.add(transfer_key, option, size1, payload, now);
        count_block1_transfers();
        const std::string echo = encode_uint((std::uint64_t{block1.num} << 4) | (block1.m ? 8U : 0U) | block1.szx);
        if (std::holds_alternative<Block1Assembler::Continue>(outcome)) {
            answer_now(CachedResponse{231, {{kOptionBlock1, echo}}, {}});
            return;
        }
        if (std::holds_alternative<Block1Assembler::TooLarge>(outcome)) {
            answer_now(CachedResponse{static_cast<int>(Code::RequestEntityTooLarge),
                                      {{kOptionSize1, encode_uint(block1_.max_body())}},
                                      "request body too large"});
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
                                      {{kOptionSize1, encode_uint(options_.limits.max_body_bytes)}},
                                      "request body too large"});
            return;
        }
        req.body.assign(payload);
    }

    auto match = router_.match(req.segments);
    if (!match) {
        answer_now(CachedResponse{static_cast<int>(Code::NotFound), {}, {}});
        return;
    }
    const RouteTarget& target = *match->target;

    // GET with Observe 0 registers (once the answer is a success), Observe 1 deregisters; capped per identity.
    // Over the cap the GET is answered without registering (RFC 7641 §4.1).
    std::optional<std::pair<ObserverKey, Observation>> registering;
    if (req.method == Method::Get && req.observe && target.options.observable) {
        const ObserverKey key{session_key, token};
        if (*req.observe == 0) {
            Observation observation;
            observation.session = session;
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
        // so its session hold and observer slot are given back instead of leaking.
        ~Pending() {
            if (!answered && late)
                late(Response{Code::InternalServerError, "", headend::coap::kContentFormatXml, "", {}});
        }
    };
    auto pending = std::make_shared<Pending>();
    std::weak_ptr<Impl> weak = weak_from_this();
    const coap_pdu_type_t separate_type =
        coap_pdu_get_type(request) == COAP_MESSAGE_CON ? COAP_MESSAGE_CON : COAP_MESSAGE_NON;
    hold_for_answer(session);  // released once the answer has gone out (or the server stops)

    headend::coap::Responder responder = [pending](Response answer) {
        {
            std::lock_guard lock(pending->mutex);
            if (pending->answered)
                return;  // a second answer is a handler bug; the first one stands
            pending->answered = true;
            if (pending->in_handler) {
                pending->early = std::move(answer);
                return;
            }
        }
        pending->late(std::move(answer));
    };
    pending->late = [weak, session, separate_type, token, session_key, mid, confirmable_exchange, block1_echo, block2,
                     now, registering, method_text](Response answer) {
        auto self = weak.lock();
        if (!self)
            return;
        boost::asio::post(self->io_, [weak, session, separate_type, token, session_key, mid, confirmable_exchange,
                                      block1_echo, block2, now, registering, method_text, answer = std::move(answer)] {
            auto server = weak.lock();
            if (!server || server->stopped_)
                return;
            // The session may have closed while the handler worked: then the answer has nobody to go to (sending
            // on a closed session would make libcoap start a client handshake), and no observation may start.
            const auto info = server->sessions_.find(session);
            if (info == server->sessions_.end() || info->second.key != session_key ||
                coap_session_get_state(session) != COAP_SESSION_STATE_ESTABLISHED) {
                if (registering)
                    server->release_reservation(registering->second.identity, registering->first);
                server->release_answer_hold(session);
                return;
            }
            CachedResponse built = server->build_response(answer, block2, session, block1_echo);
            if (registering)
                server->complete_registration(registering->first, registering->second, built);
            if (confirmable_exchange) {
                server->exchanges_.put(session_key, mid, built, now);
                server->exchanges_remembered_ = server->exchanges_.size();
            }
            server->send_message(session, separate_type, token, built);
            server->count(&ServerStats::separate_responses);
            server->count_answer(method_text, built.code);
            server->release_answer_hold(session);
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
        release_answer_hold(session);
        CachedResponse built = build_response(*pending->early, block2, session, block1_echo);
        if (registering)
            complete_registration(registering->first, registering->second, built);
        answer_now(built);
        return;
    }
    lock.unlock();
    // Answer later: remember the exchange as pending so a retransmission gets an empty ACK, not a second effect.
    remember(CachedResponse{});
}

// The server a libcoap callback belongs to; null while it is being torn down.
std::shared_ptr<CoapServer::Impl> CoapServer::Impl::server_of(const coap_session_t* session) {
    std::lock_guard lock(servers_mutex);
    auto it = servers.find(coap_session_get_context(session));
    return it == servers.end() ? nullptr : it->second.lock();
}

void CoapServer::Impl::on_request(coap_resource_t*, coap_session_t* session, const coap_pdu_t* request,
                                  const coap_string_t* query, coap_pdu_t* response) noexcept {
    std::shared_ptr<Impl> self = server_of(session);
    if (!self)
        return;
    try {
        self->handle(session, request, query, response);
    } catch (const std::exception& error) {
        spdlog::error("[HAN_REQUEST_FAILED] {}", error.what());
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(500)));
    }
}

int CoapServer::Impl::on_event(coap_session_t* session, coap_event_t event) noexcept {
    std::shared_ptr<Impl> self = server_of(session);
    if (!self)
        return 0;
    try {
        switch (event) {
            case COAP_EVENT_DTLS_CONNECTED:
                // Known from the handshake on, so a PEV's certificate (and the VIN it names) counts before its
                // first request.
                self->session_info(session);
                break;
            case COAP_EVENT_SERVER_SESSION_DEL:
            case COAP_EVENT_DTLS_CLOSED:
            case COAP_EVENT_SESSION_CLOSED:
                self->forget_session(session);
                break;
            case COAP_EVENT_DTLS_ERROR:
                self->count(&ServerStats::handshake_failures);
                spdlog::info("[HAN_DTLS_FAILED] DTLS failure with {}", coap_session_str(session));
                self->forget_session(session);
                break;
            default:
                break;
        }
    } catch (const std::exception& error) {
        spdlog::error("[HAN_EVENT_FAILED] {}", error.what());
    }
    return 0;
}

// A confirmable notification the observer reset ends its observation (RFC 7641 §3.6); a confirmable message the
// device never acknowledged means the device is gone: its observations end and its session closes (§4.5).
void CoapServer::Impl::on_nack(coap_session_t* session, const coap_pdu_t* sent, coap_nack_reason_t reason,
                               coap_mid_t) noexcept {
    if (sent == nullptr || (reason != COAP_NACK_RST && reason != COAP_NACK_TOO_MANY_RETRIES))
        return;
    std::shared_ptr<Impl> self = server_of(session);
    if (!self)
        return;
    try {
        const auto info = self->sessions_.find(session);
        if (info == self->sessions_.end())
            return;
        if (coap_pdu_get_code(sent) == COAP_EMPTY_CODE) {
            // A ping of ours: a Reset is the device's answer (RFC 7252 §4.3); it says nothing about observations,
            // whose tokens may be empty too. An unanswered ping is judged by probe_session's deadline.
            if (reason == COAP_NACK_RST)
                info->second.answered = true;
            return;
        }
        if (reason == COAP_NACK_TOO_MANY_RETRIES) {
            self->end_observations_of(info->second.key);
            self->close_session_later(session, info->second.key);
            return;
        }
        const coap_bin_const_t token = coap_pdu_get_token(sent);
        self->end_observation(
            ObserverKey{info->second.key, std::string(reinterpret_cast<const char*>(token.s), token.length)});
    } catch (const std::exception& error) {
        spdlog::error("[HAN_EVENT_FAILED] {}", error.what());
    }
}

const coap_bin_const_t* CoapServer::Impl::on_psk_identity(coap_bin_const_t* identity, coap_session_t*,
                                                          void* arg) noexcept {
    auto* self = static_cast<Impl*>(arg);
    try {
        const std::string name(reinterpret_cast<const char*>(identity->s), identity->length);
        auto credential = self->security_->find_psk(name);
        if (!credential || credential->key.empty()) {
            // An unknown identity goes on with a key nobody has, so it fails as a wrong key does: silently, at the
            // Finished message. Refusing it here would send an alert and tell a prober which identities exist.
            if (const auto suppressed = self->unknown_psk_log_.admit(std::chrono::steady_clock::now())) {
                spdlog::info("[HAN_PSK_UNKNOWN] handshake with unknown PSK identity '{}' will fail{}", name,
                             *suppressed == 0 ? "" : fmt::format(" ({} more not logged)", *suppressed));
            }
            self->count_refusal("unknown_psk_identity");
            self->psk_answer_.s = self->decoy_psk_.data();
            self->psk_answer_.length = self->decoy_psk_.size();
            return &self->psk_answer_;
        }
        // libcoap copies the key into the session before the next lookup can overwrite it.
        self->psk_scratch_ = std::move(credential->key);
        self->psk_answer_.s = self->psk_scratch_.data();
        self->psk_answer_.length = self->psk_scratch_.size();
        return &self->psk_answer_;
    } catch (const std::exception&) {
        return nullptr;
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
        const auto* session = ssl != nullptr ? static_cast<const coap_session_t*>(SSL_get_app_data(ssl)) : nullptr;
        if (auto self = session != nullptr ? server_of(session) : nullptr)
            self->count_refusal("certificate_refused");
    }
    return preverify_ok;
}

int CoapServer::Impl::on_tls_setup(void* tls_session, coap_dtls_pki_t* setup) noexcept {
    auto* ssl = static_cast<SSL*>(tls_session);
    auto* self = static_cast<Impl*>(setup->cn_call_back_arg);
    // No session tickets: re-binding resumes with the re-bind PSK (DESIGN §6), and OpenSSL 3 builds each ticket by
    // re-decoding the whole session, certificate included.
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
    // Suites, group, head-end certificate and key, trust store and verification go on the shared SSL_CTX once, so
    // SSL objects made from it later inherit them instead of parsing strings and checking the key per handshake
    // (OpenSSL reads the suite list and the chain verifier from the SSL_CTX when it uses them). SSL objects libcoap
    // made before that lack the copied parts and get them here. Every session that agrees on the ECDSA suite must
    // present a device certificate; PSK sessions agree on the PSK suite and are asked for none.
    SSL_CTX* context = SSL_get_SSL_CTX(ssl);
    if (context != self->configured_context_) {
        if (SSL_CTX_set_cipher_list(context, kAllowedCiphers) != 1 ||
            SSL_CTX_set1_groups_list(context, kAllowedGroups) != 1 ||
            SSL_CTX_use_certificate(context, self->certificate_) != 1 ||
            SSL_CTX_use_PrivateKey(context, self->private_key_) != 1 ||
            SSL_CTX_set1_verify_cert_store(context, self->trust_store_) != 1)
            return 0;
        SSL_CTX_set_verify(context, kVerifyMode, &Impl::on_verify_certificate);
        SSL_CTX_set_verify_depth(context, kVerifyDepth);
        SSL_CTX_set_cert_verify_callback(context, &Impl::on_verify_chain, self);
        self->configured_context_ = context;
    }
    // An SSL made before the context was configured has no head-end certificate of its own.
    if (SSL_get_certificate(ssl) == nullptr) {
        if (SSL_set_cipher_list(ssl, kAllowedCiphers) != 1 || SSL_set1_groups_list(ssl, kAllowedGroups) != 1 ||
            SSL_use_certificate(ssl, self->certificate_) != 1 || SSL_use_PrivateKey(ssl, self->private_key_) != 1 ||
            SSL_set1_verify_cert_store(ssl, self->trust_store_) != 1)
            return 0;
    }
    // libcoap's certificate set-up has just switched verification off for this SSL (with a callback that accepts
    // everything) and asked for CRL checks; put ours back. Revocation is not configured here (yet).
    SSL_set_verify(ssl, kVerifyMode, &Impl::on_verify_certificate);
    SSL_set_verify_depth(ssl, kVerifyDepth);
    X509_VERIFY_PARAM_clear_flags(SSL_get0_param(ssl), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return 1;
}

void CoapServer::Impl::notify_now(const std::string& path) {
    auto observers = observers_by_path_.find(path);
    if (stopped_ || observers == observers_by_path_.end())
        return;
    const std::vector<ObserverKey> keys(observers->second.begin(), observers->second.end());
    for (const auto& key : keys)
        refresh_observer(key);
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
