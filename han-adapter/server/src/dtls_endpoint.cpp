#include "han/dtls_endpoint.hpp"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace han {

namespace {

constexpr std::size_t kRecordHeader = 13;  // DTLS 1.2 record header (RFC 6347 §4.1)
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kCookieBytes = 16;
constexpr std::chrono::hours kSecretLifetime{1};  // a cookie stays good for one to two of these

// A datagram's source, as the key of its connection and as text for logs.
struct PeerAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    std::string key() const {
        std::string out(1, static_cast<char>(storage.ss_family));
        if (storage.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
            out.append(reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr);
            out.append(reinterpret_cast<const char*>(&in->sin_port), sizeof in->sin_port);
        } else {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
            out.append(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
            out.append(reinterpret_cast<const char*>(&in6->sin6_port), sizeof in6->sin6_port);
            out.append(reinterpret_cast<const char*>(&in6->sin6_scope_id), sizeof in6->sin6_scope_id);
        }
        return out;
    }
    std::string text() const {
        std::array<char, INET6_ADDRSTRLEN> buffer{};
        if (storage.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
            inet_ntop(AF_INET, &in->sin_addr, buffer.data(), buffer.size());
            return std::string(buffer.data()) + ':' + std::to_string(ntohs(in->sin_port));
        }
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        inet_ntop(AF_INET6, &in6->sin6_addr, buffer.data(), buffer.size());
        return '[' + std::string(buffer.data()) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
};

// A ClientHello whose first fragment starts the message (fragment_offset 0), where its client random is.
bool is_client_hello(std::string_view datagram) {
    constexpr std::size_t kFragmentOffset = kRecordHeader + 6;
    return datagram.size() > kFragmentOffset + 3 && static_cast<std::uint8_t>(datagram[0]) == kHandshake &&
           datagram[3] == 0 && datagram[4] == 0 && static_cast<std::uint8_t>(datagram[kRecordHeader]) == kClientHello &&
           datagram[kFragmentOffset] == 0 && datagram[kFragmentOffset + 1] == 0 && datagram[kFragmentOffset + 2] == 0;
}

// The 32-byte client random of a ClientHello datagram (after the record header, the handshake header and the
// client version); it tells a retransmitted ClientHello from one that starts another handshake.
std::string_view client_random(std::string_view datagram) {
    constexpr std::size_t kOffset = kRecordHeader + 12 + 2;
    constexpr std::size_t kLength = 32;
    return datagram.size() >= kOffset + kLength ? datagram.substr(kOffset, kLength) : std::string_view{};
}

std::uint16_t epoch_of(std::string_view datagram) {
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(datagram[3]) << 8) |
                                      static_cast<std::uint8_t>(datagram[4]));
}

std::string openssl_reason() {
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    return reason != nullptr ? reason : "connection failed";
}

}  // namespace

// What our BIO reads from (the datagram being handled) and where it writes (the peer's address).
struct DatagramIo {
    DtlsEndpoint::Impl* endpoint = nullptr;
    PeerAddress peer;
    std::string_view incoming;
};

struct Connection {
    Connection(boost::asio::io_context& loop, ConnectionId connection_id, SSL* connection_ssl,
               std::unique_ptr<DatagramIo> datagram_io)
        : id(connection_id), ssl(connection_ssl), io(std::move(datagram_io)), timer(loop) {}
    ~Connection() { SSL_free(ssl); }  // frees the BIO, which does not own `io`
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    ConnectionId id;
    SSL* ssl;
    std::unique_ptr<DatagramIo> io;
    boost::asio::steady_timer timer;  // DTLS retransmissions and the deadline, while handshaking
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::string client_random;  // of the ClientHello that started it: a retransmission has the same
    // When the handshake last moved on (its state changed): one that has not for a while may be evicted at the cap.
    std::chrono::steady_clock::time_point progressed = std::chrono::steady_clock::now();
    OSSL_HANDSHAKE_STATE state = TLS_ST_BEFORE;
    bool established = false;
    bool ended = false;
    // A new handshake from this connection's address (the device rebooted), and on that one the connection it
    // replaces once it completes.
    std::shared_ptr<Connection> replacement;
    ConnectionId replaces = 0;
};

class DtlsEndpoint::Impl : public std::enable_shared_from_this<DtlsEndpoint::Impl> {
public:
    Impl(boost::asio::io_context& io, SSL_CTX* context, DtlsLimits limits, Callbacks callbacks)
        : io_(io), context_(context), limits_(limits), callbacks_(std::move(callbacks)), socket_(io) {
        SSL_CTX_up_ref(context_);
    }
    ~Impl() {
        close();
        EVP_MAC_CTX_free(mac_);
        SSL_CTX_free(context_);
    }

    headend::Result<void> open(const std::string& address, std::uint16_t port);
    void close();
    std::uint16_t port() const { return port_; }
    bool send(ConnectionId id, std::string_view plaintext);
    void close_connection(ConnectionId id);
    std::string peer_text(ConnectionId id) const {
        const auto found = by_id_.find(id);
        return found == by_id_.end() ? std::string() : found->second->io->peer.text();
    }
    DtlsStats stats() const;

    void send_datagram(const PeerAddress& peer, const char* data, std::size_t length) const {
        // UDP: a datagram the kernel cannot take now is lost like any other; DTLS and CoAP retransmit.
        ::sendto(fd_, data, length, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&peer.storage), peer.length);
    }
    std::string cookie_for(const PeerAddress& peer, const std::array<std::uint8_t, 32>& secret) const;
    bool cookie_valid(const PeerAddress& peer, std::string_view cookie);
    std::string current_cookie(const PeerAddress& peer);
    void rotate_secrets_if_due();

private:
    void receive();
    void read_batch();
    void on_datagram(const PeerAddress& peer, std::string_view datagram);
    void start_handshake(const PeerAddress& peer, std::string_view datagram, const std::shared_ptr<Connection>& beside);
    bool evict_stalled_handshake();
    void prune_handshake_order();
    bool make_listener();
    void feed(std::shared_ptr<Connection> connection, std::string_view datagram);
    void advance_handshake(std::shared_ptr<Connection> connection);
    void arm_handshake_timer(std::shared_ptr<Connection> connection);
    void read_records(std::shared_ptr<Connection> connection);
    void on_established(std::shared_ptr<Connection> connection);
    void fail_handshake(std::shared_ptr<Connection> connection, const std::string& reason);
    // Forgets a connection; a close_notify goes out when asked, the closed callback when asked and it was established.
    // Connections are passed by value throughout: forgetting one drops the references the maps hold.
    void end(std::shared_ptr<Connection> connection, bool close_notify, bool tell);
    static bool awaiting_finished(const Connection& connection) {
        const OSSL_HANDSHAKE_STATE state = SSL_get_state(connection.ssl);
        return state == TLS_ST_SR_CHANGE || state == TLS_ST_SR_FINISHED;
    }
    template <typename Change>
    void update_stats(Change change) {
        std::lock_guard lock(stats_mutex_);
        change(stats_);
    }

    boost::asio::io_context& io_;
    SSL_CTX* context_;
    DtlsLimits limits_;
    Callbacks callbacks_;
    boost::asio::ip::udp::socket socket_;
    int fd_ = -1;  // socket_'s, for sendto and the kernel's figures
    std::uint16_t port_ = 0;
    bool closed_ = true;

    SSL* listener_ = nullptr;  // checks ClientHellos statelessly; becomes a connection's SSL once one passes
    std::unique_ptr<DatagramIo> listener_io_;
    BIO_ADDR* listener_peer_ = nullptr;

    std::array<std::uint8_t, 32> secret_{};
    std::array<std::uint8_t, 32> previous_secret_{};
    std::chrono::steady_clock::time_point secret_made_{};
    EVP_MAC_CTX* mac_ = nullptr;

    std::unordered_map<std::string, std::shared_ptr<Connection>> by_address_;  // the current one per address
    std::unordered_map<ConnectionId, std::shared_ptr<Connection>> by_id_;      // replacements in progress too
    ConnectionId next_id_ = 1;
    std::size_t handshakes_in_progress_ = 0;
    std::deque<std::weak_ptr<Connection>> handshake_order_;  // oldest first; ended ones are skipped when met

    static constexpr std::size_t kBatch = 32;
    static constexpr std::size_t kDatagramBytes = 8192;
    std::vector<char> buffers_ = std::vector<char>(kBatch * kDatagramBytes);
    std::array<char, 16384 + 256> plaintext_{};

    mutable std::mutex stats_mutex_;
    DtlsStats stats_;
};

namespace {

DatagramIo* io_of(BIO* bio) {
    return static_cast<DatagramIo*>(BIO_get_data(bio));
}

int bio_write(BIO* bio, const char* data, int length) {
    const DatagramIo* io = io_of(bio);
    io->endpoint->send_datagram(io->peer, data, static_cast<std::size_t>(length));
    return length;
}

// One call returns one whole datagram, as DTLS expects of a datagram BIO.
int bio_read(BIO* bio, char* buffer, int size) {
    DatagramIo* io = io_of(bio);
    BIO_clear_retry_flags(bio);
    if (io->incoming.empty()) {
        BIO_set_retry_read(bio);
        return -1;
    }
    const std::size_t length = std::min(io->incoming.size(), static_cast<std::size_t>(size));
    std::memcpy(buffer, io->incoming.data(), length);
    io->incoming = {};
    return static_cast<int>(length);
}

long bio_ctrl(BIO* bio, int command, long, void*) {
    switch (command) {
        case BIO_CTRL_FLUSH:
        case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
            return 1;
        case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
            return io_of(bio)->peer.storage.ss_family == AF_INET6 ? 48 : 28;  // IP and UDP headers
        default:
            return 0;
    }
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

BIO_METHOD* datagram_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "han-datagram");
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
        return m;
    }();
    return method;
}

DatagramIo* io_of_ssl(SSL* ssl) {
    BIO* bio = SSL_get_rbio(ssl);
    return bio != nullptr ? io_of(bio) : nullptr;
}

int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* length) {
    DatagramIo* io = io_of_ssl(ssl);
    if (io == nullptr)
        return 0;
    const std::string made = io->endpoint->current_cookie(io->peer);
    std::memcpy(cookie, made.data(), made.size());
    *length = static_cast<unsigned int>(made.size());
    return 1;
}

int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
    DatagramIo* io = io_of_ssl(ssl);
    return io != nullptr && io->endpoint->cookie_valid(io->peer, {reinterpret_cast<const char*>(cookie), length});
}

}  // namespace

// The cookie is a MAC of the peer's address under a secret that changes every hour (RFC 6347 §4.2.1): only who
// receives at that address can echo it, and checking it needs nothing stored per peer.
std::string DtlsEndpoint::Impl::cookie_for(const PeerAddress& peer, const std::array<std::uint8_t, 32>& secret) const {
    EVP_MAC_CTX* mac = EVP_MAC_CTX_dup(mac_);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    std::size_t length = 0;
    const std::string key = peer.key();
    const bool ok = mac != nullptr && EVP_MAC_init(mac, secret.data(), secret.size(), nullptr) == 1 &&
                    EVP_MAC_update(mac, reinterpret_cast<const unsigned char*>(key.data()), key.size()) == 1 &&
                    EVP_MAC_final(mac, digest.data(), &length, digest.size()) == 1;
    EVP_MAC_CTX_free(mac);
    if (!ok || length < kCookieBytes)
        return {};
    return {reinterpret_cast<const char*>(digest.data()), kCookieBytes};
}

// Checked on every use, so a cookie made under the previous secret is refused after two lifetimes even on a quiet
// server.
void DtlsEndpoint::Impl::rotate_secrets_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - secret_made_ < kSecretLifetime)
        return;
    previous_secret_ = now - secret_made_ < 2 * kSecretLifetime ? secret_ : std::array<std::uint8_t, 32>{};
    RAND_bytes(secret_.data(), static_cast<int>(secret_.size()));
    if (now - secret_made_ >= 2 * kSecretLifetime)
        RAND_bytes(previous_secret_.data(), static_cast<int>(previous_secret_.size()));
    secret_made_ = now;
}

std::string DtlsEndpoint::Impl::current_cookie(const PeerAddress& peer) {
    rotate_secrets_if_due();
    update_stats([](DtlsStats& stats) { ++stats.hello_verify_requests; });
    return cookie_for(peer, secret_);
}

bool DtlsEndpoint::Impl::cookie_valid(const PeerAddress& peer, std::string_view cookie) {
    if (cookie.size() != kCookieBytes)
        return false;
    rotate_secrets_if_due();
    for (const auto* secret : {&secret_, &previous_secret_}) {
        const std::string expected = cookie_for(peer, *secret);
        if (expected.size() == kCookieBytes && CRYPTO_memcmp(expected.data(), cookie.data(), kCookieBytes) == 0)
            return true;
    }
    return false;
}

headend::Result<void> DtlsEndpoint::Impl::open(const std::string& address, std::uint16_t port) {
    boost::system::error_code error;
    const auto ip = boost::asio::ip::make_address(address, error);
    if (error) {
        return headend::make_error("coap.address",
                                   "listen address '" + address + "' is not a numeric IPv4 or IPv6 address");
    }
    const boost::asio::ip::udp::endpoint local(ip, port);
    socket_.open(local.protocol(), error);
    if (!error)
        socket_.bind(local, error);
    if (error) {
        socket_.close(error);
        return headend::make_error("coap.bind", "cannot listen for CoAPS on " + address + " port " +
                                                    std::to_string(port) + " (in use or not permitted)");
    }
    socket_.non_blocking(true, error);
    fd_ = socket_.native_handle();
    port_ = socket_.local_endpoint(error).port();
    // As root the configured size is granted whatever net.core.rmem_max says; otherwise up to that maximum.
    const int wanted = static_cast<int>(std::min<std::size_t>(limits_.receive_buffer_bytes, INT32_MAX / 2));
    if (setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0)
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);

    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac_ = hmac != nullptr ? EVP_MAC_CTX_new(hmac) : nullptr;
    EVP_MAC_free(hmac);
    std::array<OSSL_PARAM, 2> parameters{
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0), OSSL_PARAM_END};
    if (mac_ == nullptr || EVP_MAC_CTX_set_params(mac_, parameters.data()) != 1)
        return headend::make_error("coap.dtls", "HMAC-SHA256 is not available for DTLS cookies");
    RAND_bytes(secret_.data(), static_cast<int>(secret_.size()));
    RAND_bytes(previous_secret_.data(), static_cast<int>(previous_secret_.size()));
    secret_made_ = std::chrono::steady_clock::now();

    SSL_CTX_set_cookie_generate_cb(context_, generate_cookie);
    SSL_CTX_set_cookie_verify_cb(context_, verify_cookie);
    listener_peer_ = BIO_ADDR_new();
    if (!make_listener())
        return headend::make_error("coap.dtls", "cannot create a DTLS server object: " + openssl_reason());
    closed_ = false;
    receive();
    return {};
}

bool DtlsEndpoint::Impl::make_listener() {
    listener_ = SSL_new(context_);
    if (listener_ == nullptr)
        return false;
    listener_io_ = std::make_unique<DatagramIo>();
    listener_io_->endpoint = this;
    BIO* bio = BIO_new(datagram_method());
    BIO_set_data(bio, listener_io_.get());
    SSL_set_bio(listener_, bio, bio);
    SSL_set_options(listener_, SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION);
    DTLS_set_link_mtu(listener_, static_cast<long>(limits_.link_mtu));
    return true;
}

void DtlsEndpoint::Impl::close() {
    if (closed_)
        return;
    closed_ = true;
    const auto connections = by_id_;
    for (const auto& [id, connection] : connections)
        end(connection, connection->established, false);
    by_id_.clear();
    by_address_.clear();
    handshake_order_.clear();
    boost::system::error_code ignored;
    socket_.close(ignored);
    fd_ = -1;
    SSL_free(listener_);
    listener_ = nullptr;
    listener_io_.reset();
    BIO_ADDR_free(listener_peer_);
    listener_peer_ = nullptr;
}

void DtlsEndpoint::Impl::receive() {
    socket_.async_wait(boost::asio::ip::udp::socket::wait_read,
                       [weak = weak_from_this()](const boost::system::error_code& error) {
                           auto self = weak.lock();
                           if (self && !error && !self->closed_)
                               self->read_batch();
                       });
}

// Reads what is queued in batches (recvmmsg), a bounded amount per turn of the loop so timers and answers are not
// starved under a flood; then carries on after whatever else waits on the loop.
void DtlsEndpoint::Impl::read_batch() {
    constexpr int kMaxRounds = 32;
    std::array<mmsghdr, kBatch> messages{};
    std::array<iovec, kBatch> vectors{};
    std::array<PeerAddress, kBatch> peers{};
    for (int round = 0; round < kMaxRounds; ++round) {
        for (std::size_t i = 0; i < kBatch; ++i) {
            vectors[i] = {buffers_.data() + i * kDatagramBytes, kDatagramBytes};
            messages[i] = {};
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
            messages[i].msg_hdr.msg_name = &peers[i].storage;
            messages[i].msg_hdr.msg_namelen = sizeof peers[i].storage;
        }
        const int received = recvmmsg(socket_.native_handle(), messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (received <= 0) {
            receive();
            return;
        }
        for (int i = 0; i < received && !closed_; ++i) {
            const auto& header = messages[static_cast<std::size_t>(i)].msg_hdr;
            if ((header.msg_flags & MSG_TRUNC) != 0)
                continue;  // larger than any record a device may send
            peers[static_cast<std::size_t>(i)].length = header.msg_namelen;
            on_datagram(peers[static_cast<std::size_t>(i)],
                        {buffers_.data() + static_cast<std::size_t>(i) * kDatagramBytes,
                         messages[static_cast<std::size_t>(i)].msg_len});
        }
        if (closed_)
            return;
        if (static_cast<std::size_t>(received) < kBatch) {
            receive();
            return;
        }
    }
    boost::asio::post(io_, [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && !self->closed_)
            self->read_batch();
    });
}

void DtlsEndpoint::Impl::on_datagram(const PeerAddress& peer, std::string_view datagram) {
    if (datagram.size() < kRecordHeader) {
        update_stats([](DtlsStats& stats) { ++stats.datagrams_dropped; });
        return;
    }
    const auto found = by_address_.find(peer.key());
    if (found == by_address_.end()) {
        if (is_client_hello(datagram))
            start_handshake(peer, datagram, nullptr);
        else
            update_stats([](DtlsStats& stats) { ++stats.datagrams_dropped; });
        return;
    }
    const std::shared_ptr<Connection> connection = found->second;
    const std::uint8_t content_type = static_cast<std::uint8_t>(datagram[0]);
    if (!connection->established) {
        // A ClientHello of another handshake (the device restarted during this one, or a spoofer) goes through the
        // cookie exchange like any other; only one with a valid cookie replaces the handshake in progress. An alert
        // in the clear could come from anyone: the handshake ends by its timeout instead.
        if (is_client_hello(datagram) && client_random(datagram) != connection->client_random)
            start_handshake(peer, datagram, connection);
        else if (content_type == kAlert && epoch_of(datagram) == 0)
            update_stats([](DtlsStats& stats) { ++stats.datagrams_dropped; });
        else
            feed(connection, datagram);
        return;
    }
    // An established connection: records of its epoch are its own. A ClientHello is a new handshake from the same
    // address (a rebooted device), which goes beside the connection until it completes; the last flight of that
    // handshake (whose Finished is a handshake record of the new epoch 1) goes to it once it has read the
    // ChangeCipherSpec. Application data and alerts of epoch 1 stay the connection's.
    const std::shared_ptr<Connection> replacement = connection->replacement;  // completing it resets the member
    if (epoch_of(datagram) == 0) {
        const auto random = client_random(datagram);
        // A late copy of the connection's own ClientHello is no new handshake.
        if (is_client_hello(datagram) && random != connection->client_random &&
            (!replacement || random != replacement->client_random))
            start_handshake(peer, datagram, connection);
        else if (replacement && content_type != kAlert)
            feed(replacement, datagram);
        else
            update_stats([](DtlsStats& stats) { ++stats.datagrams_dropped; });
        return;
    }
    if (replacement && content_type == kHandshake && awaiting_finished(*replacement))
        feed(replacement, datagram);
    else
        feed(connection, datagram);
}

// DTLSv1_listen answers a ClientHello without a valid cookie with a HelloVerifyRequest and keeps nothing; one with a
// valid cookie makes the listener's SSL the new connection's. `beside` is the connection already at the address:
// a handshake in progress is replaced, an established connection gets the new handshake as its replacement (and a
// replacement of its still in progress is dropped).
void DtlsEndpoint::Impl::start_handshake(const PeerAddress& peer, std::string_view datagram,
                                         const std::shared_ptr<Connection>& beside) {
    listener_io_->peer = peer;
    listener_io_->incoming = datagram;
    ERR_clear_error();
    if (DTLSv1_listen(listener_, listener_peer_) <= 0)
        return;
    if (beside && !beside->established)
        end(beside, false, false);
    else if (beside && beside->replacement)
        end(beside->replacement, false, false);
    if (handshakes_in_progress_ >= limits_.max_handshakes && !evict_stalled_handshake()) {
        update_stats([](DtlsStats& stats) { ++stats.handshakes_refused_busy; });
        return;  // the device sends its ClientHello again; the listener is cleared by the next DTLSv1_listen
    }
    auto connection = std::make_shared<Connection>(io_, next_id_++, listener_, std::move(listener_io_));
    listener_ = nullptr;
    if (!make_listener()) {
        closed_ = true;  // out of memory: nothing sensible is left to do but stop serving
        return;
    }
    connection->client_random = std::string(client_random(datagram));
    ++handshakes_in_progress_;
    prune_handshake_order();
    handshake_order_.push_back(connection);
    update_stats([this](DtlsStats& stats) {
        ++stats.handshakes_started;
        stats.handshakes_in_progress = handshakes_in_progress_;
    });
    by_id_.emplace(connection->id, connection);
    if (beside && beside->established) {
        beside->replacement = connection;
        connection->replaces = beside->id;
    } else {
        by_address_[peer.key()] = connection;
    }
    advance_handshake(connection);
}

// With every handshake slot taken, the oldest handshake that has not moved on for a while (stalled: its state has not
// changed through a few of the device's retransmission intervals) makes room. Holding the slots then takes handshakes
// that keep progressing, which costs an attacker the key exchange each time, not a few packets.
bool DtlsEndpoint::Impl::evict_stalled_handshake() {
    constexpr std::chrono::seconds kStalledAfter{3};
    const auto now = std::chrono::steady_clock::now();
    prune_handshake_order();
    for (auto it = handshake_order_.begin(); it != handshake_order_.end(); ++it) {
        const std::shared_ptr<Connection> candidate = it->lock();
        if (!candidate || candidate->ended || candidate->established || now - candidate->progressed < kStalledAfter)
            continue;
        handshake_order_.erase(it);
        update_stats([](DtlsStats& stats) { ++stats.handshakes_evicted; });
        fail_handshake(candidate, "evicted: stalled while every handshake slot was taken");
        return true;
    }
    return false;
}

// Handshakes that ended or completed leave the order list, from its front and, when the list has grown well past
// the handshakes that can be in progress, throughout.
void DtlsEndpoint::Impl::prune_handshake_order() {
    const auto gone = [](const std::weak_ptr<Connection>& entry) {
        const auto connection = entry.lock();
        return !connection || connection->ended || connection->established;
    };
    while (!handshake_order_.empty() && gone(handshake_order_.front()))
        handshake_order_.pop_front();
    if (handshake_order_.size() > 2 * limits_.max_handshakes + 16)
        std::erase_if(handshake_order_, gone);
}

void DtlsEndpoint::Impl::feed(std::shared_ptr<Connection> connection, std::string_view datagram) {
    connection->io->incoming = datagram;
    if (!connection->established) {
        advance_handshake(connection);
        if (!connection->established || connection->ended)
            return;
    }
    read_records(connection);
    connection->io->incoming = {};
}

void DtlsEndpoint::Impl::advance_handshake(std::shared_ptr<Connection> connection) {
    ERR_clear_error();
    const int result = SSL_do_handshake(connection->ssl);
    if (const OSSL_HANDSHAKE_STATE state = SSL_get_state(connection->ssl); state != connection->state) {
        connection->state = state;
        connection->progressed = std::chrono::steady_clock::now();
    }
    if (result == 1) {
        on_established(connection);
        return;
    }
    const int error = SSL_get_error(connection->ssl, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        arm_handshake_timer(connection);
        return;
    }
    fail_handshake(connection, openssl_reason());
}

// DTLS retransmits its flights on a timer (RFC 6347 §4.2.4) that OpenSSL reports but does not run.
void DtlsEndpoint::Impl::arm_handshake_timer(std::shared_ptr<Connection> connection) {
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = connection->started + limits_.handshake_timeout;
    auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline - now);
    timeval retransmit{};
    if (DTLSv1_get_timeout(connection->ssl, &retransmit) == 1) {
        const auto next = std::chrono::seconds(retransmit.tv_sec) + std::chrono::microseconds(retransmit.tv_usec);
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::steady_clock::duration>(next));
    }
    connection->timer.expires_after(std::max(wait, std::chrono::steady_clock::duration::zero()));
    connection->timer.async_wait(
        [weak = weak_from_this(), weak_connection = std::weak_ptr(connection)](const boost::system::error_code& error) {
            auto self = weak.lock();
            auto handshaking = weak_connection.lock();
            if (error || !self || !handshaking || self->closed_ || handshaking->ended || handshaking->established)
                return;
            if (std::chrono::steady_clock::now() >= handshaking->started + self->limits_.handshake_timeout) {
                self->fail_handshake(handshaking, "handshake timed out");
                return;
            }
            ERR_clear_error();
            if (DTLSv1_handle_timeout(handshaking->ssl) < 0) {
                self->fail_handshake(handshaking, openssl_reason());
                return;
            }
            self->arm_handshake_timer(handshaking);
        });
}

void DtlsEndpoint::Impl::on_established(std::shared_ptr<Connection> connection) {
    connection->established = true;
    connection->timer.cancel();
    --handshakes_in_progress_;
    if (connection->replaces != 0) {
        // The device behind the old connection is this one, rebooted: the old connection's state goes.
        if (auto old = by_id_.find(connection->replaces); old != by_id_.end()) {
            const std::shared_ptr<Connection> replaced = old->second;
            replaced->replacement.reset();
            end(replaced, false, true);
        }
        connection->replaces = 0;
        by_address_[connection->io->peer.key()] = connection;
        update_stats([](DtlsStats& stats) { ++stats.connections_replaced; });
    }
    update_stats([this](DtlsStats& stats) {
        stats.handshakes_in_progress = handshakes_in_progress_;
        ++stats.connections;
    });
    if (callbacks_.established)
        callbacks_.established(connection->id, connection->ssl);
}

void DtlsEndpoint::Impl::fail_handshake(std::shared_ptr<Connection> connection, const std::string& reason) {
    update_stats([](DtlsStats& stats) { ++stats.handshakes_failed; });
    const std::string peer = connection->io->peer.text();
    end(connection, false, false);
    if (callbacks_.handshake_failed)
        callbacks_.handshake_failed(peer, reason);
}

void DtlsEndpoint::Impl::read_records(std::shared_ptr<Connection> connection) {
    while (!connection->ended) {
        ERR_clear_error();
        const int length = SSL_read(connection->ssl, plaintext_.data(), static_cast<int>(plaintext_.size()));
        if (length > 0) {
            if (callbacks_.received)
                callbacks_.received(connection->id, {plaintext_.data(), static_cast<std::size_t>(length)});
            continue;
        }
        const int error = SSL_get_error(connection->ssl, length);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
            return;
        // close_notify (answered with ours) or a fatal alert or error: the connection is over.
        end(connection, error == SSL_ERROR_ZERO_RETURN, true);
    }
}

void DtlsEndpoint::Impl::end(std::shared_ptr<Connection> connection, bool close_notify, bool tell) {
    if (connection->ended)
        return;
    connection->ended = true;
    connection->timer.cancel();
    if (close_notify && connection->established) {
        ERR_clear_error();
        SSL_shutdown(connection->ssl);
    }
    by_id_.erase(connection->id);
    const std::string key = connection->io->peer.key();
    const auto current = by_address_.find(key);
    if (current != by_address_.end() && current->second == connection) {
        // A handshake from the same address in progress becomes the address's connection.
        if (connection->replacement) {
            connection->replacement->replaces = 0;
            current->second = connection->replacement;
        } else {
            by_address_.erase(current);
        }
    } else if (connection->replaces != 0) {
        if (auto old = by_id_.find(connection->replaces); old != by_id_.end())
            old->second->replacement.reset();
    }
    connection->replacement.reset();
    if (!connection->established) {
        --handshakes_in_progress_;
        update_stats([this](DtlsStats& stats) { stats.handshakes_in_progress = handshakes_in_progress_; });
        return;
    }
    update_stats([](DtlsStats& stats) { --stats.connections; });
    if (tell && callbacks_.closed)
        callbacks_.closed(connection->id);
}

bool DtlsEndpoint::Impl::send(ConnectionId id, std::string_view plaintext) {
    const auto found = by_id_.find(id);
    if (found == by_id_.end() || !found->second->established)
        return false;
    ERR_clear_error();
    return SSL_write(found->second->ssl, plaintext.data(), static_cast<int>(plaintext.size())) > 0;
}

void DtlsEndpoint::Impl::close_connection(ConnectionId id) {
    const auto found = by_id_.find(id);
    if (found != by_id_.end())
        end(found->second, true, false);
}

DtlsStats DtlsEndpoint::Impl::stats() const {
    std::unique_lock lock(stats_mutex_);
    DtlsStats stats = stats_;
    lock.unlock();
    const int fd = fd_;
    if (fd >= 0) {
        std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
        socklen_t length = sizeof meminfo;
        if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &length) == 0)
            stats.receive_buffer_drops = meminfo[SK_MEMINFO_DROPS];
        int granted = 0;
        socklen_t granted_length = sizeof granted;
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_length) == 0)
            stats.receive_buffer_bytes = static_cast<std::size_t>(granted);
    }
    return stats;
}

DtlsEndpoint::DtlsEndpoint(boost::asio::io_context& io, SSL_CTX* context, DtlsLimits limits, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, context, limits, std::move(callbacks))) {}
DtlsEndpoint::~DtlsEndpoint() {
    impl_->close();
}
headend::Result<void> DtlsEndpoint::open(const std::string& address, std::uint16_t port) {
    return impl_->open(address, port);
}
void DtlsEndpoint::close() {
    impl_->close();
}
std::uint16_t DtlsEndpoint::port() const {
    return impl_->port();
}
bool DtlsEndpoint::send(ConnectionId id, std::string_view plaintext) {
    return impl_->send(id, plaintext);
}
void DtlsEndpoint::close_connection(ConnectionId id) {
    impl_->close_connection(id);
}
std::string DtlsEndpoint::peer_text(ConnectionId id) const {
    return impl_->peer_text(id);
}
DtlsStats DtlsEndpoint::stats() const {
    return impl_->stats();
}

}  // namespace han
