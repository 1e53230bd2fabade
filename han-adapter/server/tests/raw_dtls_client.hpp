// A DTLS-PSK client of the test's own (OpenSSL over memory BIOs): the test decides where each datagram goes and what
// plaintext is sent, malformed CoAP included, which a CoAP library would not send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace han::testing {

class RawDtlsClient {
public:
    RawDtlsClient(std::string identity, std::vector<std::uint8_t> key)
        : identity_(std::move(identity)), key_(std::move(key)) {
        context_ = SSL_CTX_new(DTLS_client_method());
        SSL_CTX_set_cipher_list(context_, "PSK-AES128-CCM8");
        SSL_CTX_set_psk_client_callback(context_, &RawDtlsClient::psk);
        ssl_ = SSL_new(context_);
        SSL_set_app_data(ssl_, this);
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);  // empty means "nothing yet", not end of stream
        SSL_set_bio(ssl_, in_, out_);
        SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
        SSL_set_mtu(ssl_, 1200);
        SSL_set_connect_state(ssl_);
    }
    ~RawDtlsClient() {
        SSL_free(ssl_);
        SSL_CTX_free(context_);
        if (socket_ >= 0)
            ::close(socket_);
    }
    RawDtlsClient(const RawDtlsClient&) = delete;
    RawDtlsClient& operator=(const RawDtlsClient&) = delete;

    // Feeds a datagram from the server (if any) and returns what the client sends next (empty: nothing).
    std::string step(std::string_view received = {}) {
        if (!received.empty())
            BIO_write(in_, received.data(), static_cast<int>(received.size()));
        if (!established())
            SSL_do_handshake(ssl_);
        return pending_output();
    }
    bool established() const { return SSL_is_init_finished(ssl_) == 1; }

    // Over a UDP socket of its own to 127.0.0.1:port: the whole handshake, within `limit`.
    bool connect(std::uint16_t port, std::chrono::milliseconds limit) {
        if (!open(port))
            return false;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        send_datagram(step());
        while (!established() && std::chrono::steady_clock::now() < deadline) {
            auto datagram = receive_datagram(std::chrono::milliseconds(200));
            if (datagram)
                send_datagram(step(*datagram));
            else if (DTLSv1_handle_timeout(ssl_) > 0)
                send_datagram(pending_output());
        }
        return established();
    }
    // Only the cookie exchange, then silence: the server has a handshake in progress that goes nowhere.
    bool begin(std::uint16_t port, std::chrono::milliseconds limit) {
        if (!open(port))
            return false;
        send_datagram(step());
        const auto verify_request = receive_datagram(limit);
        if (!verify_request)
            return false;
        send_datagram(step(*verify_request));
        return true;
    }
    // One record of plaintext to the server.
    void send(std::string_view plaintext) {
        SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
        send_datagram(pending_output());
    }
    // The next record of plaintext from the server, if one comes within `limit`.
    std::optional<std::string> receive(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::string buffer(2048, '\0');
        while (std::chrono::steady_clock::now() < deadline) {
            const int length = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
            if (length > 0)
                return buffer.substr(0, static_cast<std::size_t>(length));
            auto datagram = receive_datagram(std::chrono::milliseconds(50));
            if (datagram)
                BIO_write(in_, datagram->data(), static_cast<int>(datagram->size()));
        }
        return std::nullopt;
    }

private:
    static unsigned int psk(SSL* ssl, const char*, char* identity, unsigned int max_identity, unsigned char* key,
                            unsigned int max_key) {
        const auto* self = static_cast<const RawDtlsClient*>(SSL_get_app_data(ssl));
        if (self->identity_.size() + 1 > max_identity || self->key_.size() > max_key)
            return 0;
        std::memcpy(identity, self->identity_.c_str(), self->identity_.size() + 1);
        std::memcpy(key, self->key_.data(), self->key_.size());
        return static_cast<unsigned int>(self->key_.size());
    }
    bool open(std::uint16_t port) {
        socket_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in server{};
        server.sin_family = AF_INET;
        server.sin_port = htons(port);
        server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return ::connect(socket_, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0;
    }
    std::string pending_output() {
        std::string out(static_cast<std::size_t>(BIO_ctrl_pending(out_)), '\0');
        if (!out.empty())
            BIO_read(out_, out.data(), static_cast<int>(out.size()));
        return out;
    }
    void send_datagram(const std::string& datagram) {
        if (!datagram.empty())
            ::send(socket_, datagram.data(), datagram.size(), 0);
    }
    std::optional<std::string> receive_datagram(std::chrono::milliseconds limit) {
        pollfd ready{socket_, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(limit.count())) <= 0)
            return std::nullopt;
        std::string buffer(4096, '\0');
        const ssize_t length = ::recv(socket_, buffer.data(), buffer.size(), 0);
        if (length <= 0)
            return std::nullopt;
        buffer.resize(static_cast<std::size_t>(length));
        return buffer;
    }

    std::string identity_;
    std::vector<std::uint8_t> key_;
    SSL_CTX* context_ = nullptr;
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;
    BIO* out_ = nullptr;
    int socket_ = -1;
};

}  // namespace han::testing
