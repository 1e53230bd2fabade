// A small synchronous CoAP-over-DTLS client for HAN device emulators, integration tests and load tools.
//
// One DeviceClient owns one DTLS session to one server. Every call runs libcoap's I/O loop on the calling thread
// until its answer arrives, so a client must stay on one thread at a time; separate clients are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "headend/plugin/result.hpp"

namespace han {

struct PskCredentials {
    std::string identity;
    std::vector<std::uint8_t> key;
};

struct CertificateCredentials {
    std::filesystem::path cert_file;               // PEM device certificate
    std::filesystem::path key_file;                // PEM private key
    std::optional<std::filesystem::path> ca_file;  // PEM CA(s) the server must chain to; none = accept any server
};

struct ClientCredentials {
    std::variant<PskCredentials, CertificateCredentials> secret;
    // OpenSSL cipher string replacing libcoap's default offer (e.g. "ECDHE-ECDSA-AES128-CCM8"); empty keeps it.
    // It takes effect from the ClientHello that answers the server's HelloVerifyRequest (libcoap servers always
    // send one); OpenSSL refuses a negotiated suite outside the list in any case.
    std::string cipher_list;

    static ClientCredentials psk(std::string identity, std::vector<std::uint8_t> key);
    static ClientCredentials psk(std::string identity, std::string_view key);
    static ClientCredentials certificate(std::filesystem::path cert_file, std::filesystem::path key_file,
                                         std::optional<std::filesystem::path> ca_file = std::nullopt);
};

// libcoap's own diagnostics; the level is process-wide, the last connect() sets it.
enum class LogLevel { off, error, warning, info, debug };

struct ClientOptions {
    std::chrono::milliseconds request_timeout{5000};  // per request (each block of a blockwise transfer)
    std::chrono::milliseconds connect_timeout{5000};  // DTLS handshake
    unsigned nstart = 1;                              // confirmable requests libcoap lets be outstanding at once
    std::chrono::milliseconds ack_timeout{2000};      // CoAP ACK_TIMEOUT before the first retransmission
    unsigned max_retransmit = 4;                      // CoAP MAX_RETRANSMIT
    unsigned block2_size = 0;  // Block2 size to ask for on GET (16..1024, a power of two); 0 lets the server pick
    std::size_t max_body = 16 * 1024 * 1024;  // cap on a reassembled Block2 body
    LogLevel log_level = LogLevel::off;
    // The client's own UDP port; 0 takes an ephemeral one. A HAN device commonly keeps one fixed port across
    // reboots, so a restarted device comes back from the address the server still has a session for.
    std::uint16_t local_port = 0;
};

enum class Method : std::uint8_t { get = 1, post = 2, put = 3, del = 4 };

enum class MessageType : std::uint8_t { con = 0, non = 1, ack = 2, rst = 3 };

struct BlockOption {
    std::uint32_t num = 0;
    bool more = false;
    unsigned size = 0;  // bytes (16..1024)

    friend bool operator==(const BlockOption&, const BlockOption&) = default;
};

struct ClientResponse {
    int code = 0;  // class * 100 + detail: 205 is 2.05 Content
    std::string body;
    std::optional<int> content_format;
    std::string location_path;   // "/edev/3" from Location-Path options; empty if none
    std::string location_query;  // "a=1&b=2" from Location-Query options
    std::optional<std::uint32_t> observe;
    std::optional<std::uint32_t> max_age;
    std::optional<std::string> etag;  // raw bytes
    std::optional<BlockOption> block1;
    std::optional<BlockOption> block2;  // of the last block when the body was reassembled
    std::optional<std::uint32_t> size1;
    std::optional<std::uint32_t> size2;
    std::uint16_t message_id = 0;
    MessageType type = MessageType::ack;
    std::vector<std::pair<std::uint16_t, std::string>> options;  // every option as received, in order
};

struct ClientRequest {
    Method method = Method::get;
    std::string path;  // "/edev/3/fsa?s=0&l=10": path segments and query parameters, percent-decoded
    std::string body;
    std::optional<int> content_format;
    std::optional<int> accept;
    bool confirmable = true;
    std::vector<std::pair<std::uint16_t, std::string>> extra_options;  // added as given (e.g. If-Match, unknown)
};

using NotificationCallback = std::function<void(const ClientResponse&)>;

struct Observation {
    std::uint64_t id = 0;     // 0 if the server did not accept the registration (no Observe option)
    ClientResponse response;  // the registration response, i.e. the first representation
};

class DeviceClient {
public:
    // Resolves host, starts the DTLS handshake and runs it to completion. Handshake failures (unknown PSK
    // identity, wrong key, untrusted certificate, no common cipher suite) come back as "dtls.handshake".
    static headend::Result<std::unique_ptr<DeviceClient>> connect(const std::string& host, std::uint16_t port,
                                                                  const ClientCredentials& credentials,
                                                                  const ClientOptions& options = {});
    ~DeviceClient();
    DeviceClient(const DeviceClient&) = delete;
    DeviceClient& operator=(const DeviceClient&) = delete;

    // A Block2 response to GET is fetched block by block and returned as one body. A body too big for one
    // datagram fails with "coap.too_large": use post_blockwise/put_blockwise for those.
    headend::Result<ClientResponse> request(const ClientRequest& request);
    headend::Result<ClientResponse> get(std::string_view path_with_query);
    headend::Result<ClientResponse> post(std::string_view path, std::string_view body, int content_format = 41);
    headend::Result<ClientResponse> put(std::string_view path, std::string_view body, int content_format = 41);
    headend::Result<ClientResponse> del(std::string_view path);

    // Sends the same confirmable request (same message id, same token) `times` times, one after the other, waiting
    // for each answer, as a retransmitting client whose ACKs got lost would. Returns every response received; a
    // copy that gets no answer within the request timeout adds nothing.
    headend::Result<std::vector<ClientResponse>> send_repeated(Method method, std::string_view path,
                                                               std::string_view body, std::uint16_t message_id,
                                                               int times, int content_format = 41);

    // Uploads body with Block1 in blocks of block_size bytes (16..1024), waiting for 2.31 Continue after each
    // non-final block; Size1 goes on every block when include_size1. Each block is its own request with a fresh
    // token (RFC 9175). Returns the first response that is not 2.31 Continue (normally the final one). A smaller
    // block size in a 2.31 is honoured for the next blocks.
    headend::Result<ClientResponse> post_blockwise(std::string_view path, std::string_view body, unsigned block_size,
                                                   bool include_size1, int content_format = 41);
    headend::Result<ClientResponse> put_blockwise(std::string_view path, std::string_view body, unsigned block_size,
                                                  bool include_size1, int content_format = 41);

    // Registers for notifications (GET with Observe 0). Notifications are delivered only from poll(), in arrival
    // order, including any that arrived while other requests were running.
    headend::Result<Observation> observe(std::string_view path, NotificationCallback callback);
    // Deregisters (GET with Observe 1 and the registration's token) and returns the server's answer.
    headend::Result<ClientResponse> cancel_observe(std::uint64_t observation_id);
    // Runs the I/O loop for duration, delivering notifications as they come.
    void poll(std::chrono::milliseconds duration);

    // The last failure seen on this client (request or session level); empty if none yet.
    std::string last_error() const;
    // The negotiated DTLS cipher suite in OpenSSL naming, e.g. "ECDHE-ECDSA-AES128-CCM8".
    std::string cipher_suite() const;
    // False once the session failed or the server closed it.
    bool connected() const;

    struct Impl;  // public only so the libcoap callbacks in the implementation can name it

private:
    explicit DeviceClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace han
