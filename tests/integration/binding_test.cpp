// The binding plugin's protocol edges against the whole daemon (pev-registration and pev-binding loaded), spoken to
// with bare DTLS clients rather than the emulators: exact documents, access, repeats, and the operator's side.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "han/device_client.hpp"
#include "headend/core/daemon.hpp"
#include "headend/http/client.hpp"
#include "pki/pki.hpp"
#include "sep/codec.hpp"
#include "sep/encode.hpp"
#include "support/program_daemon.hpp"

namespace headend {
namespace {

namespace fs = std::filesystem;
using core::DeviceType;
using core::NewDevice;
using nlohmann::json;

using testing::kDeviceKey;
using testing::kGuestVin;
using testing::kHomeOnlyVin;
using testing::kUnenrolledVin;
constexpr const char* kHomeVin = kGuestVin;

class BindingTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(headend_.ok());
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        codec_ = *codec;
    }

    std::pair<int, json> admin(const std::string& method, const std::string& path, const std::string& body = "") {
        return headend_.admin(method, path, body);
    }
    pki::CertificateFiles pev_certificate(const std::string& name, const std::string& vin) {
        return headend_.pev_certificate(name, vin);
    }
    std::unique_ptr<han::DeviceClient> connect(const han::ClientCredentials& credentials) {
        auto client = han::DeviceClient::connect("127.0.0.1", headend_.coaps_port(), credentials);
        EXPECT_TRUE(client) << client.error().message;
        return client ? std::move(*client) : nullptr;
    }
    std::unique_ptr<han::DeviceClient> psk_device(const std::string& identity) {
        return connect(han::ClientCredentials::psk(identity, kDeviceKey));
    }
    std::unique_ptr<han::DeviceClient> pev(const pki::CertificateFiles& files) {
        return connect(han::ClientCredentials::certificate(files.cert, files.key, headend_.server_ca()));
    }

    // The ESCI's binding request: an EndDevice with the PEV's identity and the PEV device category.
    han::ClientResponse request_binding(han::DeviceClient& esci, const han::DeviceIdentity& pev) {
        sep::EndDevice device;
        device.device_category = 0x00010000;
        device.lfdi = pev.lfdi;
        device.sfdi = pev.sfdi;
        auto answer = esci.post("/edev", sep::encode(device));
        EXPECT_TRUE(answer);
        return answer ? *answer : han::ClientResponse{};
    }
    sep::PEVBinding read_binding(han::DeviceClient& client, const std::string& path) {
        auto answer = client.get(path);
        EXPECT_TRUE(answer);
        EXPECT_EQ(answer->code, 205) << path << " " << answer->body;
        auto binding = codec_->decode<sep::PEVBinding>(answer->body);
        EXPECT_TRUE(binding) << answer->body;
        return binding ? *binding : sep::PEVBinding{};
    }
    int acknowledge(han::DeviceClient& client, const std::string& lfdi, const std::string& subject) {
        sep::Response response;
        response.end_device_lfdi = lfdi;
        response.status = 1;
        response.subject = subject;
        auto answer = client.post("/rsps/bnd", sep::encode(response));
        EXPECT_TRUE(answer);
        return answer ? answer->code : 0;
    }
    int power(han::DeviceClient& client, const std::string& edev, std::uint8_t source) {
        sep::PowerStatus status;
        status.changed_time = 1;
        status.current_power_source = source;
        auto answer = client.put(edev + "/ps", sep::encode(status));
        EXPECT_TRUE(answer);
        return answer ? answer->code : 0;
    }
    json bindings(const std::string& query = "") { return headend_.bindings(query); }
    std::vector<std::string> audit_steps(const std::string& vin) { return headend_.audit_steps(vin); }
    std::string edev(std::int64_t id) const { return "/edev/" + std::to_string(id); }

    testing::ProgramDaemon headend_;
    std::shared_ptr<const sep::Codec> codec_;
};

TEST_F(BindingTest, FirstBindingThenRebindingWithThePskAndCachedLinks) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    auto eumd = psk_device("eumd-1");
    ASSERT_TRUE(car && esci && eumd);

    // Before the binding the PEV sees no EndDevice of its own.
    auto empty = car->get("/edev?l=10");
    ASSERT_TRUE(empty);
    EXPECT_NE(empty->body.find("all=\"0\""), std::string::npos) << empty->body;

    // Scenario 1: the ESCI asks, the head-end checks and confirms.
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201) << requested.body;
    const std::string pev_path = requested.location_path;
    const auto confirmation = read_binding(*car, pev_path + "/bnd");
    EXPECT_EQ(confirmation.status, sep::BindingStatus::kConfirmed);
    EXPECT_EQ(confirmation.premises_id, "P1");
    EXPECT_EQ(confirmation.program_id, "EV-TOU");
    EXPECT_EQ(confirmation.tariff_profile_link.href, "/tp/EV-TOU");
    EXPECT_EQ(confirmation.interval_length, 900U);
    ASSERT_TRUE(confirmation.rebind_psk_identity && confirmation.rebind_psk_key);
    EXPECT_EQ(confirmation.rebind_psk_key->size(), 16U);
    EXPECT_EQ(bindings()[0]["status"], "confirmed");

    // The PEV acknowledges; the EUMD reads its configuration naming the PEV and acknowledges it: active.
    EXPECT_EQ(acknowledge(*car, files.identity.lfdi, confirmation.mrid), 201);
    EXPECT_EQ(bindings()[0]["status"], "acknowledged");
    const std::string eumd_binding = edev(headend_.device_id("eumd-1")) + "/bnd";
    const auto configuration = read_binding(*eumd, eumd_binding);
    EXPECT_EQ(configuration.pev_lfdi, files.identity.lfdi);
    EXPECT_EQ(configuration.interval_length, 900U);
    EXPECT_FALSE(configuration.rebind_psk_key);  // the PEV's secret is for the PEV only
    EXPECT_EQ(acknowledge(*eumd, core::lfdi_for_psk_identity("eumd-1"), configuration.mrid), 201);
    auto active = bindings();
    ASSERT_EQ(active.size(), 1U);
    EXPECT_EQ(active[0]["status"], "active");
    EXPECT_EQ(active[0]["vin"], kHomeVin);
    EXPECT_EQ(active[0]["kind"], "home");
    EXPECT_EQ(active[0]["payer_account"], "A1");
    // Repeated acknowledgements change nothing.
    EXPECT_EQ(acknowledge(*car, files.identity.lfdi, confirmation.mrid), 201);
    EXPECT_EQ(acknowledge(*eumd, core::lfdi_for_psk_identity("eumd-1"), configuration.mrid), 201);
    EXPECT_EQ(audit_steps(kHomeVin),
              (std::vector<std::string>{"esci.requested", "pev.pinned", "binding.confirmed", "credential.issued",
                                        "eumd.configured", "pev.read_binding", "binding.acknowledged",
                                        "eumd.read_configuration", "eumd.acknowledged", "binding.active"}));

    // Unplugged: the binding ends.
    EXPECT_EQ(power(*car, pev_path, 2), 204);
    EXPECT_EQ(bindings()[0]["status"], "ended");
    car.reset();

    // Scenario 2: the re-bind PSK, the cached /edev/{n} link, no discovery and no certificate.
    std::string identity = *confirmation.rebind_psk_identity;
    auto again = connect(han::ClientCredentials::psk(identity, *confirmation.rebind_psk_key));
    ASSERT_TRUE(again);
    EXPECT_EQ(power(*again, pev_path, 1), 204);
    const auto presence = request_binding(*esci, files.identity);
    EXPECT_EQ(presence.code, 201);
    EXPECT_EQ(presence.location_path, pev_path);
    auto rebound = bindings();
    ASSERT_EQ(rebound.size(), 2U);
    EXPECT_EQ(rebound[0]["status"], "active");  // the EUMD already meters this PEV with this interval
    EXPECT_EQ(rebound[0]["rebind"], true);
    const auto told = read_binding(*eumd, eumd_binding);
    EXPECT_EQ(told.status, sep::BindingStatus::kActive);
    EXPECT_EQ(acknowledge(*eumd, core::lfdi_for_psk_identity("eumd-1"), told.mrid), 201);
    const auto steps = audit_steps(kHomeVin);
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "eumd.acknowledged"), 2);
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "credential.issued"), 1);  // no new credential on re-binding
}

TEST_F(BindingTest, TheSameRequestRepeatedMakesOneBinding) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    const auto first = request_binding(*esci, files.identity);
    const auto second = request_binding(*esci, files.identity);
    EXPECT_EQ(first.code, 201);
    EXPECT_EQ(second.code, 201);
    EXPECT_EQ(first.location_path, second.location_path);
    EXPECT_EQ(bindings().size(), 1U);
}

TEST_F(BindingTest, RefusalsRecordAFallbackAndTheReason) {
    auto esci = psk_device("esci-1");
    const auto stranger = pev_certificate("pev-stranger", kUnenrolledVin);
    auto stranger_car = pev(stranger);
    const auto refused = request_binding(*esci, stranger.identity);
    EXPECT_EQ(refused.code, 403);
    EXPECT_NE(refused.body.find("not enrolled"), std::string::npos) << refused.body;

    // A home-only PEV at another customer's premises.
    const auto home_only = pev_certificate("pev-home-only", kHomeOnlyVin);
    auto home_only_car = pev(home_only);
    const auto at_home = request_binding(*esci, home_only.identity);  // pinned at home first
    ASSERT_EQ(at_home.code, 201);
    EXPECT_EQ(power(*home_only_car, at_home.location_path, 2), 204);  // then unplugged: bound nowhere
    auto neighbour = psk_device("esci-2");
    const auto away = request_binding(*neighbour, home_only.identity);
    EXPECT_EQ(away.code, 403);
    EXPECT_NE(away.body.find("not enrolled for guest charging"), std::string::npos) << away.body;

    const auto fallbacks = admin("GET", "/api/v1/fallbacks").second["fallbacks"];
    ASSERT_EQ(fallbacks.size(), 2U);
    EXPECT_EQ(fallbacks[0]["premises_id"], "P2");
    EXPECT_EQ(fallbacks[1]["premises_id"], "P1");
    EXPECT_EQ(bindings("?status=refused").size(), 2U);
}

TEST_F(BindingTest, AnotherCertificateClaimingAPinnedVinIsRefusedAndRaisesAnAlarm) {
    auto esci = psk_device("esci-1");
    const auto original = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(original);
    ASSERT_EQ(request_binding(*esci, original.identity).code, 201);
    const auto clone = pev_certificate("pev-clone", kHomeVin);
    auto clone_car = pev(clone);
    const auto refused = request_binding(*esci, clone.identity);
    EXPECT_EQ(refused.code, 403);
    const auto alarms = admin("GET", "/api/v1/alarms").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U);
    EXPECT_EQ(alarms[0]["kind"], "clone_vin");
    EXPECT_EQ(alarms[0]["lfdi"], clone.identity.lfdi);
}

TEST_F(BindingTest, GuestChargingIsBoundWithTheOwnerAsPayer) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    ASSERT_EQ(request_binding(*psk_device("esci-1"), files.identity).code, 201);
    const auto guest = request_binding(*psk_device("esci-2"), files.identity);
    EXPECT_EQ(guest.code, 201) << guest.body;
    const auto list = bindings();
    ASSERT_EQ(list.size(), 2U);
    EXPECT_EQ(list[0]["kind"], "guest");
    EXPECT_EQ(list[0]["premises_id"], "P2");
    EXPECT_EQ(list[0]["payer_account"], "A1");
    EXPECT_EQ(list[1]["status"], "ended");  // the home binding ended when it was bound elsewhere
}

// The EUMD observing its configuration learns every end of the binding it meters, not only beginnings: the PEV bound
// at another premises, and a binding fallen back.
TEST_F(BindingTest, AnObservingEumdIsToldWhenItsPevIsBoundElsewhereAndWhenABindingFallsBack) {
    auto eumd = psk_device("eumd-1");
    ASSERT_TRUE(eumd);
    std::vector<sep::BindingStatus> seen;
    auto observation = eumd->observe(edev(headend_.device_id("eumd-1")) + "/bnd", [&](const han::ClientResponse& n) {
        if (auto configuration = codec_->decode<sep::PEVBinding>(n.body))
            seen.push_back(configuration->status);
    });
    ASSERT_TRUE(observation) << observation.error().message;
    const auto wait_for = [&](sep::BindingStatus wanted) {
        for (int i = 0; i < 60; ++i) {
            if (std::find(seen.begin(), seen.end(), wanted) != seen.end())
                return true;
            eumd->poll(std::chrono::milliseconds(50));
        }
        return false;
    };

    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    ASSERT_EQ(request_binding(*psk_device("esci-1"), files.identity).code, 201);
    ASSERT_TRUE(wait_for(sep::BindingStatus::kConfirmed));
    ASSERT_EQ(request_binding(*psk_device("esci-2"), files.identity).code, 201);
    EXPECT_TRUE(wait_for(sep::BindingStatus::kEnded)) << "the EUMD at P1 was not told its PEV's binding ended";

    // Back at P1 with no acknowledgement: the binding falls back after the 2 s timeout and the EUMD is told.
    ASSERT_EQ(request_binding(*psk_device("esci-1"), files.identity).code, 201);
    seen.clear();
    EXPECT_TRUE(wait_for(sep::BindingStatus::kFallback)) << "the EUMD at P1 was not told of the fallback";
}

TEST_F(BindingTest, NoAcknowledgementWithinTheTimeoutFallsBack) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    ASSERT_EQ(request_binding(*psk_device("esci-1"), files.identity).code, 201);
    json list;
    for (int i = 0; i < 50; ++i) {
        list = bindings();
        if (list[0]["status"] == "fallback")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(list[0]["status"], "fallback");
    EXPECT_NE(list[0]["reason"].get<std::string>().find("did not acknowledge"), std::string::npos);
    EXPECT_EQ(admin("GET", "/api/v1/fallbacks?premises=P1").second["fallbacks"].size(), 1U);
}

TEST_F(BindingTest, TheOperatorChangesTheEumdIntervalAndTheEumdAppliesIt) {
    auto eumd = psk_device("eumd-1");
    auto [status, answer] = admin("PUT", "/api/v1/premises/P1/eumd-interval", R"({"seconds": 300})");
    ASSERT_EQ(status, 200) << answer.dump();
    const auto configuration = read_binding(*eumd, edev(headend_.device_id("eumd-1")) + "/bnd");
    EXPECT_EQ(configuration.interval_length, 300U);
    EXPECT_EQ(acknowledge(*eumd, core::lfdi_for_psk_identity("eumd-1"), configuration.mrid), 201);
    EXPECT_EQ(admin("PUT", "/api/v1/premises/P1/eumd-interval", R"({"seconds": 7})").first, 400);
    EXPECT_EQ(admin("PUT", "/api/v1/premises/P9/eumd-interval", R"({"seconds": 300})").first, 404);
}

TEST_F(BindingTest, AnEumdObservingItsConfigurationIsToldOfTheNewInterval) {
    auto eumd = psk_device("eumd-1");
    ASSERT_TRUE(eumd);
    ASSERT_EQ(admin("PUT", "/api/v1/premises/P1/eumd-interval", R"({"seconds": 600})").first, 200);
    std::vector<han::ClientResponse> notifications;
    auto observation = eumd->observe(edev(headend_.device_id("eumd-1")) + "/bnd",
                                     [&](const han::ClientResponse& n) { notifications.push_back(n); });
    ASSERT_TRUE(observation) << observation.error().message;
    ASSERT_NE(observation->id, 0U);
    EXPECT_EQ(observation->response.code, 205);

    ASSERT_EQ(admin("PUT", "/api/v1/premises/P1/eumd-interval", R"({"seconds": 300})").first, 200);
    for (int i = 0; i < 40 && notifications.empty(); ++i)
        eumd->poll(std::chrono::milliseconds(50));
    ASSERT_EQ(notifications.size(), 1U);
    EXPECT_EQ(notifications[0].code, 205);
    EXPECT_EQ(notifications[0].type, han::MessageType::con);
    ASSERT_TRUE(notifications[0].observe && observation->response.observe);
    EXPECT_GT(*notifications[0].observe, *observation->response.observe);
    auto configuration = codec_->decode<sep::PEVBinding>(notifications[0].body);
    ASSERT_TRUE(configuration) << notifications[0].body;
    EXPECT_EQ(configuration->interval_length, 300U);
}

TEST_F(BindingTest, BadDocumentsAreRefusedAndChangeNothing) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const auto before = audit_steps(kHomeVin);
    const auto status_before = bindings()[0]["status"];
    for (const std::string& body :
         {std::string("<PowerStatus xmlns=\"urn:ieee:std:2030.5:ns\"><batteryStatus>"),           // truncated
          std::string("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><PowerStatus/>"),  // DOCTYPE
          std::string("<PowerStatus xmlns=\"urn:ieee:std:2030.5:ns\"><changedTime>1</changedTime>"
                      "<batteryStatus>0</batteryStatus><currentPowerSource>1</currentPowerSource></PowerStatus>")}) {
        auto answer = car->put(requested.location_path + "/ps", body);  // the last one: elements out of order
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->code, 400) << body;
        auto ack = car->post("/rsps/bnd", body);
        ASSERT_TRUE(ack);
        EXPECT_EQ(ack->code, 400) << body;
    }
    EXPECT_EQ(audit_steps(kHomeVin), before);
    EXPECT_EQ(bindings()[0]["status"], status_before);
}

TEST_F(BindingTest, DeviceCapabilityLinksTheProgramTariffs) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);  // a PEV before its first binding may read /dcap and the public tariffs
    auto answer = car->get("/dcap");
    ASSERT_TRUE(answer);
    auto capability = codec_->decode<sep::DeviceCapability>(answer->body);
    ASSERT_TRUE(capability) << answer->body;
    ASSERT_TRUE(capability->tariff_profile_list_link);
    EXPECT_EQ(capability->tariff_profile_list_link->href, "/tp");
    auto profiles = car->get(capability->tariff_profile_list_link->href + "?l=10");
    ASSERT_TRUE(profiles);
    auto list = codec_->decode<sep::TariffProfileList>(profiles->body);
    ASSERT_TRUE(list) << profiles->body;
    EXPECT_EQ(list->all, 2U);
}

TEST_F(BindingTest, OnlyTheDeviceItselfReadsItsBinding) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    auto foreign = esci->get(requested.location_path + "/bnd");
    ASSERT_TRUE(foreign);
    EXPECT_EQ(foreign->code, 403);
    auto wrong_ack = acknowledge(*car, files.identity.lfdi, std::string(32, 'A'));
    EXPECT_EQ(wrong_ack, 400);
    EXPECT_EQ(acknowledge(*car, std::string(40, 'B'), std::string(32, 'A')), 400);
}

// What a PEV writes is decoded and encoded again, never echoed: the PowerStatus everyone reads carries the head-end's
// href and poll rate whatever the PEV put there. And clients find it by the link on the PEV's EndDevice.
TEST_F(BindingTest, PowerStatusIsServedWithTheHeadEndsHrefAndPollRateAndLinkedFromTheEndDevice) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    ASSERT_TRUE(car && esci);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const std::string pev_path = requested.location_path;

    sep::PowerStatus status;
    status.href = "/edev/999/ps";
    status.poll_rate = 5;
    status.changed_time = 1700000000;
    status.current_power_source = 1;
    status.estimated_charge_remaining = 4200;
    auto put = car->put(pev_path + "/ps", sep::encode(status));
    ASSERT_TRUE(put);
    ASSERT_EQ(put->code, 204);
    for (auto* reader : {car.get(), esci.get()}) {
        auto answer = reader->get(pev_path + "/ps");
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->code, 205);
        auto served = codec_->decode<sep::PowerStatus>(answer->body);
        ASSERT_TRUE(served) << answer->body;
        EXPECT_EQ(served->href, pev_path + "/ps");
        EXPECT_EQ(served->poll_rate, 900U);
        EXPECT_EQ(served->changed_time, 1700000000);
        EXPECT_EQ(served->estimated_charge_remaining, 4200);
        EXPECT_EQ(answer->body.find("/edev/999"), std::string::npos) << answer->body;
    }

    auto end_device = car->get(pev_path);
    ASSERT_TRUE(end_device);
    auto pev_device = codec_->decode<sep::EndDevice>(end_device->body);
    ASSERT_TRUE(pev_device) << end_device->body;
    ASSERT_TRUE(pev_device->power_status_link);
    EXPECT_EQ(pev_device->power_status_link->href, pev_path + "/ps");
    // The ESCI's own EndDevice has no PowerStatus served, so no link.
    auto esci_device = codec_->decode<sep::EndDevice>(esci->get(edev(headend_.device_id("esci-1")))->body);
    ASSERT_TRUE(esci_device);
    EXPECT_FALSE(esci_device->power_status_link);
}

// What a device may not touch answers alike whether it exists or not, on the plugins' resources as on the core's.
TEST_F(BindingTest, PluginResourcesRefuseAStrangerAlikeWhetherTheTargetExistsOrNot) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    auto eumd = psk_device("eumd-1");
    ASSERT_TRUE(car && esci && eumd);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const std::string existing = requested.location_path;
    const std::string missing = "/edev/999999";
    const auto alike = [](han::DeviceClient& client, han::Method method, const std::string& present,
                          const std::string& absent, const std::string& body) {
        std::vector<han::ClientResponse> answers;
        for (const auto& path : {present, absent}) {
            han::ClientRequest request;
            request.method = method;
            request.path = path;
            if (!body.empty()) {
                request.body = body;
                request.content_format = 41;
            }
            auto answer = client.request(request);
            EXPECT_TRUE(answer) << path;
            answers.push_back(answer ? *answer : han::ClientResponse{});
        }
        EXPECT_EQ(answers[0].code, 403) << present;
        EXPECT_EQ(answers[1].code, answers[0].code) << absent;
        EXPECT_EQ(answers[1].body, answers[0].body) << absent;
        EXPECT_EQ(answers[1].content_format, answers[0].content_format) << absent;
    };
    alike(*esci, han::Method::get, existing + "/bnd", missing + "/bnd", "");
    alike(*eumd, han::Method::get, existing + "/bnd", missing + "/bnd", "");
    sep::PowerStatus status;
    status.changed_time = 1;
    status.current_power_source = 1;
    alike(*eumd, han::Method::put, existing + "/ps", missing + "/ps", sep::encode(status));
    alike(*esci, han::Method::put, existing + "/ps", missing + "/ps", sep::encode(status));

    // An acknowledgement of the PEV's binding by a device that is not the PEV, and of a binding that does not exist.
    const auto binding = read_binding(*car, existing + "/bnd");
    std::vector<han::ClientResponse> acknowledgements;
    for (const auto& subject : {binding.mrid, std::string(32, 'D')}) {
        sep::Response response;
        response.end_device_lfdi = files.identity.lfdi;
        response.status = 1;
        response.subject = subject;
        auto answer = esci->post("/rsps/bnd", sep::encode(response));
        ASSERT_TRUE(answer);
        acknowledgements.push_back(*answer);
    }
    EXPECT_EQ(acknowledgements[0].code / 100, 4);
    EXPECT_EQ(acknowledgements[1].code, acknowledgements[0].code);
    EXPECT_EQ(acknowledgements[1].body, acknowledgements[0].body);
    EXPECT_EQ(read_binding(*car, existing + "/bnd").status, sep::BindingStatus::kConfirmed);  // not acknowledged
}

TEST_F(BindingTest, WritesToABindingAreRefusedWithoutAnsweringTheBindingOrChangingIt) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    auto eumd = psk_device("eumd-1");
    ASSERT_TRUE(car && esci && eumd);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const std::string pev_binding = requested.location_path + "/bnd";
    const std::string eumd_binding = edev(headend_.device_id("eumd-1")) + "/bnd";
    const auto steps_before = audit_steps(kHomeVin);
    const auto bindings_before = bindings();

    // A document a device might try to write over its binding: active, with a key of its own.
    sep::PEVBinding forged;
    forged.status = sep::BindingStatus::kActive;
    forged.premises_id = "P1";
    forged.program_id = "EV-TOU";
    forged.tariff_profile_link = sep::Link{"/tp/EV-TOU"};
    forged.interval_length = 60;
    forged.mrid = std::string(32, 'C');
    for (const auto method : {han::Method::put, han::Method::post, han::Method::del}) {
        for (auto& [client, path] : {std::pair{car.get(), pev_binding}, std::pair{eumd.get(), eumd_binding},
                                     std::pair{esci.get(), pev_binding}}) {
            han::ClientRequest request;
            request.method = method;
            request.path = path;
            if (method != han::Method::del) {
                request.body = sep::encode(forged);
                request.content_format = 41;
            }
            auto answer = client->request(request);
            ASSERT_TRUE(answer) << path;
            EXPECT_EQ(answer->code, 405) << path << " method " << static_cast<int>(method);
            EXPECT_EQ(answer->body.find("rb-"), std::string::npos) << answer->body;  // no re-bind PSK identity
            EXPECT_EQ(answer->body.find("PEVBinding"), std::string::npos) << answer->body;
        }
    }
    // Nothing read, installed or changed: the first GET is still the one that hands out the credential.
    EXPECT_EQ(audit_steps(kHomeVin), steps_before);
    EXPECT_EQ(bindings(), bindings_before);
    const auto confirmation = read_binding(*car, pev_binding);
    EXPECT_EQ(confirmation.status, sep::BindingStatus::kConfirmed);
    EXPECT_EQ(confirmation.interval_length, 900U);
    EXPECT_TRUE(confirmation.rebind_psk_key);
    const auto after = audit_steps(kHomeVin);
    EXPECT_EQ(std::count(after.begin(), after.end(), "pev.read_binding"), 1);
}

TEST_F(BindingTest, EveryPluginResourceRefusesTheMethodsItDoesNotServe) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    ASSERT_TRUE(car && esci);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const std::string ps = requested.location_path + "/ps";
    const auto steps_before = audit_steps(kHomeVin);
    const std::vector<std::pair<han::Method, std::string>> refused = {
        {han::Method::post, ps},          {han::Method::del, ps},
        {han::Method::get, "/rsps/bnd"},  {han::Method::put, "/rsps/bnd"},
        {han::Method::del, "/rsps/bnd"},  {han::Method::post, "/tp"},
        {han::Method::put, "/tp/EV-TOU"}, {han::Method::del, "/tp/EV-TOU/rc/1/tti"},
    };
    for (const auto& [method, path] : refused) {
        han::ClientRequest request;
        request.method = method;
        request.path = path;
        if (method == han::Method::post || method == han::Method::put) {
            sep::PowerStatus status;
            status.changed_time = 1;
            status.current_power_source = 2;
            request.body = sep::encode(status);
            request.content_format = 41;
        }
        auto answer = car->request(request);
        ASSERT_TRUE(answer) << path;
        EXPECT_EQ(answer->code, 405) << path << " method " << static_cast<int>(method);
    }
    // The plugins' admin routes likewise.
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"DELETE", "/api/v1/bindings"},
             {"POST", "/api/v1/pevs/" + std::string(kHomeVin) + "/audit"},
             {"PUT", "/api/v1/alarms"},
             {"POST", "/api/v1/fallbacks"},
             {"POST", "/api/v1/premises/P1/eumd-interval"},
             {"PUT", "/api/v1/enrollments"},
         })
        EXPECT_EQ(admin(method, path, R"({"seconds": 300})").first, 405) << method << " " << path;
    // A path that echoes a byte that is not UTF-8 is an unknown PEV (404), not a failure of the head-end (500).
    const auto [status, answer] = admin("GET", "/api/v1/pevs/%FF/audit", "");
    EXPECT_EQ(status, 404) << answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_EQ(audit_steps(kHomeVin), steps_before);
    EXPECT_EQ(car->get(ps)->code, 404);  // no PowerStatus was stored
}

TEST_F(BindingTest, WritesInAnyContentFormatButXmlAreRefusedWith415AndStoreNothing) {
    const auto files = pev_certificate("pev-jane", kHomeVin);
    auto car = pev(files);
    auto esci = psk_device("esci-1");
    ASSERT_TRUE(car && esci);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201);
    const std::string ps = requested.location_path + "/ps";
    const auto confirmation = read_binding(*car, requested.location_path + "/bnd");
    const auto steps_before = audit_steps(kHomeVin);
    const auto bindings_before = bindings();

    // Well-formed documents that would end the binding (unplugged) or acknowledge it, labelled as something else:
    // text/plain, application/octet-stream, application/json, application/cbor, application/exi.
    sep::PowerStatus unplugged;
    unplugged.changed_time = 1;
    unplugged.current_power_source = 2;
    sep::Response acknowledgement;
    acknowledgement.end_device_lfdi = files.identity.lfdi;
    acknowledgement.status = 1;
    acknowledgement.subject = confirmation.mrid;
    for (const int format : {0, 42, 50, 60, 47}) {
        auto put = car->put(ps, sep::encode(unplugged), format);
        ASSERT_TRUE(put);
        EXPECT_EQ(put->code, 415) << "Content-Format " << format;
        auto post = car->post("/rsps/bnd", sep::encode(acknowledgement), format);
        ASSERT_TRUE(post);
        EXPECT_EQ(post->code, 415) << "Content-Format " << format;
    }
    EXPECT_EQ(audit_steps(kHomeVin), steps_before);
    EXPECT_EQ(bindings(), bindings_before);
    EXPECT_EQ(car->get(ps)->code, 404);  // no PowerStatus stored

    // The same documents as application/xml are taken.
    EXPECT_EQ(acknowledge(*car, files.identity.lfdi, confirmation.mrid), 201);
    EXPECT_EQ(power(*car, requested.location_path, 2), 204);
    EXPECT_EQ(bindings()[0]["status"], "ended");
}

TEST_F(BindingTest, ARefusedRequestLeavesTheBindingElsewhereAsItWasAndWritesNoFallback) {
    auto esci = psk_device("esci-1");
    auto eumd = psk_device("eumd-1");
    auto neighbour = psk_device("esci-2");
    ASSERT_TRUE(esci && eumd && neighbour);
    // An ESCI of a premises the customer records do not know.
    auto added = headend_.daemon().devices().add_sync(
        NewDevice{DeviceType::Esci, "P9", std::nullopt, std::nullopt, "esci-9", kDeviceKey, std::nullopt});
    ASSERT_TRUE(added) << added.error().message;
    auto stranger = psk_device("esci-9");
    ASSERT_TRUE(stranger);

    // Both of Jane's PEVs bound and active at home (P1), so no timer is pending.
    const std::string eumd_binding = edev(headend_.device_id("eumd-1")) + "/bnd";
    const auto bind_at_home = [&](han::DeviceClient& car, const han::DeviceIdentity& identity) {
        const auto requested = request_binding(*esci, identity);
        EXPECT_EQ(requested.code, 201);
        const auto confirmation = read_binding(car, requested.location_path + "/bnd");
        EXPECT_EQ(acknowledge(car, identity.lfdi, confirmation.mrid), 201);
        const auto configuration = read_binding(*eumd, eumd_binding);
        EXPECT_EQ(acknowledge(*eumd, core::lfdi_for_psk_identity("eumd-1"), configuration.mrid), 201);
        return requested.location_path;
    };
    const auto guest_files = pev_certificate("pev-jane", kHomeVin);
    const auto home_only_files = pev_certificate("pev-home-only", kHomeOnlyVin);
    auto guest_car = pev(guest_files);
    auto home_only_car = pev(home_only_files);
    ASSERT_TRUE(guest_car && home_only_car);
    const std::string guest_path = bind_at_home(*guest_car, guest_files.identity);
    const std::string home_only_path = bind_at_home(*home_only_car, home_only_files.identity);
    const auto before = bindings();
    ASSERT_EQ(before.size(), 2U);
    EXPECT_EQ(before[0]["status"], "active");
    EXPECT_EQ(before[1]["status"], "active");
    const auto guest_steps = audit_steps(kHomeVin);
    const auto configuration_before = read_binding(*eumd, eumd_binding);

    // Refused: the unknown premises for either PEV, and P2 for the home-only one.
    const auto unknown = request_binding(*stranger, guest_files.identity);
    EXPECT_EQ(unknown.code, 403);
    EXPECT_NE(unknown.body.find("not in the customer records"), std::string::npos) << unknown.body;
    EXPECT_EQ(request_binding(*stranger, home_only_files.identity).code, 403);
    const auto away = request_binding(*neighbour, home_only_files.identity);
    EXPECT_EQ(away.code, 403);
    EXPECT_NE(away.body.find("not enrolled for guest charging"), std::string::npos) << away.body;

    // Nothing changed: both bindings active, no fallback, the PEVs keep their binding and re-bind key, the EUMD its
    // configuration. The attempts are in the audit trail only.
    EXPECT_EQ(bindings(), before);
    EXPECT_TRUE(admin("GET", "/api/v1/fallbacks").second["fallbacks"].empty());
    for (const auto& [car, path] :
         {std::pair{guest_car.get(), guest_path}, std::pair{home_only_car.get(), home_only_path}}) {
        const auto binding = read_binding(*car, path + "/bnd");
        EXPECT_EQ(binding.status, sep::BindingStatus::kActive) << path;
        EXPECT_EQ(binding.premises_id, "P1");
        EXPECT_TRUE(binding.rebind_psk_key) << path;
    }
    const auto configuration_after = read_binding(*eumd, eumd_binding);
    EXPECT_EQ(configuration_after.mrid, configuration_before.mrid);
    EXPECT_EQ(configuration_after.pev_lfdi, home_only_files.identity.lfdi);
    EXPECT_EQ(configuration_after.status, sep::BindingStatus::kActive);
    auto expected_steps = guest_steps;
    expected_steps.push_back("esci.refused");
    EXPECT_EQ(audit_steps(kHomeVin), expected_steps);

    // Only an accepted binding elsewhere ends the open one: Jane's guest-enabled PEV at P2.
    EXPECT_EQ(request_binding(*neighbour, guest_files.identity).code, 201);
    const auto after = bindings("?vin=" + std::string(kHomeVin));
    ASSERT_EQ(after.size(), 2U);
    EXPECT_EQ(after[0]["premises_id"], "P2");
    EXPECT_EQ(after[0]["status"], "confirmed");
    EXPECT_EQ(after[1]["status"], "ended");
    EXPECT_EQ(after[1]["reason"], "bound again at premises P2");
}

TEST_F(BindingTest, AnEumdNeverConfiguredObservesAndAcknowledgesItsDefaultConfiguration) {
    auto eumd = psk_device("eumd-2");  // P2: no binding and no interval set there yet
    auto other = psk_device("eumd-1");
    ASSERT_TRUE(eumd && other);
    const std::string eumd_binding = edev(headend_.device_id("eumd-2")) + "/bnd";
    std::vector<han::ClientResponse> notifications;
    auto observation = eumd->observe(eumd_binding, [&](const han::ClientResponse& n) { notifications.push_back(n); });
    ASSERT_TRUE(observation) << observation.error().message;
    ASSERT_EQ(observation->response.code, 205) << observation->response.body;
    EXPECT_NE(observation->id, 0U);
    auto defaults = codec_->decode<sep::PEVBinding>(observation->response.body);
    ASSERT_TRUE(defaults) << observation->response.body;
    EXPECT_FALSE(defaults->pev_lfdi);
    EXPECT_EQ(defaults->interval_length, 900U);
    EXPECT_EQ(defaults->premises_id, "P2");
    EXPECT_EQ(defaults->mrid.size(), 32U);
    EXPECT_NE(read_binding(*other, edev(headend_.device_id("eumd-1")) + "/bnd").mrid, defaults->mrid);  // its own

    // Acknowledged like any other configuration; a subject that is not its configuration is not.
    const std::string eumd_lfdi = core::lfdi_for_psk_identity("eumd-2");
    EXPECT_EQ(acknowledge(*eumd, eumd_lfdi, std::string(32, 'A')), 400);
    EXPECT_EQ(acknowledge(*eumd, eumd_lfdi, defaults->mrid), 201);
    EXPECT_EQ(acknowledge(*eumd, eumd_lfdi, defaults->mrid), 201);  // a repeat changes nothing
    EXPECT_EQ(read_binding(*eumd, eumd_binding).mrid, defaults->mrid);

    // The first binding at P2 reaches the observing EUMD, which then activates it as usual.
    const auto files = pev_certificate("pev-john", testing::kHostVin);
    auto car = pev(files);
    auto esci = psk_device("esci-2");
    ASSERT_TRUE(car && esci);
    const auto requested = request_binding(*esci, files.identity);
    ASSERT_EQ(requested.code, 201) << requested.body;
    for (int i = 0; i < 40 && notifications.empty(); ++i)
        eumd->poll(std::chrono::milliseconds(50));
    ASSERT_FALSE(notifications.empty());
    auto configuration = codec_->decode<sep::PEVBinding>(notifications.back().body);
    ASSERT_TRUE(configuration) << notifications.back().body;
    EXPECT_EQ(configuration->pev_lfdi, files.identity.lfdi);
    EXPECT_EQ(configuration->interval_length, 900U);
    EXPECT_NE(configuration->mrid, defaults->mrid);
    const auto confirmation = read_binding(*car, requested.location_path + "/bnd");
    EXPECT_EQ(acknowledge(*car, files.identity.lfdi, confirmation.mrid), 201);
    EXPECT_EQ(acknowledge(*eumd, eumd_lfdi, configuration->mrid), 201);
    EXPECT_EQ(bindings()[0]["status"], "active");
}

}  // namespace
}  // namespace headend
