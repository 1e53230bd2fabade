// The HAN-facing CoAP/DTLS server on a Boost.Asio io_context: our own DTLS front door (DtlsEndpoint: a stateless
// cookie exchange before any state, OpenSSL per connection) and CoAP message layer (RFC 7252: confirmable messages
// retransmitted one at a time, Resets, pings), Block1 reassembly, a per-exchange response cache, separate responses
// for writes that finish after a commit, observation (RFC 7641) of observable patterns, identity from the DTLS
// session only, and limits. libcoap's server side (4.3.1) kept state for every spoofed ClientHello and lost its
// timers; the HAN's clients and our tests still use libcoap.
//
// Threading: construct, add() and start() before running the io_context or on its thread; everything else runs on
// the io_context's thread. notify(), close_sessions() and Responders are safe from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "han/security_store.hpp"
#include "han/session_summary.hpp"
#include "headend/plugin/coap.hpp"
#include "headend/plugin/result.hpp"

namespace han {

struct ServerLimits {
    std::size_t max_sessions = 10000;        // beyond this the least recently used idle session is dropped
    std::size_t max_handshakes = 128;        // DTLS handshakes in progress
    std::chrono::seconds idle_timeout{300};  // an idle session is closed after this
    std::size_t max_observers_per_identity = 16;
    std::size_t max_body_bytes = 16384;       // reassembled request bodies; 4.13 beyond
    std::chrono::seconds block1_timeout{60};  // an unfinished Block1 upload is forgotten after this
    // CoAP transmission parameters (RFC 7252 §4.8) for what the server sends confirmable: separate responses,
    // notifications, the liveness checks of observed sessions.
    std::chrono::milliseconds ack_timeout{2000};  // at least 1 s
    unsigned max_retransmit = 4;
    // The HAN socket's kernel receive buffer, sized for bursts (a storm of handshakes, a premises coming back).
    std::size_t receive_buffer_bytes = 4 * 1024 * 1024;
    std::chrono::seconds handshake_timeout{30};  // a handshake past the cookie exchange and not finished by then goes
    // Sessions of one identity (LFDI or PSK identity); a new one beyond it closes that identity's oldest, so one
    // credential cannot crowd out every other device's sessions.
    std::size_t max_sessions_per_identity = 8;
};

struct ServerCredentials {
    // The head-end's own certificate and key (DER). Empty: PSK only, certificate clients fail the handshake.
    std::vector<std::uint8_t> certificate_der;
    std::vector<std::uint8_t> private_key_der;
    // Manufacturer CAs whose device certificates are accepted, loaded once into one store.
    std::vector<std::vector<std::uint8_t>> trusted_ca_der;
    std::optional<std::string> psk_hint;  // none unless configured: some clients fail on a hint
};

struct ServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 5684;  // 0 picks a free port
    ServerCredentials credentials;
    ServerLimits limits;
};

struct ServerStats {
    std::uint64_t requests = 0;
    // Answers by method ("GET", "POST", "PUT", "DELETE", "other") and response code (205, 404, …); retransmissions
    // answered from the cache are counted there instead.
    std::map<std::pair<std::string, int>, std::uint64_t> answers;
    std::uint64_t retransmissions_answered_from_cache = 0;
    std::size_t exchanges_remembered = 0;  // confirmable writes held for retransmissions
    std::uint64_t separate_responses = 0;
    std::uint64_t notifications = 0;       // sent to observers, errors that ended an observation included
    std::size_t observations = 0;          // current
    std::uint64_t handshake_failures = 0;  // DTLS errors, whatever their cause
    std::uint64_t handshakes_completed = 0;
    std::uint64_t hello_verify_requests = 0;    // ClientHellos answered statelessly, before any state (spoofable)
    std::size_t handshakes_in_progress = 0;     // past the cookie exchange
    std::uint64_t handshakes_refused_busy = 0;  // valid cookie, but max_handshakes were in progress
    std::uint64_t handshakes_evicted = 0;       // stalled ones dropped to make room at max_handshakes
    std::uint64_t sessions_replaced = 0;        // a device came back from the same address and port
    // PSK sessions closed because their identity stopped working (its credential expired or was replaced): the
    // device's next handshake fails like any unknown identity's, so it falls back to its certificate.
    std::uint64_t sessions_credential_lapsed = 0;
    // Handshakes the server itself refused, by reason: "certificate_refused", "unknown_psk_identity".
    std::map<std::string, std::uint64_t> handshake_refusals;
    std::size_t sessions = 0;
    std::size_t sessions_psk = 0;
    std::size_t sessions_certificate = 0;
    std::size_t block1_in_progress = 0;
    std::uint64_t receive_buffer_drops = 0;  // datagrams the kernel dropped because the socket's buffer was full
    std::size_t receive_buffer_bytes = 0;    // the buffer the kernel granted
};

class CoapServer final : public headend::coap::ResourceRegistry {
public:
    CoapServer(boost::asio::io_context& io, ServerOptions options, std::shared_ptr<const SecurityStore> security);
    ~CoapServer() override;
    CoapServer(const CoapServer&) = delete;
    CoapServer& operator=(const CoapServer&) = delete;

    // Binds and starts serving. Errors: address unusable, bad credentials.
    headend::Result<void> start();
    // Closes every session and the endpoint. Call on the io_context's thread (or after it stopped).
    void stop();
    std::uint16_t port() const;
    ServerStats stats() const;
    // The live sessions, oldest first. Any thread.
    std::vector<SessionSummary> sessions() const;
    // The subject serialNumber of the certificate with this LFDI if a live session presents it (a PEV's VIN before
    // its first binding); empty string when the certificate has none. Call on the io_context's thread.
    std::optional<std::string> certificate_serial(const std::string& lfdi) const;

    // Closes the sessions of a device that was removed: certificate sessions with this LFDI, PSK sessions with this
    // identity. Their observations end; what the device sends on them afterwards goes unanswered. Any thread.
    void close_sessions(const std::string& lfdi, const std::optional<std::string>& psk_identity);

    void add(const std::string& pattern, headend::coap::Handler handler,
             headend::coap::ResourceOptions options = {}) override;
    void notify(const std::string& path) override;
    // Patterns are added before serving, so this reads them without a lock.
    bool serves(const std::string& path) const override;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace han
