#include "headend/http/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
// GCC 12 with sanitizers reports a boost::optional in Beast's response parser as maybe uninitialized (a false
// positive that escapes the system-header exemption through inlining).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "headend/http/client.hpp"
#include "headend/http/json.hpp"

namespace headend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "t0ken-with-some-length";

// A TCP connection for what http_request cannot do: raw bytes, several requests on one connection.
class RawConnection {
public:
    explicit RawConnection(std::uint16_t port) : stream_(io_) {
        stream_.expires_after(5s);
        stream_.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                              [this](beast::error_code ec) { ec_ = ec; });
        run();
        EXPECT_FALSE(ec_) << ec_.message();
    }

    void send(std::string_view bytes) {
        stream_.expires_after(5s);
        asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                          [this](beast::error_code ec, std::size_t) { ec_ = ec; });
        run();
        ASSERT_FALSE(ec_) << ec_.message();
    }

    bhttp::response<bhttp::string_body> read_response() {
        bhttp::response_parser<bhttp::string_body> parser;
        stream_.expires_after(5s);
        bhttp::async_read(stream_, buffer_, parser, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
        run();
        EXPECT_FALSE(ec_) << ec_.message();
        return parser.release();
    }

    // Reads raw bytes until the server closes the connection; a read timeout counts as a failure.
    std::string read_until_close() {
        std::string text(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        buffer_.consume(buffer_.size());
        std::array<char, 4096> chunk{};
        for (;;) {
            std::size_t n = 0;
            stream_.expires_after(5s);
            stream_.async_read_some(asio::buffer(chunk), [&](beast::error_code ec, std::size_t read) {
                ec_ = ec;
                n = read;
            });
            run();
            text.append(chunk.data(), n);
            if (ec_) {
                EXPECT_NE(ec_, beast::error::timeout) << "the server did not close the connection";
                return text;
            }
        }
    }

private:
    void run() {
        io_.restart();
        io_.run();
    }

    asio::io_context io_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    beast::error_code ec_;
};

json body_of(const ClientResponse& response) {
    return json::parse(response.body);
}

std::string error_code_of(const ClientResponse& response) {
    return body_of(response).at("error").at("code").get<std::string>();
}

class HttpServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        options_.admin_token = kToken;
        options_.max_body_bytes = 1024;
    }

    void start() {
        server_ = std::make_unique<HttpServer>(options_);
        server_->add(
            "GET", "/public",
            [](const Request&) {
                return json_response(200, {{"hello", "world"}});
            },
            Access::Public);
        server_->add("GET", "/admin", [](const Request&) { return json_response(200, {{"secret", true}}); });
        server_->add(
            "GET", "/items/{id}",
            [](const Request& r) {
                return json_response(200, {{"id", r.params.at("id")}});
            },
            Access::Public);
        server_->add(
            "GET", "/items/special",
            [](const Request&) {
                return json_response(200, {{"special", true}});
            },
            Access::Public);
        server_->add(
            "DELETE", "/items/{id}",
            [](const Request& r) {
                return json_response(200, {{"removed", r.params.at("id")}});
            },
            Access::Public);
        server_->add(
            "GET", "/echo",
            [](const Request& r) {
                return json_response(200, {{"query", r.query}, {"segments", r.segments}, {"path", r.path}});
            },
            Access::Public);
        server_->add(
            "POST", "/echo",
            [](const Request& r) {
                return json_response(200, {{"body", r.body}, {"content_type", r.headers.at("content-type")}});
            },
            Access::Public);
        server_->add(
            "GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); }, Access::Public);
        server_->add(
            "GET", "/bad-status",
            [](const Request&) {
                return Response{42, "", "", {}, {}};
            },
            Access::Public);
        server_->add(
            "GET", "/headers",
            [](const Request&) {
                return Response{201, "created", "text/plain", {{"X-Custom", "yes"}, {"X-Bad", "a\r\nInjected: 1"}}, {}};
            },
            Access::Public);
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().message;
    }

    std::string url(const std::string& target) const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + target;
    }

    ClientResponse request(const std::string& target, const std::string& method = "GET",
                           const std::map<std::string, std::string>& headers = {}, const std::string& body = {}) {
        auto response = http_request(url(target), method, body, headers, 5s);
        EXPECT_TRUE(response) << response.error().message;
        return response ? *response : ClientResponse{};
    }

    static std::map<std::string, std::string> bearer(const std::string& token) {
        return {{"Authorization", "Bearer " + token}};
    }

    HttpServerOptions options_;
    std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, PortIsKnownOnlyOnceStarted) {
    HttpServer idle(options_);
    EXPECT_EQ(idle.port(), 0);
    start();
    EXPECT_NE(server_->port(), 0);
}

TEST_F(HttpServerTest, ServesJsonOnPublicRoute) {
    start();
    const auto response = request("/public");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.headers.at("content-type"), "application/json");
    EXPECT_EQ(body_of(response), (json{{"hello", "world"}}));
}

TEST_F(HttpServerTest, RoutesParamsAndPrefersLiterals) {
    start();
    EXPECT_EQ(body_of(request("/items/17")), (json{{"id", "17"}}));
    EXPECT_EQ(body_of(request("/items/special")), (json{{"special", true}}));
    EXPECT_EQ(body_of(request("/items/a%2Fb%20c")), (json{{"id", "a/b c"}}));
    EXPECT_EQ(body_of(request("/items/17", "DELETE")), (json{{"removed", "17"}}));
}

TEST_F(HttpServerTest, UnknownPathIs404Json) {
    start();
    const auto response = request("/nowhere/at/all");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(error_code_of(response), "http.not_found");
    EXPECT_FALSE(body_of(response)["error"]["message"].get<std::string>().empty());
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
    start();
    const auto response = request("/items/17", "PUT");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(response.headers.at("allow"), "DELETE, GET, HEAD");
    EXPECT_EQ(error_code_of(response), "http.method_not_allowed");
}

TEST_F(HttpServerTest, AdminRouteNeedsTheToken) {
    start();
    const auto missing = request("/admin");
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(missing.headers.at("www-authenticate").rfind("Bearer", 0), 0U);
    EXPECT_EQ(error_code_of(missing), "http.unauthorized");

    const auto wrong = request("/admin", "GET", bearer("not-the-token"));
    EXPECT_EQ(wrong.status, 401);
    EXPECT_NE(wrong.headers.at("www-authenticate").find("invalid_token"), std::string::npos);

    EXPECT_EQ(request("/admin", "GET", bearer(std::string(kToken) + "x")).status, 401);
    EXPECT_EQ(request("/admin", "GET", bearer(std::string(kToken).substr(1))).status, 401);
    EXPECT_EQ(request("/admin", "GET", {{"Authorization", std::string("Basic ") + kToken}}).status, 401);

    const auto right = request("/admin", "GET", bearer(kToken));
    EXPECT_EQ(right.status, 200);
    EXPECT_EQ(body_of(right), (json{{"secret", true}}));
    EXPECT_EQ(request("/admin", "GET", {{"Authorization", std::string("bearer  ") + kToken + " "}}).status, 200);
}

TEST_F(HttpServerTest, WithoutConfiguredTokenAdminRoutesAreClosed) {
    options_.admin_token.clear();
    start();
    EXPECT_EQ(request("/admin").status, 401);
    EXPECT_EQ(request("/admin", "GET", bearer("")).status, 401);
    EXPECT_EQ(request("/admin", "GET", bearer("anything")).status, 401);
    EXPECT_EQ(request("/public").status, 200);
}

TEST_F(HttpServerTest, DecodesQueryAndPath) {
    start();
    const auto body = body_of(request("/echo/?name=a%20b&sum=1+2&flag&name2=%E2%82%AC"));
    // "/echo/" matches "/echo": empty segments do not count.
    EXPECT_EQ(body["query"], (json{{"name", "a b"}, {"sum", "1 2"}, {"flag", ""}, {"name2", "\xE2\x82\xAC"}}));
    EXPECT_EQ(body["segments"], (json{"echo"}));
    EXPECT_EQ(body["path"], "/echo/");
}

TEST_F(HttpServerTest, MalformedEscapesAre400) {
    start();
    EXPECT_EQ(request("/items/%zz").status, 400);
    const auto response = request("/echo?x=%4");
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(error_code_of(response), "http.bad_request");
}

TEST_F(HttpServerTest, BodyUpToTheCapIsAccepted) {
    start();
    const std::string body(1024, 'x');
    const auto response = request("/echo", "POST", {{"Content-Type", "text/plain"}}, body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body_of(response)["body"], body);
    EXPECT_EQ(body_of(response)["content_type"], "text/plain");
}

TEST_F(HttpServerTest, BodyOverTheCapIs413) {
    start();
    const auto response = request("/echo", "POST", {{"Content-Type", "text/plain"}}, std::string(1025, 'x'));
    EXPECT_EQ(response.status, 413);
    EXPECT_EQ(error_code_of(response), "http.payload_too_large");
    // A large body the server never reads must not turn the reply into a connection reset.
    const auto large = request("/echo", "POST", {{"Content-Type", "text/plain"}}, std::string(4 << 20, 'x'));
    EXPECT_EQ(large.status, 413);
}

TEST_F(HttpServerTest, ChunkedBodyOverTheCapIs413) {
    start();
    RawConnection connection(server_->port());
    connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) {
        connection.send("200\r\n" + std::string(0x200, 'y') + "\r\n");
    }
    connection.send("0\r\n\r\n");
    const auto text = connection.read_until_close();
    EXPECT_EQ(text.rfind("HTTP/1.1 413", 0), 0U) << text;
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
    start();
    RawConnection connection(server_->port());
    connection.send("THIS IS NOT HTTP\r\n\r\n");
    const auto text = connection.read_until_close();
    ASSERT_EQ(text.rfind("HTTP/1.1 400", 0), 0U) << text;
    const auto body = json::parse(text.substr(text.find("\r\n\r\n") + 4));
    EXPECT_EQ(body["error"]["code"], "http.bad_request");

    RawConnection bad_header(server_->port());
    bad_header.send("GET /public HTTP/1.1\r\nHost x\r\n\r\n");
    EXPECT_EQ(bad_header.read_until_close().rfind("HTTP/1.1 400", 0), 0U);

    RawConnection bad_length(server_->port());
    bad_length.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
    EXPECT_EQ(bad_length.read_until_close().rfind("HTTP/1.1 400", 0), 0U);

    EXPECT_EQ(request("/public").status, 200);
}

TEST_F(HttpServerTest, OversizedHeaderIsRefused) {
    start();
    RawConnection connection(server_->port());
    connection.send("GET /public HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
    EXPECT_EQ(connection.read_until_close().rfind("HTTP/1.1 431", 0), 0U);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerGoesOn) {
    start();
    const auto response = request("/throw");
    EXPECT_EQ(response.status, 500);
    EXPECT_EQ(error_code_of(response), "http.internal");
    EXPECT_EQ(response.body.find("boom"), std::string::npos) << "exception text leaked to the client";
    EXPECT_EQ(request("/bad-status").status, 500);
    EXPECT_EQ(request("/public").status, 200);
}

TEST_F(HttpServerTest, HandlerHeadersPassButInjectionDoesNot) {
    start();
    const auto response = request("/headers");
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.headers.at("x-custom"), "yes");
    EXPECT_EQ(response.headers.count("x-bad"), 0U);
    EXPECT_EQ(response.headers.count("injected"), 0U);
    EXPECT_EQ(response.headers.at("content-type"), "text/plain");
}

TEST_F(HttpServerTest, TheListenersOwnHeadersAreOnEveryAnswerUnlessTheHandlerSetsThem) {
    options_.response_headers = {{"X-Frame-Options", "DENY"}, {"X-Custom", "default"}};
    start();
    for (const auto& [target, method, status] :
         {std::tuple{"/public", "GET", 200}, std::tuple{"/nowhere", "GET", 404}, std::tuple{"/items/17", "PUT", 405},
          std::tuple{"/throw", "GET", 500}, std::tuple{"/bad%zzescape", "GET", 400}}) {
        const auto response = request(target, method);
        EXPECT_EQ(response.status, status) << target;
        EXPECT_EQ(response.headers.count("x-frame-options") ? response.headers.at("x-frame-options") : "", "DENY")
            << target;
    }
    EXPECT_EQ(request("/headers").headers.at("x-custom"), "yes");  // the handler's own wins
    RawConnection connection(server_->port());
    connection.send("GET /public HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
    EXPECT_NE(connection.read_until_close().find("X-Frame-Options: DENY"), std::string::npos);
}

TEST_F(HttpServerTest, HeadAnswersLikeGetWithoutBody) {
    start();
    const auto get = request("/public");
    const auto head = request("/public", "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.headers.at("content-length"), std::to_string(get.body.size()));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    start();
    RawConnection connection(server_->port());
    connection.send("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto first = connection.read_response();
    EXPECT_EQ(first.result_int(), 200U);
    EXPECT_TRUE(first.keep_alive());
    EXPECT_EQ(json::parse(first.body()), (json{{"id", "1"}}));
    connection.send("GET /items/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto second = connection.read_response();
    EXPECT_EQ(json::parse(second.body()), (json{{"id", "2"}}));
    EXPECT_FALSE(second.keep_alive());
    EXPECT_EQ(connection.read_until_close(), "");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
    start();
    RawConnection connection(server_->port());
    connection.send("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(json::parse(connection.read_response().body()), (json{{"id", "1"}}));
    EXPECT_EQ(json::parse(connection.read_response().body()), (json{{"id", "2"}}));
}

TEST_F(HttpServerTest, Http10ClosesUnlessAskedToKeepAlive) {
    start();
    RawConnection connection(server_->port());
    connection.send("GET /items/1 HTTP/1.0\r\n\r\n");
    const auto text = connection.read_until_close();
    EXPECT_EQ(text.rfind("HTTP/1.0 200", 0), 0U) << text;
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimResponse) {
    start();
    RawConnection connection(server_->port());
    connection.send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: "
        "100-continue\r\n\r\n");
    const auto interim = connection.read_response();
    EXPECT_EQ(interim.result_int(), 100U);
    connection.send("hello");
    const auto final_response = connection.read_response();
    EXPECT_EQ(final_response.result_int(), 200U);
    EXPECT_EQ(json::parse(final_response.body())["body"], "hello");
}

TEST_F(HttpServerTest, ReadTimeoutClosesIdleAndStalledConnections) {
    options_.read_timeout = 1s;
    start();
    RawConnection idle(server_->port());
    RawConnection stalled(server_->port());
    stalled.send("GET /public HTTP/1.1\r\nHost: x\r\n");  // header never finished
    EXPECT_EQ(idle.read_until_close(), "");
    EXPECT_EQ(stalled.read_until_close(), "");
    EXPECT_EQ(request("/public").status, 200);
}

TEST_F(HttpServerTest, StopLetsASlowRequestFinish) {
    std::promise<void> entered;
    auto entered_future = entered.get_future();
    server_ = std::make_unique<HttpServer>(options_);
    server_->add(
        "GET", "/slow",
        [&entered](const Request&) {
            entered.set_value();
            std::this_thread::sleep_for(300ms);
            return json_response(200, {{"slow", "done"}});
        },
        Access::Public);
    ASSERT_TRUE(server_->start());
    const auto port = server_->port();
    auto pending = std::async(std::launch::async, [port] {
        return http_request("http://127.0.0.1:" + std::to_string(port) + "/slow", "GET", {}, {}, 5s);
    });
    ASSERT_EQ(entered_future.wait_for(5s), std::future_status::ready);
    server_->stop();
    const auto response = pending.get();
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(body_of(*response), (json{{"slow", "done"}}));

    const auto after = http_request("http://127.0.0.1:" + std::to_string(port) + "/slow", "GET", {}, {}, 2s);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code, "http.connect");
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsPromptly) {
    start();
    RawConnection idle(server_->port());
    RawConnection used(server_->port());
    used.send("GET /public HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(used.read_response().result_int(), 200U);
    server_->stop();
    EXPECT_EQ(idle.read_until_close(), "");
    EXPECT_EQ(used.read_until_close(), "");
    server_->stop();  // idempotent
}

TEST_F(HttpServerTest, ServesConcurrentClients) {
    options_.threads = 2;
    start();
    constexpr int kClients = 8;
    constexpr int kRequests = 25;
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    clients.reserve(kClients);
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
            for (int i = 0; i < kRequests; ++i) {
                const auto id = std::to_string(c * 1000 + i);
                auto response = http_request(url("/items/" + id), "GET", {}, {}, 5s);
                if (response && response->status == 200 && json::parse(response->body)["id"] == id) {
                    ++ok;
                }
            }
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST_F(HttpServerTest, StartReportsBindErrors) {
    start();
    options_.port = server_->port();
    HttpServer second(options_);
    const auto in_use = second.start();
    ASSERT_FALSE(in_use);
    EXPECT_EQ(in_use.error().code, "http.bind");
    EXPECT_NE(in_use.error().message.find("in use"), std::string::npos) << in_use.error().message;
    EXPECT_NE(in_use.error().message.find(std::to_string(options_.port)), std::string::npos);

    HttpServerOptions bad_address;
    bad_address.address = "999.1.2.3";
    HttpServer third(bad_address);
    const auto unusable = third.start();
    ASSERT_FALSE(unusable);
    EXPECT_EQ(unusable.error().code, "http.address");

    const auto again = server_->start();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, "http.state");
}

TEST_F(HttpServerTest, AccessLogHasRequestsButNoToken) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    capture->set_level(spdlog::level::debug);
    spdlog::set_default_logger(capture);
    start();
    EXPECT_EQ(request("/admin?secret=q", "GET", bearer(kToken)).status, 200);
    server_->stop();
    spdlog::set_default_logger(previous);
    const auto text = log.str();
    EXPECT_NE(text.find("GET /admin 200"), std::string::npos) << text;
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
    EXPECT_EQ(text.find("secret=q"), std::string::npos) << text;
}

TEST(HttpClient, RefusesWhatItCannotDo) {
    for (const auto* url :
         {"https://127.0.0.1/", "ftp://x/", "http://", "http://host:99999/", "http://u@host/", "http://[::1/"}) {
        const auto response = http_request(url);
        ASSERT_FALSE(response) << url;
        EXPECT_EQ(response.error().code, "http.url") << url;
    }
}

TEST(HttpClient, ReportsConnectionRefused) {
    std::uint16_t port = 0;
    {
        HttpServer server(HttpServerOptions{});
        ASSERT_TRUE(server.start());
        port = server.port();
    }
    const auto response = http_request("http://127.0.0.1:" + std::to_string(port) + "/", "GET", {}, {}, 2s);
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, "http.connect");
    EXPECT_NE(response.error().message.find("refused"), std::string::npos) << response.error().message;
}

TEST(HttpClient, TimesOut) {
    HttpServer server(HttpServerOptions{});
    server.add(
        "GET", "/slow",
        [](const Request&) {
            std::this_thread::sleep_for(500ms);
            return json_response(200, json::object());
        },
        Access::Public);
    ASSERT_TRUE(server.start());
    const auto response =
        http_request("http://127.0.0.1:" + std::to_string(server.port()) + "/slow", "GET", {}, {}, 100ms);
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().code, "http.timeout");
}

TEST(JsonHelpers, ErrorShape) {
    const auto response = json_error(409, "device.duplicate", "already \"there\"");
    EXPECT_EQ(response.status, 409);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(json::parse(response.body),
              (json{{"error", {{"code", "device.duplicate"}, {"message", "already \"there\""}}}}));
    // Invalid UTF-8 from request input must not make the helper throw.
    EXPECT_NO_THROW(static_cast<void>(json_error(404, "x", "bad \xFF byte")));
}

}  // namespace
}  // namespace headend::http
