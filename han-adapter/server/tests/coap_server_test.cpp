// The CoAP server on loopback with real DTLS-PSK clients (libcoap's, and a raw OpenSSL one for what libcoap would not
// send).
#include "han/coap_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "han/coap_message.hpp"
#include "han/device_client.hpp"
#include "lossy_link.hpp"
#include "raw_dtls_client.hpp"

namespace han {
namespace {

using headend::coap::Code;
using headend::coap::Response;

const std::vector<std::uint8_t> kKey(16, 0x33);

class OneDevice final : public SecurityStore {
public:
    std::optional<PskCredential> find_psk(const std::string& identity) const override {
        if (identity != "dev")
            return std::nullopt;
        std::lock_guard lock(mutex_);
        return PskCredential{kKey, RegisteredDevice{1, headend::coap::DeviceType::Esci, "P1", lfdi_}};
    }
    std::optional<RegisteredDevice> find_by_lfdi(const std::string&) const override { return std::nullopt; }
    // The device's record changes (its registered LFDI), as an operator's correction would.
    void set_lfdi(std::string lfdi) {
        std::lock_guard lock(mutex_);
        lfdi_ = std::move(lfdi);
    }

private:
    mutable std::mutex mutex_;
    std::string lfdi_ = std::string(40, 'A');
};

class CoapServerTest : public ::testing::Test {
protected:
    // What a test changes of the defaults before the server starts.
    virtual void configure(ServerOptions&) {}

    void SetUp() override {
        ServerOptions options;
        options.port = 0;
        configure(options);
        server_ = std::make_unique<CoapServer>(io_, options, device_);
        const auto answer = [this](const headend::coap::Request&, const headend::coap::Responder& respond) {
            if (gone_)
                respond(Response{Code::NotFound, "", 41, "", std::nullopt});
            else if (!allowed_)
                respond(Response{Code::Forbidden, "", 41, "", std::nullopt});
            else
                respond(Response{Code::Content, "<x/>", 41, "", std::nullopt});
        };
        server_->add("/thing", answer, {.observable = true});
        server_->add("/other", answer, {.observable = true});
        server_->add("/plain", answer);
        // A write that counts how often it takes effect.
        server_->add("/count", [this](const headend::coap::Request&, const headend::coap::Responder& respond) {
            respond(Response{Code::Changed, std::to_string(++writes_), 41, "", std::nullopt});
        });
        // Answers when the test says so, as a handler waiting for a commit would.
        server_->add("/slow",
                     [this](const headend::coap::Request&, headend::coap::Responder respond) {
                         std::lock_guard lock(held_mutex_);
                         held_.push_back(std::move(respond));
                     },
                     {.observable = true});
        // A buggy handler: it drops its Responder without answering, once `dropping_` is set.
        server_->add("/careless",
                     [this](const headend::coap::Request&, const headend::coap::Responder& respond) {
                         if (!dropping_)
                             respond(Response{Code::Content, "<x/>", 41, "", std::nullopt});
                     },
                     {.observable = true});
        server_->add("/late",
                     [this](const headend::coap::Request&, headend::coap::Responder respond) {
                         boost::asio::post(io_, [respond = std::move(respond)] {
                             respond(Response{Code::Content, std::string(kLateBody), 41, "", std::nullopt});
                         });
                     },
                     {.observable = true});
        ASSERT_TRUE(server_->start());
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        boost::asio::post(io_, [this] { server_->stop(); });
        guard_.reset();
        io_.stop();
        thread_.join();
    }

    // Returns once the server's thread has run everything queued before this call: what a notify() or an answer
    // from another thread set going has happened (or had nothing to do).
    void settle() {
        std::promise<void> done;
        boost::asio::post(io_, [&done] { done.set_value(); });
        done.get_future().wait();
    }

    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{
        boost::asio::make_work_guard(io_)};
    std::unique_ptr<DeviceClient> connect(const ClientOptions& options = {}) {
        return connect_to(server_->port(), options);
    }
    std::unique_ptr<DeviceClient> connect_to(std::uint16_t port, const ClientOptions& options = {}) {
        auto client = DeviceClient::connect("127.0.0.1", port, ClientCredentials::psk("dev", kKey), options);
        EXPECT_TRUE(client) << client.error().message;
        return client ? std::move(*client) : nullptr;
    }
    template <typename Done>
    static void poll_until(DeviceClient& client, Done done) {
        for (int i = 0; i < 40 && !done(); ++i)
            client.poll(std::chrono::milliseconds(50));
    }

    void reboot_from_the_same_port(bool observing);

    // A device coming back through `port` that must be in within one handshake (with its cookie exchange), not after
    // some earlier handshake or session timed out; it has 20 s, so a lock-out shows as the time, not as a failure.
    std::unique_ptr<DeviceClient> back_within_one_handshake(std::uint16_t port) {
        ClientOptions options;
        options.connect_timeout = std::chrono::seconds(20);
        const auto started = std::chrono::steady_clock::now();
        auto client = connect_to(port, options);
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
        if (client) {
            EXPECT_EQ(client->get("/thing")->code, 205);
        }
        return client;
    }

    // For requests to /slow, which answers only when the test says so.
    static ClientOptions impatient() {
        ClientOptions options;
        options.request_timeout = std::chrono::milliseconds(300);
        return options;
    }

    std::shared_ptr<OneDevice> device_ = std::make_shared<OneDevice>();
    std::unique_ptr<CoapServer> server_;
    std::thread thread_;
    std::atomic<bool> allowed_{true};
    std::atomic<bool> gone_{false};
    std::atomic<bool> dropping_{false};
    std::atomic<int> writes_{0};
    std::mutex held_mutex_;
    std::vector<headend::coap::Responder> held_;
    // A 40-byte body answered after the handler returned, as a separate response or a late notification.
    static constexpr std::string_view kLateBody = "<late>0123456789abcdef0123456789a</late>";
};

TEST_F(CoapServerTest, AnObserverThatLosesAccessIsToldSoAndStopsObserving) {
    auto client = connect();
    std::vector<int> codes;
    auto observation = client->observe("/thing", [&](const ClientResponse& n) { codes.push_back(n.code); });
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);
    EXPECT_EQ(server_->stats().observations, 1U);

    allowed_ = false;
    server_->notify("/thing");
    poll_until(*client, [&] { return !codes.empty(); });
    EXPECT_EQ(codes, std::vector<int>{403});
    EXPECT_EQ(server_->stats().observations, 0U);

    // Nothing more for it, and the server carries on: the path is observable again, for whoever may see it.
    allowed_ = true;
    server_->notify("/thing");
    client->poll(std::chrono::milliseconds(200));
    EXPECT_EQ(codes.size(), 1U);
    allowed_ = false;
    auto refused = client->observe("/thing", [](const ClientResponse&) {});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->response.code, 403);
    EXPECT_EQ(refused->id, 0U);
    EXPECT_EQ(server_->stats().observations, 0U);
    allowed_ = true;
    auto again = client->observe("/thing", [](const ClientResponse&) {});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->response.code, 205);
    EXPECT_NE(again->id, 0U);
}

TEST_F(CoapServerTest, NotificationsCarryIncreasingObserveNumbersUntilTheObserverDeregisters) {
    auto client = connect();
    std::vector<ClientResponse> notifications;
    auto observation = client->observe("/thing", [&](const ClientResponse& n) { notifications.push_back(n); });
    ASSERT_TRUE(observation);
    ASSERT_TRUE(observation->response.observe.has_value());
    for (int i = 0; i < 2; ++i) {
        server_->notify("/thing");
        poll_until(*client, [&] { return notifications.size() == static_cast<std::size_t>(i + 1); });
    }
    ASSERT_EQ(notifications.size(), 2U);
    for (const auto& notification : notifications) {
        EXPECT_EQ(notification.code, 205);
        EXPECT_EQ(notification.body, "<x/>");
        EXPECT_EQ(notification.type, MessageType::con);
    }
    ASSERT_TRUE(notifications[0].observe && notifications[1].observe);
    EXPECT_GT(*notifications[0].observe, *observation->response.observe);
    EXPECT_GT(*notifications[1].observe, *notifications[0].observe);
    EXPECT_EQ(server_->stats().notifications, 2U);

    auto cancelled = client->cancel_observe(observation->id);
    ASSERT_TRUE(cancelled);
    EXPECT_EQ(cancelled->code, 205);
    EXPECT_FALSE(cancelled->observe.has_value());
    EXPECT_EQ(server_->stats().observations, 0U);
    server_->notify("/thing");
    client->poll(std::chrono::milliseconds(200));
    EXPECT_EQ(notifications.size(), 2U);
}

TEST_F(CoapServerTest, AnObserverThatResetsANotificationIsDropped) {
    auto client = connect();
    // A registration the client does not keep: its next notification meets a Reset (RFC 7641 §3.6).
    ClientRequest request;
    request.path = "/thing";
    request.extra_options = {{6, ""}};
    auto registered = client->request(request);
    ASSERT_TRUE(registered);
    ASSERT_TRUE(registered->observe.has_value());
    EXPECT_EQ(server_->stats().observations, 1U);
    server_->notify("/thing");
    poll_until(*client, [&] { return server_->stats().observations == 0; });
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapServerTest, ObserversOfAnInstanceThatIsGoneAreToldSo) {
    auto client = connect();
    std::vector<int> codes;
    auto observation = client->observe("/thing", [&](const ClientResponse& n) { codes.push_back(n.code); });
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);
    gone_ = true;
    server_->notify("/thing");
    poll_until(*client, [&] { return !codes.empty(); });
    EXPECT_EQ(codes, std::vector<int>{404});
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapServerTest, APatternNotMarkedObservableIsAnsweredWithoutRegistering) {
    auto client = connect();
    auto plain = client->observe("/plain", [](const ClientResponse&) {});
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->response.code, 205);
    EXPECT_FALSE(plain->response.observe.has_value());
    EXPECT_EQ(plain->id, 0U);
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapServerTest, ARegistrationAnsweredAfterItsSessionClosedStartsNothing) {
    {
        auto client = connect(impatient());
        ASSERT_TRUE(client);
        EXPECT_FALSE(client->observe("/slow", [](const ClientResponse&) {}));  // no answer yet
    }                                                                          // the client leaves
    for (int i = 0; i < 40 && server_->stats().sessions != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(server_->stats().sessions, 0U);
    {
        std::lock_guard lock(held_mutex_);
        ASSERT_EQ(held_.size(), 1U);
        held_[0](Response{Code::Content, "<x/>", 41, "", std::nullopt});
    }
    server_->notify("/slow");
    settle();
    EXPECT_EQ(server_->stats().observations, 0U);
    EXPECT_EQ(server_->stats().sessions, 0U);  // nothing was sent towards the device that left
    EXPECT_EQ(server_->stats().separate_responses, 0U);
}

TEST_F(CoapServerTest, StoppingWithAnAnswerPendingGivesItsSessionBack) {
    auto client = connect(impatient());
    ASSERT_TRUE(client);
    EXPECT_FALSE(client->get("/slow"));
    std::lock_guard lock(held_mutex_);
    EXPECT_EQ(held_.size(), 1U);
    // TearDown stops the server with the answer still pending: libcoap asserts that no session is held then.
}

TEST_F(CoapServerTest, ObservationsEndWithTheirSession) {
    {
        auto client = connect();
        for (const char* path : {"/thing", "/other"}) {
            auto observation = client->observe(path, [](const ClientResponse&) {});
            ASSERT_TRUE(observation) << path;
            ASSERT_NE(observation->id, 0U);
        }
        EXPECT_EQ(server_->stats().observations, 2U);
    }
    for (int i = 0; i < 40 && server_->stats().observations != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapServerTest, RepeatedGetsAreAnsweredAgainAndNotRemembered) {
    auto client = connect();
    ASSERT_TRUE(client);
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ(client->get("/thing")->code, 205);
    auto responses = client->send_repeated(Method::get, "/thing", "", 0x1234, 2);
    ASSERT_TRUE(responses);
    EXPECT_EQ(responses->size(), 2U);
    EXPECT_EQ(server_->stats().retransmissions_answered_from_cache, 0U);
    EXPECT_EQ(server_->stats().exchanges_remembered, 0U);
}

template <typename Done>
bool wait_for(Done done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
}

using testing::LossyLink;
using Direction = LossyLink::Direction;

TEST_F(CoapServerTest, ALostNotificationIsSentAgainWithNoOtherTraffic) {
    LossyLink link(server_->port());
    auto client = connect_to(link.port());
    ASSERT_TRUE(client);
    std::vector<ClientResponse> notifications;
    auto observation = client->observe("/thing", [&](const ClientResponse& n) { notifications.push_back(n); });
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);
    const std::size_t sent_so_far = link.count(Direction::to_device, false);
    link.set_filter([sent_so_far](Direction direction, std::size_t index, std::string_view) {
        return direction == Direction::to_device && index == sent_so_far;  // the notification's first copy
    });
    server_->notify("/thing");
    // The device only listens: the copy that arrives is the server's own retransmission (ACK_TIMEOUT 2-3 s).
    for (int i = 0; i < 120 && notifications.empty(); ++i)
        client->poll(std::chrono::milliseconds(50));
    ASSERT_EQ(notifications.size(), 1U);
    EXPECT_EQ(notifications[0].body, "<x/>");
    EXPECT_EQ(link.count(Direction::to_device, true), 1U);
}

TEST_F(CoapServerTest, ALostHandshakeFlightIsSentAgainWithNoOtherTraffic) {
    LossyLink link(server_->port());
    // The device's flight after the cookie exchange is lost, and so is every copy of it while `deaf` holds: the
    // server hears nothing more, and must retransmit its own flight from its timer alone.
    std::atomic<bool> deaf{true};
    link.set_filter([&deaf](Direction direction, std::size_t index, std::string_view) {
        return deaf && direction == Direction::to_server && index >= 2;
    });
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(15);
    std::unique_ptr<DeviceClient> client;
    std::thread device([&] { client = connect_to(link.port(), options); });
    ASSERT_TRUE(wait_for([&] { return link.count(Direction::to_server, true) >= 1; }, std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::size_t before = link.count(Direction::to_device, false);
    const std::size_t heard = link.count(Direction::to_server, false);
    EXPECT_TRUE(wait_for([&] { return link.count(Direction::to_device, false) > before; }, std::chrono::seconds(4)));
    EXPECT_EQ(link.count(Direction::to_server, false), heard);  // nothing reached the server meanwhile
    deaf = false;
    device.join();
    ASSERT_TRUE(client);
    EXPECT_EQ(client->get("/thing")->code, 205);
}

class CoapServerIdleTest : public CoapServerTest {
protected:
    void configure(ServerOptions& options) override {
        options.limits.idle_timeout = std::chrono::seconds(1);
        options.limits.ack_timeout = std::chrono::seconds(1);
        options.limits.max_sessions_per_identity = 100;  // the many sessions below are one identity's
        options.limits.max_retransmit = 1;
    }
};

TEST_F(CoapServerIdleTest, IdleSessionsCloseWithNoOtherTraffic) {
    auto client = connect();
    ASSERT_TRUE(client);
    ASSERT_EQ(client->get("/thing")->code, 205);
    EXPECT_EQ(server_->stats().sessions, 1U);
    // The client stays silent and nothing else arrives: the server's timers alone must close the session.
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 0; }, std::chrono::seconds(5)));
}

TEST_F(CoapServerIdleTest, ManyIdleSessionsCloseOnTimeWithNoOtherTraffic) {
    // Sessions made a few milliseconds apart expire a few milliseconds apart: libcoap 4.3.1 disarms its own timer
    // when the next expiry has passed by the time it arms it, and then waits for a datagram that never comes.
    std::vector<std::unique_ptr<DeviceClient>> clients;
    for (int i = 0; i < 60; ++i) {
        clients.push_back(connect());
        ASSERT_TRUE(clients.back());
    }
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 0; }, std::chrono::seconds(6)))
        << server_->stats().sessions << " sessions still open";
}

TEST_F(CoapServerIdleTest, AnObservedSessionThatWentQuietIsKeptWhileTheDeviceAnswers) {
    auto client = connect();
    ASSERT_TRUE(client);
    std::vector<ClientResponse> notifications;
    ASSERT_NE(client->observe("/thing", [&](const ClientResponse& n) { notifications.push_back(n); })->id, 0U);
    // Quiet for three idle timeouts, but listening: each liveness check is a notification the device acknowledges.
    for (int i = 0; i < 70; ++i)
        client->poll(std::chrono::milliseconds(50));
    EXPECT_GE(notifications.size(), 2U);
    EXPECT_EQ(server_->stats().observations, 1U);
    EXPECT_EQ(server_->stats().sessions, 1U);
}

TEST_F(CoapServerIdleTest, AnObservedSessionOfADeviceThatVanishedIsClosed) {
    LossyLink link(server_->port());
    auto client = connect_to(link.port());
    ASSERT_TRUE(client);
    ASSERT_NE(client->observe("/thing", [](const ClientResponse&) {})->id, 0U);
    link.cut();  // powered off without a word
    EXPECT_TRUE(wait_for([&] { return server_->stats().observations == 0; }, std::chrono::seconds(12)));
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 0; }, std::chrono::seconds(8)));
    EXPECT_GE(link.count(Direction::to_device, true), 1U);  // the liveness check the device never answered
}

class CoapServerCapTest : public CoapServerTest {
protected:
    void configure(ServerOptions& options) override { options.limits.max_observers_per_identity = 4; }
};

TEST_F(CoapServerCapTest, ADeviceThatRebootsFiveTimesCanStillObserve) {
    // Each boot comes from a new port, registers, and dies without deregistering or closing its session.
    for (int boot = 0; boot < 5; ++boot) {
        LossyLink link(server_->port());
        auto client = connect_to(link.port());
        ASSERT_TRUE(client) << boot;
        auto observation = client->observe("/thing", [](const ClientResponse&) {});
        ASSERT_TRUE(observation) << boot;
        EXPECT_NE(observation->id, 0U) << boot;
        link.cut();
    }
    auto client = connect();
    auto observation = client->observe("/thing", [](const ClientResponse&) {});
    ASSERT_TRUE(observation);
    EXPECT_EQ(observation->response.code, 205);
    EXPECT_NE(observation->id, 0U);
    EXPECT_EQ(server_->stats().observations, 1U);  // each registration replaced the one before it
}

TEST_F(CoapServerCapTest, OverTheCapTheGetIsServedWithoutRegistering) {
    auto client = connect();
    for (const char* path : {"/thing", "/other", "/thing?a=1", "/other?a=1"})
        ASSERT_NE(client->observe(path, [](const ClientResponse&) {})->id, 0U) << path;
    auto over = client->observe("/thing?a=2", [](const ClientResponse&) {});
    ASSERT_TRUE(over);
    EXPECT_EQ(over->response.code, 205);
    EXPECT_EQ(over->response.body, "<x/>");
    EXPECT_FALSE(over->response.observe.has_value());
    EXPECT_EQ(over->id, 0U);
    EXPECT_EQ(server_->stats().observations, 4U);
}

TEST_F(CoapServerCapTest, RegistrationsAnsweredLateCannotPassTheCapTogether) {
    auto client = connect();
    for (const char* path : {"/thing", "/other", "/thing?a=1"})
        ASSERT_NE(client->observe(path, [](const ClientResponse&) {})->id, 0U) << path;
    // Two registrations for the last slot, both waiting for a commit, from two sessions of the device.
    std::vector<std::optional<Observation>> results(2);
    std::vector<std::unique_ptr<DeviceClient>> sessions;
    for (int i = 0; i < 2; ++i)
        sessions.push_back(connect());
    std::vector<std::thread> devices;
    for (int i = 0; i < 2; ++i) {
        devices.emplace_back([&, i] {
            auto observed = sessions[i]->observe("/slow?n=" + std::to_string(i), [](const ClientResponse&) {});
            if (observed)
                results[i] = *observed;
        });
    }
    ASSERT_TRUE(wait_for(
        [&] {
            std::lock_guard lock(held_mutex_);
            return held_.size() == 2;
        },
        std::chrono::seconds(5)));
    {
        std::lock_guard lock(held_mutex_);
        for (auto& respond : held_)
            respond(Response{Code::Content, "<x/>", 41, "", std::nullopt});
    }
    for (auto& device : devices)
        device.join();
    ASSERT_TRUE(results[0] && results[1]);
    EXPECT_EQ(results[0]->response.code, 205);
    EXPECT_EQ(results[1]->response.code, 205);
    EXPECT_EQ((results[0]->id != 0 ? 1 : 0) + (results[1]->id != 0 ? 1 : 0), 1);
    EXPECT_EQ(server_->stats().observations, 4U);
}

TEST_F(CoapServerTest, QuickChangesAreNotifiedInOrderWithOneRefreshAtATime) {
    auto client = connect();
    std::vector<ClientResponse> notifications;
    std::thread answer_registration([&] {
        ASSERT_TRUE(wait_for(
            [&] {
                std::lock_guard lock(held_mutex_);
                return !held_.empty();
            },
            std::chrono::seconds(5)));
        std::lock_guard lock(held_mutex_);
        held_[0](Response{Code::Content, "<v>0</v>", 41, "", std::nullopt});
        held_.clear();
    });
    auto observation = client->observe("/slow", [&](const ClientResponse& n) { notifications.push_back(n); });
    answer_registration.join();
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);

    server_->notify("/slow");
    server_->notify("/slow");  // while the first refresh is still waiting for its answer
    settle();
    {
        std::lock_guard lock(held_mutex_);
        ASSERT_EQ(held_.size(), 1U);  // one refresh in flight, not two racing each other
        held_[0](Response{Code::Content, "<v>1</v>", 41, "", std::nullopt});
        held_.clear();
    }
    // The answer in flight is older than the second change: it is fetched again, and only the newer one goes out.
    ASSERT_TRUE(wait_for(
        [&] {
            std::lock_guard lock(held_mutex_);
            return held_.size() == 1;
        },
        std::chrono::seconds(2)));
    {
        std::lock_guard lock(held_mutex_);
        held_[0](Response{Code::Content, "<v>2</v>", 41, "", std::nullopt});
        held_.clear();
    }
    poll_until(*client, [&] { return !notifications.empty(); });
    client->poll(std::chrono::milliseconds(200));
    ASSERT_EQ(notifications.size(), 1U);
    EXPECT_EQ(notifications[0].body, "<v>2</v>");
    ASSERT_TRUE(notifications[0].observe && observation->response.observe);
    EXPECT_GT(*notifications[0].observe, *observation->response.observe);
}

TEST_F(CoapServerTest, ALateAnswerHonoursTheRequestedBlock) {
    ClientOptions options;
    options.block2_size = 16;
    auto client = connect(options);
    auto response = client->get("/late");
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->code, 205);
    EXPECT_EQ(response->body, kLateBody);
    ASSERT_TRUE(response->block2.has_value());  // the last of three 16-byte blocks, each answered late
    EXPECT_EQ(response->block2->num, 2U);
    EXPECT_EQ(response->block2->size, 16U);
    EXPECT_TRUE(response->etag.has_value());

    // Block 1 asked for directly, answered late: bytes 16..31, not the body from byte 0.
    ClientRequest second;
    second.path = "/late";
    second.extra_options = {{23, std::string(1, static_cast<char>(0x18))}};  // NUM 1, M 0, SZX 0 (16 bytes)
    auto block = client->request(second);
    ASSERT_TRUE(block);
    EXPECT_EQ(block->body, kLateBody.substr(16, 16));
}

TEST_F(CoapServerTest, NotificationsCarryTheFirstBlockWithAnETag) {
    ClientOptions options;
    options.block2_size = 16;
    auto client = connect(options);
    std::vector<ClientResponse> notifications;
    auto observation = client->observe("/late", [&](const ClientResponse& n) { notifications.push_back(n); });
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);
    server_->notify("/late");
    poll_until(*client, [&] { return !notifications.empty(); });
    ASSERT_EQ(notifications.size(), 1U);
    EXPECT_EQ(notifications[0].body, kLateBody);  // the client fetched the rest block by block
    ASSERT_TRUE(notifications[0].block2.has_value());
    EXPECT_EQ(notifications[0].block2->size, 16U);
    EXPECT_TRUE(notifications[0].etag.has_value());
}

TEST_F(CoapServerTest, AReservedBlockSizeIsABadRequest) {
    auto client = connect();
    for (std::uint16_t option : {23, 27}) {
        ClientRequest request;
        request.method = option == 23 ? Method::get : Method::post;
        request.path = "/thing";
        request.body = option == 23 ? "" : "<x/>";
        request.content_format = 41;
        request.extra_options = {{option, std::string(1, static_cast<char>(0x07))}};  // NUM 0, SZX 7
        auto response = client->request(request);
        ASSERT_TRUE(response) << option;
        EXPECT_EQ(response->code, 400) << option;
    }
}

TEST_F(CoapServerTest, AnAcceptOtherThanXmlIsNotAcceptable) {
    auto client = connect();
    ClientRequest request;
    request.path = "/thing";
    request.accept = 50;  // application/json
    auto response = client->request(request);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->code, 406);
    request.accept = 41;
    EXPECT_EQ(client->request(request)->code, 205);
}

// What the server sends while a PSK handshake fails: record content types and sizes, in order.
std::vector<std::pair<int, std::size_t>> failed_handshake_on_the_wire(std::uint16_t server_port,
                                                                      const std::string& identity) {
    LossyLink link(server_port);
    ClientOptions options;
    options.connect_timeout = std::chrono::milliseconds(2500);
    auto client =
        DeviceClient::connect("127.0.0.1", link.port(), ClientCredentials::psk(identity, "wrong-key"), options);
    EXPECT_FALSE(client);
    std::vector<std::pair<int, std::size_t>> records;
    for (const auto& datagram : link.log()) {
        if (datagram.direction == Direction::to_device && !datagram.bytes.empty())
            records.emplace_back(static_cast<unsigned char>(datagram.bytes[0]), datagram.bytes.size());
    }
    return records;
}

TEST_F(CoapServerTest, AnUnknownPskIdentityFailsAsAWrongKeyDoes) {
    const auto unknown = failed_handshake_on_the_wire(server_->port(), "nobody");
    const auto known = failed_handshake_on_the_wire(server_->port(), "dev");
    ASSERT_GE(unknown.size(), 2U);
    ASSERT_GE(known.size(), 2U);
    constexpr int kAlert = 21;
    for (const auto& record : unknown)
        EXPECT_NE(record.first, kAlert) << "an alert tells the prober the identity is unknown";
    for (const auto& record : known)
        EXPECT_NE(record.first, kAlert);
    // The same flights (retransmissions may differ in number, not in kind).
    const std::size_t common = std::min(unknown.size(), known.size());
    EXPECT_EQ(std::vector(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(common)),
              std::vector(known.begin(), known.begin() + static_cast<std::ptrdiff_t>(common)));
}

// A device dies without a word (no close_notify) and restarts from the same address and port, as HAN devices do:
// its new ClientHello reaches an address the server still has a session for (RFC 6347 §4.2.8).
void CoapServerTest::reboot_from_the_same_port(bool observing) {
    LossyLink link(server_->port());  // the server sees the relay's one fixed address, boot after boot
    {
        auto before = connect_to(link.port());
        ASSERT_TRUE(before);
        ASSERT_EQ(before->get("/thing")->code, 205);
        if (observing) {
            ASSERT_NE(before->observe("/thing", [](const ClientResponse&) {})->id, 0U);
        }
        link.cut();  // power lost: whatever it would still say goes nowhere
    }
    link.drain();  // its close_notify (a real power cut sends none) must not slip through after the cut ends
    link.set_filter(nullptr);
    const auto after = back_within_one_handshake(link.port());
    ASSERT_TRUE(after) << "locked out after the reboot";
    // The old session, its observation and its exchanges are gone.
    EXPECT_EQ(server_->stats().sessions, 1U);
    EXPECT_EQ(server_->stats().sessions_replaced, 1U);
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapServerTest, ADeviceRebootingFromTheSamePortGetsBackIn) {
    reboot_from_the_same_port(false);
}

TEST_F(CoapServerTest, ADeviceRebootingFromTheSamePortWithAnObservationOpenGetsBackIn) {
    reboot_from_the_same_port(true);
}

// A DTLS 1.2 record header (handshake, epoch 0) and the start of a ClientHello, as a spoofer would send.
constexpr std::array<char, 25> kSpoofedHello = {22, '\xfe', '\xfd', 0, 0, 0, 0, 0, 0, 0, 0, 0, 12,
                                                1,  0,      0,      0, 0, 0, 0, 0, 0, 0, 0, 0};

bool is_handshake_of_epoch_zero(std::string_view datagram) {
    return datagram.size() > 13 && datagram[0] == 22 && datagram[3] == 0 && datagram[4] == 0;
}

// The server random of a datagram that starts with a ServerHello (handshake type 2), else empty.
std::string server_random_of(std::string_view datagram) {
    constexpr std::size_t kOffset = 13 + 12 + 2;
    if (!is_handshake_of_epoch_zero(datagram) || datagram.size() < kOffset + 32 || datagram[13] != 2)
        return {};
    return std::string(datagram.substr(kOffset, 32));
}

// A filter that keeps copies of abandoned handshakes' ServerHellos (`flights`) from the device: the server resends
// them on its timer until it hears the device's new ClientHello, and a real device's network stack drops what comes
// before its new socket exists, which the test's relay would not (and the new handshake would take a stale copy).
LossyLink::Filter dropping_stale_server_hellos(const std::vector<std::string>& flights) {
    std::set<std::string> stale;
    for (const auto& datagram : flights) {
        if (auto random = server_random_of(datagram); !random.empty())
            stale.insert(std::move(random));
    }
    return [stale](Direction direction, std::size_t, std::string_view datagram) {
        return direction == Direction::to_device && stale.contains(server_random_of(datagram));
    };
}

// RFC 6347 §4.2.8: a ClientHello with a valid cookie from the address of an established session starts a new
// handshake beside it; while that one has not completed, the old session keeps working.
TEST_F(CoapServerTest, AHandshakeFromTheSameAddressThatNeverCompletesLeavesTheSessionWorking) {
    LossyLink link(server_->port());
    auto device = connect_to(link.port());
    ASSERT_TRUE(device);
    int notifications = 0;
    ASSERT_NE(device->observe("/thing", [&](const ClientResponse&) { ++notifications; })->id, 0U);
    // Someone at the device's address (a spoofer on the path, or a second program) handshakes and stops halfway.
    // What the server answers it never reaches the device.
    std::mutex mutex;
    std::vector<std::string> answers;
    link.set_filter([&](Direction direction, std::size_t, std::string_view datagram) {
        if (direction != Direction::to_device || !is_handshake_of_epoch_zero(datagram))
            return false;
        std::lock_guard lock(mutex);
        answers.emplace_back(datagram);
        return true;
    });
    testing::RawDtlsClient stranger("dev", kKey);
    link.inject_to_server(stranger.step());  // no cookie: a HelloVerifyRequest, nothing kept
    ASSERT_TRUE(wait_for(
        [&] {
            std::lock_guard lock(mutex);
            return answers.size() == 1;
        },
        std::chrono::seconds(2)));
    EXPECT_EQ(server_->stats().handshakes_in_progress, 0U);
    std::string verify_request;
    {
        std::lock_guard lock(mutex);
        verify_request = answers[0];
    }
    link.inject_to_server(stranger.step(verify_request));  // the cookie echoed: a handshake starts
    ASSERT_TRUE(wait_for([&] { return server_->stats().handshakes_in_progress == 1; }, std::chrono::seconds(2)));
    // The old session serves and notifies meanwhile.
    EXPECT_EQ(device->get("/thing")->code, 205);
    server_->notify("/thing");
    poll_until(*device, [&] { return notifications == 1; });
    EXPECT_EQ(notifications, 1);
    EXPECT_EQ(server_->stats().sessions, 1U);
    EXPECT_EQ(server_->stats().observations, 1U);
    EXPECT_EQ(server_->stats().sessions_replaced, 0U);
}

// A device that restarts in the middle of its handshake starts over at once instead of waiting for the abandoned
// handshake to time out.
TEST_F(CoapServerTest, ADeviceThatRestartsDuringItsHandshakeStartsOver) {
    LossyLink link(server_->port());
    std::mutex mutex;
    std::vector<std::string> answers;
    link.set_filter([&](Direction direction, std::size_t, std::string_view datagram) {
        if (direction != Direction::to_device)
            return false;
        std::lock_guard lock(mutex);
        answers.emplace_back(datagram);
        return true;  // the first boot hears nothing but what the test hands it
    });
    testing::RawDtlsClient first_boot("dev", kKey);
    link.inject_to_server(first_boot.step());
    ASSERT_TRUE(wait_for(
        [&] {
            std::lock_guard lock(mutex);
            return answers.size() == 1;
        },
        std::chrono::seconds(2)));
    std::string verify_request;
    {
        std::lock_guard lock(mutex);
        verify_request = answers[0];
    }
    link.inject_to_server(first_boot.step(verify_request));
    ASSERT_TRUE(wait_for(
        [&] {
            std::lock_guard lock(mutex);
            return std::any_of(answers.begin(), answers.end(),
                               [](const std::string& datagram) { return !server_random_of(datagram).empty(); });
        },
        std::chrono::seconds(2)));
    link.drain();
    std::vector<std::string> first_flight;
    {
        std::lock_guard lock(mutex);
        first_flight = answers;
    }
    link.set_filter(dropping_stale_server_hellos(first_flight));
    const auto second_boot = back_within_one_handshake(link.port());
    ASSERT_TRUE(second_boot);
    EXPECT_EQ(server_->stats().handshakes_in_progress, 0U);
}

TEST_F(CoapServerTest, AClientHelloThatCannotBeReadLeavesTheSessionWorking) {
    LossyLink link(server_->port());
    auto device = connect_to(link.port());
    ASSERT_TRUE(device);
    ASSERT_NE(device->observe("/thing", [](const ClientResponse&) {})->id, 0U);
    link.inject_to_server({kSpoofedHello.data(), kSpoofedHello.size()});
    EXPECT_EQ(device->get("/thing")->code, 205);
    EXPECT_EQ(server_->stats().sessions, 1U);
    EXPECT_EQ(server_->stats().observations, 1U);
}

// Before: libcoap 4.3.1 kept a session for every ClientHello before the cookie exchange, and 129 of them from
// spoofed ports blocked every new handshake for about 30 s.
TEST_F(CoapServerTest, ASpoofedFloodOfClientHellosLeavesNoStateAndLocksNoDeviceOut) {
    testing::RawDtlsClient template_client("dev", kKey);
    const std::string hello = template_client.step();
    ASSERT_TRUE(is_handshake_of_epoch_zero(hello));
    constexpr int kSpoofedPorts = 2000;  // more than one turn of the loop reads (32 × 32)
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(server_->port());
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < kSpoofedPorts; ++i) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        ::sendto(fd, hello.data(), hello.size(), 0, reinterpret_cast<const sockaddr*>(&server), sizeof server);
        ::close(fd);
    }
    ASSERT_TRUE(
        wait_for([&] { return server_->stats().hello_verify_requests >= kSpoofedPorts; }, std::chrono::seconds(5)))
        << server_->stats().hello_verify_requests;
    EXPECT_EQ(server_->stats().handshakes_in_progress, 0U);
    ClientOptions options;
    options.connect_timeout = std::chrono::seconds(3);
    auto device = connect(options);
    ASSERT_TRUE(device) << "locked out by the flood";
    EXPECT_EQ(device->get("/thing")->code, 205);
    EXPECT_EQ(server_->stats().sessions, 1U);
}

// The CoAP message layer (RFC 7252 §4), spoken to byte by byte.
class CoapMessageLayerTest : public CoapServerTest {
protected:
    void SetUp() override {
        CoapServerTest::SetUp();
        ASSERT_TRUE(raw_.connect(server_->port(), std::chrono::seconds(5)));
    }
    std::optional<CoapMessage> exchange(const CoapMessage& message) {
        raw_.send(serialize_message(message));
        return receive();
    }
    std::optional<CoapMessage> receive(std::chrono::milliseconds limit = std::chrono::milliseconds(1000)) {
        auto plaintext = raw_.receive(limit);
        if (!plaintext)
            return std::nullopt;
        auto parsed = parse_message(*plaintext);
        EXPECT_TRUE(parsed) << parsed.error().message;
        return parsed ? std::optional(*parsed) : std::nullopt;
    }
    static CoapMessage get(CoapMessageType type, std::uint16_t mid, std::string_view path) {
        CoapMessage request;
        request.type = type;
        request.code = 1;
        request.mid = mid;
        request.token = "tk";
        request.add_option(option::kUriPath, std::string(path));
        return request;
    }
    testing::RawDtlsClient raw_{"dev", kKey};
};

TEST_F(CoapMessageLayerTest, APingIsAnsweredWithAReset) {
    CoapMessage ping;
    ping.mid = 0x1234;
    const auto answer = exchange(ping);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->type, CoapMessageType::Reset);
    EXPECT_EQ(answer->mid, 0x1234);
    EXPECT_TRUE(answer->is_empty());
}

TEST_F(CoapMessageLayerTest, AConfirmableMessageThatCannotBeReadIsResetAndChangesNothing) {
    // Token length 9 is a format error (RFC 7252 §3); the header is still readable.
    raw_.send(std::string("\x49\x01\x22\x33", 4) + std::string(9, 't'));
    const auto answer = receive();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->type, CoapMessageType::Reset);
    EXPECT_EQ(answer->mid, 0x2233);
    // A non-confirmable one is ignored (§4.3), and the session goes on.
    raw_.send(std::string("\x59\x01\x22\x34", 4) + std::string(9, 't'));
    EXPECT_FALSE(receive(std::chrono::milliseconds(300)));
    const auto answered = exchange(get(CoapMessageType::Confirmable, 0x2235, "thing"));
    ASSERT_TRUE(answered);
    EXPECT_EQ(code_number(answered->code), 205);
    EXPECT_EQ(server_->stats().requests, 1U);
}

TEST_F(CoapMessageLayerTest, ANonConfirmableRequestGetsANonConfirmableAnswer) {
    const auto answer = exchange(get(CoapMessageType::NonConfirmable, 0x3001, "thing"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->type, CoapMessageType::NonConfirmable);
    EXPECT_EQ(answer->token, "tk");
    EXPECT_EQ(code_number(answer->code), 205);
    EXPECT_EQ(answer->payload, "<x/>");
}

TEST_F(CoapMessageLayerTest, AnUnrecognisedCriticalOptionIsABadOptionAndAnElectiveOneIsIgnored) {
    auto critical = get(CoapMessageType::Confirmable, 0x4001, "thing");
    critical.add_option(9, "x");  // odd: critical, and unassigned
    const auto refused = exchange(critical);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->type, CoapMessageType::Acknowledgement);
    EXPECT_EQ(code_number(refused->code), 402);
    auto elective = get(CoapMessageType::Confirmable, 0x4002, "thing");
    elective.add_option(10, "x");
    const auto served = exchange(elective);
    ASSERT_TRUE(served);
    EXPECT_EQ(code_number(served->code), 205);
    auto proxied = get(CoapMessageType::Confirmable, 0x4003, "thing");
    proxied.add_option(option::kProxyUri, "coap://elsewhere/x");
    const auto not_proxied = exchange(proxied);
    ASSERT_TRUE(not_proxied);
    EXPECT_EQ(code_number(not_proxied->code), 505);
}

TEST_F(CoapMessageLayerTest, APathSegmentWithASlashIsNotTwoSegments) {
    CoapMessage request = get(CoapMessageType::Confirmable, 0x5001, "thing");
    request.options.clear();
    request.add_option(option::kUriPath, "plain/x");  // one segment, not /plain/x
    auto answer = exchange(request);
    ASSERT_TRUE(answer);
    EXPECT_EQ(code_number(answer->code), 404);
}

// From the adversarial review: over-long option values were cut short or ignored, and conditional requests were
// carried out unconditionally.
TEST_F(CoapMessageLayerTest, OptionValuesTooLongAndConditionalRequestsAreRefused) {
    std::uint16_t mid = 0x8000;
    const auto code_with = [&](std::uint16_t number, const std::string& value) {
        auto request = get(CoapMessageType::Confirmable, mid++, "thing");
        request.add_option(number, value);
        const auto answer = exchange(request);
        return answer ? code_number(answer->code) : 0;
    };
    EXPECT_EQ(code_with(option::kBlock2, std::string(4, '\x01')), 402);
    EXPECT_EQ(code_with(option::kAccept, std::string(3, '\x00')), 402);
    EXPECT_EQ(code_with(option::kIfMatch, "etag"), 402);
    EXPECT_EQ(code_with(option::kIfNoneMatch, ""), 402);
    // Observe in five bytes is no Observe: served, not registered.
    auto observe = get(CoapMessageType::Confirmable, mid++, "thing");
    observe.add_option(option::kObserve, std::string("\x01\x00\x00\x00\x00", 5));
    const auto served = exchange(observe);
    ASSERT_TRUE(served);
    EXPECT_EQ(code_number(served->code), 205);
    EXPECT_EQ(served->find(option::kObserve), nullptr);
    EXPECT_EQ(server_->stats().observations, 0U);
}

TEST_F(CoapMessageLayerTest, NoUploadIsAssembledForAPathNobodyServes) {
    CoapMessage block;
    block.type = CoapMessageType::Confirmable;
    block.code = 2;
    block.mid = 0x9000;
    block.token = "up";
    block.add_option(option::kUriPath, "nowhere");
    block.add_option(option::kBlock1, encode_uint(0x08));  // NUM 0, more, 16 bytes
    block.payload = std::string(16, 'a');
    const auto answer = exchange(block);
    ASSERT_TRUE(answer);
    EXPECT_EQ(code_number(answer->code), 404);
    EXPECT_EQ(server_->stats().block1_in_progress, 0U);
}

// RFC 7252 §4.5: a confirmable write sent three times (its ACKs lost) takes effect once, and each copy gets the
// first answer.
TEST_F(CoapMessageLayerTest, ThreeCopiesOfAConfirmableWriteTakeEffectOnceAndGetTheSameAnswer) {
    CoapMessage write;
    write.type = CoapMessageType::Confirmable;
    write.code = 2;  // POST
    write.mid = 0x7001;
    write.token = "w1";
    write.add_option(option::kUriPath, "count");
    write.add_option(option::kContentFormat, encode_uint(41));
    write.payload = "<x/>";
    std::vector<CoapMessage> answers;
    for (int copy = 0; copy < 3; ++copy) {
        auto answer = exchange(write);
        ASSERT_TRUE(answer) << copy;
        answers.push_back(*answer);
    }
    EXPECT_EQ(writes_.load(), 1);
    EXPECT_EQ(code_number(answers[0].code), 204);
    EXPECT_EQ(answers[0].payload, "1");
    EXPECT_EQ(answers[1], answers[0]);
    EXPECT_EQ(answers[2], answers[0]);
    EXPECT_EQ(server_->stats().retransmissions_answered_from_cache, 2U);
    // A new message id is a new write.
    write.mid = 0x7002;
    auto next = exchange(write);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->payload, "2");
}

// From review: a re-registration (same token) under a changed identity left the old identity's cap slot taken, so
// the device could no longer observe under its old identity once it got it back.
class CoapMessageLayerCapTest : public CoapMessageLayerTest {
protected:
    void configure(ServerOptions& options) override { options.limits.max_observers_per_identity = 1; }
    bool registered(std::uint16_t mid, const std::string& token, std::string_view path) {
        CoapMessage request = get(CoapMessageType::Confirmable, mid, path);
        request.token = token;
        request.add_option(option::kObserve, "");
        const auto answer = exchange(request);
        return answer && code_number(answer->code) == 205 && answer->find(option::kObserve) != nullptr;
    }
};

TEST_F(CoapMessageLayerCapTest, ARegistrationAgainUnderAChangedIdentityMovesItsCapSlot) {
    ASSERT_TRUE(registered(0x6001, "ob", "thing"));
    device_->set_lfdi(std::string(40, 'B'));
    ASSERT_TRUE(registered(0x6002, "ob", "thing"));  // the same observation, now under B
    EXPECT_EQ(server_->stats().observations, 1U);
    device_->set_lfdi(std::string(40, 'A'));
    EXPECT_TRUE(registered(0x6003, "o2", "other")) << "A's slot was still taken";
    EXPECT_EQ(server_->stats().observations, 2U);
    EXPECT_FALSE(registered(0x6004, "o3", "plain")) << "over A's cap of 1";
}

class CoapServerLimitsTest : public CoapServerTest {
protected:
    void configure(ServerOptions& options) override {
        options.limits.max_sessions = 2;
        options.limits.max_handshakes = 1;
    }
};

TEST_F(CoapServerLimitsTest, BeyondMaxSessionsTheSessionHeardFromLeastRecentlyGoes) {
    auto first = connect();
    auto second = connect();
    ASSERT_TRUE(first && second);
    ASSERT_EQ(second->get("/thing")->code, 205);
    ASSERT_EQ(first->get("/thing")->code, 205);  // the first device spoke last: the second is the quieter one
    auto third = connect();
    ASSERT_TRUE(third);
    EXPECT_EQ(third->get("/thing")->code, 205);
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 2; }, std::chrono::seconds(2)));
    EXPECT_EQ(first->get("/thing")->code, 205);
    EXPECT_FALSE(second->get("/thing")) << "the least recently heard session was closed";
}

// From the adversarial review: one credential opening session after session pushed every other device's sessions out
// under max_sessions. Now its own oldest go.
class CoapServerIdentityCapTest : public CoapServerTest {
protected:
    void configure(ServerOptions& options) override { options.limits.max_sessions_per_identity = 2; }
};

TEST_F(CoapServerIdentityCapTest, AnIdentitysNewSessionBeyondItsCapClosesItsOldest) {
    auto first = connect();
    auto second = connect();
    auto third = connect();
    ASSERT_TRUE(first && second && third);
    EXPECT_EQ(third->get("/thing")->code, 205);
    EXPECT_EQ(second->get("/thing")->code, 205);
    EXPECT_EQ(server_->stats().sessions, 2U);
    EXPECT_FALSE(first->get("/thing")) << "the identity's oldest session was closed";
}

// From the adversarial review: stalled handshakes held every slot until their 30 s timeout, so a few packets every
// 25 s locked every device out. Now one that made no progress for 3 s makes room.
TEST_F(CoapServerLimitsTest, AStalledHandshakeGivesUpItsSlotToADeviceThatNeedsIt) {
    testing::RawDtlsClient stalled("dev", kKey);
    ASSERT_TRUE(stalled.begin(server_->port(), std::chrono::seconds(2)));
    ASSERT_TRUE(wait_for([&] { return server_->stats().handshakes_in_progress == 1; }, std::chrono::seconds(2)));
    ClientOptions patient;
    patient.connect_timeout = std::chrono::seconds(10);  // the handshake timeout (30 s) is not what frees the slot
    auto device = connect(patient);
    ASSERT_TRUE(device) << "locked out by a stalled handshake";
    EXPECT_EQ(device->get("/thing")->code, 205);
    EXPECT_GE(server_->stats().handshakes_refused_busy, 1U);  // turned away while the stalled one was young
    EXPECT_EQ(server_->stats().handshakes_evicted, 1U);
    EXPECT_EQ(server_->stats().handshakes_in_progress, 0U);
}

class CoapServerHandshakeTimeoutTest : public CoapServerTest {
protected:
    void configure(ServerOptions& options) override { options.limits.handshake_timeout = std::chrono::seconds(1); }
};

TEST_F(CoapServerHandshakeTimeoutTest, AHandshakeNotFinishedInTimeIsDropped) {
    testing::RawDtlsClient stalled("dev", kKey);
    ASSERT_TRUE(stalled.begin(server_->port(), std::chrono::seconds(2)));
    ASSERT_TRUE(wait_for([&] { return server_->stats().handshakes_in_progress == 1; }, std::chrono::seconds(2)));
    EXPECT_TRUE(wait_for([&] { return server_->stats().handshakes_in_progress == 0; }, std::chrono::seconds(4)));
    EXPECT_EQ(server_->stats().handshake_failures, 1U);
}

// Drives a handshake step by step from a device behind the link, whose server side the test sees and hands over.
class SteppedHandshake {
public:
    explicit SteppedHandshake(testing::LossyLink& link) : link_(link) {
        link_.set_filter([this](Direction direction, std::size_t, std::string_view datagram) {
            if (direction != Direction::to_device || !capturing_)
                return false;
            std::lock_guard lock(mutex_);
            captured_.emplace_back(datagram);
            return true;
        });
    }
    ~SteppedHandshake() { link_.set_filter(nullptr); }
    SteppedHandshake(const SteppedHandshake&) = delete;
    SteppedHandshake& operator=(const SteppedHandshake&) = delete;
    // What the server sent towards the device since the last call, once at least `count` datagrams came.
    std::vector<std::string> take(std::size_t count) {
        wait_for(
            [&] {
                std::lock_guard lock(mutex_);
                return captured_.size() >= count;
            },
            std::chrono::seconds(2));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the rest of the flight, if it has more
        std::lock_guard lock(mutex_);
        return std::exchange(captured_, {});
    }
    void stop_capturing() { capturing_ = false; }

private:
    testing::LossyLink& link_;
    std::atomic<bool> capturing_{true};
    std::mutex mutex_;
    std::vector<std::string> captured_;
};

std::string answer_flight(testing::RawDtlsClient& client, const std::vector<std::string>& flight) {
    std::string reply;
    for (const auto& datagram : flight)
        reply += client.step(datagram);
    return reply;
}

// From the adversarial review: a spoofed ClientHello (no cookie) from a device's address ended the device's
// handshake in progress, so ten packets a second kept it from ever connecting.
TEST_F(CoapServerTest, SpoofedClientHellosFromADevicesAddressDoNotStopItsHandshake) {
    LossyLink link(server_->port());
    SteppedHandshake wire(link);
    testing::RawDtlsClient device("dev", kKey);
    link.inject_to_server(device.step());
    const auto verify_request = wire.take(1);
    ASSERT_EQ(verify_request.size(), 1U);
    link.inject_to_server(device.step(verify_request[0]));
    const auto server_flight = wire.take(1);
    ASSERT_FALSE(server_flight.empty());
    testing::RawDtlsClient spoofer("dev", kKey);
    const std::string spoofed = spoofer.step();
    const auto verify_requests_before = server_->stats().hello_verify_requests;
    for (int i = 0; i < 5; ++i)
        link.inject_to_server(spoofed);
    ASSERT_TRUE(wait_for([&] { return server_->stats().hello_verify_requests == verify_requests_before + 5; },
                         std::chrono::seconds(2)));
    EXPECT_EQ(server_->stats().handshakes_in_progress, 1U);
    wire.stop_capturing();
    link.inject_to_server(answer_flight(device, server_flight));
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 1; }, std::chrono::seconds(2)))
        << "the device's handshake was cut off by the spoofed ClientHellos";
}

// The records of a datagram, split at their headers (13 bytes, the length in the last two).
std::vector<std::string> records_of(const std::string& datagram) {
    std::vector<std::string> records;
    for (std::size_t at = 0; at + 13 <= datagram.size();) {
        const std::size_t length = static_cast<std::size_t>(static_cast<unsigned char>(datagram[at + 11]) << 8 |
                                                            static_cast<unsigned char>(datagram[at + 12]));
        records.push_back(datagram.substr(at, 13 + length));
        at += 13 + length;
    }
    return records;
}

// From the adversarial review: a new handshake from a live session's address that stopped after its
// ChangeCipherSpec took the session's own records (its requests and ACKs) until it timed out.
TEST_F(CoapServerTest, AReplacementHandshakeStoppedBeforeItsFinishedLeavesTheSessionItsRecords) {
    LossyLink link(server_->port());
    auto live = connect_to(link.port());
    ASSERT_TRUE(live);
    std::string final_flight;
    {
        SteppedHandshake wire(link);
        testing::RawDtlsClient stranger("dev", kKey);
        link.inject_to_server(stranger.step());
        const auto verify_request = wire.take(1);
        ASSERT_EQ(verify_request.size(), 1U);
        link.inject_to_server(stranger.step(verify_request[0]));
        final_flight = answer_flight(stranger, wire.take(1));
    }
    auto records = records_of(final_flight);
    ASSERT_GE(records.size(), 3U);  // ClientKeyExchange, ChangeCipherSpec, Finished
    records.pop_back();             // no Finished
    std::string without_finished;
    for (const auto& record : records)
        without_finished += record;
    link.inject_to_server(without_finished);
    ASSERT_TRUE(wait_for([&] { return server_->stats().handshakes_in_progress == 1; }, std::chrono::seconds(2)));
    auto answer = live->get("/thing");
    ASSERT_TRUE(answer) << "the live session's request went to the half-done handshake";
    EXPECT_EQ(answer->code, 205);
    EXPECT_EQ(server_->stats().sessions, 1U);
}

// From the adversarial review: a device that rebooted twice (a replacement of its session still pending from the
// first reboot) had its ClientHellos fed to the stale replacement and stayed out for more than a minute.
TEST_F(CoapServerTest, ADeviceThatRebootsAgainDuringItsReplacementHandshakeGetsIn) {
    LossyLink link(server_->port());
    auto first_life = connect_to(link.port());
    ASSERT_TRUE(first_life);
    std::vector<std::string> stale_flight;
    {
        SteppedHandshake wire(link);
        testing::RawDtlsClient second_life("dev", kKey);
        link.inject_to_server(second_life.step());
        const auto verify_request = wire.take(1);
        ASSERT_EQ(verify_request.size(), 1U);
        link.inject_to_server(second_life.step(verify_request[0]));
        stale_flight = wire.take(1);  // its server flight, never delivered: it died again
        ASSERT_FALSE(stale_flight.empty());
    }
    link.set_filter(dropping_stale_server_hellos(stale_flight));
    ASSERT_EQ(server_->stats().handshakes_in_progress, 1U);
    const auto third_life = back_within_one_handshake(link.port());
    ASSERT_TRUE(third_life);
    EXPECT_EQ(server_->stats().sessions, 1U);
    EXPECT_EQ(server_->stats().sessions_replaced, 1U);
}

// From review: the ping that once checked a session was answered with a Reset a live device's notification
// retransmissions could be mistaken for; a ClientHello during a retransmission must cut nothing short either.
TEST_F(CoapServerTest, AClientHelloDuringARetransmissionCutsNothingShort) {
    LossyLink link(server_->port());
    auto client = connect_to(link.port());
    ASSERT_TRUE(client);
    int notifications = 0;
    ASSERT_NE(client->observe("/thing", [&](const ClientResponse&) { ++notifications; })->id, 0U);
    std::atomic<int> dropped{0};
    link.set_filter([&](Direction direction, std::size_t, std::string_view) {
        return direction == Direction::to_device && dropped.fetch_add(1) < 2;  // the notification's first two copies
    });
    server_->notify("/thing");
    for (int i = 0; i < 120 && dropped.load() < 2; ++i)
        client->poll(std::chrono::milliseconds(50));
    ASSERT_GE(dropped.load(), 2);
    link.inject_to_server({kSpoofedHello.data(), kSpoofedHello.size()});
    for (int i = 0; i < 240 && notifications == 0; ++i)  // the third copy comes 4-6 s after the second
        client->poll(std::chrono::milliseconds(50));
    EXPECT_EQ(notifications, 1);
    EXPECT_EQ(server_->stats().observations, 1U);
    EXPECT_EQ(server_->stats().sessions, 1U);
}

// From review: a handler that drops its Responder unanswered (a bug) leaked the session hold (the session could
// never be freed, so the address was blackholed) and the observer's refresh (no notification ever again).
TEST_F(CoapServerTest, AnExchangeWhoseHandlerNeverAnswersIsAnswered500AndLeaksNothing) {
    {
        auto client = connect();
        ASSERT_TRUE(client);
        dropping_ = true;
        auto answer = client->get("/careless");
        ASSERT_TRUE(answer) << answer.error().message;
        EXPECT_EQ(answer->code, 500);
    }
    EXPECT_TRUE(wait_for([&] { return server_->stats().sessions == 0; }, std::chrono::seconds(5)));
}

TEST_F(CoapServerTest, AnObserverWhoseRefreshIsNeverAnsweredIsToldAndStopsObserving) {
    auto client = connect();
    ASSERT_TRUE(client);
    std::vector<int> codes;
    ASSERT_NE(client->observe("/careless", [&](const ClientResponse& n) { codes.push_back(n.code); })->id, 0U);
    dropping_ = true;
    server_->notify("/careless");
    poll_until(*client, [&] { return !codes.empty(); });
    EXPECT_EQ(codes, std::vector<int>{500});
    EXPECT_EQ(server_->stats().observations, 0U);
}

}  // namespace
}  // namespace han
