// HTTPS listeners: TLS versions, client certificates, the bearer token, and file downloads with ranges, against a
// real TLS client (Beast over OpenSSL) on loopback with certificates made for each test.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
// GCC 12 reports a boost::optional in Beast's response parser as maybe uninitialized (see server_test.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "headend/http/json.hpp"
#include "headend/http/listeners.hpp"
#include "headend/http/server.hpp"
#include "headend/testing/fakes.hpp"
#include "headend/testing/sanitizers.hpp"
#include "pki/pki.hpp"

namespace headend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kToken = "listener-t0ken-of-some-length";

struct ClientTls {
    std::string certificate_file;  // the client certificate and key, if any
    std::string key_file;
    int max_version = 0;  // e.g. TLS1_1_VERSION: offer only protocols up to it
};

struct Fetched {
    beast::error_code error;  // where the exchange failed, if it did
    unsigned status = 0;      // 0: no HTTP answer
    std::map<std::string, std::string> headers;
    std::string body;
    std::uint64_t body_bytes = 0;
};

// One request on a fresh TLS connection; the server is verified against ca_file. The body is read a chunk at a time
// and kept only if asked, so a large download costs the test process no memory either.
Fetched fetch(std::uint16_t port, const std::string& ca_file, const ClientTls& tls, const std::string& target,
              const std::map<std::string, std::string>& headers = {}, bhttp::verb method = bhttp::verb::get,
              bool keep_body = true) {
    Fetched out;
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(ca_file);
    context.set_verify_mode(asio::ssl::verify_peer);
    if (!tls.certificate_file.empty()) {
        context.use_certificate_chain_file(tls.certificate_file);
        context.use_private_key_file(tls.key_file, asio::ssl::context::pem);
    }
    if (tls.max_version != 0) {
        // Let this client speak the old protocols at all; refusing them is the server's job.
        SSL_CTX_set_security_level(context.native_handle(), 0);
        SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_VERSION);
        SSL_CTX_set_max_proto_version(context.native_handle(), tls.max_version);
        SSL_CTX_set_cipher_list(context.native_handle(), "DEFAULT:@SECLEVEL=0");
    }
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, out.error);
    if (!out.error) {
        stream.handshake(asio::ssl::stream_base::client, out.error);
    }
    if (out.error) {
        return out;
    }
    bhttp::request<bhttp::empty_body> request{method, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    bhttp::write(stream, request, out.error);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.skip(method == bhttp::verb::head);
    if (!out.error) {
        bhttp::read_header(stream, buffer, parser, out.error);
    }
    std::array<char, 65536> chunk{};
    while (!out.error && !parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        bhttp::read(stream, buffer, parser, out.error);
        if (out.error == bhttp::error::need_buffer) {
            out.error = {};
        }
        const auto read = chunk.size() - parser.get().body().size;
        out.body_bytes += read;
        if (keep_body) {
            out.body.append(chunk.data(), read);
        }
    }
    if (!out.error) {
        out.status = parser.get().result_int();
        for (const auto& field : parser.get()) {
            out.headers[std::string(field.name_string())] = std::string(field.value());
        }
    }
    return out;
}

std::string sha256_hex_of_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::array<unsigned char, 32> digest{};
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    std::string out;
    for (const unsigned char byte : digest) {
        static constexpr char kDigits[] = "0123456789abcdef";
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

// kB of a field of /proc/self/status ("VmRSS", "VmHWM").
long status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stol(line.substr(field.size() + 1));
        }
    }
    return -1;
}

class TlsServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto ca = pki::make_ca(dir_.path() / "ca", "MDM Test CA");
        ASSERT_TRUE(ca) << ca.error().message;
        ca_ = *ca;
        auto server = pki::make_leaf(ca_, dir_.path() / "server", "localhost", pki::LeafKind::server);
        ASSERT_TRUE(server) << server.error().message;
        server_cert_ = *server;
        auto client = pki::make_leaf(ca_, dir_.path() / "client", "mdm-client");
        ASSERT_TRUE(client) << client.error().message;
        client_ = {client->cert.string(), client->key.string()};
        client_der_ = client->der;
        auto other_ca = pki::make_ca(dir_.path() / "other", "Other CA");
        ASSERT_TRUE(other_ca) << other_ca.error().message;
        auto intruder = pki::make_leaf(*other_ca, dir_.path() / "other", "intruder");
        ASSERT_TRUE(intruder) << intruder.error().message;
        intruder_ = {intruder->cert.string(), intruder->key.string()};
        fs::create_directories(dir_.path() / "files");
    }

    TlsOptions tls(bool client_ca, bool required) const {
        return TlsOptions{server_cert_.cert.string(), server_cert_.key.string(),
                          client_ca ? ca_.cert.string() : std::string(), required};
    }

    void start(TlsOptions tls_options, std::string token = {}) {
        HttpServerOptions options;
        options.name = "mdm";
        options.admin_token = std::move(token);
        options.tls = std::move(tls_options);
        server_ = std::make_unique<HttpServer>(options);
        add_routes(*server_);
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().message;
        port_ = server_->port();
    }

    void add_routes(RouteRegistry& routes) {
        routes.add(
            "GET", "/public",
            [](const Request&) {
                return json_response(200, {{"hello", "world"}});
            },
            Access::Public);
        routes.add("GET", "/whoami", [](const Request& request) {
            return json_response(200,
                                 {{"sha256", request.client_certificate_sha256}, {"cn", request.client_subject_cn}});
        });
        routes.add(
            "GET", "/files/{name}",
            [files = dir_.path() / "files"](const Request& request) {
                Response response;
                response.file = (files / request.params.at("name")).string();
                response.content_type = "application/octet-stream";
                response.headers["ETag"] = "\"v1\"";
                return response;
            },
            Access::Public);
    }

    Fetched get(const std::string& target, const ClientTls& client = {},
                const std::map<std::string, std::string>& headers = {}, bhttp::verb method = bhttp::verb::get) {
        return fetch(port_, ca_.cert.string(), client, target, headers, method);
    }

    fs::path write_file(const std::string& name, std::size_t size) {
        std::string content(size, '\0');
        for (std::size_t i = 0; i < size; ++i) {
            content[i] = static_cast<char>((i * 7919 + i / 251) & 0xff);
        }
        const auto path = dir_.path() / "files" / name;
        std::ofstream(path, std::ios::binary) << content;
        file_content_ = std::move(content);
        return path;
    }

    testing::TempDir dir_;
    pki::CertificateFiles ca_;
    pki::CertificateFiles server_cert_;
    ClientTls client_;
    fs::path client_der_;
    ClientTls intruder_;
    std::unique_ptr<HttpServer> server_;
    std::uint16_t port_ = 0;
    std::string file_content_;
};

TEST_F(TlsServerTest, ServesHttps) {
    start(tls(false, false));
    const auto answer = get("/public");
    ASSERT_FALSE(answer.error) << answer.error.message();
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(json::parse(answer.body), json({{"hello", "world"}}));
}

TEST_F(TlsServerTest, RefusesTls11) {
    start(tls(false, false));
    const auto old = get("/public", ClientTls{{}, {}, TLS1_1_VERSION});
    EXPECT_EQ(old.status, 0u);
    // The server's protocol_version alert, not a client that could not offer TLS 1.1 at all.
    EXPECT_NE(old.error.message().find("protocol version"), std::string::npos) << old.error.message();
    // The same client allowed TLS 1.2 gets through.
    const auto current = get("/public", ClientTls{{}, {}, TLS1_2_VERSION});
    EXPECT_EQ(current.status, 200u) << current.error.message();
}

TEST_F(TlsServerTest, RefusesAFileThatIsNotACertificate) {
    auto options = tls(false, false);
    options.certificate_file = (dir_.path() / "missing.pem").string();
    HttpServerOptions server_options;
    server_options.tls = options;
    HttpServer server(server_options);
    auto started = server.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, "http.tls");
}

TEST_F(TlsServerTest, RequiredClientCertificateMustChainToTheClientCa) {
    start(tls(true, true));
    // With TLS 1.3 the client may finish its handshake before the server refuses: either way no HTTP answer.
    const auto none = get("/public");
    EXPECT_EQ(none.status, 0u);
    EXPECT_TRUE(none.error);
    const auto other_ca = get("/public", intruder_);
    EXPECT_EQ(other_ca.status, 0u);
    EXPECT_TRUE(other_ca.error);

    const auto right = get("/whoami", client_);
    ASSERT_EQ(right.status, 200u) << right.error.message();
    const auto who = json::parse(right.body);
    EXPECT_EQ(who.at("sha256"), sha256_hex_of_file(client_der_));
    EXPECT_EQ(who.at("cn"), "mdm-client");
}

TEST_F(TlsServerTest, AdminRoutesTakeTheTokenWhenNoCertificateIsPresented) {
    start(tls(true, false), kToken);
    const auto missing = get("/whoami");
    ASSERT_EQ(missing.status, 401u) << missing.error.message();
    EXPECT_EQ(json::parse(missing.body).at("error").at("code"), "http.unauthorized");
    EXPECT_EQ(get("/whoami", {}, {{"Authorization", "Bearer wrong"}}).status, 401u);
    EXPECT_EQ(get("/public").status, 200u);

    const auto token = get("/whoami", {}, {{"Authorization", std::string("Bearer ") + kToken}});
    ASSERT_EQ(token.status, 200u);
    EXPECT_EQ(json::parse(token.body).at("sha256"), "");
    const auto certificate = get("/whoami", client_);
    ASSERT_EQ(certificate.status, 200u);
    EXPECT_EQ(json::parse(certificate.body).at("sha256"), sha256_hex_of_file(client_der_));
    // A certificate from another CA is refused even where certificates are optional.
    EXPECT_EQ(get("/whoami", intruder_, {{"Authorization", std::string("Bearer ") + kToken}}).status, 0u);
}

TEST_F(TlsServerTest, WithoutClientCaOnlyTheTokenOpensAdminRoutes) {
    start(tls(false, false), kToken);
    EXPECT_EQ(get("/whoami").status, 401u);
    EXPECT_EQ(get("/whoami", {}, {{"Authorization", "Bearer " + std::string(kToken) + "x"}}).status, 401u);
    // Not asked for, a client certificate proves nothing.
    EXPECT_EQ(get("/whoami", client_).status, 401u);
    EXPECT_EQ(get("/whoami", {}, {{"Authorization", std::string("Bearer ") + kToken}}).status, 200u);
}

TEST_F(TlsServerTest, FileDownloadsWholeAndResumed) {
    start(tls(false, false));
    const std::size_t size = 300'000;
    write_file("export.csv", size);

    const auto whole = get("/files/export.csv");
    ASSERT_EQ(whole.status, 200u) << whole.error.message();
    EXPECT_EQ(whole.body, file_content_);
    EXPECT_EQ(whole.headers.at("Content-Length"), std::to_string(size));
    EXPECT_EQ(whole.headers.at("Accept-Ranges"), "bytes");
    EXPECT_EQ(whole.headers.at("ETag"), "\"v1\"");
    EXPECT_EQ(whole.headers.at("Content-Type"), "application/octet-stream");

    // An interrupted download resumes where it stopped; the pieces make the file.
    const std::size_t cut = 123'457;
    const auto rest = get("/files/export.csv", {}, {{"Range", "bytes=" + std::to_string(cut) + "-"}});
    ASSERT_EQ(rest.status, 206u);
    EXPECT_EQ(rest.headers.at("Content-Range"), fmt::format("bytes {}-{}/{}", cut, size - 1, size));
    EXPECT_EQ(rest.headers.at("Content-Length"), std::to_string(size - cut));
    EXPECT_EQ(file_content_.substr(0, cut) + rest.body, file_content_);

    const auto middle = get("/files/export.csv", {}, {{"Range", "bytes=10-19"}});
    ASSERT_EQ(middle.status, 206u);
    EXPECT_EQ(middle.body, file_content_.substr(10, 10));
    EXPECT_EQ(middle.headers.at("Content-Range"), fmt::format("bytes 10-19/{}", size));
    const auto tail = get("/files/export.csv", {}, {{"Range", "bytes=-5"}});
    ASSERT_EQ(tail.status, 206u);
    EXPECT_EQ(tail.body, file_content_.substr(size - 5));
    const auto clamped = get("/files/export.csv", {}, {{"Range", "bytes=299990-999999"}});
    ASSERT_EQ(clamped.status, 206u);
    EXPECT_EQ(clamped.body, file_content_.substr(299'990));

    const auto beyond = get("/files/export.csv", {}, {{"Range", "bytes=" + std::to_string(size) + "-"}});
    ASSERT_EQ(beyond.status, 416u);
    EXPECT_EQ(beyond.headers.at("Content-Range"), fmt::format("bytes */{}", size));
    EXPECT_EQ(json::parse(beyond.body).at("error").at("code"), "http.range_not_satisfiable");

    // A resume against another version of the file gets the whole new one.
    const auto changed = get("/files/export.csv", {}, {{"Range", "bytes=100-"}, {"If-Range", "\"v0\""}});
    EXPECT_EQ(changed.status, 200u);
    EXPECT_EQ(changed.body.size(), size);
    const auto same = get("/files/export.csv", {}, {{"Range", "bytes=100-"}, {"If-Range", "\"v1\""}});
    EXPECT_EQ(same.status, 206u);
    // Several ranges are answered with the whole file.
    EXPECT_EQ(get("/files/export.csv", {}, {{"Range", "bytes=0-1,5-6"}}).status, 200u);

    const auto head = get("/files/export.csv", {}, {{"Range", "bytes=100-"}}, bhttp::verb::head);
    ASSERT_EQ(head.status, 206u);
    EXPECT_EQ(head.headers.at("Content-Length"), std::to_string(size - 100));
    EXPECT_TRUE(head.body.empty());
}

TEST_F(TlsServerTest, MissingFileIs404) {
    start(tls(false, false));
    const auto missing = get("/files/none.csv");
    ASSERT_EQ(missing.status, 404u) << missing.error.message();
    EXPECT_EQ(json::parse(missing.body).at("error").at("code"), "http.not_found");
    EXPECT_EQ(get("/files/none.csv", {}, {}, bhttp::verb::head).status, 404u);
}

TEST_F(TlsServerTest, LargeFileStreamsWithoutGrowingMemory) {
    start(tls(false, false));
    constexpr std::uint64_t kSize = std::uint64_t{64} * 1024 * 1024;
    fs::resize_file(write_file("large.bin", 0), kSize);  // sparse: costs no disk
    // Start the peak from here (Linux: "5" resets VmHWM).
    std::ofstream("/proc/self/clear_refs") << "5";
    const long rss_before = status_kb("VmRSS");
    const auto download =
        fetch(port_, ca_.cert.string(), {}, "/files/large.bin", {}, bhttp::verb::get, /*keep_body=*/false);
    ASSERT_EQ(download.status, 200u) << download.error.message();
    EXPECT_EQ(download.body_bytes, kSize);
    const long peak_after = status_kb("VmHWM");
    ASSERT_GT(rss_before, 0);
    // Under ASan the peak holds its quarantine of freed memory, not what the server keeps.
    if (!headend::testing::kAddressSanitizer) {
        EXPECT_LT(peak_after - rss_before, 16 * 1024) << "RSS " << rss_before << " kB, peak " << peak_after << " kB";
    }
}

TEST(ListenerHostTest, OpensBindsAndRefusesDuplicates) {
    testing::TempDir dir;
    auto ca = pki::make_ca(dir.path() / "ca");
    ASSERT_TRUE(ca);
    auto server = pki::make_leaf(*ca, dir.path(), "localhost", pki::LeafKind::server);
    ASSERT_TRUE(server);
    ListenerHost host;
    ListenerOptions options;
    options.address = "127.0.0.1";
    options.certificate_file = server->cert.string();
    options.key_file = server->key.string();
    options.bearer_token = kToken;
    auto routes = host.open("mdm", options);
    ASSERT_TRUE(routes) << routes.error().message;
    const auto port = host.port("mdm");
    EXPECT_NE(port, 0);
    EXPECT_EQ(host.port("other"), 0);
    (*routes)->add("GET", "/ping", [](const Request&) { return json_response(200, {{"pong", true}}); });
    EXPECT_EQ(fetch(port, ca->cert.string(), {}, "/ping").status, 401u);
    EXPECT_EQ(fetch(port, ca->cert.string(), {}, "/ping", {{"Authorization", std::string("Bearer ") + kToken}}).status,
              200u);

    auto again = host.open("mdm", options);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, "http.listener");
    options.key_file.clear();
    auto keyless = host.open("keyless", options);
    ASSERT_FALSE(keyless);
    EXPECT_EQ(keyless.error().code, "http.tls");
    host.stop_all();
    EXPECT_TRUE(fetch(port, ca->cert.string(), {}, "/ping").error);
}

}  // namespace
}  // namespace headend::http
