#include "headend/core/admin_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"

namespace headend::core {
namespace {

using nlohmann::json;

class AdminApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto migrations = DeviceRegistry::migrations();
        ASSERT_TRUE(database_->migrate("core", migrations));
        auto loaded = DeviceRegistry::load(*database_, clock_);
        ASSERT_TRUE(loaded);
        devices_ = std::move(*loaded);
        add_admin_routes(
            routes_, *devices_,
            [] {
                return HealthReport{true, 5684, 3, 2};
            },
            [this] { return sessions_; }, 100, clock_);
    }

    http::Response call(const std::string& route, const std::string& body = "",
                        std::map<std::string, std::string> params = {}, std::map<std::string, std::string> query = {}) {
        http::Request request;
        request.body = body;
        request.params = std::move(params);
        request.query = std::move(query);
        return routes_.handlers.at(route)(request);
    }

    testing::TempDir dir_;
    testing::FixedClock clock_{1000};
    testing::FakeRoutes routes_;
    std::unique_ptr<storage::SqliteDatabase> database_;
    std::unique_ptr<DeviceRegistry> devices_;
    std::vector<han::SessionSummary> sessions_;
};

TEST_F(AdminApiTest, AddsListsAndRemovesAPskDevice) {
    auto added =
        call("POST /api/v1/devices",
             R"({"type":"esci","premises_id":"P1","psk_identity":"e1","psk_key":"00112233445566778899aabbccddeeff"})");
    ASSERT_EQ(added.status, 201) << added.body;
    const auto device = json::parse(added.body)["device"];
    EXPECT_EQ(device["edev_path"], "/edev/" + device["id"].dump());
    EXPECT_EQ(json::parse(call("GET /api/v1/devices").body)["devices"].size(), 1U);
    EXPECT_EQ(call("DELETE /api/v1/devices/{id}", "", {{"id", device["id"].dump()}}).status, 200);
    EXPECT_EQ(devices_->size(), 0U);
    EXPECT_EQ(call("DELETE /api/v1/devices/{id}", "", {{"id", device["id"].dump()}}).status, 404);
    EXPECT_EQ(call("DELETE /api/v1/devices/{id}", "", {{"id", "x1"}}).status, 400);
}

TEST_F(AdminApiTest, HanSessionsNameTheirDeviceWhereOneHoldsTheCredential) {
    auto esci =
        call("POST /api/v1/devices",
             R"({"type":"esci","premises_id":"P1","psk_identity":"e1","psk_key":"00112233445566778899aabbccddeeff"})");
    ASSERT_EQ(esci.status, 201);
    const auto esci_id = json::parse(esci.body)["device"]["id"].get<std::int64_t>();
    sessions_ = {{"127.0.0.1:5000", false, "", "", "e1", "PSK-AES128-CCM8", 990},
                 {"127.0.0.1:5001", true, "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", "1HGCM82633A004352", "",
                  "ECDHE-ECDSA-AES128-CCM8", 995}};
    const auto all = json::parse(call("GET /api/v1/han/sessions").body)["sessions"];
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0]["credential"], "psk");
    EXPECT_EQ(all[0]["psk_identity"], "e1");
    EXPECT_EQ(all[0]["device_id"], esci_id);
    EXPECT_EQ(all[0]["device_type"], "esci");
    EXPECT_EQ(all[0]["cipher"], "PSK-AES128-CCM8");
    EXPECT_EQ(all[1]["credential"], "certificate");
    EXPECT_TRUE(all[1]["device_id"].is_null());  // a PEV before its binding request: no device yet
    EXPECT_EQ(all[1]["certificate_serial"], "1HGCM82633A004352");
    EXPECT_EQ(all[1]["established_at"], 995);
    const auto one = json::parse(call("GET /api/v1/han/sessions", "", {}, {{"device", std::to_string(esci_id)}}).body);
    EXPECT_EQ(one["sessions"].size(), 1U);
    EXPECT_EQ(call("GET /api/v1/han/sessions", "", {}, {{"device", "x"}}).status, 400);
    EXPECT_EQ(call("GET /api/v1/han/sessions", "", {}, {{"device", "99"}}).status, 404);
}

TEST_F(AdminApiTest, HealthReportsTheServices) {
    clock_.set(1100);
    const auto health = json::parse(call("GET /api/v1/health").body);
    EXPECT_EQ(health["status"], "ok");
    EXPECT_EQ(health["uptime_s"], 1000);
    EXPECT_EQ(health["coaps"]["sessions"], 3);
    EXPECT_EQ(health["coaps"]["observations"], 2);
}

TEST_F(AdminApiTest, BadBodiesAreRefusedWithTheReasonAndStoreNothing) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"not json", "JSON object"},
        {"[1,2]", "JSON object"},
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","color":"red"})",
         "unknown field 'color'"},
        {R"({"premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"})", "type is required"},
        {R"({"type":"toaster","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"})", "toaster"},
        {R"({"type":"esci","premises_id":"P1"})", "exactly one credential"},
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","psk_identity":"x","psk_key":"00"})",
         "exactly one credential"},
        {R"({"type":"esci","premises_id":"P1","psk_identity":"x","psk_key":"zz"})", "hex"},
        {R"({"type":"esci","premises_id":"P1","psk_identity":"x"})", "psk_key"},
        {R"({"type":"esci","premises_id":7,"lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"})", "premises_id"},
        {R"({"type":"esci","premises_id":"P1","cert_pem":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})",
         "PEM"},
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","sfdi":-1})", "sfdi"},
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","sfdi":167261211390})",
         "SFDI"},
        // 2^32 + 123455: cut to 32 bits it would pass as the valid PIN 123455.
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","pin":4295090751})",
         "pin"},
        {R"({"type":"esci","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5","pin":123456})", "PIN"},
    };
    for (const auto& [body, reason] : cases) {
        auto response = call("POST /api/v1/devices", body);
        EXPECT_EQ(response.status, 400) << body;
        const auto error = json::parse(response.body)["error"];
        EXPECT_EQ(error["code"], "device.invalid") << body;
        EXPECT_NE(error["message"].get<std::string>().find(reason), std::string::npos)
            << body << " -> " << error["message"];
    }
    EXPECT_EQ(devices_->size(), 0U);
}

TEST_F(AdminApiTest, ADuplicateIsAConflict) {
    const std::string body = R"({"type":"eumd","premises_id":"P1","lfdi":"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"})";
    ASSERT_EQ(call("POST /api/v1/devices", body).status, 201);
    auto again = call("POST /api/v1/devices", body);
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(json::parse(again.body)["error"]["code"], "device.duplicate");
    EXPECT_EQ(devices_->size(), 1U);
}

// Simulated time (headend --simulated-time): the clock moves forward by what is asked and never back.
TEST(ClockRoutes, MoveTheSimulatedClockForwardOnlyAndRefuseAnythingElse) {
    SimulatedClock clock;
    testing::FakeRoutes routes;
    add_clock_routes(routes, clock);
    const auto post = [&](const std::string& body) {
        http::Request request;
        request.body = body;
        return routes.handlers.at("POST /api/v1/clock")(request);
    };
    const std::int64_t before = clock.now();
    const auto moved = post(R"({"advance_s": 86400})");
    ASSERT_EQ(moved.status, 200) << moved.body;
    const auto answer = json::parse(moved.body);
    EXPECT_GE(answer["now"].get<std::int64_t>(), before + 86400);
    EXPECT_EQ(answer["offset_s"], 86400);
    EXPECT_GE(clock.now(), before + 86400);

    const auto backwards = post(R"({"advance_s": -60})");
    EXPECT_EQ(backwards.status, 400);
    EXPECT_EQ(json::parse(backwards.body)["error"]["code"], "clock.backwards") << backwards.body;
    for (const char* invalid : {"", "{}", R"({"advance_s": "60"})", R"({"advance_s": 1.5})",
                                R"({"advance_s": 60, "extra": 1})", R"({"advance_s": 9999999999})"})
        EXPECT_EQ(post(invalid).status, 400) << invalid;
    // Beyond int64: too large, not "backwards" from a wrapped negative.
    for (const char* huge : {R"({"advance_s": 18446744073709551615})", R"({"advance_s": 9223372036854775808})"}) {
        const auto refused = post(huge);
        EXPECT_EQ(refused.status, 400) << huge;
        EXPECT_NE(refused.body.find("advance_s: at most"), std::string::npos) << refused.body;
    }
    EXPECT_EQ(clock.offset(), 86400);
    http::Request read;
    EXPECT_EQ(json::parse(routes.handlers.at("GET /api/v1/clock")(read).body)["offset_s"], 86400);
}

}  // namespace
}  // namespace headend::core
