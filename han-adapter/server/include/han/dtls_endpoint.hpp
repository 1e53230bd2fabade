// The HAN's DTLS front door: one UDP socket on the Asio loop, a stateless cookie exchange (RFC 6347 §4.2.1) before
// anything is kept for a peer, and a DTLS 1.2 connection (OpenSSL, driven through a datagram BIO of ours) per peer
// address once its cookie proves the address answers.
//
// A spoofed flood of ClientHellos therefore costs one HelloVerifyRequest each and leaves nothing behind, so it cannot
// crowd out real devices. A device that reboots and comes back from the same address and port (RFC 6347 §4.2.8) gets
// a new handshake beside its old connection; the old one is dropped when the new one completes, and stays if it never
// does.
//
// Threading: everything runs on the io_context's thread; callbacks are called there.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "headend/plugin/result.hpp"

namespace han {

using ConnectionId = std::uint64_t;  // never reused while the process runs

struct DtlsLimits {
    std::size_t max_handshakes = 128;            // handshakes in progress (each passed the cookie exchange)
    std::chrono::seconds handshake_timeout{30};  // a handshake not finished by then is dropped
    std::size_t receive_buffer_bytes = 4 * 1024 * 1024;
    std::size_t link_mtu = 1280;  // handshake flights are fragmented to fit
};

struct DtlsStats {
    std::uint64_t hello_verify_requests = 0;    // ClientHellos answered statelessly (no or a stale cookie)
    std::uint64_t handshakes_started = 0;       // ClientHellos with a valid cookie
    std::uint64_t handshakes_failed = 0;        // ended by an error or the timeout
    std::uint64_t handshakes_refused_busy = 0;  // valid cookie, but max_handshakes were in progress
    std::uint64_t handshakes_evicted = 0;       // stalled ones dropped to make room at max_handshakes
    std::uint64_t connections_replaced = 0;     // a device came back from the same address (RFC 6347 §4.2.8)
    std::uint64_t datagrams_dropped = 0;        // from addresses without a connection and not a ClientHello
    std::size_t handshakes_in_progress = 0;
    std::size_t connections = 0;             // established
    std::uint64_t receive_buffer_drops = 0;  // datagrams the kernel dropped because the socket's buffer was full
    std::size_t receive_buffer_bytes = 0;    // the buffer the kernel granted
};

class DtlsEndpoint {
public:
    struct Callbacks {
        // The handshake completed; the SSL stays valid until the connection closes (peer certificate, PSK identity).
        std::function<void(ConnectionId, SSL*)> established;
        // One record's plaintext (one CoAP message).
        std::function<void(ConnectionId, std::string_view)> received;
        // An established connection ended by the peer (close_notify, a fatal alert) or replaced by a new handshake
        // from its address. Not called for close().
        std::function<void(ConnectionId)> closed;
        // A handshake failed; `reason` is OpenSSL's.
        std::function<void(const std::string& peer, const std::string& reason)> handshake_failed;
    };

    // `context` is a DTLS server context configured with credentials and suites; the endpoint adds the cookie
    // exchange to it and holds a reference.
    DtlsEndpoint(boost::asio::io_context& io, SSL_CTX* context, DtlsLimits limits, Callbacks callbacks);
    ~DtlsEndpoint();
    DtlsEndpoint(const DtlsEndpoint&) = delete;
    DtlsEndpoint& operator=(const DtlsEndpoint&) = delete;

    // Errors: the address is not numeric, or cannot be bound.
    headend::Result<void> open(const std::string& address, std::uint16_t port);
    // Drops every connection (with a close_notify) and the socket.
    void close();
    std::uint16_t port() const;

    // Sends one record; false when the connection is gone.
    bool send(ConnectionId id, std::string_view plaintext);
    // Ends a connection with a close_notify. No callback follows.
    void close_connection(ConnectionId id);
    // "address:port" of a connection's peer, for logs; empty when it is gone.
    std::string peer_text(ConnectionId id) const;
    DtlsStats stats() const;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace han
