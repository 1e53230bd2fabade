#include "headend/http/server.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
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

}  // namespace

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

class Session;

class ServerCore {
public:
    explicit ServerCore(HttpServerOptions options);

    void add(const std::string& method, const std::string& pattern, Handler handler, Access access);
    Result<void> start();
    void stop();
    std::uint16_t port() const { return port_.load(); }

    const HttpServerOptions& options() const { return options_; }
    // The response to one complete request, written to the access log; never throws.
    BeastResponse serve(BeastRequest& request, const std::string& peer, bool stopping);
    BeastResponse error_reply(const Response& error, unsigned version) const;
    void forget(std::uint64_t session_id);

private:
    Response respond(Request& request, std::string_view query);
    std::optional<Response> check_token(const Request& request) const;
    BeastResponse to_beast(Response response, unsigned version, bool head, bool keep_alive) const;
    void accept();
    void run_loop();

    const HttpServerOptions options_;
    const std::optional<Digest> token_digest_;

    mutable std::shared_mutex routes_mutex_;
    Router router_;

    std::mutex sessions_mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
    std::uint64_t next_session_id_ = 0;

    std::mutex state_mutex_;
    enum class State { Idle, Running, Stopped } state_ = State::Idle;
    std::atomic<std::uint16_t> port_{0};

    // Declared after everything sessions touch from their destructors: the io_context destroys pending handlers.
    asio::io_context io_;
    tcp::acceptor acceptor_;  // on its own strand, like accept_retry_ and stopping_
    asio::steady_timer accept_retry_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// One connection: reads requests one after another (keep-alive), answers each, and closes on error or stop.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, ServerCore& server, std::uint64_t id)
        : stream_(std::move(socket)), server_(server), id_(id) {}
    ~Session() { server_.forget(id_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();
    // Idle connections close now; a request being handled is answered first.
    void shutdown();

private:
    enum class After { Continue, Close, Linger };

    void read_request();
    void on_header(beast::error_code ec);
    void read_body();
    void on_request(beast::error_code ec);
    void on_read_error(beast::error_code ec);
    void reply_error(int status, std::string code, std::string message);
    void send(BeastResponse response, After after);
    void on_write(beast::error_code ec, After after);
    void linger();
    void drain();
    void close();

    beast::tcp_stream stream_;
    ServerCore& server_;
    const std::uint64_t id_;
    std::string peer_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    BeastResponse response_;  // kept alive while it is written
    std::array<char, 4096> drain_buffer_{};
    bool busy_ = false;  // a request is being handled or answered
    bool stopping_ = false;
};

void Session::start() {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? std::string("?") : fmt::format("{}:{}", peer.address().to_string(), peer.port());
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void Session::shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
        self->stopping_ = true;
        if (!self->busy_) {
            self->stream_.cancel();
        }
    });
}

void Session::read_request() {
    busy_ = false;
    if (stopping_) {
        close();
        return;
    }
    parser_.emplace();
    parser_->body_limit(server_.options().max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(server_.options().read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
    if (ec) {
        on_read_error(ec);
        return;
    }
    // Clients such as curl wait for this before sending a large body.
    if (iequals(to_std(parser_->get()[bhttp::field::expect]), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
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

void Session::read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
}

void Session::on_request(beast::error_code ec) {
    if (ec) {
        on_read_error(ec);
        return;
    }
    busy_ = true;
    auto request = parser_->release();
    auto response = server_.serve(request, peer_, stopping_);
    const After after = response.keep_alive() ? After::Continue : After::Close;
    send(std::move(response), after);
}

void Session::on_read_error(beast::error_code ec) {
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

void Session::reply_error(int status, std::string code, std::string message) {
    busy_ = true;
    const bool header_done = parser_ && parser_->is_header_done();
    const unsigned version = header_done ? parser_->get().version() : 11;
    std::string request_line = "- -";
    if (header_done) {
        const auto target = to_std(parser_->get().target());
        request_line = to_std(parser_->get().method_string()) + " " + target.substr(0, target.find('?'));
    }
    spdlog::debug("[HTTP_ACCESS] {} {} {} ({})", peer_, request_line, status, message);
    send(server_.error_reply(json_error(status, std::move(code), std::move(message)), version), After::Linger);
}

void Session::send(BeastResponse response, After after) {
    response_ = std::move(response);
    stream_.expires_after(server_.options().read_timeout);
    bhttp::async_write(stream_, response_, [self = shared_from_this(), after](beast::error_code ec, std::size_t) {
        self->on_write(ec, after);
    });
}

void Session::on_write(beast::error_code ec, After after) {
    if (!ec && after == After::Linger) {
        linger();
    } else if (ec || after == After::Close || stopping_) {
        close();
    } else {
        read_request();
    }
}

void Session::linger() {
    busy_ = false;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (stopping_) {
        close();
        return;
    }
    stream_.expires_after(std::min<std::chrono::seconds>(server_.options().read_timeout, kLingerLimit));
    drain();
}

void Session::drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) {
                                    self->close();
                                    return;
                                }
                                self->drain();
                            });
}

void Session::close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
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
    }
}

Result<void> ServerCore::start() {
    std::lock_guard lock(state_mutex_);
    if (state_ != State::Idle) {
        return make_error("http.state", "an HTTP server can be started only once");
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
    if (!token_digest_) {
        spdlog::warn("[HTTP_NO_ADMIN_TOKEN] no admin token configured: every admin route answers 401");
    }
    state_ = State::Running;
    accept();  // no thread runs yet, so this is still serialized with the acceptor strand
    const int threads = std::max(1, options_.threads);
    for (int i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { run_loop(); });
    }
    spdlog::info("[HTTP_LISTENING] on {}:{} with {} thread(s)", endpoint.address().to_string(), port_.load(), threads);
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
        std::vector<std::shared_ptr<Session>> live;
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
    spdlog::info("[HTTP_STOPPED] port {}", port_.load());
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
        std::shared_ptr<Session> session;
        {
            std::lock_guard lock(sessions_mutex_);
            const auto id = ++next_session_id_;
            session = std::make_shared<Session>(std::move(socket), *this, id);
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

BeastResponse ServerCore::serve(BeastRequest& beast_request, const std::string& peer, bool stopping) {
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

    auto response = respond(request, query);
    const int status = response.status;
    auto reply = to_beast(std::move(response), beast_request.version(), request.method == "HEAD",
                          beast_request.keep_alive() && !stopping);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - started;
    // Path only: the query and the headers (the token) stay out of the log.
    spdlog::debug("[HTTP_ACCESS] {} {} {} {} {:.1f}ms", peer, request.method, request.path, status, elapsed.count());
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
        if (auto denied = check_token(request)) {
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

std::optional<Response> ServerCore::check_token(const Request& request) const {
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

BeastResponse ServerCore::to_beast(Response response, unsigned version, bool head, bool keep_alive) const {
    if (response.status < 200 || response.status > 599) {
        spdlog::error("[HTTP_BAD_STATUS] a handler answered with status {}", response.status);
        response = json_error(500, "http.internal", "internal server error");
    }
    BeastResponse reply;
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
    const bool no_body = response.status == 204 || response.status == 304;
    if (!no_body) {
        reply.body() = std::move(response.body);
    }
    reply.keep_alive(keep_alive);
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
