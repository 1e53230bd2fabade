// The whole daemon in process, on loopback with free ports and a temp data folder, spoken to by real DTLS
// clients: our device client library and Debian's coap-client-openssl as an independent peer.
#include <gtest/gtest.h>

#include "run_command.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <thread>

#include "han/device_client.hpp"
#include "headend/core/daemon.hpp"
#include "headend/http/client.hpp"
#include "pki/pki.hpp"
#include "sep/codec.hpp"

namespace headend {
namespace {
// The registration PIN on the ESCI's label: 12345 and its check digit 5 (1+2+3+4+5 = 15, 10 - 5).
constexpr std::uint32_t kEsciPin = 123455;

namespace fs = std::filesystem;
using core::DeviceType;
using core::NewDevice;

const std::vector<std::uint8_t> kEsciKey(16, 0x11);
const std::vector<std::uint8_t> kPevKey(16, 0x22);

using testing::run;

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An EndDevice an ESCI registers for a PEV with a certificate made here.
std::string end_device_xml(const han::DeviceIdentity& identity, const std::string& padding = "") {
    return "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">" + padding +
           "<deviceCategory>00010000</deviceCategory><lFDI>" + identity.lfdi + "</lFDI><sFDI>" +
           std::to_string(identity.sfdi) + "</sFDI><changedTime>0</changedTime></EndDevice>";
}

class DaemonTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::random_device random;
        root_ = new fs::path(fs::temp_directory_path() / ("headend-it-" + std::to_string(random())));
        fs::create_directories(*root_);
        auto manufacturer = pki::make_ca(*root_ / "mfr", "Test Manufacturer CA");
        ASSERT_TRUE(manufacturer) << manufacturer.error().message;
        auto stranger = pki::make_ca(*root_ / "stranger", "Unknown CA");
        ASSERT_TRUE(stranger);
        pev_ = new pki::CertificateFiles(*pki::make_leaf(*manufacturer, *root_ / "mfr", "pev-1"));
        esci_cert_ = new pki::CertificateFiles(*pki::make_leaf(*manufacturer, *root_ / "mfr", "esci-1"));
        guest_pev_ = new pki::CertificateFiles(*pki::make_leaf(*manufacturer, *root_ / "mfr", "pev-2"));
        untrusted_ = new pki::CertificateFiles(*pki::make_leaf(*stranger, *root_ / "stranger", "rogue"));
        manufacturer_ca_ = new fs::path(manufacturer->cert);
    }
    static void TearDownTestSuite() {
        fs::remove_all(*root_);
        delete root_;
        delete pev_;
        delete esci_cert_;
        delete guest_pev_;
        delete untrusted_;
        delete manufacturer_ca_;
    }

    void SetUp() override {
        data_dir_ = *root_ / ("data-" + std::to_string(counter_++));
        core::Config config;
        config.listen_address = "127.0.0.1";
        config.coaps_port = 0;
        config.admin_port = 0;
        config.data_dir = data_dir_;
        config.device_ca = {*manufacturer_ca_};
        config.max_body_bytes = 1024;
        config.max_observers_per_identity = 3;
        configure(config);
        auto started = core::Daemon::start(config);
        ASSERT_TRUE(started) << started.error().message;
        daemon_ = std::move(*started);

        auto esci = daemon_->devices().add_sync(
            NewDevice{DeviceType::Esci, "P1", std::nullopt, std::nullopt, "esci-1", kEsciKey, std::nullopt, kEsciPin});
        ASSERT_TRUE(esci) << esci.error().message;
        esci_id_ = esci->id;
        auto other = daemon_->devices().add_sync(
            NewDevice{DeviceType::Esci, "P2", std::nullopt, std::nullopt, "esci-2", kEsciKey, std::nullopt});
        ASSERT_TRUE(other);
        other_esci_id_ = other->id;
        auto pev = daemon_->devices().add_sync(
            NewDevice{DeviceType::Pev, "P1", pev_->identity.lfdi, std::nullopt, std::nullopt, {}, std::nullopt});
        ASSERT_TRUE(pev);
        pev_id_ = pev->id;

        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec) << codec.error().message;
        codec_ = *codec;
    }

    void TearDown() override { daemon_.reset(); }

    // Changes to the configuration a fixture derived from this one wants.
    virtual void configure(core::Config& /*config*/) {}

    std::string admin_url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(daemon_->admin_port()) + path;
    }
    // GET with the admin token.
    Result<http::ClientResponse> admin_get(const std::string& path) const {
        return http::http_request(admin_url(path), "GET", "", {{"Authorization", "Bearer " + daemon_->admin_token()}});
    }
    nlohmann::json health() const {
        auto answer = admin_get("/api/v1/health");
        EXPECT_TRUE(answer);
        return answer ? nlohmann::json::parse(answer->body) : nlohmann::json();
    }

    std::unique_ptr<han::DeviceClient> connect(const han::ClientCredentials& credentials) {
        auto client = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), credentials);
        EXPECT_TRUE(client) << client.error().message;
        return client ? std::move(*client) : nullptr;
    }
    std::unique_ptr<han::DeviceClient> esci() { return connect(han::ClientCredentials::psk("esci-1", kEsciKey)); }
    han::ClientCredentials pev_credentials(const pki::CertificateFiles& files) const {
        return han::ClientCredentials::certificate(files.cert, files.key, data_dir_ / "tls" / "ca.pem");
    }

    std::size_t device_count() { return daemon_->devices().size(); }

    static fs::path* root_;
    static pki::CertificateFiles* pev_;
    static pki::CertificateFiles* esci_cert_;
    static pki::CertificateFiles* guest_pev_;
    static pki::CertificateFiles* untrusted_;
    static fs::path* manufacturer_ca_;
    static int counter_;

    fs::path data_dir_;
    std::unique_ptr<core::Daemon> daemon_;
    std::shared_ptr<const sep::Codec> codec_;
    std::int64_t esci_id_ = 0;
    std::int64_t other_esci_id_ = 0;
    std::int64_t pev_id_ = 0;
};

fs::path* DaemonTest::root_ = nullptr;
pki::CertificateFiles* DaemonTest::pev_ = nullptr;
pki::CertificateFiles* DaemonTest::esci_cert_ = nullptr;
pki::CertificateFiles* DaemonTest::guest_pev_ = nullptr;
pki::CertificateFiles* DaemonTest::untrusted_ = nullptr;
fs::path* DaemonTest::manufacturer_ca_ = nullptr;
int DaemonTest::counter_ = 0;

TEST_F(DaemonTest, PskClientReadsTimeCloseToTheSystemClock) {
    auto client = esci();
    ASSERT_TRUE(client);
    EXPECT_EQ(client->cipher_suite(), "PSK-AES128-CCM8");
    auto response = client->get("/tm");
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->code, 205);
    EXPECT_EQ(response->content_format, 41);
    auto time = codec_->decode<sep::Time>(response->body);
    ASSERT_TRUE(time) << time.error().message;
    EXPECT_LE(std::abs(time->current_time - now_seconds()), 2);
    EXPECT_EQ(time->tz_offset, -8 * 3600);
    EXPECT_EQ(time->dst_offset, 3600);
}

TEST_F(DaemonTest, PskClientDiscoversItsOwnResources) {
    auto client = esci();
    ASSERT_TRUE(client);
    auto dcap = client->get("/dcap");
    ASSERT_TRUE(dcap);
    ASSERT_EQ(dcap->code, 205);
    auto capability = codec_->decode<sep::DeviceCapability>(dcap->body);
    ASSERT_TRUE(capability) << capability.error().message;
    EXPECT_EQ(capability->time_link->href, "/tm");
    EXPECT_EQ(capability->end_device_list_link->href, "/edev");
    EXPECT_EQ(capability->end_device_list_link->all, 2U);  // itself and the PEV of its premises
    EXPECT_FALSE(capability->tariff_profile_list_link);    // no plugin serves /tp here

    auto list = client->get("/edev?l=10");
    ASSERT_TRUE(list);
    auto devices = codec_->decode<sep::EndDeviceList>(list->body);
    ASSERT_TRUE(devices) << devices.error().message;
    EXPECT_EQ(devices->all, 2U);
    EXPECT_EQ(devices->results, 2U);
    auto paged = codec_->decode<sep::EndDeviceList>(client->get("/edev?s=1&l=1")->body);
    ASSERT_TRUE(paged);
    ASSERT_EQ(paged->results, 1U);
    EXPECT_EQ(paged->end_devices[0].href, "/edev/" + std::to_string(pev_id_));

    const std::string self = "/edev/" + std::to_string(esci_id_);
    auto own = client->get(self);
    ASSERT_TRUE(own);
    ASSERT_EQ(own->code, 205);
    auto end_device = codec_->decode<sep::EndDevice>(own->body);
    ASSERT_TRUE(end_device) << end_device.error().message;
    EXPECT_EQ(end_device->registration_link->href, self + "/reg");
    auto registration = client->get(self + "/reg");
    ASSERT_TRUE(registration);
    ASSERT_EQ(registration->code, 205);
    auto decoded = codec_->decode<sep::Registration>(registration->body);
    ASSERT_TRUE(decoded) << registration->body;
    EXPECT_EQ(decoded->pin, kEsciPin);  // the PIN the operator gave, so the device can check it
    // The registration PIN is the owner's only, even for its ESCI.
    EXPECT_EQ(client->get("/edev/" + std::to_string(pev_id_) + "/reg")->code, 403);
}

// Without plugins the one assignment links only /tm: /tp and /upt are linked when a plugin serves them (the
// interval and binding tests check that with the plugins loaded).
TEST_F(DaemonTest, TheEndDeviceLinksItsFunctionSetAssignments) {
    auto client = connect(pev_credentials(*pev_));
    ASSERT_TRUE(client);
    const std::string self = "/edev/" + std::to_string(pev_id_);
    auto end_device = codec_->decode<sep::EndDevice>(client->get(self)->body);
    ASSERT_TRUE(end_device) << end_device.error().message;
    ASSERT_TRUE(end_device->function_set_assignments_list_link);
    EXPECT_EQ(end_device->function_set_assignments_list_link->href, self + "/fsa");
    EXPECT_EQ(end_device->function_set_assignments_list_link->all, 1U);

    auto answer = client->get(self + "/fsa");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->code, 205);
    auto list = codec_->decode<sep::FunctionSetAssignmentsList>(answer->body);
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(list->href, self + "/fsa");
    EXPECT_EQ(list->all, 1U);
    ASSERT_EQ(list->results, 1U);
    const sep::FunctionSetAssignments& listed = list->function_set_assignments.at(0);
    EXPECT_EQ(listed.href, self + "/fsa/1");
    ASSERT_TRUE(listed.time_link);
    EXPECT_EQ(listed.time_link->href, "/tm");
    EXPECT_FALSE(listed.tariff_profile_list_link);
    EXPECT_FALSE(listed.usage_point_list_link);
    EXPECT_EQ(listed.mrid.size(), 32U);

    auto item = client->get(self + "/fsa/1");
    ASSERT_TRUE(item);
    ASSERT_EQ(item->code, 205);
    auto assignments = codec_->decode<sep::FunctionSetAssignments>(item->body);
    ASSERT_TRUE(assignments) << assignments.error().message;
    EXPECT_EQ(*assignments, listed);

    // Paged like the other lists; the mRID is the device's, the same on every read.
    auto past_the_end = codec_->decode<sep::FunctionSetAssignmentsList>(client->get(self + "/fsa?s=1&l=5")->body);
    ASSERT_TRUE(past_the_end);
    EXPECT_EQ(past_the_end->all, 1U);
    EXPECT_EQ(past_the_end->results, 0U);
    EXPECT_EQ(client->get(self + "/fsa?l=x")->code, 400);
    EXPECT_EQ(codec_->decode<sep::FunctionSetAssignments>(client->get(self + "/fsa/1")->body)->mrid, listed.mrid);

    for (const std::string& path : {self + "/fsa/2", self + "/fsa/0", self + "/fsa/1/x"})
        EXPECT_EQ(client->get(path)->code, 404) << path;

    // Each device its own mRID, and its assignments are its own (DESIGN §5): the ESCI reads its premises PEV's
    // EndDevice, not its assignments.
    auto esci_client = esci();
    ASSERT_TRUE(esci_client);
    auto own = codec_->decode<sep::FunctionSetAssignments>(
        esci_client->get("/edev/" + std::to_string(esci_id_) + "/fsa/1")->body);
    ASSERT_TRUE(own);
    EXPECT_NE(own->mrid, listed.mrid);
    EXPECT_EQ(esci_client->get(self)->code, 205);
    EXPECT_EQ(esci_client->get(self + "/fsa/1")->code, 403);
    EXPECT_EQ(esci_client->get(self + "/fsa")->code, 403);
}

TEST_F(DaemonTest, LargeListsTravelBlockwise) {
    for (int i = 0; i < 12; ++i) {
        ASSERT_TRUE(daemon_->devices().add_sync(NewDevice{DeviceType::Display, "P1", std::nullopt, std::nullopt,
                                                          "display-" + std::to_string(i), kPevKey, std::nullopt}));
    }
    auto client = esci();
    ASSERT_TRUE(client);
    auto list = client->get("/edev?l=50");
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->code, 205);
    EXPECT_GT(list->body.size(), 1024U);
    ASSERT_TRUE(list->block2);  // the last block of a reassembled body
    auto devices = codec_->decode<sep::EndDeviceList>(list->body);
    ASSERT_TRUE(devices) << devices.error().message;
    EXPECT_EQ(devices->results, 14U);
    EXPECT_EQ(devices->all, 14U);
}

TEST_F(DaemonTest, CertificateClientReadsDcapTimeAndItsEndDevice) {
    auto client = connect(pev_credentials(*pev_));
    ASSERT_TRUE(client);
    EXPECT_EQ(client->cipher_suite(), "ECDHE-ECDSA-AES128-CCM8");
    EXPECT_EQ(client->get("/dcap")->code, 205);
    EXPECT_EQ(client->get("/tm")->code, 205);
    auto own = client->get("/edev/" + std::to_string(pev_id_));
    ASSERT_TRUE(own);
    ASSERT_EQ(own->code, 205);
    auto end_device = codec_->decode<sep::EndDevice>(own->body);
    ASSERT_TRUE(end_device);
    EXPECT_EQ(end_device->lfdi, pev_->identity.lfdi);
    EXPECT_EQ(end_device->sfdi, pev_->identity.sfdi);
}

TEST_F(DaemonTest, ADeviceReconnectsWithItsVerifiedCertificateWhileStrangersStayOut) {
    // The second handshake takes the verified-chain cache; the untrusted one in between must not.
    for (int round = 0; round < 2; ++round) {
        auto client = connect(pev_credentials(*pev_));
        ASSERT_TRUE(client);
        EXPECT_EQ(client->get("/edev/" + std::to_string(pev_id_))->code, 205);
        auto stranger = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), pev_credentials(*untrusted_));
        EXPECT_FALSE(stranger);
    }
}

// DESIGN §4: device certificates are ECDSA P-256. One the trusted manufacturer CA signed over an RSA key is refused.
TEST_F(DaemonTest, AnRsaDeviceCertificateFromATrustedCaIsRefused) {
    const fs::path dir = data_dir_ / "rsa-device";
    fs::create_directories(dir);
    const fs::path ca_key = manufacturer_ca_->parent_path() / "ca.key";
    const auto made = run("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=rsa-device -days 30 -CA " +
                          manufacturer_ca_->string() + " -CAkey " + ca_key.string() + " -keyout " +
                          (dir / "device.key").string() + " -out " + (dir / "device.pem").string());
    ASSERT_EQ(made.exit_code, 0) << made.output;
    const auto chains =
        run("openssl verify -CAfile " + manufacturer_ca_->string() + " " + (dir / "device.pem").string());
    ASSERT_EQ(chains.exit_code, 0) << chains.output;  // so only its key type can be the reason
    auto rsa = han::DeviceClient::connect(
        "127.0.0.1", daemon_->coaps_port(),
        han::ClientCredentials::certificate(dir / "device.pem", dir / "device.key", data_dir_ / "tls" / "ca.pem"));
    EXPECT_FALSE(rsa);
}

TEST_F(DaemonTest, TrustedButUnregisteredCertificateSeesOnlyPublicResources) {
    auto client = connect(pev_credentials(*guest_pev_));
    ASSERT_TRUE(client);
    EXPECT_EQ(client->get("/tm")->code, 205);
    EXPECT_EQ(client->get("/dcap")->code, 205);
    auto list = codec_->decode<sep::EndDeviceList>(client->get("/edev")->body);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->all, 0U);
    EXPECT_EQ(client->get("/edev/" + std::to_string(pev_id_))->code, 403);
}

TEST_F(DaemonTest, HandshakeFailsForUnknownPskIdentityWrongKeyUntrustedCertificateAndOtherSuites) {
    auto unknown =
        han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), han::ClientCredentials::psk("nobody", kEsciKey));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, "dtls.handshake");
    auto wrong_key =
        han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), han::ClientCredentials::psk("esci-1", kPevKey));
    EXPECT_FALSE(wrong_key);
    auto untrusted = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), pev_credentials(*untrusted_));
    ASSERT_FALSE(untrusted);
    EXPECT_EQ(untrusted.error().code, "dtls.handshake");
    auto other_suite = pev_credentials(*pev_);
    other_suite.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    auto refused = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), other_suite);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "dtls.handshake");
    auto other_psk_suite = han::ClientCredentials::psk("esci-1", kEsciKey);
    other_psk_suite.cipher_list = "PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256";
    auto refused_psk = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), other_psk_suite);
    ASSERT_FALSE(refused_psk);
    EXPECT_EQ(refused_psk.error().code, "dtls.handshake");
    // The server is unharmed, and later sessions still get exactly the 2030.5 suites.
    auto psk = esci();
    ASSERT_TRUE(psk);
    EXPECT_EQ(psk->cipher_suite(), "PSK-AES128-CCM8");
    EXPECT_EQ(psk->get("/tm")->code, 205);
    auto certificate = connect(pev_credentials(*pev_));
    ASSERT_TRUE(certificate);
    EXPECT_EQ(certificate->cipher_suite(), "ECDHE-ECDSA-AES128-CCM8");
}

TEST_F(DaemonTest, AnotherDevicesEndDeviceIsForbiddenExactlyLikeOneThatDoesNotExist) {
    auto other = connect(han::ClientCredentials::psk("esci-2", kEsciKey));
    ASSERT_TRUE(other);
    auto foreign = other->get("/edev/" + std::to_string(esci_id_));
    auto missing = other->get("/edev/999999");
    ASSERT_TRUE(foreign);
    ASSERT_TRUE(missing);
    EXPECT_EQ(foreign->code, 403);
    EXPECT_EQ(missing->code, foreign->code);
    EXPECT_EQ(missing->body, foreign->body);
    EXPECT_EQ(missing->content_format, foreign->content_format);
    // Its function set assignments, the list and the item, alike.
    for (const std::string& below : {std::string("/fsa"), std::string("/fsa/1"), std::string("/fsa/2")}) {
        auto foreign_below = other->get("/edev/" + std::to_string(esci_id_) + below);
        auto missing_below = other->get("/edev/999999" + below);
        ASSERT_TRUE(foreign_below && missing_below);
        EXPECT_EQ(foreign_below->code, foreign->code) << below;
        EXPECT_EQ(foreign_below->body, foreign->body) << below;
        EXPECT_EQ(foreign_below->content_format, foreign->content_format) << below;
        EXPECT_EQ(missing_below->code, foreign->code) << below;
        EXPECT_EQ(missing_below->body, foreign->body) << below;
        EXPECT_EQ(missing_below->content_format, foreign->content_format) << below;
    }
    auto foreign_write = other->put("/edev/" + std::to_string(esci_id_) + "/di", "<x/>");
    auto missing_write = other->put("/edev/999999/di", "<x/>");
    EXPECT_EQ(foreign_write->code, 403);
    EXPECT_EQ(missing_write->code, 403);
    EXPECT_EQ(foreign_write->body, missing_write->body);
}

TEST_F(DaemonTest, EsciRegistersAHanDeviceOfItsPremises) {
    auto client = esci();
    ASSERT_TRUE(client);
    auto created = client->post("/edev", end_device_xml(guest_pev_->identity));
    ASSERT_TRUE(created) << created.error().message;
    ASSERT_EQ(created->code, 201);
    auto device = daemon_->devices().find_lfdi(guest_pev_->identity.lfdi);
    ASSERT_TRUE(device);
    EXPECT_EQ(created->location_path, "/edev/" + std::to_string(device->id));
    EXPECT_EQ(device->premises_id, "P1");
    EXPECT_EQ(device->type, DeviceType::Pev);
    EXPECT_EQ(device->registered_by, esci_id_);
    // A PEV may not register devices.
    auto pev = connect(pev_credentials(*pev_));
    EXPECT_EQ(pev->post("/edev", end_device_xml(esci_cert_->identity))->code, 403);
    EXPECT_FALSE(daemon_->devices().find_lfdi(esci_cert_->identity.lfdi));
}

TEST_F(DaemonTest, TheSameConfirmablePostThreeTimesHasOneEffectAndOneAnswer) {
    auto client = esci();
    ASSERT_TRUE(client);
    const std::size_t before = device_count();
    auto responses = client->send_repeated(han::Method::post, "/edev", end_device_xml(guest_pev_->identity), 0x4242, 3);
    ASSERT_TRUE(responses) << responses.error().message;
    ASSERT_EQ(responses->size(), 3U);
    for (const auto& response : *responses) {
        EXPECT_EQ(response.code, (*responses)[0].code);
        EXPECT_EQ(response.location_path, (*responses)[0].location_path);
    }
    EXPECT_EQ((*responses)[0].code, 201);
    EXPECT_EQ(device_count(), before + 1);
}

TEST_F(DaemonTest, Block1UploadWithoutSize1IsReassembledWhole) {
    auto client = esci();
    ASSERT_TRUE(client);
    // Whitespace between elements makes the document span several 64-byte blocks.
    const std::string body = end_device_xml(guest_pev_->identity, std::string(300, ' '));
    auto created = client->post_blockwise("/edev", body, 64, false);
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_EQ(created->code, 201);
    EXPECT_TRUE(daemon_->devices().find_lfdi(guest_pev_->identity.lfdi));
}

TEST_F(DaemonTest, BodyOverTheCapIsRefusedWith413AndStoresNothing) {
    auto client = esci();
    ASSERT_TRUE(client);
    const std::size_t before = device_count();
    const std::string body = end_device_xml(guest_pev_->identity, std::string(2000, ' '));
    auto without_size1 = client->post_blockwise("/edev", body, 256, false);
    ASSERT_TRUE(without_size1);
    EXPECT_EQ(without_size1->code, 413);
    auto with_size1 = client->post_blockwise("/edev", body, 256, true);
    ASSERT_TRUE(with_size1);
    EXPECT_EQ(with_size1->code, 413);
    EXPECT_EQ(device_count(), before);
}

struct BadDocument {
    const char* name;
    std::string body;
};

TEST_F(DaemonTest, BadXmlIsRefusedWith400AndStoresNothing) {
    auto client = esci();
    ASSERT_TRUE(client);
    const std::string lfdi = guest_pev_->identity.lfdi;
    const std::string sfdi = std::to_string(guest_pev_->identity.sfdi);
    const std::vector<BadDocument> documents = {
        {"billion laughs",
         "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
         "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 "
         "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
         "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>&lol3;</sFDI><changedTime>0</changedTime></EndDevice>"},
        {"XXE file://",
         "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
         "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>&x;</lFDI><sFDI>" +
             sfdi + "</sFDI><changedTime>0</changedTime></EndDevice>"},
        {"malformed", "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>1</lFDI></EndDevice>"},
        {"truncated", end_device_xml(guest_pev_->identity).substr(0, 60)},
        {"schema-invalid (sFDI with letters)", "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>" + lfdi +
                                                   "</lFDI><sFDI>12ab</sFDI><changedTime>0</changedTime></EndDevice>"},
        {"schema-invalid (order)", "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><sFDI>" + sfdi + "</sFDI><lFDI>" +
                                       lfdi + "</lFDI><changedTime>0</changedTime></EndDevice>"},
        {"wrong check digit",
         "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>" + lfdi + "</lFDI><sFDI>" +
             std::to_string(guest_pev_->identity.sfdi / 10 * 10 + (guest_pev_->identity.sfdi + 1) % 10) +
             "</sFDI><changedTime>0</changedTime></EndDevice>"},
        {"LFDI and SFDI disagree", "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>" + pev_->identity.lfdi +
                                       "</lFDI><sFDI>" + sfdi + "</sFDI><changedTime>0</changedTime></EndDevice>"},
    };
    const std::size_t before = device_count();
    for (const auto& document : documents) {
        const auto start = std::chrono::steady_clock::now();
        auto response = client->post("/edev", document.body);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        ASSERT_TRUE(response) << document.name << ": " << response.error().message;
        EXPECT_EQ(response->code, 400) << document.name;
        RecordProperty(std::string(document.name) + " round trip us",
                       std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
    }
    EXPECT_EQ(device_count(), before);
    EXPECT_FALSE(daemon_->devices().find_lfdi(lfdi));
    // No document ever made libxml2 reach for a file or the network.
    EXPECT_EQ(sep::Codec::refused_external_loads(), 0U);
}

TEST_F(DaemonTest, WrongContentFormatAndBadListQueriesAreRefused) {
    auto client = esci();
    ASSERT_TRUE(client);
    const std::size_t before = device_count();
    han::ClientRequest json_body;
    json_body.method = han::Method::post;
    json_body.path = "/edev";
    json_body.body = R"({"sFDI": 1})";
    json_body.content_format = 50;  // application/json
    auto refused = client->request(json_body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, 415);
    EXPECT_EQ(client->get("/edev?l=ten")->code, 400);
    EXPECT_EQ(client->get("/edev?s=-1")->code, 400);
    EXPECT_EQ(device_count(), before);
}

TEST_F(DaemonTest, ObservationsOfEndDeviceAndTimeAreAccepted) {
    auto client = esci();
    ASSERT_TRUE(client);
    auto time = client->observe("/tm", [](const han::ClientResponse&) {});
    ASSERT_TRUE(time) << time.error().message;
    EXPECT_NE(time->id, 0U);
    EXPECT_EQ(time->response.code, 205);
    std::vector<int> codes;
    auto device = client->observe("/edev/" + std::to_string(pev_id_),
                                  [&](const han::ClientResponse& notification) { codes.push_back(notification.code); });
    ASSERT_TRUE(device);
    EXPECT_NE(device->id, 0U);
    const auto observations = [this] {
        auto health = http::http_request("http://127.0.0.1:" + std::to_string(daemon_->admin_port()) + "/api/v1/health",
                                         "GET", "", {{"Authorization", "Bearer " + daemon_->admin_token()}});
        return health ? nlohmann::json::parse(health->body)["coaps"]["observations"].get<int>() : -1;
    };
    EXPECT_EQ(observations(), 2);
    // Removing the device is a change its observers hear about: the answer a GET now gets (4.03, as for any path
    // the caller may not see), which ends the observation.
    ASSERT_TRUE(daemon_->devices().remove(pev_id_));
    for (int i = 0; i < 30 && codes.empty(); ++i)
        client->poll(std::chrono::milliseconds(100));
    EXPECT_EQ(codes, std::vector<int>{403});
    EXPECT_EQ(observations(), 1);  // /tm's
}

TEST_F(DaemonTest, ObservationsPerIdentityAreCapped) {
    auto client = esci();
    ASSERT_TRUE(client);
    const auto ignore = [](const han::ClientResponse&) {};
    const std::vector<std::string> paths = {"/tm", "/edev/" + std::to_string(esci_id_),
                                            "/edev/" + std::to_string(pev_id_)};
    for (const auto& path : paths) {
        auto observation = client->observe(path, ignore);
        ASSERT_TRUE(observation) << observation.error().message;
        EXPECT_NE(observation->id, 0U) << path;
    }
    // Over the cap a GET is served without registering (RFC 7641 §4.1); a query names another resource.
    auto over = client->observe("/tm?a=1", ignore);
    ASSERT_TRUE(over);
    EXPECT_EQ(over->response.code, 205);
    EXPECT_FALSE(over->response.observe.has_value());
    EXPECT_EQ(over->id, 0U);
    // The same resource again from the same identity replaces its registration instead of taking another slot.
    auto again = client->observe("/tm", ignore);
    ASSERT_TRUE(again);
    EXPECT_NE(again->id, 0U);
    // Another identity has its own allowance.
    auto pev = connect(pev_credentials(*pev_));
    auto other = pev->observe("/tm", ignore);
    ASSERT_TRUE(other);
    EXPECT_NE(other->id, 0U);
}

TEST_F(DaemonTest, RemovingADeviceClosesItsOpenSessions) {
    han::ClientOptions impatient;
    impatient.request_timeout = std::chrono::milliseconds(1500);
    auto psk_device = han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(),
                                                 han::ClientCredentials::psk("esci-1", kEsciKey), impatient);
    auto certificate_device =
        han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), pev_credentials(*pev_), impatient);
    ASSERT_TRUE(psk_device && certificate_device);
    ASSERT_EQ((*psk_device)->get("/tm")->code, 205);
    ASSERT_EQ((*certificate_device)->get("/tm")->code, 205);
    ASSERT_TRUE(daemon_->devices().remove(esci_id_));
    ASSERT_TRUE(daemon_->devices().remove(pev_id_));
    // The sessions are gone: what the devices send on them is answered no more, public resources included.
    for (auto* device : {psk_device->get(), certificate_device->get()}) {
        for (const char* path : {"/tm", "/dcap", "/tp"}) {
            auto answer = device->get(path);
            EXPECT_FALSE(answer && answer->code / 100 == 2) << path;
        }
    }
}

TEST_F(DaemonTest, DebianCoapClientReadsTimeOverPsk) {
    // coap-client-openssl 4.3.1 takes the key as text, so this device gets a printable one.
    const std::string key = "demo-key-0123456789";
    ASSERT_TRUE(
        daemon_->devices().add_sync(NewDevice{DeviceType::Display, "P1", std::nullopt, std::nullopt, "display-1",
                                              std::vector<std::uint8_t>(key.begin(), key.end()), std::nullopt}));
    const auto result = run("coap-client-openssl -B 5 -m get -u display-1 -k " + key +
                            " coaps://127.0.0.1:" + std::to_string(daemon_->coaps_port()) + "/tm");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    const auto start = result.output.find("<Time");
    ASSERT_NE(start, std::string::npos) << result.output;
    auto time = codec_->decode<sep::Time>(result.output.substr(start, result.output.find("</Time>") + 7 - start));
    ASSERT_TRUE(time) << time.error().message;
    EXPECT_LE(std::abs(time->current_time - now_seconds()), 2);
}

TEST_F(DaemonTest, AdminTokenIsPrivateAndGuardsTheApi) {
    struct stat info {};
    ASSERT_EQ(::stat((data_dir_ / "admin.token").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600U);
    const std::string base = "http://127.0.0.1:" + std::to_string(daemon_->admin_port());
    auto refused = http::http_request(base + "/api/v1/devices");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401);
    auto listed = http::http_request(base + "/api/v1/devices", "GET", "",
                                     {{"Authorization", "Bearer " + daemon_->admin_token()}});
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->status, 200);
    EXPECT_NE(listed->body.find("esci-1"), std::string::npos);
}

// The value of an unlabelled sample ("name value") in a scrape, or -1.
double sample(const std::string& scrape, const std::string& name) {
    const std::string start = name + " ";
    for (std::size_t at = 0; at < scrape.size();) {
        const std::size_t end = std::min(scrape.find('\n', at), scrape.size());
        if (scrape.compare(at, start.size(), start) == 0)
            return std::stod(scrape.substr(at + start.size(), end - at - start.size()));
        at = end + 1;
    }
    return -1;
}

// promtool (Debian package prometheus) parses and lints a scrape: its exit code and what it said.
testing::Command promtool_check(const fs::path& dir, const std::string& scrape) {
    const fs::path file = dir / "scrape.txt";
    std::ofstream(file) << scrape;
    return run("promtool check metrics < " + file.string());
}

// Issue 8: /metrics in the Prometheus text format on the admin listener, behind the admin token.
TEST_F(DaemonTest, MetricsAreServedInThePrometheusTextFormatWithTheToken) {
    auto refused = http::http_request(admin_url("/metrics"));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401);
    auto wrong = http::http_request(admin_url("/metrics"), "GET", "", {{"Authorization", "Bearer not-the-token"}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);

    // A device session with two requests.
    auto client = esci();
    ASSERT_TRUE(client);
    for (const char* path : {"/tm", "/dcap"}) {
        auto answer = client->get(path);
        ASSERT_TRUE(answer) << answer.error().message;
        EXPECT_EQ(answer->code, 205);
    }
    // A device whose certificate does not chain to a trusted CA, refused during its handshake.
    EXPECT_FALSE(han::DeviceClient::connect("127.0.0.1", daemon_->coaps_port(), pev_credentials(*untrusted_)));
    // Under load the client may give up before the server has read its certificate: scrape once the refusal is in.
    auto scraped = admin_get("/metrics");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (scraped && scraped->status == 200 && std::chrono::steady_clock::now() < deadline &&
           (sample(scraped->body, "headend_coaps_handshake_refusals_total{reason=\"certificate_refused\"}") != 1 ||
            sample(scraped->body, "headend_coaps_handshakes_in_progress") != 0)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        scraped = admin_get("/metrics");
    }
    ASSERT_TRUE(scraped);
    ASSERT_EQ(scraped->status, 200) << scraped->body;
    EXPECT_EQ(scraped->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = scraped->body;
    EXPECT_EQ(sample(text, "headend_devices"), 3) << text;
    EXPECT_GE(sample(text, "headend_coaps_sessions"), 1) << text;
    EXPECT_GE(sample(text, "headend_coaps_requests_total"), 2) << text;
    EXPECT_GE(sample(text, "headend_coaps_handshake_failures_total"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_observations"), 0) << text;
    EXPECT_GE(sample(text, "headend_coaps_separate_responses_total"), 0) << text;
    EXPECT_GE(sample(text, "headend_coaps_retransmissions_answered_from_cache_total"), 0) << text;
    EXPECT_GE(sample(text, "headend_coaps_exchanges_remembered"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_answers_total{code=\"2.05\",method=\"GET\"}"), 2) << text;
    EXPECT_EQ(sample(text, "headend_coaps_sessions_by_kind{kind=\"psk\"}"), 1) << text;
    EXPECT_EQ(sample(text, "headend_coaps_sessions_by_kind{kind=\"certificate\"}"), 0) << text;
    EXPECT_GE(sample(text, "headend_coaps_handshakes_completed_total"), 1) << text;
    EXPECT_EQ(sample(text, "headend_coaps_handshake_refusals_total{reason=\"certificate_refused\"}"), 1) << text;
    EXPECT_EQ(sample(text, "headend_coaps_handshake_refusals_total{reason=\"unknown_psk_identity\"}"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_block1_transfers"), 0) << text;
    // Every handshake starts with the cookie exchange; none is left half-way, and no address came back.
    EXPECT_GE(sample(text, "headend_coaps_hello_verify_requests_total"), 2) << text;
    EXPECT_EQ(sample(text, "headend_coaps_handshakes_in_progress"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_handshakes_refused_busy_total"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_sessions_replaced_total"), 0) << text;
    EXPECT_EQ(sample(text, "headend_coaps_receive_buffer_drops_total"), 0) << text;
    EXPECT_GT(sample(text, "headend_coaps_receive_buffer_bytes"), 0) << text;
    EXPECT_EQ(sample(text, "headend_storage_write_queue_depth"), 0) << text;
    // The devices added in SetUp and the migrations committed through the writer, each timed.
    EXPECT_GE(sample(text, "headend_storage_commit_duration_seconds_count"), 3) << text;
    EXPECT_EQ(sample(text, "headend_storage_commit_duration_seconds_count"),
              sample(text, "headend_storage_commits_total"))
        << text;
    EXPECT_NE(text.find("headend_storage_commit_duration_seconds_bucket{le=\"+Inf\"} "), std::string::npos);
    EXPECT_GE(sample(text, "headend_storage_wal_bytes"), 0) << text;
    EXPECT_GE(sample(text, "headend_storage_wal_checkpoint_lag_frames"), 0) << text;
    EXPECT_NE(text.find("# TYPE headend_coaps_requests_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("# HELP headend_storage_commit_duration_seconds "), std::string::npos);

    const auto checked = promtool_check(data_dir_, text);
    EXPECT_EQ(checked.exit_code, 0) << checked.output << "\n" << text;
}

// Issue 8, part 4: a long reader (an operator's sqlite3 shell) lets the WAL grow; health shows its size and the
// checkpoint lag, a warning is logged past storage.wal_warn_bytes, and once the reader lets go the WAL is
// checkpointed and truncated back under storage.journal_size_limit_bytes without any further write.
class DaemonWalTest : public DaemonTest {
protected:
    static constexpr std::int64_t kLimit = 128 * 1024;

    void SetUp() override {
        spdlog::default_logger()->sinks().push_back(log_);
        DaemonTest::SetUp();
    }
    void TearDown() override {
        DaemonTest::TearDown();
        auto& sinks = spdlog::default_logger()->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
    }
    void configure(core::Config& config) override {
        config.journal_size_limit_bytes = kLimit;
        config.wal_warn_bytes = 2 * kLimit;
    }
    bool logged(const std::string& id) const {
        for (const auto& line : log_->last_formatted())
            if (line.find(id) != std::string::npos)
                return true;
        return false;
    }
    std::uint64_t wal_file_bytes() const {
        std::error_code ec;
        const auto size = fs::file_size(data_dir_ / "headend.db-wal", ec);
        return ec ? 0 : size;
    }

    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
};

TEST_F(DaemonWalTest, ALongReaderGrowsTheWalHealthShowsItAndItShrinksOnceTheReaderLetsGo) {
    sqlite3* reader = nullptr;
    ASSERT_EQ(sqlite3_open_v2((data_dir_ / "headend.db").c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM devices;", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(reader);

    for (int i = 0; i < 300; ++i) {
        auto added = daemon_->devices().add_sync(NewDevice{DeviceType::Esci, "P9", std::nullopt, std::nullopt,
                                                           "bulk-" + std::to_string(i), kEsciKey, std::nullopt});
        ASSERT_TRUE(added) << added.error().message;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past a checkpoint interval: nothing can shrink

    const auto held = health();
    const auto& database = held["database"];
    EXPECT_GT(database["wal_bytes"].get<std::uint64_t>(), static_cast<std::uint64_t>(2 * kLimit)) << held.dump();
    EXPECT_EQ(database["wal_warn_bytes"], 2 * kLimit);
    EXPECT_GT(database["checkpoint_lag_frames"].get<std::uint64_t>(), 300U) << held.dump();
    EXPECT_GE(database["checkpoint_lag_s"].get<double>(), 1.0) << held.dump();
    EXPECT_GT(wal_file_bytes(), static_cast<std::uint64_t>(2 * kLimit));
    EXPECT_TRUE(logged("[STORAGE_WAL_LARGE]"));
    auto scraped = admin_get("/metrics");
    ASSERT_TRUE(scraped);
    EXPECT_GT(sample(scraped->body, "headend_storage_wal_bytes"), 2 * kLimit) << scraped->body;
    EXPECT_GT(sample(scraped->body, "headend_storage_wal_checkpoint_lag_frames"), 300) << scraped->body;

    ASSERT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    // No write from here on: the writer's periodic checkpoint catches up and truncates.
    nlohmann::json after;
    for (int i = 0; i < 100; ++i) {
        after = health();
        if (after["database"]["wal_bytes"].get<std::uint64_t>() <= static_cast<std::uint64_t>(kLimit) &&
            after["database"]["checkpoint_lag_frames"] == 0)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_LE(after["database"]["wal_bytes"].get<std::uint64_t>(), static_cast<std::uint64_t>(kLimit)) << after.dump();
    EXPECT_EQ(after["database"]["checkpoint_lag_frames"], 0) << after.dump();
    EXPECT_EQ(after["database"]["checkpoint_lag_s"], 0.0) << after.dump();
    EXPECT_LE(wal_file_bytes(), static_cast<std::uint64_t>(kLimit));
    // Still open (not the last connection going away) when the WAL shrank.
    sqlite3_close(reader);
    EXPECT_EQ(device_count(), 303U);
}

// Admin request bodies (CIS and AMI files, a few MiB for a day of a territory's meters) are read whole up to
// limits.admin_max_body_bytes (64 MiB by default); beyond it the request is refused with 413 and nothing changes.
std::string padded_registration(const std::string& identity, std::size_t size) {
    std::string body = R"({"type":"esci","premises_id":"P1","psk_identity":")" + identity +
                       R"(","psk_key":"00112233445566778899aabbccddeeff"})";
    body.resize(std::max(size, body.size()), ' ');  // whitespace after the object: the same JSON at any size
    return body;
}

TEST_F(DaemonTest, AnAdminBodyOfSeveralMebibytesIsReadWhole) {
    const std::size_t before = device_count();
    auto added =
        http::http_request(admin_url("/api/v1/devices"), "POST", padded_registration("esci-large", 3 * 1024 * 1024),
                           {{"Authorization", "Bearer " + daemon_->admin_token()}});
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->status, 201) << added->body;
    EXPECT_EQ(device_count(), before + 1);
}

class DaemonAdminBodyTest : public DaemonTest {
protected:
    void configure(core::Config& config) override { config.admin_max_body_bytes = 2048; }
};

TEST_F(DaemonAdminBodyTest, AnAdminBodyOverTheCapIsRefusedWith413AndChangesNothing) {
    const std::size_t before = device_count();
    auto refused = http::http_request(admin_url("/api/v1/devices"), "POST", padded_registration("esci-big", 4096),
                                      {{"Authorization", "Bearer " + daemon_->admin_token()}});
    ASSERT_TRUE(refused) << refused.error().message;
    EXPECT_EQ(refused->status, 413) << refused->body;
    EXPECT_NE(refused->body.find("exceeds 2048 bytes"), std::string::npos) << refused->body;
    EXPECT_EQ(device_count(), before);
    auto accepted = http::http_request(admin_url("/api/v1/devices"), "POST", padded_registration("esci-small", 1024),
                                       {{"Authorization", "Bearer " + daemon_->admin_token()}});
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->status, 201) << accepted->body;
    EXPECT_EQ(device_count(), before + 1);
}

}  // namespace
}  // namespace headend
