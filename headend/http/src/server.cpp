#include "headend/http/server.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "headend/http/url.hpp"
#include "router.hpp"

namespace headend::http {
namespace detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kHeaderLimit = std::size_t{16} * 1024;
// After an error reply the connection is drained this long at most, so the client reads the reply instead of a
// reset caused by its unread request bytes.
constexpr std::chrono::seconds kLingerLimit{5};
// Pause before accepting again after a failed accept (e.g. out of file descriptors), so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetry{100};
// Mozilla's "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// A file response is read and written in pieces of this size, so memory does not grow with the file.
constexpr std::size_t kFileChunk = std::size_t{64} * 1024;

std::string to_std(beast::string_view text) {
    return {text.data(), text.size()};
}

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

using Digest = std::array<unsigned char, 32>;

// Tokens are compared as digests so the comparison takes the same time whatever the presented token's length.
Digest sha256(std::string_view data) {
    Digest digest{};
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

Response unauthorized(std::string message, bool invalid_token) {
    auto response = json_error(401, "http.unauthorized", std::move(message));
    response.headers["WWW-Authenticate"] =
        invalid_token ? R"(Bearer realm="headend", error="invalid_token")" : R"(Bearer realm="headend")";
    return response;
}

std::string certificate_sha256(X509* certificate) {
    static constexpr char kDigits[] = "0123456789abcdef";
    Digest digest{};
    unsigned int length = 0;
    if (X509_digest(certificate, EVP_sha256(), digest.data(), &length) != 1) {
        return {};
    }
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += kDigits[digest[i] >> 4];
        out += kDigits[digest[i] & 0x0f];
    }
    return out;
}

std::string subject_cn(X509* certificate) {
    const X509_NAME* subject = X509_get_subject_name(certificate);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) {
        return {};
    }
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length < 0) {
        return {};
    }
    std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return cn;
}

struct ByteRange {
    enum class Kind { Whole, Partial, Unsatisfiable } kind = Kind::Whole;
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

std::optional<std::uint64_t> parse_offset(std::string_view text) {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

// One `bytes=` range of RFC 9110 §14.1.2 against a file of `size` bytes. Anything else (several ranges, another
// unit, a malformed value) answers the whole file, which the RFC allows in place of a 206.
ByteRange parse_range(std::string_view header, std::uint64_t size) {
    constexpr std::string_view kUnit = "bytes=";
    const auto value = trim(header);
    if (value.size() <= kUnit.size() || !iequals(value.substr(0, kUnit.size()), kUnit)) {
        return {};
    }
    const auto spec = trim(value.substr(kUnit.size()));
    const auto dash = spec.find('-');
    if (spec.find(',') != std::string_view::npos || dash == std::string_view::npos) {
        return {};
    }
    const auto first_text = trim(spec.substr(0, dash));
    const auto last_text = trim(spec.substr(dash + 1));
    if (first_text.empty()) {
        const auto suffix = parse_offset(last_text);
        if (!suffix) {
            return {};
        }
        if (*suffix == 0 || size == 0) {
            return {ByteRange::Kind::Unsatisfiable};
        }
        const auto length = std::min(*suffix, size);
        return {ByteRange::Kind::Partial, size - length, length};
    }
    const auto first = parse_offset(first_text);
    const auto last = last_text.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : parse_offset(last_text);
    if (!first || !last || *last < *first) {
        return {};
    }
    if (*first >= size) {
        return {ByteRange::Kind::Unsatisfiable};
    }
    return {ByteRange::Kind::Partial, *first, std::min(*last, size - 1) - *first + 1};
}

// A Beast body that is `length` bytes of an open file from `offset`, read a chunk at a time as it is written
// (Boost 1.74's file_body can only send a whole file).
struct FileRangeBody {
    struct value_type {
        beast::file file;
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
    };

    static std::uint64_t size(const value_type& body) { return body.length; }

    class writer {
    public:
        using const_buffers_type = asio::const_buffer;

        template <bool IsRequest, class Fields>
        writer(const bhttp::header<IsRequest, Fields>&, value_type& body) : body_(body) {}

        void init(beast::error_code& ec) {
            remain_ = body_.length;
            body_.file.seek(body_.offset, ec);
        }

        boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
            ec = {};
            if (remain_ == 0) {
                return boost::none;
            }
            const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, buffer_.size()));
            const auto read = body_.file.read(buffer_.data(), amount, ec);
            if (ec) {
                return boost::none;
            }
            if (read == 0) {
                ec = bhttp::error::short_read;  // the file shrank after its length was announced
                return boost::none;
            }
            remain_ -= read;
            return std::make_pair(const_buffers_type(buffer_.data(), read), remain_ > 0);
        }

    private:
        value_type& body_;
        std::uint64_t remain_ = 0;
        std::array<char, kFileChunk> buffer_;
    };
};

}  // namespace

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;
using FileResponse = bhttp::response<FileRangeBody>;
using Reply = std::variant<BeastResponse, FileResponse>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What a connection knows about its client.
struct Peer {
    std::string address;  // "ip:port" for log lines
    std::string ip;
    std::string certificate_sha256;  // verified client certificate, if any
    std::string subject_cn;
};

class SessionBase {
public:
    virtual ~SessionBase() = default;
    virtual void start() = 0;
    // Idle connections close now; a request being handled is answered first.
    virtual void shutdown() = 0;
};

class ServerCore {
public:
    explicit ServerCore(HttpServerOptions options);

    void add(const std::string& method, const std::string& pattern, Handler handler, Access access);
    Result<void> start();
    void stop();
    std::uint16_t port() const { return port_.load(); }

    const HttpServerOptions& options() const { return options_; }
    // The response to one complete request, written to the access log; never throws.
    Reply serve(BeastRequest& request, const Peer& peer, bool stopping);
    BeastResponse error_reply(const Response& error, unsigned version) const;
    void forget(std::uint64_t session_id);

private:
    Response respond(Request& request, std::string_view query);
    std::optional<Response> check_access(const Request& request) const;
    Reply to_reply(Response response, const BeastRequest& request, bool keep_alive) const;
    Reply file_reply(Response response, const BeastRequest& request, bool keep_alive) const;
    void set_headers(BeastResponse::header_type& reply, const Response& response, unsigned version) const;
    BeastResponse to_beast(Response response, unsigned version, bool head, bool keep_alive) const;
    Result<void> load_tls();
    void accept();
    void run_loop();

    const HttpServerOptions options_;
    const std::optional<Digest> token_digest_;
    bool warned_no_credentials_ = false;  // guarded by routes_mutex_

    mutable std::shared_mutex routes_mutex_;
    Router router_;

    std::mutex sessions_mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;
    std::uint64_t next_session_id_ = 0;

    std::mutex state_mutex_;
    enum class State { Idle, Running, Stopped } state_ = State::Idle;
    std::atomic<std::uint16_t> port_{0};

    std::optional<asio::ssl::context> tls_;  // loaded by start() when options_.tls is set

    // Declared after everything sessions touch from their destructors: the io_context destroys pending handlers.
    asio::io_context io_;
    tcp::acceptor acceptor_;  // on its own strand, like accept_retry_ and stopping_
    asio::steady_timer accept_retry_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// One connection, plain (beast::tcp_stream) or TLS (TlsStream): handshake if TLS, then reads requests one after
// another (keep-alive), answers each, and closes on error or stop.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    template <class... TlsContext>
    Session(tcp::socket socket, ServerCore& server, std::uint64_t id, TlsContext&... tls)
        : stream_(std::move(socket), tls...), server_(server), id_(id) {}
    ~Session() override { server_.forget(id_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() override;
    void shutdown() override;

private:
    enum class After { Continue, Close, Linger };

    beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
    void on_handshake(beast::error_code ec);
    void read_request();
    void on_header(beast::error_code ec);
    void read_body();
    void on_request(beast::error_code ec);
    void on_read_error(beast::error_code ec);
    void reply_error(int status, std::string code, std::string message);
    void send(Reply reply, After after);
    void write_file_part(After after);
    void on_write(beast::error_code ec, After after);
    void linger();
    void drain();
    void close();

    Stream stream_;
    ServerCore& server_;
    const std::uint64_t id_;
    Peer peer_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    Reply response_;  // kept alive while it is written
    std::optional<bhttp::response_serializer<FileRangeBody>> file_serializer_;
    std::array<char, 4096> drain_buffer_{};
    bool busy_ = false;  // a request is being handled or answered
    bool stopping_ = false;
};

template <class Stream>
void Session<Stream>::start() {
    beast::error_code ec;
    const auto peer = tcp().socket().remote_endpoint(ec);
    peer_.ip = ec ? std::string("?") : peer.address().to_string();
    peer_.address = ec ? peer_.ip : fmt::format("{}:{}", peer_.ip, peer.port());
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
        if constexpr (kTls) {
            self->tcp().expires_after(self->server_.options().tls->handshake_timeout);
            self->stream_.async_handshake(asio::ssl::stream_base::server,
                                          [self](beast::error_code handshake_ec) { self->on_handshake(handshake_ec); });
        } else {
            self->read_request();
        }
    });
}

template <class Stream>
void Session<Stream>::shutdown() {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->stopping_ = true;
        if (!self->busy_) {
            self->tcp().cancel();
        }
    });
}

template <class Stream>
void Session<Stream>::on_handshake(beast::error_code ec) {
    if constexpr (kTls) {
        if (ec) {
            spdlog::debug("[HTTP_TLS_HANDSHAKE_FAILED] {} {}: {}", server_.options().name, peer_.address, ec.message());
            close();
            return;
        }
        SSL* ssl = stream_.native_handle();
        // Only asked for with a client CA, and then verified against it (a failure ends the handshake above).
        if (X509* certificate = SSL_get0_peer_certificate(ssl);
            certificate != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
            peer_.certificate_sha256 = certificate_sha256(certificate);
            peer_.subject_cn = subject_cn(certificate);
        }
    }
    read_request();
}

template <class Stream>
void Session<Stream>::read_request() {
    busy_ = false;
    if (stopping_) {
        close();
        return;
    }
    parser_.emplace();
    parser_->body_limit(server_.options().max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    tcp().expires_after(server_.options().read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

template <class Stream>
void Session<Stream>::on_header(beast::error_code ec) {
    if (ec) {
        on_read_error(ec);
        return;
    }
    // Clients such as curl wait for this before sending a large body.
    if (iequals(to_std(parser_->get()[bhttp::field::expect]), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = this->shared_from_this()](beast::error_code write_ec, std::size_t) {
                              if (write_ec) {
                                  self->close();
                                  return;
                              }
                              self->read_body();
                          });
        return;
    }
    read_body();
}

template <class Stream>
void Session<Stream>::read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
}

template <class Stream>
void Session<Stream>::on_request(beast::error_code ec) {
    if (ec) {
        on_read_error(ec);
        return;
    }
    busy_ = true;
    auto request = parser_->release();
    auto reply = server_.serve(request, peer_, stopping_);
    const bool keep_alive = std::visit([](const auto& message) { return message.keep_alive(); }, reply);
    send(std::move(reply), keep_alive ? After::Continue : After::Close);
}

template <class Stream>
void Session<Stream>::on_read_error(beast::error_code ec) {
    const auto& http_errors = bhttp::make_error_code(bhttp::error::end_of_stream).category();
    if (ec == bhttp::error::body_limit) {
        reply_error(413, "http.payload_too_large",
                    fmt::format("request body exceeds {} bytes", server_.options().max_body_bytes));
    } else if (ec == bhttp::error::header_limit) {
        reply_error(431, "http.headers_too_large", fmt::format("request header exceeds {} bytes", kHeaderLimit));
    } else if (ec.category() == http_errors && ec != bhttp::error::end_of_stream) {
        reply_error(400, "http.bad_request", "malformed HTTP request: " + ec.message());
    } else {
        // Closed by the peer between requests, timed out, or cancelled by stop().
        close();
    }
}

template <class Stream>
void Session<Stream>::reply_error(int status, std::string code, std::string message) {
    busy_ = true;
    const bool header_done = parser_ && parser_->is_header_done();
    const unsigned version = header_done ? parser_->get().version() : 11;
    std::string request_line = "- -";
    if (header_done) {
        const auto target = to_std(parser_->get().target());
        request_line = to_std(parser_->get().method_string()) + " " + target.substr(0, target.find('?'));
    }
    spdlog::debug("[HTTP_ACCESS] {} {} {} ({})", peer_.address, request_line, status, message);
    send(server_.error_reply(json_error(status, std::move(code), std::move(message)), version), After::Linger);
}

template <class Stream>
void Session<Stream>::send(Reply reply, After after) {
    file_serializer_.reset();
    response_ = std::move(reply);
    if (auto* file = std::get_if<FileResponse>(&response_)) {
        file_serializer_.emplace(*file);
        write_file_part(after);
        return;
    }
    tcp().expires_after(server_.options().read_timeout);
    bhttp::async_write(
        stream_, std::get<BeastResponse>(response_),
        [self = this->shared_from_this(), after](beast::error_code ec, std::size_t) { self->on_write(ec, after); });
}

// A file goes out piece by piece, each with its own deadline, so a long download is not cut by read_timeout.
template <class Stream>
void Session<Stream>::write_file_part(After after) {
    tcp().expires_after(server_.options().read_timeout);
    bhttp::async_write_some(stream_, *file_serializer_,
                            [self = this->shared_from_this(), after](beast::error_code ec, std::size_t) {
                                if (ec || self->file_serializer_->is_done()) {
                                    self->on_write(ec, after);
                                    return;
                                }
                                self->write_file_part(after);
                            });
}

template <class Stream>
void Session<Stream>::on_write(beast::error_code ec, After after) {
    file_serializer_.reset();
    response_ = BeastResponse{};  // closes a served file
    if (!ec && after == After::Linger) {
        linger();
    } else if (ec || after == After::Close || stopping_) {
        close();
    } else {
        read_request();
    }
}

template <class Stream>
void Session<Stream>::linger() {
    busy_ = false;
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (stopping_) {
        close();
        return;
    }
    tcp().expires_after(std::min<std::chrono::seconds>(server_.options().read_timeout, kLingerLimit));
    drain();
}

// Reads below TLS: the bytes are discarded anyway.
template <class Stream>
void Session<Stream>::drain() {
    tcp().async_read_some(asio::buffer(drain_buffer_),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                  self->close();
                                  return;
                              }
                              self->drain();
                          });
}

template <class Stream>
void Session<Stream>::close() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp().close();
}

ServerCore::ServerCore(HttpServerOptions options)
    : options_(std::move(options)),
      token_digest_(options_.admin_token.empty() ? std::nullopt : std::optional<Digest>(sha256(options_.admin_token))),
      acceptor_(asio::make_strand(io_)),
      accept_retry_(acceptor_.get_executor()) {}

void ServerCore::add(const std::string& method, const std::string& pattern, Handler handler, Access access) {
    std::unique_lock lock(routes_mutex_);
    auto added = router_.add(method, pattern, std::move(handler), access);
    if (!added) {
        spdlog::error("[HTTP_ROUTE_REJECTED] {}", added.error().message);
        return;
    }
    // A listener of public routes only (the customer portal) needs no credentials; one admin route makes them matter.
    const bool client_certificates = options_.tls && !options_.tls->client_ca_file.empty();
    if (access == Access::Admin && !token_digest_ && !client_certificates && !warned_no_credentials_) {
        warned_no_credentials_ = true;
        spdlog::warn("[HTTP_NO_ADMIN_TOKEN] {}: no token or client CA configured: every admin route answers 401",
                     options_.name);
    }
}

Result<void> ServerCore::load_tls() {
    const TlsOptions& tls = *options_.tls;
    auto fail = [](const std::string& what, const std::string& file, const beast::error_code& ec) {
        return make_error("http.tls", fmt::format("{} {}: {}", what, file, ec.message()));
    };
    asio::ssl::context context(asio::ssl::context::tls_server);
    SSL_CTX* native = context.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
        return make_error("http.tls", "no usable TLS 1.2 cipher suite");
    }
    beast::error_code ec;
    if (context.use_certificate_chain_file(tls.certificate_file, ec); ec) {
        return fail("certificate chain", tls.certificate_file, ec);
    }
    if (context.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec); ec) {
        return fail("private key", tls.key_file, ec);
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        return make_error("http.tls", fmt::format("private key {} does not match certificate {}", tls.key_file,
                                                  tls.certificate_file));
    }
    if (!tls.client_ca_file.empty()) {
        if (context.load_verify_file(tls.client_ca_file, ec); ec) {
            return fail("client CA", tls.client_ca_file, ec);
        }
        // Tells clients which CA to pick a certificate for.
        SSL_CTX_set_client_CA_list(native, SSL_load_client_CA_file(tls.client_ca_file.c_str()));
        auto mode = asio::ssl::verify_peer;
        if (tls.require_client_certificate) {
            mode |= asio::ssl::verify_fail_if_no_peer_cert;
        }
        if (context.set_verify_mode(mode, ec); ec) {
            return fail("client CA", tls.client_ca_file, ec);
        }
        // Session resumption with client certificates needs an id context, else OpenSSL refuses resumed sessions.
        static constexpr unsigned char kSessionContext[] = "headend-http";
        SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
    } else if (tls.require_client_certificate) {
        return make_error("http.tls", "a client certificate is required but no client CA is configured");
    }
    tls_.emplace(std::move(context));
    return {};
}

Result<void> ServerCore::start() {
    std::lock_guard lock(state_mutex_);
    if (state_ != State::Idle) {
        return make_error("http.state", "an HTTP server can be started only once");
    }
    if (options_.tls) {
        if (auto loaded = load_tls(); !loaded) {
            return loaded;
        }
    }
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(options_.address, std::to_string(options_.port),
                                            tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
        return make_error("http.address", fmt::format("cannot use listen address '{}': {}", options_.address,
                                                      ec ? ec.message() : "no address found"));
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    const auto where = fmt::format("{}:{}", options_.address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        return make_error("http.bind", fmt::format("cannot listen on {}: {}", where, ec.message()));
    }
    port_ = acceptor_.local_endpoint(ec).port();
    state_ = State::Running;
    accept();  // no thread runs yet, so this is still serialized with the acceptor strand
    const int threads = std::max(1, options_.threads);
    for (int i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { run_loop(); });
    }
    spdlog::info("[HTTP_LISTENING] {} ({}) on {}:{} with {} thread(s)", options_.name, options_.tls ? "https" : "http",
                 endpoint.address().to_string(), port_.load(), threads);
    return {};
}

void ServerCore::stop() {
    std::lock_guard lock(state_mutex_);
    const bool running = state_ == State::Running;
    state_ = State::Stopped;
    if (!running) {
        return;
    }
    asio::post(acceptor_.get_executor(), [this] {
        stopping_ = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        accept_retry_.cancel();
        std::vector<std::shared_ptr<SessionBase>> live;
        {
            std::lock_guard sessions_lock(sessions_mutex_);
            for (const auto& [id, weak] : sessions_) {
                if (auto session = weak.lock()) {
                    live.push_back(std::move(session));
                }
            }
        }
        for (const auto& session : live) {
            session->shutdown();
        }
    });
    // The threads return once the acceptor is closed and every session has finished.
    for (auto& thread : threads_) {
        thread.join();
    }
    threads_.clear();
    spdlog::info("[HTTP_STOPPED] {} port {}", options_.name, port_.load());
}

void ServerCore::run_loop() {
    for (;;) {
        try {
            io_.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("[HTTP_LOOP_EXCEPTION] {}", e.what());
        } catch (...) {
            spdlog::error("[HTTP_LOOP_EXCEPTION] unknown exception");
        }
    }
}

void ServerCore::accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (stopping_ || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            spdlog::warn("[HTTP_ACCEPT_FAILED] {}", ec.message());
            accept_retry_.expires_after(kAcceptRetry);
            accept_retry_.async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec && !stopping_) {
                    accept();
                }
            });
            return;
        }
        std::shared_ptr<SessionBase> session;
        {
            std::lock_guard lock(sessions_mutex_);
            const auto id = ++next_session_id_;
            if (tls_) {
                session = std::make_shared<Session<TlsStream>>(std::move(socket), *this, id, *tls_);
            } else {
                session = std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *this, id);
            }
            sessions_.emplace(id, session);
        }
        session->start();
        accept();
    });
}

void ServerCore::forget(std::uint64_t session_id) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(session_id);
}

Reply ServerCore::serve(BeastRequest& beast_request, const Peer& peer, bool stopping) {
    const auto started = std::chrono::steady_clock::now();
    Request request;
    request.method = to_std(beast_request.method_string());
    const auto target = to_std(beast_request.target());
    const auto question = target.find('?');
    request.path = target.substr(0, question);
    const std::string_view query =
        question == std::string::npos ? std::string_view() : std::string_view(target).substr(question + 1);
    for (const auto& field : beast_request) {
        const auto value = to_std(field.value());
        auto [it, inserted] = request.headers.emplace(lower(to_std(field.name_string())), value);
        if (!inserted) {
            it->second += ", " + value;
        }
    }
    request.body = std::move(beast_request.body());
    request.client_certificate_sha256 = peer.certificate_sha256;
    request.client_subject_cn = peer.subject_cn;
    request.remote_address = peer.ip;

    auto response = respond(request, query);
    auto reply = to_reply(std::move(response), beast_request, beast_request.keep_alive() && !stopping);
    const int status = std::visit([](const auto& message) { return message.result_int(); }, reply);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - started;
    // Path only: the query and the headers (the token) stay out of the log.
    spdlog::debug("[HTTP_ACCESS] {} {} {} {} {:.1f}ms", peer.address, request.method, request.path, status,
                  elapsed.count());
    return reply;
}

Response ServerCore::respond(Request& request, std::string_view query) {
    if (request.path.empty() || request.path.front() != '/') {
        return json_error(400, "http.bad_request", "the request target must be an absolute path");
    }
    auto segments = split_path(request.path);
    if (!segments) {
        return json_error(400, "http.bad_request", "malformed percent-encoding in the path");
    }
    request.segments = std::move(*segments);
    auto parsed_query = parse_query(query);
    if (!parsed_query) {
        return json_error(400, "http.bad_request", "malformed percent-encoding in the query");
    }
    request.query = std::move(*parsed_query);

    Router::Lookup lookup;
    {
        std::shared_lock lock(routes_mutex_);
        lookup = router_.find(request.method, request.segments);
    }
    if (lookup.kind == Router::Lookup::Kind::NotFound) {
        return json_error(404, "http.not_found", "no resource at " + request.path);
    }
    if (lookup.kind == Router::Lookup::Kind::MethodNotAllowed) {
        auto response =
            json_error(405, "http.method_not_allowed",
                       fmt::format("{} is not allowed on {}; allowed: {}", request.method, request.path, lookup.allow));
        response.headers["Allow"] = lookup.allow;
        return response;
    }
    if (lookup.access == Access::Admin) {
        if (auto denied = check_access(request)) {
            return std::move(*denied);
        }
    }
    request.params = std::move(lookup.params);
    try {
        return lookup.handler(request);
    } catch (const std::exception& e) {
        spdlog::error("[HTTP_HANDLER_FAILED] {} {}: {}", request.method, request.path, e.what());
    } catch (...) {
        spdlog::error("[HTTP_HANDLER_FAILED] {} {}: unknown exception", request.method, request.path);
    }
    return json_error(500, "http.internal", "internal server error");
}

// A certificate is only set on the request when this server's client CA verified it.
std::optional<Response> ServerCore::check_access(const Request& request) const {
    if (!request.client_certificate_sha256.empty()) {
        return std::nullopt;
    }
    const auto header = request.headers.find("authorization");
    if (header == request.headers.end()) {
        return unauthorized("missing bearer token", false);
    }
    constexpr std::string_view kScheme = "bearer ";
    const auto value = trim(header->second);
    if (value.size() <= kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme)) {
        return unauthorized("the Authorization header is not a bearer token", false);
    }
    const auto presented = sha256(trim(value.substr(kScheme.size())));
    if (!token_digest_ || CRYPTO_memcmp(presented.data(), token_digest_->data(), presented.size()) != 0) {
        return unauthorized("invalid bearer token", true);
    }
    return std::nullopt;
}

BeastResponse ServerCore::error_reply(const Response& error, unsigned version) const {
    return to_beast(error, version, false, false);
}

Reply ServerCore::to_reply(Response response, const BeastRequest& request, bool keep_alive) const {
    const bool head = request.method() == bhttp::verb::head;
    if (!response.file.empty() && response.status >= 200 && response.status <= 599) {
        return file_reply(std::move(response), request, keep_alive);
    }
    return to_beast(std::move(response), request.version(), head, keep_alive);
}

Reply ServerCore::file_reply(Response response, const BeastRequest& request, bool keep_alive) const {
    const bool head = request.method() == bhttp::verb::head;
    std::error_code fs_ec;
    beast::error_code ec;
    FileRangeBody::value_type body;
    if (std::filesystem::is_regular_file(response.file, fs_ec)) {
        body.file.open(response.file.c_str(), beast::file_mode::scan, ec);
    }
    const std::uint64_t size = body.file.is_open() && !ec ? body.file.size(ec) : 0;
    if (!body.file.is_open() || ec) {
        spdlog::debug("[HTTP_FILE_MISSING] {}: {}", response.file, ec ? ec.message() : "not a regular file");
        return to_beast(json_error(404, "http.not_found", "the file is not available"), request.version(), head,
                        keep_alive);
    }
    body.length = size;
    std::string content_range;
    if (response.status == 200 && (request.method() == bhttp::verb::get || head) &&
        request.find(bhttp::field::range) != request.end()) {
        // If-Range: resume only what is still the same file, else send it whole.
        const auto if_range = request.find(bhttp::field::if_range);
        const auto etag = std::find_if(response.headers.begin(), response.headers.end(),
                                       [](const auto& header) { return iequals(header.first, "etag"); });
        // RFC 9110 §13.1.5: a strong comparison, so a weak ETag never matches.
        const bool same =
            if_range == request.end() || (etag != response.headers.end() && !etag->second.starts_with("W/") &&
                                          trim(to_std(if_range->value())) == trim(etag->second));
        const auto range = same ? parse_range(to_std(request[bhttp::field::range]), size) : ByteRange{};
        if (range.kind == ByteRange::Kind::Unsatisfiable) {
            auto refused = json_error(416, "http.range_not_satisfiable",
                                      fmt::format("the range is beyond the end of the file ({} bytes)", size));
            refused.headers["Content-Range"] = fmt::format("bytes */{}", size);
            return to_beast(std::move(refused), request.version(), head, keep_alive);
        }
        if (range.kind == ByteRange::Kind::Partial) {
            response.status = 206;
            body.offset = range.first;
            body.length = range.length;
            content_range = fmt::format("bytes {}-{}/{}", range.first, range.first + range.length - 1, size);
        }
    }
    if (head) {
        // HEAD announces what GET would send, without sending it (nor opening more than the file's length).
        BeastResponse reply;
        set_headers(reply.base(), response, request.version());
        reply.keep_alive(keep_alive);
        reply.set(bhttp::field::accept_ranges, "bytes");
        if (!content_range.empty()) {
            reply.set(bhttp::field::content_range, content_range);
        }
        reply.content_length(body.length);
        return reply;
    }
    FileResponse reply;
    set_headers(reply.base(), response, request.version());
    reply.keep_alive(keep_alive);
    reply.set(bhttp::field::accept_ranges, "bytes");
    if (!content_range.empty()) {
        reply.set(bhttp::field::content_range, content_range);
    }
    reply.body() = std::move(body);
    reply.prepare_payload();
    return reply;
}

void ServerCore::set_headers(BeastResponse::header_type& reply, const Response& response, unsigned version) const {
    reply.version(version);
    reply.result(static_cast<unsigned>(response.status));
    reply.set(bhttp::field::server, "headend");
    if (!response.content_type.empty()) {
        reply.set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
        const auto lname = lower(name);
        if (lname == "content-length" || lname == "transfer-encoding" || lname == "connection") {
            continue;  // framing is the server's business
        }
        if (name.empty() || name.find_first_of("\r\n: ") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos) {
            spdlog::warn("[HTTP_BAD_HEADER] a handler set an invalid header '{}'", name);
            continue;
        }
        reply.set(name, value);
    }
    // The listener's own headers on every answer, the server's errors too, unless the handler set them.
    for (const auto& [name, value] : options_.response_headers) {
        if (reply.find(name) == reply.end()) {
            reply.set(name, value);
        }
    }
}

BeastResponse ServerCore::to_beast(Response response, unsigned version, bool head, bool keep_alive) const {
    if (response.status < 200 || response.status > 599) {
        spdlog::error("[HTTP_BAD_STATUS] a handler answered with status {}", response.status);
        response = json_error(500, "http.internal", "internal server error");
    }
    BeastResponse reply;
    set_headers(reply.base(), response, version);
    reply.keep_alive(keep_alive);
    const bool no_body = response.status == 204 || response.status == 304;
    if (!no_body) {
        reply.body() = std::move(response.body);
    }
    reply.prepare_payload();
    if (head) {
        // HEAD announces the length of the body GET would send, without sending it.
        const auto length = reply.body().size();
        reply.body().clear();
        if (!no_body) {
            reply.content_length(length);
        }
    }
    return reply;
}

}  // namespace detail

class HttpServer::Impl : public detail::ServerCore {
public:
    using ServerCore::ServerCore;
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() {
    impl_->stop();
}

void HttpServer::add(const std::string& method, const std::string& pattern, Handler handler, Access access) {
    impl_->add(method, pattern, std::move(handler), access);
}

Result<void> HttpServer::start() {
    return impl_->start();
}

std::uint16_t HttpServer::port() const {
    return impl_->port();
}

void HttpServer::stop() {
    impl_->stop();
}

}  // namespace headend::http
