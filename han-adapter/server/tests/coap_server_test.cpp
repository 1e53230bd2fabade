// The CoAP server on loopback with a real DTLS-PSK client: behaviour that needs libcoap running.
#include "han/coap_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
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
        server_->add("/thing",
                     [this](const headend::coap::Request&, const headend::coap::Responder& respond) {
                         respond(allowed_ ? Response{Code::Content, "<x/>", 41, "", std::nullopt}
                                          : Response{Code::Forbidden, "", 41, "", std::nullopt});
                     },
                     {.observable = true});
        ASSERT_TRUE(server_->start());
        server_->publish("/thing");
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
    std::unique_ptr<CoapServer> server_;
    std::thread thread_;
    std::atomic<bool> allowed_{true};
};

TEST_F(CoapServerTest, AnObserverThatLosesAccessIsToldTheResourceIsGoneAndTheServerCarriesOn) {
    auto client = DeviceClient::connect("127.0.0.1", server_->port(), ClientCredentials::psk("dev", kKey));
    ASSERT_TRUE(client) << client.error().message;
    std::vector<int> codes;
    auto observation = (*client)->observe("/thing", [&](const ClientResponse& n) { codes.push_back(n.code); });
    ASSERT_TRUE(observation);
    ASSERT_NE(observation->id, 0U);

    // The next notification would be an error, which libcoap 4.3.1 cannot send safely.
    allowed_ = false;
    server_->notify("/thing");
    for (int i = 0; i < 40 && std::find(codes.begin(), codes.end(), 404) == codes.end(); ++i)
        (*client)->poll(std::chrono::milliseconds(50));
    EXPECT_NE(std::find(codes.begin(), codes.end(), 404), codes.end()) << ::testing::PrintToString(codes);

    // The server carries on: the path is observable again, for whoever may see it.
    auto refused = (*client)->observe("/thing", [](const ClientResponse&) {});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->response.code, 403);
    EXPECT_EQ(refused->id, 0U);
    allowed_ = true;
    auto again = (*client)->observe("/thing", [](const ClientResponse&) {});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->response.code, 205);
    EXPECT_NE(again->id, 0U);
}

TEST_F(CoapServerTest, RepeatedGetsAreAnsweredAgainAndNotRemembered) {
    auto client = DeviceClient::connect("127.0.0.1", server_->port(), ClientCredentials::psk("dev", kKey));
    ASSERT_TRUE(client);
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ((*client)->get("/thing")->code, 205);
    auto responses = (*client)->send_repeated(Method::get, "/thing", "", 0x1234, 2);
    ASSERT_TRUE(responses);
    EXPECT_EQ(responses->size(), 2U);
    EXPECT_EQ(server_->stats().retransmissions_answered_from_cache, 0U);
    EXPECT_EQ(server_->stats().exchanges_remembered, 0U);
}

}  // namespace
}  // namespace han
