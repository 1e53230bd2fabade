// Conformance: the seed use case's scenario 1 (enrollment and first binding, steps 1-16) and scenario 2 (re-binding,
// steps 1-7), driven by the HAN device emulators against the real daemon over DTLS. One test per seed step, each
// running the scenario up to its step and asserting that step's observable result (stored state, audit entry,
// response); then the faults the emulators can inject.
#include <gtest/gtest.h>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "emulator/devices.hpp"
#include "headend/core/device_registry.hpp"
#include "headend/testing/fakes.hpp"
#include "headend/testing/python_server.hpp"
#include "support/program_daemon.hpp"
#include "tariff/calendar.hpp"

namespace headend {
namespace {

using nlohmann::json;
using testing::ProgramDaemon;

bool contains(const std::vector<std::string>& steps, const std::string& step) {
    return std::find(steps.begin(), steps.end(), step) != steps.end();
}

class Conformance : public ::testing::Test {
protected:
    // The binding timeout is far beyond any step, so no step races the fallback; the test of the fallback sets its own.
    void SetUp() override { start({.binding_timeout_s = 120, .clock = {}, .roaming_vins = {}}); }

    void start(testing::ProgramDaemonOptions options) {
        options.clock = clock_;
        headend_ = std::make_unique<ProgramDaemon>(std::move(options));
        ASSERT_TRUE(headend_->ok());
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        endpoint_.port = headend_->coaps_port();
        endpoint_.server_ca = headend_->server_ca();
        endpoint_.codec = *codec;
        endpoint_.client.request_timeout = std::chrono::milliseconds(3000);
        endpoint_.client.connect_timeout = std::chrono::milliseconds(1500);  // a refused PSK fails silently
        esci_ = std::make_unique<emulator::Esci>("esci-1", endpoint_, psk("esci-1"), log_);
        eumd_ = std::make_unique<emulator::Eumd>("eumd-1", endpoint_, psk("eumd-1"), log_);
        pev_ = make_pev("pev-jane", headend_->pev_certificate("pev-jane", testing::kGuestVin));
    }

    static han::PskCredentials psk(const std::string& identity) { return {identity, testing::kDeviceKey}; }
    std::unique_ptr<emulator::Pev> make_pev(const std::string& name, const pki::CertificateFiles& files,
                                            emulator::Pev::Options options = {},
                                            emulator::LocalClock clock = emulator::system_clock()) {
        options.cert = files.cert;
        options.key = files.key;
        options.wait = std::chrono::milliseconds(1500);
        options.poll_every = std::chrono::milliseconds(50);
        return std::make_unique<emulator::Pev>(name, endpoint_, options, log_, std::move(clock));
    }

    // Scenario 1 up to and including `step` (steps 1-4 are the enrollment the fixture made).
    void scenario1(int step) {
        if (step >= 5) {
            ASSERT_TRUE(pev_->plug_in());
        }
        if (step >= 7) {
            auto found = pev_->discover();
            ASSERT_TRUE(found);
            EXPECT_FALSE(*found);  // no EndDevice before the ESCI's request
        }
        if (step >= 8) {
            ASSERT_TRUE(esci_->connect());
        }
        if (step >= 9) {
            auto answer = esci_->request_binding(pev_->identity());
            ASSERT_TRUE(answer);
            request_ = *answer;
        }
        if (step >= 11) {
            ASSERT_TRUE(pev_->find_end_device());
        }
        if (step >= 12) {
            ASSERT_TRUE(pev_->read_binding());
            ASSERT_TRUE(pev_->observe_binding());
        }
        if (step >= 13) {
            auto acknowledged = pev_->acknowledge();
            ASSERT_TRUE(acknowledged);
            ASSERT_EQ(*acknowledged, 201);
        }
        if (step >= 14) {
            ASSERT_TRUE(eumd_->connect());
            auto configuration = eumd_->observe_configuration();
            ASSERT_TRUE(configuration);
            configuration_ = *configuration;
        }
        if (step >= 16) {
            auto acknowledged = eumd_->acknowledge();
            ASSERT_TRUE(acknowledged);
            ASSERT_EQ(*acknowledged, 201);
        }
    }
    // Scenario 2 after a complete scenario 1 and an unplug (of which the EUMD is told).
    void scenario2(int step) {
        ASSERT_NO_FATAL_FAILURE(scenario1(16));
        ASSERT_TRUE(pev_->unplug());
        ASSERT_TRUE(eumd_->await_configuration(status_is(sep::BindingStatus::kEnded), kNotificationWait));
        if (step >= 1) {
            ASSERT_TRUE(pev_->replug());
        }
        if (step >= 4) {
            auto answer = esci_->request_binding(pev_->identity());
            ASSERT_TRUE(answer);
            request_ = *answer;
        }
        if (step >= 6) {
            const std::size_t exchanges = eumd_->exchanges();
            auto configuration = eumd_->await_configuration(status_is(sep::BindingStatus::kActive), kNotificationWait);
            ASSERT_TRUE(configuration);
            configuration_ = *configuration;
            eumd_requests_while_told_ = eumd_->exchanges() - exchanges;
        }
        if (step >= 7) {
            auto acknowledged = eumd_->acknowledge();
            ASSERT_TRUE(acknowledged);
            ASSERT_TRUE(*acknowledged == 0 || *acknowledged == 201) << *acknowledged;  // 0: known, nothing sent
        }
    }

    static constexpr std::chrono::milliseconds kNotificationWait{2000};
    static std::function<bool(const sep::PEVBinding&)> status_is(sep::BindingStatus status) {
        return [status](const sep::PEVBinding& binding) { return binding.status == status; };
    }
    // The head-end's live DTLS sessions, as the operator lists them.
    json han_sessions(const std::string& query = "") {
        return headend_->admin("GET", "/api/v1/han/sessions" + query).second["sessions"];
    }
    std::int64_t pev_device_id() {
        const auto pevs = headend_->admin("GET", "/api/v1/devices?type=pev").second;
        for (const auto& device : pevs["devices"]) {
            if (device["lfdi"] == pev_->identity().lfdi)
                return device["id"];
        }
        return 0;
    }

    json latest_binding() {
        const auto list = headend_->bindings();
        return list.empty() ? json() : list[0];
    }
    std::vector<std::string> audit() { return headend_->audit_steps(testing::kGuestVin); }

    std::shared_ptr<testing::ShiftedClock> clock_ = std::make_shared<testing::ShiftedClock>();  // the head-end's
    std::unique_ptr<ProgramDaemon> headend_;
    emulator::Endpoint endpoint_;
    emulator::StepLog log_;
    std::unique_ptr<emulator::Esci> esci_;
    std::unique_ptr<emulator::Eumd> eumd_;
    std::unique_ptr<emulator::Pev> pev_;
    emulator::Esci::BindingAnswer request_;
    sep::PEVBinding configuration_;
    std::size_t eumd_requests_while_told_ = 0;
};

class Scenario1 : public Conformance {};
class Scenario2 : public Conformance {};
class Faults : public Conformance {};
class RebindCredential : public Conformance {
protected:
    // After scenario 1 and an unplug, the head-end's clock moves to `before_expiry` seconds before the re-bind
    // credential's expiry, and the PEV plugs in again.
    void replug_before_expiry(std::int64_t before_expiry) {
        ASSERT_NO_FATAL_FAILURE(scenario1(16));
        ASSERT_TRUE(pev_->unplug());
        ASSERT_TRUE(pev_->binding()->expiry);
        issued_ = *pev_->binding()->rebind_psk_identity;
        clock_->advance(std::chrono::seconds(*pev_->binding()->expiry - before_expiry - clock_->now()));
        ASSERT_TRUE(pev_->replug());
    }
    std::string issued_;
};

class Scenario3 : public Conformance {
protected:
    // After a complete scenario 1: a level 2 charge of `energy_wh` from the quarter hour of the binding, as the EUMD
    // measured it (tapering near full); the head-end's clock then moves on `hours` so all of it is in the past.
    void charge(std::int64_t energy_wh, int hours = 3) {
        ASSERT_NO_FATAL_FAILURE(scenario1(16));
        const std::int64_t bound_at = clock_->now();
        session_start_ = bound_at - bound_at % kQuarter;
        session_ = emulator::charging_profile(kQuarter, 7.2, energy_wh);
        ASSERT_LE(static_cast<std::int64_t>(session_.size() * kQuarter), hours * 3600);
        clock_->advance(std::chrono::hours(hours));
    }
    // The session charged and sent, then the head-end's clock moved into the next local month and its bills run.
    void charge_and_bill(std::int64_t energy_wh) {
        ASSERT_NO_FATAL_FAILURE(charge(energy_wh));
        auto posted = eumd_->post_session(session_start_, session_);
        ASSERT_TRUE(posted);
        ASSERT_EQ(*posted, 201);
        ASSERT_NO_FATAL_FAILURE(bill_month());
    }
    static std::string ocpi_time(std::int64_t utc) {
        return date::format("%FT%TZ", date::sys_seconds(std::chrono::seconds(utc)));
    }
    // The head-end's clock moved into the local month after the session's, and that month's bills run.
    void bill_month() {
        const auto zone = date::locate_zone("America/Los_Angeles");
        const auto local_start = zone->to_local(date::sys_seconds(std::chrono::seconds(session_start_)));
        const auto ymd = date::year_month_day(date::floor<date::days>(local_start));
        month_ = fmt::format("{:04}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
        const auto next_month = date::local_days((ymd.year() / ymd.month() + date::months(1)) / 1);
        const std::int64_t next = date::make_zoned(zone, next_month).get_sys_time().time_since_epoch().count();
        clock_->advance(std::chrono::seconds(next - clock_->now() + 3600));
        const auto [status, summary] = headend_->admin("POST", "/api/v1/bills/run", json{{"month", month_}}.dump());
        ASSERT_EQ(status, 200) << summary.dump();
        run_ = summary;
    }
    // The account's bill for the session's month: summary, document and postings.
    json bill_of(const std::string& account) {
        const auto listed = headend_->admin("GET", "/api/v1/bills?account=" + account + "&month=" + month_).second;
        if (listed["bills"].size() != 1)
            return json();
        return headend_->admin("GET", "/api/v1/bills/" + listed["bills"][0]["bill_id"].dump()).second;
    }
    static json posting(const json& bill, const std::string& source) {
        for (const auto& one : bill["postings"])
            if (one["source"] == source)
                return one;
        return json();
    }

    // The clearinghouse (the clearinghouse tool serving its CDRs endpoint) and a real SMTP server, and the head-end
    // restarted with them: bills mailed, CDRs pushed, the OCPI listener open to the hub's peer, the outbox looked at
    // every second, a visiting session's CDR made ten minutes after it ended.
    void start_settlement(std::vector<std::string> roaming_vins = {}) {
        std::ofstream(dir_.path() / "hub.token") << "hub-token-0123456789\n";
        std::ofstream(dir_.path() / "peer.token") << "peer-token-0123456789\n";
        std::ofstream(dir_.path() / "peers.csv") << "country_code,party_id,token\nUS,OTH,peer-token-0123456789\n";
        hub_ = std::make_unique<testing::BackgroundServer>(
            CLEARINGHOUSE_BIN,
            "serve --token-file " + (dir_.path() / "hub.token").string() + " --inbox " + hub_inbox().string(),
            hub_dir_.path());
        ASSERT_NE(hub_->port(), 0) << "the clearinghouse did not start";
        smtp_ = std::make_unique<testing::PythonServer>(SMTP_SINK, "--maildir " + maildir().string(), smtp_dir_.path());
        ASSERT_NE(smtp_->port(), 0) << "the SMTP server did not start";
        start(
            {.binding_timeout_s = 120,
             .clock = {},
             .roaming_vins = std::move(roaming_vins),
             .billing = {{"smtp_url", "smtp://127.0.0.1:" + std::to_string(smtp_->port())},
                         {"smtp_from", std::string("billing@utility.test")},
                         {"delivery_poll_s", std::int64_t{1}},
                         {"ocpi_hub_cdrs_url", "http://127.0.0.1:" + std::to_string(hub_->port()) + "/ocpi/2.2.1/cdrs"},
                         {"ocpi_hub_token_file", (dir_.path() / "hub.token").string()},
                         {"ocpi_settle_s", std::int64_t{600}},
                         {"ocpi_location_city", std::string("Springfield")},
                         {"ocpi_listen_address", std::string("127.0.0.1")},
                         {"ocpi_listen_port", std::int64_t{0}},
                         {"ocpi_peers_file", (dir_.path() / "peers.csv").string()}}});
    }
    std::filesystem::path hub_inbox() const { return dir_.path() / "hub-inbox"; }
    std::filesystem::path maildir() const { return dir_.path() / "maildir"; }
    // The files in `folder` ending in `extension` (any when empty), waiting up to 10 s for at least `count`.
    static std::vector<std::filesystem::path> await_files(const std::filesystem::path& folder,
                                                          const std::string& extension, std::size_t count) {
        std::vector<std::filesystem::path> found;
        for (int i = 0; i < 100; ++i) {
            found.clear();
            if (std::filesystem::exists(folder))
                for (const auto& entry : std::filesystem::directory_iterator(folder))
                    if (extension.empty() || entry.path().extension() == extension)
                        found.push_back(entry.path());
            if (found.size() >= count)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        std::sort(found.begin(), found.end());
        return found;
    }
    static std::string read_all(const std::filesystem::path& file) {
        std::ifstream in(file, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    static constexpr std::uint32_t kQuarter = 900;
    std::int64_t session_start_ = 0;
    std::vector<std::int64_t> session_;
    std::string month_;
    json run_;
    headend::testing::TempDir dir_;
    headend::testing::TempDir hub_dir_;
    headend::testing::TempDir smtp_dir_;
    std::unique_ptr<testing::BackgroundServer> hub_;
    std::unique_ptr<testing::PythonServer> smtp_;
};

// ---- Scenario 1: enrollment (steps 1-4, through the admin API the operator's CLI and the portal use)

TEST_F(Scenario1, Step01_CustomerIsAuthenticatedAgainstTheCisRecords) {
    const json wrong = {{"account_id", "A1"},
                        {"customer_id", "C1"},
                        {"premises_id", "P2"},
                        {"vin", "1FTFW1ET9DFC10312"},
                        {"program_id", "EV-TOU"}};
    const auto [status, body] = headend_->admin("POST", "/api/v1/enrollments", wrong.dump());
    EXPECT_EQ(status, 422);
    EXPECT_EQ(body["error"]["code"], "enrollment.premises_mismatch");
    EXPECT_EQ(headend_->admin("GET", "/api/v1/enrollments/1FTFW1ET9DFC10312").first, 404);
}

TEST_F(Scenario1, Step02_VinIsChecked) {
    const json bad = {{"account_id", "A1"},
                      {"customer_id", "C1"},
                      {"premises_id", "P1"},
                      {"vin", "1FTFW1ET8DFC10312"},
                      {"program_id", "EV-TOU"}};
    const auto [status, body] = headend_->admin("POST", "/api/v1/enrollments", bad.dump());
    EXPECT_EQ(status, 400);
    EXPECT_NE(body["error"]["message"].get<std::string>().find("check digit"), std::string::npos);
}

TEST_F(Scenario1, Step03_ProgramAndPreferencesAreStored) {
    const auto [status, body] = headend_->admin("GET", std::string("/api/v1/enrollments/") + testing::kGuestVin);
    ASSERT_EQ(status, 200);
    EXPECT_EQ(body["enrollment"]["program_id"], "EV-TOU");
    EXPECT_EQ(body["enrollment"]["allow_guest_charging"], true);
    EXPECT_EQ(body["enrollment"]["guest_charging_payer"], "owner");
    EXPECT_EQ(body["enrollment"]["allow_roaming"], false);
    EXPECT_EQ(body["enrollment"]["account_id"], "A1");
    EXPECT_EQ(body["enrollment"]["customer_id"], "C1");
    EXPECT_EQ(body["enrollment"]["premises_id"], "P1");
}

TEST_F(Scenario1, Step04_EnrollmentIsConfirmedAndThePremisesCountsAsEnrolled) {
    const auto [status, body] = headend_->admin("GET", "/api/v1/premises?enrolled=false");
    ASSERT_EQ(status, 200);
    EXPECT_TRUE(body["premises"].empty());
    const auto all = headend_->admin("GET", "/api/v1/premises").second["premises"];
    EXPECT_EQ(all[0]["enrolled_pevs"], 2);
}

// ---- Scenario 1: first binding (steps 5-16, the emulators over DTLS)

TEST_F(Scenario1, Step05_PevPlugsInAndOpensDtlsWithItsCertificate) {
    EXPECT_TRUE(han_sessions().empty());
    ASSERT_NO_FATAL_FAILURE(scenario1(5));
    // The head-end holds a certificate session naming the PEV's LFDI and VIN, of no registered device yet.
    const auto sessions = han_sessions();
    ASSERT_EQ(sessions.size(), 1U) << sessions.dump();
    EXPECT_EQ(sessions[0]["credential"], "certificate");
    EXPECT_EQ(sessions[0]["lfdi"], pev_->identity().lfdi);
    EXPECT_EQ(sessions[0]["certificate_serial"], testing::kGuestVin);
    EXPECT_TRUE(sessions[0]["device_id"].is_null());
    EXPECT_TRUE(sessions[0]["cipher"].get<std::string>().starts_with("ECDHE-ECDSA-")) << sessions[0]["cipher"];
}

TEST_F(Scenario1, Step06_PevKeepsTheHeadEndsTimeToOneSecond) {
    ASSERT_NO_FATAL_FAILURE(scenario1(6));
    EXPECT_TRUE(log_.has("pev-jane", "clock.sync"));
    EXPECT_LE(std::abs(pev_->now() - emulator::system_clock()()), 1);
}

TEST_F(Scenario1, Step07_PevHasNoEndDeviceBeforeTheBindingRequest) {
    ASSERT_NO_FATAL_FAILURE(scenario1(7));
    EXPECT_TRUE(log_.has("pev-jane", "edev.none_yet"));
    EXPECT_TRUE(headend_->bindings().empty());
}

TEST_F(Scenario1, Step08_EsciSeesThePevOnItsHan) {
    ASSERT_NO_FATAL_FAILURE(scenario1(8));
    // The premises' ESCI is in session with the head-end beside the PEV, ready to ask for the binding.
    const auto esci = han_sessions("?device=" + std::to_string(headend_->device_id("esci-1")));
    ASSERT_EQ(esci.size(), 1U);
    EXPECT_EQ(esci[0]["credential"], "psk");
    EXPECT_EQ(esci[0]["psk_identity"], "esci-1");
    EXPECT_EQ(esci[0]["device_type"], "esci");
    EXPECT_EQ(han_sessions().size(), 2U);
    EXPECT_TRUE(headend_->bindings().empty());
}

TEST_F(Scenario1, Step09_EsciRequestsTheBinding) {
    ASSERT_NO_FATAL_FAILURE(scenario1(9));
    EXPECT_EQ(request_.code, 201);
    EXPECT_EQ(request_.edev_path, "/edev/" + std::to_string(pev_device_id()));  // the PEV's own EndDevice
    EXPECT_TRUE(contains(audit(), "esci.requested"));
}

TEST_F(Scenario1, Step10_HeadEndValidatesPevAndPremisesAndPinsTheLfdi) {
    ASSERT_NO_FATAL_FAILURE(scenario1(10));
    const auto binding = latest_binding();
    EXPECT_EQ(binding["status"], "confirmed");
    EXPECT_EQ(binding["kind"], "home");
    EXPECT_EQ(binding["vin"], testing::kGuestVin);
    EXPECT_EQ(binding["lfdi"], pev_->identity().lfdi);
    EXPECT_EQ(binding["premises_id"], "P1");
    EXPECT_EQ(binding["program_id"], "EV-TOU");
    EXPECT_EQ(binding["payer_account"], "A1");  // home charging: the owner's account pays
    EXPECT_TRUE(contains(audit(), "pev.pinned"));
    EXPECT_TRUE(contains(audit(), "binding.confirmed"));
}

TEST_F(Scenario1, Step11_PevFindsItsEndDevice) {
    ASSERT_NO_FATAL_FAILURE(scenario1(11));
    EXPECT_EQ(pev_->edev_path(), request_.edev_path);
}

TEST_F(Scenario1, Step12_PevReadsTheConfirmationWithProgramTariffAndRebindCredentials) {
    ASSERT_NO_FATAL_FAILURE(scenario1(12));
    const auto& binding = *pev_->binding();
    EXPECT_EQ(binding.status, sep::BindingStatus::kConfirmed);
    EXPECT_EQ(binding.program_id, "EV-TOU");
    EXPECT_EQ(binding.tariff_profile_link.href, "/tp/EV-TOU");
    EXPECT_TRUE(binding.rebind_psk_identity.has_value());
    EXPECT_EQ(binding.rebind_psk_key->size(), 16U);
    EXPECT_EQ(pev_->charging_mode(), "program EV-TOU");
    EXPECT_TRUE(contains(audit(), "pev.read_binding"));
    // The rate program it read lets it plan: the cheapest upcoming EV-TOU period, which is never on-peak.
    auto planned = pev_->plan_charging();
    ASSERT_TRUE(planned);
    EXPECT_GE(*planned, pev_->now() - 1);
    const auto steps = log_.steps();
    const auto plan = std::find_if(steps.begin(), steps.end(),
                                   [](const emulator::Step& step) { return step.name == "charging.planned"; });
    ASSERT_NE(plan, steps.end());
    EXPECT_NE(plan->detail.find("off-peak"), std::string::npos) << plan->detail;
    EXPECT_EQ(plan->detail.find("on-peak'"), std::string::npos) << plan->detail;
}

TEST_F(Scenario1, Step13_PevAcknowledgesTheBinding) {
    ASSERT_NO_FATAL_FAILURE(scenario1(13));
    EXPECT_EQ(latest_binding()["status"], "acknowledged");
    EXPECT_TRUE(log_.has("pev-jane", "binding.acknowledged"));
    EXPECT_TRUE(contains(audit(), "binding.acknowledged"));
}

TEST_F(Scenario1, Step14_EumdConfigurationNamesThePevAndTheInterval) {
    ASSERT_NO_FATAL_FAILURE(scenario1(14));
    EXPECT_EQ(configuration_.pev_lfdi, pev_->identity().lfdi);
    EXPECT_EQ(configuration_.interval_length, 900U);
    EXPECT_TRUE(contains(audit(), "eumd.configured"));
}

TEST_F(Scenario1, Step15_EumdAppliesTheConfiguration) {
    ASSERT_NO_FATAL_FAILURE(scenario1(15));
    // What the EUMD applies is the configuration the head-end recorded handing it, and the binding waits for its
    // acknowledgement.
    ASSERT_TRUE(eumd_->applied());
    json read;
    const auto trail = headend_->admin("GET", std::string("/api/v1/pevs/") + testing::kGuestVin + "/audit").second;
    for (const auto& event : trail["events"]) {
        if (event["step"] == "eumd.read_configuration")
            read = event["detail"];
    }
    ASSERT_FALSE(read.is_null());
    EXPECT_EQ(read["config_mrid"], eumd_->applied()->mrid);
    EXPECT_EQ(read["interval_length"], eumd_->interval());
    EXPECT_EQ(read["eumd"], headend_->device_id("eumd-1"));
    EXPECT_EQ(eumd_->metered_pev(), pev_->identity().lfdi);
    EXPECT_EQ(latest_binding()["status"], "acknowledged");
}

TEST_F(Scenario1, Step16_EumdAcknowledgesAndTheBindingIsActive) {
    ASSERT_NO_FATAL_FAILURE(scenario1(16));
    EXPECT_EQ(latest_binding()["status"], "active");
    // Both observers are told, without asking again.
    const std::size_t pev_requests = pev_->exchanges();
    const std::size_t eumd_requests = eumd_->exchanges();
    EXPECT_TRUE(pev_->await_binding(status_is(sep::BindingStatus::kActive), kNotificationWait));
    EXPECT_TRUE(eumd_->await_configuration(status_is(sep::BindingStatus::kActive), kNotificationWait));
    EXPECT_EQ(pev_->exchanges(), pev_requests);
    EXPECT_EQ(eumd_->exchanges(), eumd_requests);
    EXPECT_EQ(audit(),
              (std::vector<std::string>{"esci.requested", "pev.pinned", "binding.confirmed", "credential.issued",
                                        "eumd.configured", "pev.read_binding", "binding.acknowledged",
                                        "eumd.read_configuration", "eumd.acknowledged", "binding.active"}));
    EXPECT_EQ(log_.failures(), 0U);
}

// ---- Scenario 2: re-binding

TEST_F(Scenario2, Step01_PevPlugsInAgain) {
    ASSERT_NO_FATAL_FAILURE(scenario2(0));
    const auto pev = "?device=" + std::to_string(pev_device_id());
    EXPECT_TRUE(han_sessions(pev).empty());  // unplugged: its session is closed
    EXPECT_EQ(latest_binding()["status"], "ended");
    ASSERT_TRUE(pev_->replug());
    EXPECT_EQ(han_sessions(pev).size(), 1U);
}

TEST_F(Scenario2, Step02_PevOpensDtlsWithTheRebindPskWithoutCertificateWork) {
    ASSERT_NO_FATAL_FAILURE(scenario2(2));
    // On the head-end's side: a PSK session with the credential of the first binding, none with the certificate.
    const auto sessions = han_sessions("?device=" + std::to_string(pev_device_id()));
    ASSERT_EQ(sessions.size(), 1U);
    EXPECT_EQ(sessions[0]["credential"], "psk");
    EXPECT_EQ(sessions[0]["psk_identity"], *pev_->binding()->rebind_psk_identity);
    EXPECT_EQ(sessions[0]["cipher"], "PSK-AES128-CCM8");
    const auto steps = log_.steps();
    const auto last_session = std::find_if(steps.rbegin(), steps.rend(), [](const emulator::Step& step) {
        return step.device == "pev-jane" && step.name.starts_with("dtls.");
    });
    ASSERT_NE(last_session, steps.rend());
    EXPECT_EQ(last_session->name, "dtls.psk");
    EXPECT_EQ(last_session->detail, "PSK-AES128-CCM8");
}

TEST_F(Scenario2, Step03_PevGoesStraightToItsCachedLinks) {
    ASSERT_NO_FATAL_FAILURE(scenario2(3));
    const auto steps = log_.steps();
    const auto replug = std::find_if(steps.rbegin(), steps.rend(), [](const emulator::Step& step) {
        return step.device == "pev-jane" && step.name == "on_plug";
    });
    // From the re-plug on: no discovery, just the plugged-in PowerStatus.
    for (auto it = steps.rbegin(); it != replug; ++it) {
        if (it->device == "pev-jane") {
            EXPECT_TRUE(it->name == "dtls.psk" || it->name == "power_status.plugged_in") << it->name;
        }
    }
    EXPECT_TRUE(log_.has("pev-jane", "power_status.plugged_in"));
    EXPECT_TRUE(contains(audit(), "pev.plugged_in"));
}

TEST_F(Scenario2, Step04_EsciConfirmsPresence) {
    ASSERT_NO_FATAL_FAILURE(scenario2(4));
    EXPECT_EQ(request_.code, 201);
    EXPECT_EQ(request_.edev_path, pev_->edev_path());
    const auto steps = audit();
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "esci.requested"), 2);
}

TEST_F(Scenario2, Step05_BindingIsActiveWithoutANewCredential) {
    ASSERT_NO_FATAL_FAILURE(scenario2(5));
    const auto binding = latest_binding();
    EXPECT_EQ(binding["status"], "active");
    EXPECT_EQ(binding["rebind"], true);
    const auto steps = audit();
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "credential.issued"), 1);
}

TEST_F(Scenario2, Step06_EumdIsTold) {
    ASSERT_NO_FATAL_FAILURE(scenario2(6));
    // A notification after the ESCI's request (the EUMD took the one telling it the PEV left before), with no
    // request of its own.
    EXPECT_EQ(configuration_.status, sep::BindingStatus::kActive);
    EXPECT_EQ(configuration_.pev_lfdi, pev_->identity().lfdi);
    EXPECT_EQ(eumd_requests_while_told_, 0U);
    EXPECT_TRUE(log_.has("eumd-1", "configuration.notified"));
}

TEST_F(Scenario2, Step07_EumdKnowsTheConfigurationAndKeepsMetering) {
    ASSERT_NO_FATAL_FAILURE(scenario2(7));
    // Same PEV, same interval: a configuration it acknowledged at the first binding, so no new acknowledgement.
    EXPECT_TRUE(log_.has("eumd-1", "configuration.known"));
    EXPECT_EQ(eumd_->metered_pev(), pev_->identity().lfdi);
    const auto steps = audit();
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "eumd.acknowledged"), 1);
    EXPECT_EQ(latest_binding()["status"], "active");
    EXPECT_EQ(log_.failures(), 0U);
}

// ---- Faults and the other paths of DESIGN §6

TEST_F(Faults, DroppedAcknowledgementFallsBackAfterTheTimeout) {
    start({.binding_timeout_s = 1, .clock = {}, .roaming_vins = {}});
    pev_ = make_pev("pev-jane", headend_->pev_certificate("pev-jane", testing::kGuestVin),
                    {.cert = {}, .key = {}, .wait = {}, .poll_every = {}, .drop_acknowledgement = true});
    ASSERT_NO_FATAL_FAILURE(scenario1(12));
    ASSERT_EQ(pev_->acknowledge().value(), 0);
    EXPECT_TRUE(log_.has("pev-jane", "binding.acknowledgement_dropped"));
    json binding;
    for (int i = 0; i < 60 && binding["status"] != "fallback"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        binding = latest_binding();
    }
    EXPECT_EQ(binding["status"], "fallback");
    EXPECT_EQ(headend_->admin("GET", "/api/v1/fallbacks?premises=P1").second["fallbacks"].size(), 1U);
}

TEST_F(Faults, EsciUnreachableThePevWaitsThenChargesAnyway) {
    ASSERT_TRUE(pev_->plug_in());
    EXPECT_FALSE(pev_->find_end_device());  // nobody asks for the binding
    EXPECT_EQ(pev_->charging_mode(), "default rate");
    EXPECT_TRUE(log_.has("pev-jane", "charging_anyway"));
    EXPECT_TRUE(headend_->bindings().empty());
}

TEST_F(Faults, BadCertificateFailsTheHandshakeAndThePevChargesAnyway) {
    pev_ = make_pev("pev-rogue", headend_->untrusted_certificate("pev-rogue", testing::kGuestVin));
    EXPECT_FALSE(pev_->plug_in());
    EXPECT_EQ(pev_->charging_mode(), "default rate");
}

TEST_F(Faults, UnenrolledVinIsRefusedWithAFallback) {
    pev_ = make_pev("pev-stranger", headend_->pev_certificate("pev-stranger", testing::kUnenrolledVin));
    ASSERT_TRUE(pev_->plug_in());
    ASSERT_TRUE(esci_->connect());
    auto answer = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 403);
    EXPECT_NE(answer->reason.find("not enrolled"), std::string::npos);
    EXPECT_EQ(latest_binding()["status"], "refused");
    EXPECT_EQ(headend_->admin("GET", "/api/v1/fallbacks").second["fallbacks"].size(), 1U);
}

TEST_F(Faults, WrongPremisesForAHomeOnlyPevIsRefusedWithAFallback) {
    pev_ = make_pev("pev-home", headend_->pev_certificate("pev-home", testing::kHomeOnlyVin));
    // Bound and pinned at home first, then unplugged: a refusal never ends a binding, so it must be bound nowhere.
    ASSERT_NO_FATAL_FAILURE(scenario1(11));
    ASSERT_TRUE(pev_->unplug());
    auto neighbour = emulator::Esci("esci-2", endpoint_, psk("esci-2"), log_);
    ASSERT_TRUE(neighbour.connect());
    auto answer = neighbour.request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 403);
    EXPECT_NE(answer->reason.find("not enrolled for guest charging"), std::string::npos);
    const auto fallbacks = headend_->admin("GET", "/api/v1/fallbacks?premises=P2").second["fallbacks"];
    ASSERT_EQ(fallbacks.size(), 1U);
    EXPECT_EQ(latest_binding()["status"], "refused");
}

TEST_F(Faults, ClonedVinIsRefusedAndRaisesAnAlarm) {
    ASSERT_NO_FATAL_FAILURE(scenario1(10));
    auto clone = make_pev("pev-clone", headend_->pev_certificate("pev-clone", testing::kGuestVin));
    ASSERT_TRUE(clone->plug_in());
    auto answer = esci_->request_binding(clone->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 403);
    const auto alarms = headend_->admin("GET", "/api/v1/alarms").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U);
    EXPECT_EQ(alarms[0]["kind"], "clone_vin");
    EXPECT_EQ(alarms[0]["lfdi"], clone->identity().lfdi);
    EXPECT_EQ(headend_->bindings("?status=confirmed").size(), 1U);  // the original is untouched
}

TEST_F(Faults, EumdBeforeAnyBindingAppliesTheDefaultConfigurationThenThePevs) {
    ASSERT_TRUE(eumd_->connect());
    auto defaults = eumd_->read_configuration();
    ASSERT_TRUE(defaults) << defaults.error().message;
    EXPECT_FALSE(eumd_->metered_pev());
    EXPECT_EQ(eumd_->interval(), 900U);
    auto acknowledged = eumd_->acknowledge();
    ASSERT_TRUE(acknowledged);
    EXPECT_EQ(*acknowledged, 201);
    ASSERT_NO_FATAL_FAILURE(scenario1(16));  // the EUMD reads and acknowledges the configuration naming the PEV
    EXPECT_NE(configuration_.mrid, defaults->mrid);
    EXPECT_EQ(eumd_->metered_pev(), pev_->identity().lfdi);
    EXPECT_EQ(latest_binding()["status"], "active");
    EXPECT_EQ(log_.failures(), 0U);
}

TEST_F(Faults, ClockSkewIsCorrectedFromTheHeadEndsTime) {
    const auto skewed = [] { return emulator::system_clock()() - 300; };
    pev_ = make_pev("pev-jane", headend_->pev_certificate("pev-jane", testing::kGuestVin), {}, skewed);
    ASSERT_TRUE(pev_->plug_in());
    const auto steps = log_.steps();
    const auto sync =
        std::find_if(steps.begin(), steps.end(), [](const emulator::Step& step) { return step.name == "clock.sync"; });
    ASSERT_NE(sync, steps.end());
    EXPECT_NE(sync->detail.find("corrected by 30"), std::string::npos) << sync->detail;
    EXPECT_LE(std::abs(pev_->now() - emulator::system_clock()()), 1);
}

TEST_F(Faults, GuestChargingIsBoundAndTheOwnerPays) {
    ASSERT_NO_FATAL_FAILURE(scenario1(16));
    ASSERT_TRUE(pev_->unplug());
    auto host = emulator::Esci("esci-2", endpoint_, psk("esci-2"), log_);
    ASSERT_TRUE(host.connect());
    auto answer = host.request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 201);
    const auto binding = latest_binding();
    EXPECT_EQ(binding["kind"], "guest");
    EXPECT_EQ(binding["premises_id"], "P2");
    EXPECT_EQ(binding["payer_account"], "A1");
}

TEST_F(Faults, RoamingPevOfAnotherUtilityIsBoundThroughTheClearinghouse) {
    const std::string visitor = "5YJ3E1EA2KF317000";
    start({.binding_timeout_s = 120, .clock = {}, .roaming_vins = {visitor}});
    pev_ = make_pev("pev-visitor", headend_->roaming_certificate(visitor));
    ASSERT_TRUE(pev_->plug_in());
    ASSERT_TRUE(esci_->connect());
    auto answer = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 201) << answer->reason;
    const auto binding = latest_binding();
    EXPECT_EQ(binding["kind"], "roaming");
    EXPECT_EQ(binding["home_utility"], "OTHER-UTILITY");
    EXPECT_TRUE(binding["payer_account"].is_null());  // the clearinghouse settles it
}

// A visiting PEV re-binds with the credential it was given, which names no VIN: the head-end takes the VIN the
// registry names for its LFDI only while the PEV is there in a session opened with that credential. Any ESCI can name
// any LFDI, so another premises naming the absent visitor is refused and its binding stays where it was.
TEST_F(Faults, AVisitingPevRebindsWithItsCredentialAndNoOtherEsciCanClaimItWhileItIsAway) {
    const std::string visitor = "5YJ3E1EA2KF317000";
    start({.binding_timeout_s = 120, .clock = {}, .roaming_vins = {visitor}});
    pev_ = make_pev("pev-visitor", headend_->roaming_certificate(visitor));
    ASSERT_NO_FATAL_FAILURE(scenario1(16));
    EXPECT_EQ(latest_binding()["kind"], "roaming");
    ASSERT_TRUE(pev_->unplug());
    const auto visited = latest_binding()["binding_id"];

    auto elsewhere = emulator::Esci("esci-2", endpoint_, psk("esci-2"), log_);
    ASSERT_TRUE(elsewhere.connect());
    auto claimed = elsewhere.request_binding(pev_->identity());
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->code, 403);
    EXPECT_EQ(latest_binding()["premises_id"], "P2");
    EXPECT_EQ(latest_binding()["status"], "refused");  // recorded as a refusal, naming no VIN
    EXPECT_TRUE(latest_binding()["vin"].is_null());
    for (const auto& binding : headend_->bindings()) {
        if (binding["binding_id"] == visited) {
            EXPECT_EQ(binding["status"], "ended");
        }
    }

    ASSERT_TRUE(pev_->replug());
    ASSERT_TRUE(pev_->rebinding());
    auto back = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->code, 201) << back->reason;
    EXPECT_EQ(latest_binding()["kind"], "roaming");
    EXPECT_EQ(latest_binding()["vin"], visitor);
    EXPECT_EQ(latest_binding()["rebind"], true);
}

// ---- The re-bind credential's lifetime (plugin.pev-binding.rebind_credential_days, 30 by default)

// ---- Scenario 3: charging energy to the head-end (steps 1-2; billing follows)

TEST_F(Scenario3, Step01_EumdSendsTheChargingSessionThroughItsPremises) {
    ASSERT_NO_FATAL_FAILURE(charge(9000));
    EXPECT_EQ(session_.front(), 1800);  // 7.2 kW for a quarter hour
    EXPECT_LT(session_.back(), 1800);   // tapering near full
    auto posted = eumd_->post_session(session_start_, session_);
    ASSERT_TRUE(posted);
    EXPECT_EQ(*posted, 201);
    // What the head-end stored, as the PEV reads it: every interval once, at the EUMD's interval, summing to the
    // session's energy; and the same session sent again changes nothing.
    auto usage = pev_->read_usage();
    ASSERT_TRUE(usage);
    ASSERT_EQ(usage->size(), session_.size());
    std::int64_t total = 0;
    for (std::size_t i = 0; i < usage->size(); ++i) {
        const auto& reading = (*usage)[i];
        EXPECT_EQ(reading.time_period->start, session_start_ + static_cast<std::int64_t>(i * kQuarter));
        EXPECT_EQ(reading.time_period->duration, kQuarter);
        EXPECT_EQ(reading.value, session_[i]);
        total += *reading.value;
    }
    EXPECT_EQ(total, 9000);
    auto again = eumd_->post_session(session_start_, session_);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 201);
    EXPECT_EQ(pev_->read_usage()->size(), session_.size());
    EXPECT_TRUE(headend_->admin("GET", "/api/v1/alarms").second["alarms"].empty());
}

TEST_F(Scenario3, Step02_IdentitiesAreVerifiedBeforeEnergyIsAccepted) {
    ASSERT_NO_FATAL_FAILURE(charge(5000));
    // The binding the energy rests on names the premises the EUMD serves, the PEV (LFDI and VIN), the customer's
    // account and the utility's program.
    const auto binding = latest_binding();
    EXPECT_EQ(binding["status"], "active");
    EXPECT_EQ(binding["premises_id"], "P1");
    EXPECT_EQ(binding["lfdi"], pev_->identity().lfdi);
    EXPECT_EQ(binding["vin"], testing::kGuestVin);
    EXPECT_EQ(binding["payer_account"], "A1");
    EXPECT_EQ(binding["program_id"], "EV-TOU");
    EXPECT_EQ(binding["kind"], "home");
    // The EUMD of another premises cannot mirror this PEV, nor can this EUMD mirror a PEV not bound here: both
    // refused with 4.03, nothing stored.
    emulator::Eumd stranger("eumd-2", endpoint_, psk("eumd-2"), log_);
    ASSERT_TRUE(stranger.connect());
    auto refused = stranger.mirror(pev_->identity().lfdi);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("answered 403"), std::string::npos) << refused.error().message;
    auto unbound = eumd_->mirror(std::string(40, '7'));
    ASSERT_FALSE(unbound);
    EXPECT_NE(unbound.error().message.find("answered 403"), std::string::npos) << unbound.error().message;
    EXPECT_TRUE(pev_->read_usage()->empty());
    // The bound PEV's energy from this premises' EUMD is accepted.
    auto posted = eumd_->post_session(session_start_, session_);
    ASSERT_TRUE(posted);
    EXPECT_EQ(*posted, 201);
    auto usage = pev_->read_usage();
    ASSERT_TRUE(usage);
    EXPECT_EQ(usage->size(), session_.size());
}

TEST_F(Scenario3, Step03_EachIntervalIsRatedByTheTariffPeriodOfItsLocalStart) {
    ASSERT_NO_FATAL_FAILURE(charge_and_bill(9000));
    EXPECT_EQ(run_["issued"], 2);  // Jane's account and John's
    const json bill = bill_of("A1");
    ASSERT_TRUE(bill.is_object()) << "no bill for A1 in " << month_;
    // The expected cost worked out here interval by interval, each at the price of the EV-TOU period its start falls
    // in (the catalog's calendar: season, weekday or holiday, DST), rounded to 10^-5 $.
    auto catalog = tariff::load_catalog(PROGRAMS_FILE);
    ASSERT_TRUE(catalog);
    const tariff::Calendar calendar(*catalog);
    std::int64_t expected = 0;
    std::map<std::string, std::int64_t> wh_per_period;
    for (std::size_t i = 0; i < session_.size(); ++i) {
        const auto rate =
            calendar.rate_at(*catalog->find("EV-TOU"), session_start_ + static_cast<std::int64_t>(i * kQuarter));
        const std::int64_t product = session_[i] * rate.period->price;
        expected += (product + 500) / 1000;
        wh_per_period[rate.period->name] += session_[i];
    }
    const json debit = posting(bill, "session:1:debit");
    ASSERT_TRUE(debit.is_object()) << bill.dump(2);
    EXPECT_EQ(debit["amount_e5"], expected);
    EXPECT_EQ(debit["wh"], 9000);
    std::map<std::string, std::int64_t> shown;
    for (const auto& line : bill["document"]["lines"])
        if (line["kind"] == "home_session")
            for (const auto& period : line["periods"])
                shown[period["period"]] += period["wh"].get<std::int64_t>();
    EXPECT_EQ(shown, wh_per_period);
}

TEST_F(Scenario3, Step04_TheOwnerIsDebitedAndThePremisesCreditedForTheSameEnergyOnce) {
    ASSERT_NO_FATAL_FAILURE(charge_and_bill(9000));
    const json bill = bill_of("A1");
    const json debit = posting(bill, "session:1:debit");
    const json credit = posting(bill, "session:1:credit");
    ASSERT_TRUE(debit.is_object() && credit.is_object()) << bill.dump(2);
    EXPECT_EQ(debit["kind"], "home_session");
    EXPECT_EQ(credit["kind"], "host_credit");
    EXPECT_EQ(credit["wh"], debit["wh"]);
    // DOM-FLAT, 0.32 $/kWh, for the premises: 9000 Wh → 288 000 (10^-5 $), −$2.88.
    EXPECT_EQ(credit["amount_e5"], -288'000);
    EXPECT_EQ(credit["billed"], "-2.88");
    // The bill's total is the sum of its rounded lines; John's account has no line of Jane's session.
    const auto cents = [](std::string money) {  // "-2.88" → -288: always two decimals
        money.erase(money.find('.'), 1);
        return std::stoll(money);
    };
    std::int64_t sum = 0;
    for (const auto& line : bill["document"]["lines"])
        sum += cents(line["amount"]);
    EXPECT_EQ(cents(bill["total"]), sum);
    EXPECT_TRUE(posting(bill_of("A2"), "session:1:debit").is_null());
    // Running the month again issues nothing and posts nothing.
    const auto [status, again] = headend_->admin("POST", "/api/v1/bills/run", json{{"month", month_}}.dump());
    EXPECT_EQ(status, 200);
    EXPECT_EQ(again["issued"], 0);
    EXPECT_EQ(again["already_issued"], 2);
    EXPECT_EQ(bill_of("A1")["postings"], bill["postings"]);
}

TEST_F(Scenario3, Step05_VisitingAndRoamingChargesSettleThroughTheClearinghouse) {
    const std::string visitor = "5YJ3E1EA2KF317000";
    ASSERT_NO_FATAL_FAILURE(start_settlement({visitor}));
    // A visiting PEV of another utility charges at Jane's premises; its session ends when it is unplugged.
    pev_ = make_pev("pev-visitor", headend_->roaming_certificate(visitor));
    ASSERT_NO_FATAL_FAILURE(charge(6000, 2));
    ASSERT_EQ(*eumd_->post_session(session_start_, session_), 201);
    ASSERT_TRUE(pev_->unplug());
    clock_->advance(std::chrono::minutes(15));  // settled: its CDR is made and pushed
    const auto pushed = await_files(hub_inbox(), ".json", 1);
    ASSERT_EQ(pushed.size(), 1U) << "no CDR reached the clearinghouse";
    const json cdr = json::parse(read_all(pushed[0]));
    EXPECT_EQ(cdr["party_id"], "UTL");
    EXPECT_EQ(cdr["cdr_location"]["id"], "P1");
    EXPECT_EQ(cdr["cdr_token"]["uid"], visitor);
    EXPECT_EQ(cdr["total_energy"], 6);  // kWh, the session's 6000 Wh
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(await_files(hub_inbox(), ".json", 1).size(), 1U) << "pushed once";
    const auto out = headend_->admin("GET", "/api/v1/cdrs?direction=out").second["cdrs"];
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0]["state"], "accepted");

    // Jane's PEV, enrolled for roaming, charged at another operator's site after that: the hub pushes the CDR to our
    // OCPI listener, twice.
    ASSERT_EQ(headend_
                  ->admin("PATCH", std::string("/api/v1/enrollments/") + testing::kGuestVin,
                          json{{"allow_roaming", true}}.dump())
                  .first,
              200);
    const std::int64_t away = clock_->now() - 1800;
    const json elsewhere = {
        {"country_code", "US"},
        {"party_id", "OTH"},
        {"id", "OTH-4711"},
        {"start_date_time", ocpi_time(away)},
        {"end_date_time", ocpi_time(away + 900)},
        {"cdr_token",
         {{"country_code", "US"},
          {"party_id", "UTL"},
          {"uid", "C0FFEE"},
          {"type", "OTHER"},
          {"contract_id", testing::kGuestVin}}},
        {"auth_method", "AUTH_REQUEST"},
        {"cdr_location",
         {{"id", "FAR-1"},
          {"address", "9 Far Rd"},
          {"city", "Elsewhere"},
          {"country", "USA"},
          {"coordinates", {{"latitude", "34.1"}, {"longitude", "-118.1"}}},
          {"evse_uid", "E1"},
          {"evse_id", "US*OTH*E1"},
          {"connector_id", "1"},
          {"connector_standard", "IEC_62196_T1"},
          {"connector_format", "CABLE"},
          {"connector_power_type", "AC_1_PHASE"}}},
        {"currency", "USD"},
        {"charging_periods", json::array({{{"start_date_time", ocpi_time(away)},
                                           {"dimensions", json::array({{{"type", "ENERGY"}, {"volume", 12}}})}}})},
        {"total_cost", {{"excl_vat", 5}}},
        {"total_energy", 12},
        {"total_time", 0.25},
        {"last_updated", ocpi_time(away + 1000)}};
    std::ofstream(dir_.path() / "elsewhere.json") << elsewhere.dump();
    const std::string send = std::string(CLEARINGHOUSE_BIN) +
                             " send --url https://127.0.0.1:" + std::to_string(headend_->listener_port("ocpi")) +
                             "/ocpi/2.2.1/cdrs --token-file " + (dir_.path() / "peer.token").string() + " --ca " +
                             headend_->server_ca().string() + " " + (dir_.path() / "elsewhere.json").string();
    EXPECT_EQ(std::system(send.c_str()), 0);
    EXPECT_EQ(std::system(send.c_str()), 0) << "the same CDR again is answered as received";
    const auto in = headend_->admin("GET", "/api/v1/cdrs?direction=in").second["cdrs"];
    ASSERT_EQ(in.size(), 1U);
    EXPECT_EQ(in[0]["account_id"], "A1");

    // Jane's bill: the host's credit for the visitor's energy, and the CDR as received ($5.00).
    ASSERT_NO_FATAL_FAILURE(bill_month());
    const json bill = bill_of("A1");
    bool credited = false;
    for (const auto& one : bill["postings"])
        credited = credited || (one["kind"] == "host_credit" && one["wh"] == 6000);
    EXPECT_TRUE(credited) << bill.dump(2);
    const json roaming = posting(bill, "cdr:US*OTH:OTH-4711");
    ASSERT_TRUE(roaming.is_object()) << bill.dump(2);
    EXPECT_EQ(roaming["billed"], "5.00");
}

TEST_F(Scenario3, Step06_TheMonthlyBillIsIssuedOnceAndFiledAsJsonHtmlAndPdf) {
    ASSERT_NO_FATAL_FAILURE(start_settlement());
    ASSERT_NO_FATAL_FAILURE(charge_and_bill(9000));
    const json bill = bill_of("A1");
    ASSERT_TRUE(bill.is_object());
    // Filed by the delivery worker: JSON, HTML and a PDF whose text reads back.
    json filed;
    for (int i = 0; i < 100 && !filed.contains("files"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        filed = headend_->admin("GET", "/api/v1/bills/" + bill["bill_id"].dump()).second;
    }
    ASSERT_TRUE(filed.contains("files")) << filed.dump(2);
    const json document = json::parse(read_all(filed["files"][0].get<std::string>()));
    EXPECT_EQ(document["total"], bill["total"]);
    EXPECT_NE(
        read_all(filed["files"][1].get<std::string>()).find("<td class=\"n\">" + bill["total"].get<std::string>()),
        std::string::npos);
    const std::string pdf = filed["files"][2];
    const std::string text = (dir_.path() / "bill.txt").string();
    ASSERT_EQ(std::system(("pdftotext -layout " + pdf + " " + text).c_str()), 0);
    const std::string read_back = read_all(text);
    EXPECT_NE(read_back.find("Jane Doe"), std::string::npos) << read_back;
    EXPECT_NE(read_back.find(bill["total"].get<std::string>()), std::string::npos) << read_back;
    // Issued once: the same month again changes no bill.
    EXPECT_EQ(headend_->admin("POST", "/api/v1/bills/run", json{{"month", month_}}.dump()).second["issued"], 0);
}

TEST_F(Scenario3, Step07_TheCustomerIsToldByEmailOnceWithTheBillAttached) {
    ASSERT_NO_FATAL_FAILURE(start_settlement());
    ASSERT_NO_FATAL_FAILURE(charge_and_bill(9000));
    const json bill = bill_of("A1");
    const auto mails = await_files(maildir() / "new", "", 1);
    ASSERT_EQ(mails.size(), 1U) << "no e-mail reached the SMTP server";
    const std::string mail = read_all(mails[0]);
    EXPECT_NE(mail.find("X-Envelope-To: jane@example.test"), std::string::npos) << mail;
    EXPECT_NE(mail.find("Content-Type: application/pdf"), std::string::npos);
    const std::string pdf =
        std::filesystem::path(headend_->admin("GET", "/api/v1/bills/" + bill["bill_id"].dump()).second["files"][2])
            .filename();
    EXPECT_NE(mail.find("filename=\"" + pdf + "\""), std::string::npos) << "the bill's PDF attached";
    // John's account has no address: his bill is filed and not mailed. Nothing is sent twice.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(await_files(maildir() / "new", "", 1).size(), 1U);
    EXPECT_EQ(headend_->admin("GET", "/api/v1/bills/" + bill["bill_id"].dump()).second["mail"]["state"], "sent");
    EXPECT_EQ(bill_of("A2")["mail"]["state"], "no_address");
}

// The /bill function set as a premises display reads it, with libcoap's own client as the display (DESIGN §5):
// its account's bills with the currency and each period's charges; a display of another premises sees none.
class HanBilling : public Scenario3 {
protected:
    // A display registered at `premises` with a PSK coap-client can type.
    void add_display(const std::string& identity, const std::string& premises) {
        const std::string key = "display-secret-1";
        auto added = headend_->daemon().devices().add_sync(
            core::NewDevice{core::DeviceType::Display, premises, std::nullopt, std::nullopt, identity,
                            std::vector<std::uint8_t>(key.begin(), key.end()), std::nullopt});
        ASSERT_TRUE(added) << added.error().message;
    }
    // GET as that display: the answer's payload, or "" with the CoAP code.
    std::string get(const std::string& identity, const std::string& path) {
        const std::string command = "coap-client-openssl -B 5 -m get -u " + identity + " -k display-secret-1 " +
                                    "\"coaps://127.0.0.1:" + std::to_string(headend_->coaps_port()) + path + "\" 2>&1";
        std::string output;
        if (FILE* pipe = popen(command.c_str(), "r"); pipe != nullptr) {
            std::array<char, 4096> buffer{};
            while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr)
                output += buffer.data();
            pclose(pipe);
        }
        return output;
    }
};

TEST_F(HanBilling, ADisplayReadsItsPremisesAccountsBillsAndNoOtherPremisesDisplayDoes) {
    ASSERT_NO_FATAL_FAILURE(charge_and_bill(9000));
    ASSERT_NO_FATAL_FAILURE(add_display("display-p1", "P1"));
    ASSERT_NO_FATAL_FAILURE(add_display("display-p2", "P2"));
    const json bill = bill_of("A1");
    const std::string total_e5 = [&] {  // "12.34" as 10^-5 units: 1234000
        std::string cents = bill["total"];
        cents.erase(cents.find('.'), 1);
        return std::to_string(std::stoll(cents) * 1000);
    }();

    // Discovered from /dcap.
    EXPECT_NE(get("display-p1", "/dcap").find("<CustomerAccountListLink href=\"/bill\"/>"), std::string::npos);
    const std::string accounts = get("display-p1", "/bill");
    EXPECT_NE(accounts.find("all=\"1\""), std::string::npos) << accounts;
    EXPECT_NE(accounts.find("<currency>840</currency><customerAccount>A1</customerAccount>"), std::string::npos)
        << accounts;
    EXPECT_NE(accounts.find("<customerName>Jane Doe</customerName><pricePowerOfTenMultiplier>-5"), std::string::npos)
        << accounts;
    const std::string agreement = get("display-p1", "/bill/1/ca/1");
    EXPECT_NE(agreement.find("<serviceLocation>1 Main St</serviceLocation>"), std::string::npos) << agreement;
    EXPECT_NE(agreement.find("<TariffProfileLink href=\"/tp/DOM-FLAT\"/>"), std::string::npos) << agreement;
    // The issued month with its total.
    const std::string periods = get("display-p1", "/bill/1/ca/1/bp");
    EXPECT_NE(periods.find("all=\"1\""), std::string::npos) << periods;
    EXPECT_NE(periods.find("<billLastPeriod>" + total_e5 + "</billLastPeriod>"), std::string::npos) << periods;
    const std::string active = get("display-p1", "/bill/1/ca/1/abp");
    EXPECT_NE(active.find("<billToDate>"), std::string::npos) << active;
    const std::string meters = get("display-p1", "/bill/1/ca/1/hr");
    EXPECT_NE(meters.find("<ReadingTypeLink href=\"/upt/"), std::string::npos) << meters;

    // John's premises display: his own account, never Jane's.
    EXPECT_EQ(get("display-p2", "/bill").find("Jane"), std::string::npos);
    const std::string hers = get("display-p2", "/bill/1/ca/1/bp/" + bill["bill_id"].dump());
    EXPECT_NE(hers.find("4.03"), std::string::npos) << hers;
    EXPECT_EQ(hers.find("billLastPeriod"), std::string::npos) << hers;
    // Only "1", the requester's own account, exists for it.
    EXPECT_NE(get("display-p1", "/bill/2").find("4.03"), std::string::npos);
}

TEST_F(RebindCredential, UpToItsExpiryThePevRebindsWithIt) {
    ASSERT_NO_FATAL_FAILURE(replug_before_expiry(60));
    EXPECT_TRUE(pev_->rebinding());
    auto answer = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 201);
    const auto binding = latest_binding();
    EXPECT_EQ(binding["rebind"], true);
    EXPECT_EQ(binding["status"], "active");
    const auto steps = audit();
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "credential.issued"), 1);
    EXPECT_EQ(log_.failures(), 0U);
}

TEST_F(RebindCredential, FromItsExpiryTheHandshakeFailsAndThePevGetsAFreshOneWithItsCertificate) {
    ASSERT_NO_FATAL_FAILURE(replug_before_expiry(0));
    EXPECT_FALSE(pev_->rebinding());
    const auto steps = log_.steps();
    std::vector<std::string> sessions;
    for (const auto& step : steps) {
        if (step.device == "pev-jane" && step.name.starts_with("dtls."))
            sessions.push_back(step.name + (step.detail.starts_with("refused") ? " refused" : ""));
    }
    EXPECT_EQ(sessions, (std::vector<std::string>{"dtls.certificate", "dtls.psk refused", "dtls.certificate"}));

    // Bound as the first time: read, acknowledged, a new credential.
    auto answer = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, 201);
    ASSERT_TRUE(pev_->find_end_device());
    ASSERT_TRUE(pev_->read_binding());
    ASSERT_TRUE(pev_->binding()->rebind_psk_identity);
    EXPECT_NE(*pev_->binding()->rebind_psk_identity, issued_);
    EXPECT_GT(*pev_->binding()->expiry, clock_->now());
    auto acknowledged = pev_->acknowledge();
    ASSERT_TRUE(acknowledged);
    EXPECT_EQ(*acknowledged, 201);
    EXPECT_EQ(latest_binding()["rebind"], false);
    EXPECT_EQ(latest_binding()["status"], "active");  // the EUMD already meters this PEV at this interval
    const auto trail = audit();
    EXPECT_EQ(std::count(trail.begin(), trail.end(), "credential.issued"), 2);

    // Unplugged, the binding ends (its PowerStatus was "unplugged" before this binding too); the fresh credential
    // re-binds the next time.
    ASSERT_TRUE(pev_->unplug());
    EXPECT_EQ(latest_binding()["status"], "ended");
    ASSERT_TRUE(pev_->replug());
    EXPECT_TRUE(pev_->rebinding());
    EXPECT_EQ(log_.failures(), 0U);
}

// A session opened with the credential shortly before its expiry does not outlive it: its first request after the
// expiry closes it (no answer), the identity no longer completes a handshake, and the PEV falls back to its
// certificate on its next plug-in.
TEST_F(RebindCredential, ASessionOpenedBeforeExpiryClosesAtItsExpiry) {
    ASSERT_NO_FATAL_FAILURE(replug_before_expiry(60));
    ASSERT_TRUE(pev_->rebinding());
    const auto pev = "?device=" + std::to_string(pev_device_id());
    ASSERT_EQ(han_sessions(pev).size(), 1U);
    ASSERT_TRUE(pev_->plan_charging());  // reads the tariff over the PSK session, still valid
    clock_->advance(std::chrono::seconds(60));
    EXPECT_FALSE(pev_->plan_charging());
    EXPECT_TRUE(han_sessions(pev).empty());
    auto replugged = pev_->replug();  // its session gone, it connects again: the PSK fails, the certificate works
    ASSERT_TRUE(replugged) << replugged.error().message;
    EXPECT_FALSE(pev_->rebinding());
    const auto sessions = han_sessions(pev);
    ASSERT_EQ(sessions.size(), 1U);
    EXPECT_EQ(sessions[0]["credential"], "certificate");
}

TEST_F(RebindCredential, APevThatReadsItsRebindingIsToldTheCredentialItHas) {
    ASSERT_NO_FATAL_FAILURE(replug_before_expiry(3600));
    const auto cached = *pev_->binding();
    auto answer = esci_->request_binding(pev_->identity());
    ASSERT_TRUE(answer);
    ASSERT_EQ(latest_binding()["rebind"], true);
    // A PEV that lost its cached copy reads the re-binding: the same credential and expiry, nothing new issued.
    ASSERT_TRUE(pev_->read_binding());
    EXPECT_EQ(pev_->binding()->mrid, latest_binding()["mrid"]);
    EXPECT_NE(pev_->binding()->mrid, cached.mrid);
    EXPECT_EQ(pev_->binding()->rebind_psk_identity, cached.rebind_psk_identity);
    EXPECT_EQ(pev_->binding()->rebind_psk_key, cached.rebind_psk_key);
    EXPECT_EQ(pev_->binding()->expiry, cached.expiry);
    ASSERT_TRUE(pev_->unplug());
    ASSERT_TRUE(pev_->replug());
    EXPECT_TRUE(pev_->rebinding());
}

}  // namespace
}  // namespace headend
