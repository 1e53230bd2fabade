// The CoAP server on loopback with a real DTLS-PSK client: behaviour that needs libcoap running.
#include "han/coap_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "han/device_client.hpp"

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
        return PskCredential{kKey, RegisteredDevice{1, headend::coap::DeviceType::Esci, "P1", std::string(40, 'A')}};
    }
    std::optional<RegisteredDevice> find_by_lfdi(const std::string&) const override { return std::nullopt; }
};

class CoapServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        ServerOptions options;
        options.port = 0;
        server_ = std::make_unique<CoapServer>(io_, options, std::make_shared<OneDevice>());
        const auto answer = [this](const headend::coap::Request&, const headend::coap::Responder& respond) {
            if (gone_)
                respond(Response{Code::NotFound, "", 41, "", std::nullopt});
            else if (!allowed_)
                respond(Response{Code::Forbidden, "", 41, "", std::nullopt});
            else
                respond(Response{Code::Content, "<x/>", 41, "", std::nullopt});
        };
        server_->add("/thing", answer, {.observable = true});
        server_->add("/plain", answer);
        // Answers when the test says so, as a handler waiting for a commit would.
        server_->add("/slow",
                     [this](const headend::coap::Request&, headend::coap::Responder respond) {
                         std::lock_guard lock(held_mutex_);
                         held_ = std::move(respond);
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

    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{
        boost::asio::make_work_guard(io_)};
    std::unique_ptr<DeviceClient> connect(const ClientOptions& options = {}) {
        auto client = DeviceClient::connect("127.0.0.1", server_->port(), ClientCredentials::psk("dev", kKey), options);
        EXPECT_TRUE(client) << client.error().message;
        return client ? std::move(*client) : nullptr;
    }
    template <typename Done>
    static void poll_until(DeviceClient& client, Done done) {
        for (int i = 0; i < 40 && !done(); ++i)
            client.poll(std::chrono::milliseconds(50));
    }

    // For requests to /slow, which answers only when the test says so.
    static ClientOptions impatient() {
        ClientOptions options;
        options.request_timeout = std::chrono::milliseconds(300);
        return options;
    }

    std::unique_ptr<CoapServer> server_;
    std::thread thread_;
    std::atomic<bool> allowed_{true};
    std::atomic<bool> gone_{false};
    std::mutex held_mutex_;
    std::optional<headend::coap::Responder> held_;
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
        ASSERT_TRUE(held_.has_value());
        (*held_)(Response{Code::Content, "<x/>", 41, "", std::nullopt});
    }
    server_->notify("/slow");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(server_->stats().observations, 0U);
    EXPECT_EQ(server_->stats().sessions, 0U);  // nothing was sent towards the device that left
    EXPECT_EQ(server_->stats().separate_responses, 0U);
}

TEST_F(CoapServerTest, StoppingWithAnAnswerPendingGivesItsSessionBack) {
    auto client = connect(impatient());
    ASSERT_TRUE(client);
    EXPECT_FALSE(client->get("/slow"));
    std::lock_guard lock(held_mutex_);
    EXPECT_TRUE(held_.has_value());
    // TearDown stops the server with the answer still pending: libcoap asserts that no session is held then.
}

TEST_F(CoapServerTest, ObservationsEndWithTheirSession) {
    {
        auto client = connect();
        for (int registration = 0; registration < 2; ++registration) {
            auto observation = client->observe("/thing", [](const ClientResponse&) {});
            ASSERT_TRUE(observation) << registration;
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

}  // namespace
}  // namespace han
