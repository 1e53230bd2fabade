// DeviceClient against Debian's coap-server-openssl, an independent libcoap peer started per test.
#include "han/device_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pki/pki.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using han::ClientCredentials;
using han::ClientOptions;
using han::DeviceClient;

constexpr const char* kServer = "/usr/bin/coap-server-openssl";
constexpr const char* kPskKey = "secret-psk-key";
constexpr std::uint16_t kUriQuery = 15;

bool can_bind(int type, std::uint16_t port) {
    const int fd = ::socket(AF_INET, type, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

// A port P where coap-server can take UDP+TCP on P and DTLS+TLS on P+1.
std::uint16_t free_port_pair() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        ::close(fd);
        const std::uint16_t port = ntohs(addr.sin_port);
        if (port < 65535 && can_bind(SOCK_DGRAM, port) && can_bind(SOCK_STREAM, port) &&
            can_bind(SOCK_DGRAM, port + 1) && can_bind(SOCK_STREAM, port + 1)) {
            return port;
        }
    }
    return 0;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "han_client_XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// coap-server-openssl as a child process; its DTLS endpoint is port() (the server's -p value plus one).
class CoapServer {
public:
    explicit CoapServer(const std::vector<std::string>& extra_args) {
        const std::uint16_t base = free_port_pair();
        if (base == 0) {
            return;
        }
        std::vector<std::string> args = {kServer, "-A", "127.0.0.1", "-p", std::to_string(base), "-v", "4"};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        std::vector<char*> argv;
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = ::posix_spawn(&pid_, kServer, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            return;
        }
        // Ready once the DTLS port is taken.
        for (int i = 0; i < 100; ++i) {
            if (!can_bind(SOCK_DGRAM, base + 1)) {
                port_ = base + 1;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
    }

    ~CoapServer() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGINT);  // coap-server leaves its loop and frees everything on SIGINT
        for (int i = 0; i < 60; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

    std::uint16_t port() const { return port_; }
    void suspend() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }
    std::string log() const {
        std::ifstream in(log_path());
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    fs::path log_path() const { return dir_.path() / "coap-server.log"; }

    TempDir dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

class DeviceClientTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        pki_dir_ = new TempDir();
        const auto& dir = pki_dir_->path();
        auto ca = headend::pki::make_ca(dir / "ca", "Client Test CA");
        auto other_ca = headend::pki::make_ca(dir / "other", "Other CA");
        ASSERT_TRUE(ca.ok() && other_ca.ok());
        auto server = headend::pki::make_leaf(*ca, dir, "server", headend::pki::LeafKind::server);
        auto device = headend::pki::make_leaf(*ca, dir, "device");
        auto rogue = headend::pki::make_leaf(*other_ca, dir, "rogue");
        ASSERT_TRUE(server.ok() && device.ok() && rogue.ok());
    }
    static void TearDownTestSuite() {
        delete pki_dir_;
        pki_dir_ = nullptr;
    }

    static fs::path pki(const std::string& name) { return pki_dir_->path() / name; }

    static std::vector<std::string> psk_server_args() { return {"-k", kPskKey}; }
    static std::vector<std::string> pki_server_args() {
        return {"-c", pki("server.pem").string(), "-j", pki("server.key").string(), "-R", pki("ca/ca.pem").string()};
    }
    static ClientCredentials device_credentials() {
        return ClientCredentials::certificate(pki("device.pem"), pki("device.key"), pki("ca/ca.pem"));
    }

    static headend::Result<std::unique_ptr<DeviceClient>> connect(const CoapServer& server,
                                                                  const ClientCredentials& credentials,
                                                                  ClientOptions options = {}) {
        return DeviceClient::connect("127.0.0.1", server.port(), credentials, options);
    }

    static std::unique_ptr<DeviceClient> connect_psk(const CoapServer& server, ClientOptions options = {}) {
        auto client = connect(server, ClientCredentials::psk("device-1", std::string_view(kPskKey)), options);
        EXPECT_TRUE(client.ok()) << client.error().message << "\n" << server.log();
        return client.ok() ? std::move(client).value() : nullptr;
    }

    static inline TempDir* pki_dir_ = nullptr;
};

// The first 1500 bytes coap-server puts in /example_data before anything is PUT there.
std::string initial_example_data() {
    std::string data;
    for (int i = 0; i < 1500; ++i) {
        data.push_back(i % 10 == 0 ? static_cast<char>('a' + (i / 10) % 26) : static_cast<char>('0' + i % 10));
    }
    return data;
}

std::string pattern(std::size_t size) {
    std::string data;
    for (std::size_t i = 0; i < size; ++i) {
        data.push_back(static_cast<char>('A' + (i * 7 + i / 13) % 26));
    }
    return data;
}

TEST_F(DeviceClientTest, PskGetRoot) {
    CoapServer server(psk_server_args());
    ASSERT_NE(server.port(), 0);
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    EXPECT_TRUE(client->connected());
    EXPECT_NE(client->cipher_suite().find("PSK"), std::string::npos) << client->cipher_suite();
    auto response = client->get("/");
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->code, 205);
    EXPECT_NE(response->body.find("libcoap"), std::string::npos);
    EXPECT_EQ(response->type, han::MessageType::ack);
    EXPECT_TRUE(client->last_error().empty());
}

// A device that keeps its UDP port across restarts, as HAN devices commonly do.
TEST_F(DeviceClientTest, AFixedLocalPortIsUsedAndCanBeTakenAgainAfterARestart) {
    CoapServer server(psk_server_args());
    ASSERT_NE(server.port(), 0);
    std::uint16_t port = 0;
    for (std::uint16_t candidate = 41000; candidate < 41100 && port == 0; ++candidate) {
        if (can_bind(SOCK_DGRAM, candidate))
            port = candidate;
    }
    ASSERT_NE(port, 0);
    ClientOptions options;
    options.local_port = port;
    for (int boot = 0; boot < 2; ++boot) {
        auto client = connect_psk(server, options);
        ASSERT_TRUE(client) << boot;
        EXPECT_FALSE(can_bind(SOCK_DGRAM, port)) << "the client holds the port it was given";
        EXPECT_EQ(client->get("/")->code, 205) << boot;
    }
    EXPECT_TRUE(can_bind(SOCK_DGRAM, port));
}

TEST_F(DeviceClientTest, QueryAndMethods) {
    auto args = psk_server_args();
    args.insert(args.end(), {"-d", "5"});  // PUT/POST to unknown paths creates resources there
    CoapServer server(args);
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    auto ticks = client->get("/time?ticks");
    ASSERT_TRUE(ticks.ok()) << ticks.error().message;
    EXPECT_EQ(ticks->code, 205);
    EXPECT_FALSE(ticks->body.empty());
    EXPECT_EQ(ticks->body.find_first_not_of("0123456789"), std::string::npos) << ticks->body;

    auto not_allowed = client->post("/", "<x/>");
    ASSERT_TRUE(not_allowed.ok());
    EXPECT_EQ(not_allowed->code, 405);

    auto created = client->put("/things/a%20b", "<Thing/>");
    ASSERT_TRUE(created.ok()) << created.error().message;
    EXPECT_EQ(created->code, 201);
    auto fetched = client->get("/things/a%20b");
    ASSERT_TRUE(fetched.ok());
    EXPECT_EQ(fetched->code, 205);
    EXPECT_EQ(fetched->body, "<Thing/>");
    EXPECT_EQ(fetched->content_format, 41);
    auto posted = client->post("/things/c", "{}", 50);
    ASSERT_TRUE(posted.ok());
    EXPECT_EQ(posted->code, 201);
    EXPECT_EQ(client->get("/things/c")->content_format, 50);

    auto deleted = client->del("/things/a%20b");
    ASSERT_TRUE(deleted.ok()) << deleted.error().message;
    EXPECT_EQ(deleted->code, 202);
    auto gone = client->get("/things/a%20b");
    ASSERT_TRUE(gone.ok());
    EXPECT_EQ(gone->code, 404);
}

TEST_F(DeviceClientTest, WrongPskKeyFailsHandshake) {
    CoapServer server(psk_server_args());
    ASSERT_NE(server.port(), 0);
    auto client = connect(server, ClientCredentials::psk("device-1", std::string_view("not-the-key")),
                          ClientOptions{.connect_timeout = 3s});
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "dtls.handshake");
    EXPECT_NE(client.error().message.find("DTLS handshake with 127.0.0.1"), std::string::npos)
        << client.error().message;
}

TEST_F(DeviceClientTest, NothingListeningFails) {
    const std::uint16_t port = free_port_pair();
    auto client = DeviceClient::connect("127.0.0.1", port, ClientCredentials::psk("id", std::string_view("key")),
                                        ClientOptions{.connect_timeout = 1s});
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "dtls.handshake");
}

TEST_F(DeviceClientTest, BadArgumentsFailBeforeTheNetwork) {
    const ClientCredentials psk = ClientCredentials::psk("id", std::string_view("key"));
    EXPECT_EQ(DeviceClient::connect("no-such-host.invalid", 5684, psk).error().code, "net.resolve");
    EXPECT_EQ(
        DeviceClient::connect("127.0.0.1", 5684, ClientCredentials::psk("", std::string_view("key"))).error().code,
        "dtls.credentials");
    EXPECT_EQ(DeviceClient::connect("127.0.0.1", 5684, psk, ClientOptions{.block2_size = 100}).error().code,
              "client.options");
    auto missing =
        DeviceClient::connect("127.0.0.1", 5684, ClientCredentials::certificate(pki("absent.pem"), pki("absent.key")));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "dtls.credentials");
    EXPECT_NE(missing.error().message.find("absent.pem"), std::string::npos);
}

TEST_F(DeviceClientTest, CertificateClient) {
    CoapServer server(pki_server_args());
    ASSERT_NE(server.port(), 0);
    auto client = connect(server, device_credentials());
    ASSERT_TRUE(client.ok()) << client.error().message << "\n" << server.log();
    EXPECT_NE((*client)->cipher_suite().find("ECDHE-ECDSA"), std::string::npos) << (*client)->cipher_suite();
    auto response = (*client)->get("/");
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->code, 205);
}

TEST_F(DeviceClientTest, CertificateClientWithoutServerVerification) {
    CoapServer server(pki_server_args());
    auto client = connect(server, ClientCredentials::certificate(pki("device.pem"), pki("device.key")));
    ASSERT_TRUE(client.ok()) << client.error().message;
    EXPECT_EQ((*client)->get("/")->code, 205);
}

TEST_F(DeviceClientTest, UntrustedServerCertificateFails) {
    CoapServer server(pki_server_args());
    auto client =
        connect(server, ClientCredentials::certificate(pki("device.pem"), pki("device.key"), pki("other/ca.pem")));
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "dtls.handshake");
    EXPECT_NE(client.error().message.find("server certificate rejected"), std::string::npos) << client.error().message;
}

TEST_F(DeviceClientTest, ServerRejectsDeviceFromUnknownCa) {
    CoapServer server(pki_server_args());
    auto client = connect(server, ClientCredentials::certificate(pki("rogue.pem"), pki("rogue.key"), pki("ca/ca.pem")),
                          ClientOptions{.connect_timeout = 3s});
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "dtls.handshake");
    EXPECT_NE(client.error().message.find("received fatal alert"), std::string::npos) << client.error().message;
}

TEST_F(DeviceClientTest, CipherListOverrideIsNegotiated) {
    CoapServer server(pki_server_args());
    auto credentials = device_credentials();
    credentials.cipher_list = "ECDHE-ECDSA-AES128-CCM8";
    auto client = connect(server, credentials);
    ASSERT_TRUE(client.ok()) << client.error().message;
    EXPECT_EQ((*client)->cipher_suite(), "ECDHE-ECDSA-AES128-CCM8");
    EXPECT_EQ((*client)->get("/")->code, 205);

    credentials.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
    auto other = connect(server, credentials);
    ASSERT_TRUE(other.ok()) << other.error().message;
    EXPECT_EQ((*other)->cipher_suite(), "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(DeviceClientTest, CipherListWithoutCommonSuiteFails) {
    CoapServer server(pki_server_args());
    auto credentials = device_credentials();
    credentials.cipher_list = "ECDHE-RSA-AES128-GCM-SHA256";  // the server's key is ECDSA
    auto client = connect(server, credentials, ClientOptions{.connect_timeout = 3s});
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, "dtls.handshake");

    credentials.cipher_list = "NO-SUCH-CIPHER";
    auto invalid = connect(server, credentials);
    ASSERT_FALSE(invalid.ok());
    EXPECT_EQ(invalid.error().code, "dtls.cipher");
}

TEST_F(DeviceClientTest, PskCipherListOverride) {
    CoapServer server(psk_server_args());
    auto credentials = ClientCredentials::psk("device-1", std::string_view(kPskKey));
    credentials.cipher_list = "PSK-AES128-CCM8";
    auto client = connect(server, credentials);
    ASSERT_TRUE(client.ok()) << client.error().message;
    EXPECT_EQ((*client)->cipher_suite(), "PSK-AES128-CCM8");
    EXPECT_EQ((*client)->get("/")->code, 205);
}

TEST_F(DeviceClientTest, Block2IsReassembled) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    auto response = client->get("/example_data");
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->code, 205);
    ASSERT_TRUE(response->block2.has_value());
    EXPECT_FALSE(response->block2->more);
    EXPECT_GT(response->block2->num, 0u);
    EXPECT_EQ(response->body, initial_example_data());
}

TEST_F(DeviceClientTest, Block2WithSmallPreferredSize) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server, ClientOptions{.block2_size = 64});
    ASSERT_TRUE(client);
    auto response = client->get("/example_data");
    ASSERT_TRUE(response.ok()) << response.error().message;
    ASSERT_TRUE(response->block2.has_value());
    EXPECT_EQ(response->block2->size, 64u);
    EXPECT_EQ(response->block2->num, 1500u / 64);
    EXPECT_EQ(response->body, initial_example_data());
}

TEST_F(DeviceClientTest, Block1UploadWithSize1ThenBlock2Download) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    const std::string body = pattern(3000);
    auto stored = client->put_blockwise("/example_data", body, 256, true, 0);
    ASSERT_TRUE(stored.ok()) << stored.error().message << "\n" << server.log();
    EXPECT_EQ(stored->code / 100, 2) << stored->code;

    auto fetched = client->get("/example_data");
    ASSERT_TRUE(fetched.ok()) << fetched.error().message;
    EXPECT_EQ(fetched->body, body);
}

TEST_F(DeviceClientTest, Block1UploadWithoutSize1Completes) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    auto stored = client->put_blockwise("/example_data", pattern(700), 128, false, 0);
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->code / 100, 2) << stored->code;
    EXPECT_EQ(client->put_blockwise("/example_data", "x", 100, false).error().code, "coap.block1");
}

TEST_F(DeviceClientTest, BodyTooLargeForOneDatagram) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    auto response = client->put("/example_data", pattern(4000), 0);
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, "coap.too_large");
    EXPECT_EQ(client->last_error(), response.error().message);
}

TEST_F(DeviceClientTest, ObserveDeliversNotificationsUntilCancelled) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    std::vector<han::ClientResponse> notifications;
    auto observation = client->observe("/time", [&](const han::ClientResponse& r) { notifications.push_back(r); });
    ASSERT_TRUE(observation.ok()) << observation.error().message;
    EXPECT_NE(observation->id, 0u);
    EXPECT_EQ(observation->response.code, 205);
    ASSERT_TRUE(observation->response.observe.has_value());

    client->poll(2500ms);
    ASSERT_GE(notifications.size(), 1u);
    EXPECT_EQ(notifications.front().code, 205);
    EXPECT_TRUE(notifications.front().observe.has_value());
    EXPECT_FALSE(notifications.front().body.empty());

    auto cancelled = client->cancel_observe(observation->id);
    ASSERT_TRUE(cancelled.ok()) << cancelled.error().message;
    EXPECT_EQ(cancelled->code, 205);
    EXPECT_FALSE(cancelled->observe.has_value());
    const std::size_t seen = notifications.size();
    client->poll(1500ms);
    EXPECT_EQ(notifications.size(), seen);
    EXPECT_EQ(client->cancel_observe(observation->id).error().code, "observe.unknown");
    EXPECT_EQ(client->get("/")->code, 205);
}

TEST_F(DeviceClientTest, ObserveLargeRepresentationsAreReassembled) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    std::vector<std::string> bodies;
    auto observation =
        client->observe("/example_data", [&](const han::ClientResponse& r) { bodies.push_back(r.body); });
    ASSERT_TRUE(observation.ok()) << observation.error().message;
    ASSERT_NE(observation->id, 0u);
    EXPECT_EQ(observation->response.body, initial_example_data());

    const std::string update = pattern(1800);
    auto stored = client->put_blockwise("/example_data", update, 512, true, 0);
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    for (int i = 0; i < 20 && bodies.empty(); ++i) {
        client->poll(100ms);
    }
    ASSERT_FALSE(bodies.empty());
    EXPECT_EQ(bodies.back(), update);
}

TEST_F(DeviceClientTest, NonConfirmableRequestWithExtraOptions) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    han::ClientRequest request;
    request.path = "/time";
    request.confirmable = false;
    request.accept = 0;
    request.extra_options = {{kUriQuery, "ticks"}};
    auto response = client->request(request);
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->code, 205);
    EXPECT_EQ(response->type, han::MessageType::non);
    EXPECT_EQ(response->body.find_first_not_of("0123456789"), std::string::npos) << response->body;
}

TEST_F(DeviceClientTest, ObservingAnUnobservableResource) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    auto observation = client->observe("/", [](const han::ClientResponse&) {});
    ASSERT_TRUE(observation.ok());
    EXPECT_EQ(observation->id, 0u);
    EXPECT_EQ(observation->response.code, 205);
}

TEST_F(DeviceClientTest, SendRepeatedReturnsEveryAnswer) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server);
    ASSERT_TRUE(client);
    // Run twice with the same message id: the second run starts right after an ACK carrying that id.
    for (int run = 0; run < 2; ++run) {
        auto responses = client->send_repeated(han::Method::get, "/", {}, 0x4242, 3);
        ASSERT_TRUE(responses.ok()) << responses.error().message;
        ASSERT_EQ(responses->size(), 3u) << "run " << run;
        for (const auto& response : *responses) {
            EXPECT_EQ(response.code, 205);
            EXPECT_EQ(response.message_id, 0x4242);
            EXPECT_EQ(response.type, han::MessageType::ack);
        }
    }
    EXPECT_EQ(client->send_repeated(han::Method::get, "/", {}, 1, 0).error().code, "client.options");
}

TEST_F(DeviceClientTest, RequestTimeoutAndRecovery) {
    CoapServer server(psk_server_args());
    auto client = connect_psk(server, ClientOptions{.request_timeout = 400ms, .ack_timeout = 200ms});
    ASSERT_TRUE(client);
    server.suspend();
    auto response = client->get("/");
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, "coap.timeout");
    EXPECT_FALSE(client->last_error().empty());
    server.resume();
    // libcoap still retransmits the first request; once it is answered the next one goes out.
    std::optional<int> code;
    for (int i = 0; i < 10 && !code; ++i) {
        if (auto again = client->get("/"); again.ok()) {
            code = again->code;
        }
    }
    EXPECT_EQ(code, 205);
}

TEST_F(DeviceClientTest, ServerGoneIsReported) {
    auto server = std::make_unique<CoapServer>(psk_server_args());
    auto client = connect_psk(*server, ClientOptions{.request_timeout = 1s, .ack_timeout = 200ms, .max_retransmit = 1});
    ASSERT_TRUE(client);
    server.reset();
    auto response = client->get("/");
    ASSERT_FALSE(response.ok());
    EXPECT_FALSE(client->last_error().empty());
}

}  // namespace
