// The real binaries as an operator runs them: the headend daemon as a child process, headendctl against it, and
// coap-client-openssl as a device.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "daemon_process.hpp"
#include "run_command.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace {

namespace fs = std::filesystem;

using headend::testing::DaemonProcess;
using headend::testing::run;

fs::path temp_dir() {
    std::random_device random;
    auto dir = fs::temp_directory_path() / ("headend-cli-" + std::to_string(random()));
    fs::create_directories(dir);
    return dir;
}

// The first of `count` consecutive UDP ports that are free on loopback now, or 0.
std::uint16_t free_udp_ports(int count) {
    const auto free = [](std::uint16_t port) {
        const int fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        close(fd);
        return bound;
    };
    for (std::uint16_t first = 43000; first < 44000; first = static_cast<std::uint16_t>(first + count)) {
        bool all = true;
        for (int i = 0; i < count && all; ++i)
            all = free(static_cast<std::uint16_t>(first + i));
        if (all)
            return first;
    }
    return 0;
}

// The daemon as a child process; its stdout goes to a file where the ready line appears.
TEST(Cli, OperatorRegistersAPskDeviceAndTheDeviceReadsTime) {
    const fs::path dir = temp_dir();
    {
        DaemonProcess daemon(dir);
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();

        // "device-key-123456" in hex.
        const std::string key_hex = "6465766963652d6b65792d313233343536";
        auto added = run(daemon.ctl(
            "--json device add --type esci --premises P1 --pin 000019 --psk-identity esci-cli --psk-key " + key_hex));
        ASSERT_EQ(added.exit_code, 0) << added.output;
        const auto device = nlohmann::json::parse(added.output)["device"];
        EXPECT_EQ(device["type"], "esci");
        EXPECT_EQ(device["psk_identity"], "esci-cli");

        auto time = run("coap-client-openssl -B 5 -m get -u esci-cli -k device-key-123456 coaps://127.0.0.1:" +
                        std::to_string(daemon.coaps_port()) + "/tm");
        EXPECT_EQ(time.exit_code, 0) << time.output;
        EXPECT_NE(time.output.find("<Time xmlns=\"urn:ieee:std:2030.5:ns\""), std::string::npos) << time.output;

        auto duplicate =
            run(daemon.ctl("device add --type esci --premises P1 --psk-identity esci-cli --psk-key " + key_hex));
        EXPECT_EQ(duplicate.exit_code, 1) << duplicate.output;
        EXPECT_NE(duplicate.output.find("already registered"), std::string::npos) << duplicate.output;

        auto listed = run(daemon.ctl("--json device list"));
        ASSERT_EQ(listed.exit_code, 0) << listed.output;
        EXPECT_EQ(nlohmann::json::parse(listed.output)["devices"].size(), 1U);
        auto table_of_devices = run(daemon.ctl("device list"));
        EXPECT_NE(table_of_devices.output.find(" 000019 "), std::string::npos)
            << table_of_devices.output;  // as labelled
        // The PSK identity the operator gave, beside the LFDI derived for it.
        EXPECT_NE(table_of_devices.output.find("PSK-ID"), std::string::npos) << table_of_devices.output;
        EXPECT_NE(table_of_devices.output.find(" esci-cli "), std::string::npos) << table_of_devices.output;

        // The operator sees who is connected: a device holding its session open (coap-client observing for 2 s).
        std::thread observer([&] {
            (void)run("coap-client-openssl -s 2 -B 3 -m get -u esci-cli -k device-key-123456 coaps://127.0.0.1:" +
                      std::to_string(daemon.coaps_port()) + "/tm");
        });
        nlohmann::json sessions;
        for (int i = 0; i < 40 && sessions.empty(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            auto listed_sessions = run(daemon.ctl("--json device sessions --device " + device["id"].dump()));
            ASSERT_EQ(listed_sessions.exit_code, 0) << listed_sessions.output;
            sessions = nlohmann::json::parse(listed_sessions.output)["sessions"];
        }
        ASSERT_EQ(sessions.size(), 1U);
        EXPECT_EQ(sessions[0]["psk_identity"], "esci-cli");
        EXPECT_EQ(sessions[0]["device_type"], "esci");
        auto table = run(daemon.ctl("device sessions"));
        EXPECT_TRUE(std::regex_search(table.output, std::regex("\n127\\.0\\.0\\.1:[0-9]+ +psk +esci-cli +- +" +
                                                               device["id"].dump() + " +esci +PSK-")))
            << table.output;
        // Ids are positive decimal numbers, read whole: no hex, no clamping of what overflows.
        for (const char* bad : {"0", "-1", "0x5", "99999999999999999999", "5.0", "''"})
            EXPECT_EQ(run(daemon.ctl(std::string("device sessions --device ") + bad)).exit_code, 2) << bad;
        for (const char* query : {"?device=0", "?device=-1", "?device=0x5", "?Device=5"}) {
            auto refused = run(daemon.curl("'/api/v1/han/sessions" + std::string(query) + "'") +
                               " -o /dev/null -w '%{http_code}'");
            EXPECT_EQ(refused.output, "400") << query;
        }
        observer.join();

        auto health = run(daemon.ctl("--json health"));
        ASSERT_EQ(health.exit_code, 0) << health.output;
        const auto report = nlohmann::json::parse(health.output);
        EXPECT_EQ(report["status"], "ok");
        EXPECT_EQ(report["coaps"]["port"], daemon.coaps_port());
        EXPECT_EQ(report["devices"], 1);
        EXPECT_EQ(report["database"]["checkpoint_lag_frames"].is_number_unsigned(), true) << health.output;
        EXPECT_EQ(report["database"]["wal_bytes"].is_number_unsigned(), true) << health.output;
        auto human = run(daemon.ctl("health"));
        ASSERT_EQ(human.exit_code, 0) << human.output;
        EXPECT_TRUE(
            std::regex_search(human.output, std::regex("\nstorage: +WAL [0-9.]+ (B|KiB|MiB), .*write queue 0\n")))
            << human.output;

        auto removed = run(daemon.ctl("device remove " + device["id"].dump()));
        EXPECT_EQ(removed.exit_code, 0) << removed.output;
        auto refused = run("coap-client-openssl -B 3 -m get -u esci-cli -k device-key-123456 coaps://127.0.0.1:" +
                           std::to_string(daemon.coaps_port()) + "/tm");
        EXPECT_EQ(refused.output.find("<Time"), std::string::npos) << refused.output;

        EXPECT_EQ(daemon.terminate(), 0);
        EXPECT_NE(daemon.stderr_text().find("[HEADEND_STOPPED] clean shutdown"), std::string::npos)
            << daemon.stderr_text();
    }
    fs::remove_all(dir);
}

// A peer-supplied string (here an unauthenticated PSK identity) cannot forge a log line: its newline is escaped.
TEST(Cli, APskIdentityWithANewlineCannotForgeALogLine) {
    const fs::path dir = temp_dir();
    {
        DaemonProcess daemon(dir);
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        run("coap-client-openssl -B 2 -m get -u \"$(printf 'x\\n[HEADEND_STARTED] forged')\" -k some-key "
            "coaps://127.0.0.1:" +
            std::to_string(daemon.coaps_port()) + "/tm");
        EXPECT_EQ(daemon.terminate(), 0);
        const std::string log = daemon.stderr_text();
        EXPECT_NE(log.find("identity 'x\\n\\x5bHEADEND_STARTED] forged'"), std::string::npos) << log;
        EXPECT_EQ(log.find("[HEADEND_STARTED] forged"), std::string::npos) << log;  // not even inside a line
        std::istringstream lines(log);
        std::string line;
        while (std::getline(lines, line))
            EXPECT_NE(line.rfind("[HEADEND_STARTED]", 0), 0U) << "a forged line: " << line;
    }
    fs::remove_all(dir);
}

// Issue 3, requirement 1 and 3: the operator imports the CIS export, sees who is not enrolled, and enrolls a PEV
// taking a phone call; every refusal is explained and stores nothing.
TEST(Cli, OperatorImportsCustomersAndEnrollsAPev) {
    const fs::path dir = temp_dir();
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[plugin.pev-registration]\n"
                                        << "programs_file = \"" << PROGRAMS_FILE << "\"\n";
    const std::string header = "account_id,customer_id,customer_name,premises_id,service_address,default_rate\n";
    std::ofstream(dir / "cis.csv") << header << "A1,C1,\"Doe, Jane\",P1,1 Main St,DOM-FLAT\n"
                                   << "A2,C2,John Roe,P2,2 Main St,DOM-FLAT\n";
    std::ofstream(dir / "bad.csv") << header << "A3,C3,Ann,P3,3 Main St,DOM-FLAT\n"
                                   << "A4,C4,,P4,4 Main St,DOM-FLAT\nA5,C5,Bob,P5,5 Main St,NO-SUCH-RATE\n";
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();

        auto imported = run(daemon.ctl("import customers " + (dir / "cis.csv").string()));
        ASSERT_EQ(imported.exit_code, 0) << imported.output;
        EXPECT_NE(imported.output.find("imported: 2 added, 0 updated, 0 unchanged"), std::string::npos)
            << imported.output;
        auto again = run(daemon.ctl("import customers " + (dir / "cis.csv").string()));
        EXPECT_NE(again.output.find("0 added, 0 updated, 2 unchanged"), std::string::npos) << again.output;

        auto refused = run(daemon.ctl("import customers " + (dir / "bad.csv").string()));
        EXPECT_EQ(refused.exit_code, 1) << refused.output;
        EXPECT_NE(refused.output.find("line 3: "), std::string::npos) << refused.output;
        EXPECT_NE(refused.output.find("line 4: default_rate 'NO-SUCH-RATE' is not a program"), std::string::npos)
            << refused.output;
        auto missing = run(daemon.ctl("import customers " + (dir / "none.csv").string()));
        EXPECT_EQ(missing.exit_code, 2) << missing.output;

        auto not_enrolled = run(daemon.ctl("--json premises list --not-enrolled"));
        ASSERT_EQ(not_enrolled.exit_code, 0) << not_enrolled.output;
        EXPECT_EQ(nlohmann::json::parse(not_enrolled.output)["premises"].size(), 2U);  // P3 was never imported

        const std::string enroll =
            "enroll --account A1 --customer C1 --premises P1 --program EV-TOU "
            "--allow-guest true --guest-payer host --vin ";
        auto bad_vin = run(daemon.ctl(enroll + "1HGCM82643A004352"));
        EXPECT_EQ(bad_vin.exit_code, 1) << bad_vin.output;
        EXPECT_NE(bad_vin.output.find("check digit"), std::string::npos) << bad_vin.output;
        auto wrong_premises =
            run(daemon.ctl("enroll --account A1 --customer C1 --premises P2 --program EV-TOU --vin 1HGCM82633A004352"));
        EXPECT_EQ(wrong_premises.exit_code, 1) << wrong_premises.output;
        EXPECT_NE(wrong_premises.output.find("premises 'P2' does not belong to account 'A1'"), std::string::npos)
            << wrong_premises.output;

        auto enrolled = run(daemon.ctl(enroll + "1HGCM82633A004352"));
        ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
        EXPECT_NE(enrolled.output.find("enrolled"), std::string::npos) << enrolled.output;

        auto shown = run(daemon.ctl("--json enrollment show 1HGCM82633A004352"));
        ASSERT_EQ(shown.exit_code, 0) << shown.output;
        const auto enrollment = nlohmann::json::parse(shown.output)["enrollment"];
        EXPECT_EQ(enrollment["premises_id"], "P1");
        EXPECT_EQ(enrollment["guest_charging_payer"], "host");
        EXPECT_EQ(enrollment["channel"], "operator");

        auto changed = run(daemon.ctl("enrollment change 1HGCM82633A004352 --allow-roaming true"));
        EXPECT_EQ(changed.exit_code, 0) << changed.output;
        EXPECT_NE(changed.output.find("roaming"), std::string::npos) << changed.output;
        auto nothing = run(daemon.ctl("enrollment change 1HGCM82633A004352"));
        EXPECT_EQ(nothing.exit_code, 2) << nothing.output;

        auto remaining = run(daemon.ctl("--json premises list --not-enrolled"));
        const auto premises = nlohmann::json::parse(remaining.output)["premises"];
        ASSERT_EQ(premises.size(), 1U);
        EXPECT_EQ(premises[0]["premises_id"], "P2");

        // The program tariffs over DTLS, to an independent client (issue 3, requirement 2).
        const std::string key_hex = "6465766963652d6b65792d313233343536";  // "device-key-123456"
        ASSERT_EQ(run(daemon.ctl("device add --type esci --premises P1 --psk-identity esci-p1 --psk-key " + key_hex))
                      .exit_code,
                  0);
        auto tariffs =
            run("coap-client-openssl -B 5 -m get -u esci-p1 -k device-key-123456 "
                "'coaps://127.0.0.1:" +
                std::to_string(daemon.coaps_port()) + "/tp/EV-TOU/rc/1/tti?l=3'");
        EXPECT_EQ(tariffs.exit_code, 0) << tariffs.output;
        EXPECT_NE(tariffs.output.find("<TimeTariffIntervalList xmlns=\"urn:ieee:std:2030.5:ns\""), std::string::npos)
            << tariffs.output;
        EXPECT_NE(tariffs.output.find("results=\"3\""), std::string::npos) << tariffs.output;

        auto unenrolled = run(daemon.ctl("unenroll 1HGCM82633A004352"));
        EXPECT_EQ(unenrolled.exit_code, 0) << unenrolled.output;
        auto gone = run(daemon.ctl("enrollment show 1HGCM82633A004352"));
        EXPECT_EQ(gone.exit_code, 1) << gone.output;
        EXPECT_EQ(daemon.terminate(), 0);
    }
    fs::remove_all(dir);
}

// Issue 3, the demo's path: an emulated premises (han-emulator as its own process) runs scenarios 1 and 2 against
// the daemon; the operator reads the audit trail and changes the EUMD's interval, which the EUMD then applies.
TEST(Cli, OperatorLoadsATariffVersionThatOutlivesARestart) {
    const fs::path dir = temp_dir();
    std::ifstream shipped(PROGRAMS_FILE);
    std::stringstream text;
    text << shipped.rdbuf();
    std::string raised = text.str();
    raised.replace(raised.find("\"0.56368\""), 9, "\"0.60000\"");
    std::ofstream(dir / "overlapping.toml") << raised;  // no effective_from: it would overlap version 1
    raised.replace(raised.find("time_zone = "), 0, "effective_from = \"2030-01-01\"\n");
    std::ofstream(dir / "v2.toml") << raised;
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[plugin.pev-registration]\n"
                                        << "programs_file = \"" << PROGRAMS_FILE << "\"\n";
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto listed = run(daemon.ctl("--json tariff list"));
        ASSERT_EQ(listed.exit_code, 0) << listed.output;
        auto versions = nlohmann::json::parse(listed.output)["versions"];
        ASSERT_EQ(versions.size(), 1U);
        EXPECT_EQ(versions[0]["in_force"], true);

        auto loaded = run(daemon.ctl("tariff load " + (dir / "v2.toml").string()));
        EXPECT_EQ(loaded.exit_code, 0) << loaded.output;
        EXPECT_NE(loaded.output.find("loaded as version 2"), std::string::npos) << loaded.output;
        auto again = run(daemon.ctl("tariff load " + (dir / "v2.toml").string()));
        EXPECT_EQ(again.exit_code, 0) << again.output;
        EXPECT_NE(again.output.find("already loaded as version 2"), std::string::npos) << again.output;
        auto refused = run(daemon.ctl("tariff load " + (dir / "overlapping.toml").string()));
        EXPECT_EQ(refused.exit_code, 1) << refused.output;
        EXPECT_NE(refused.output.find("they never overlap"), std::string::npos) << refused.output;
        EXPECT_EQ(run(daemon.ctl("tariff load " + (dir / "none.toml").string())).exit_code, 2);

        auto shown = run(daemon.ctl("tariff show 2"));
        EXPECT_EQ(shown.exit_code, 0) << shown.output;
        EXPECT_NE(shown.output.find("2030-01-01T08:00:00Z"), std::string::npos) << shown.output;
        EXPECT_NE(shown.output.find("0.60"), std::string::npos) << shown.output;
        EXPECT_NE(shown.output.find("EV-TOU: fixed charge 0.516 per day"), std::string::npos) << shown.output;
        EXPECT_EQ(run(daemon.ctl("tariff show 2 --toml")).output, raised);
        EXPECT_EQ(run(daemon.ctl("tariff show 3")).exit_code, 1);
        EXPECT_EQ(run(daemon.ctl("tariff show x")).exit_code, 2);
    }
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto table = run(daemon.ctl("tariff list"));
        EXPECT_EQ(table.exit_code, 0) << table.output;
        EXPECT_NE(table.output.find("v2.toml"), std::string::npos) << table.output;
        auto versions = nlohmann::json::parse(run(daemon.ctl("--json tariff list")).output)["versions"];
        ASSERT_EQ(versions.size(), 2U);
        EXPECT_EQ(versions[0]["in_force"], true);
        EXPECT_EQ(versions[1]["in_force"], false);
    }
    fs::remove_all(dir);
}

TEST(Cli, AnEmulatedPremisesRunsBothScenariosAndTheOperatorSeesEveryStep) {
    const fs::path dir = temp_dir();
    ASSERT_EQ(run(std::string(HEADEND_PKI_BIN) + " ca --out " + (dir / "mfr").string()).exit_code, 0);
    std::ofstream(dir / "headend.toml") << "[tls]\ndevice_ca = [\"" << (dir / "mfr" / "ca.pem").string() << "\"]\n"
                                        << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[[plugins]]\nname = \"pev-binding\"\n"
                                        << "library = \"" << PEV_BINDING_PLUGIN << "\"\n[[plugins]]\n"
                                        << "name = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
                                        << "\"\n[plugin.pev-registration]\n"
                                        << "programs_file = \"" << PROGRAMS_FILE << "\"\n";
    std::ofstream(dir / "cis.csv") << "account_id,customer_id,customer_name,premises_id,service_address,default_rate\n"
                                   << "A1,C1,Jane Doe,P1,1 Main St,DOM-FLAT\n";
    {
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        const std::string key = "6465766963652d6b65792d313233343536";
        for (const auto& [type, identity] : {std::pair{"esci", "esci-p1"}, std::pair{"eumd", "eumd-p1"}}) {
            ASSERT_EQ(run(daemon.ctl(std::string("device add --type ") + type + " --premises P1 --psk-identity " +
                                     identity + " --psk-key " + key))
                          .exit_code,
                      0);
        }
        ASSERT_EQ(run(daemon.ctl("import customers " + (dir / "cis.csv").string())).exit_code, 0);
        ASSERT_EQ(
            run(daemon.ctl("enroll --account A1 --customer C1 --premises P1 --vin 1HGCM82633A004352 --program EV-TOU"))
                .exit_code,
            0);
        const std::string emulator = std::string(HAN_EMULATOR_BIN) + " --port " + std::to_string(daemon.coaps_port()) +
                                     " --server-ca " + (dir / "data" / "tls" / "ca.pem").string() +
                                     " --esci esci-p1:" + key + " --eumd eumd-p1:" + key + " --mfr-ca " +
                                     (dir / "mfr").string() + " --vin 1HGCM82633A004352 --wait 5";
        auto scenarios = run(emulator);
        ASSERT_EQ(scenarios.exit_code, 0) << scenarios.output;
        EXPECT_NE(scenarios.output.find("power_status.plugged_in"), std::string::npos) << scenarios.output;
        EXPECT_NE(scenarios.output.find("charging: program EV-TOU"), std::string::npos) << scenarios.output;
        // The PEV certificate the emulator minted outlives any re-bind credential (30 days by default): it is what the
        // PEV falls back to when that credential expires.
        const auto pev_certificate = dir / "mfr" / "pev-1HGCM82633A004352.pem";
        EXPECT_EQ(run("openssl x509 -noout -checkend 31536000 -in " + pev_certificate.string()).exit_code, 0)
            << "the emulator's PEV certificate expires within a year";

        auto listed = run(daemon.ctl("--json binding list --vin 1HGCM82633A004352"));
        ASSERT_EQ(listed.exit_code, 0) << listed.output;
        const auto bindings = nlohmann::json::parse(listed.output)["bindings"];
        ASSERT_EQ(bindings.size(), 2U);
        EXPECT_EQ(bindings[0]["status"], "active");
        EXPECT_EQ(bindings[0]["rebind"], true);
        EXPECT_EQ(bindings[1]["status"], "ended");

        // Issue 8: the bindings by state in /metrics (contributed by the plugin), behind the admin token.
        auto unauthorized = run(daemon.curl("/metrics", false) + " -o /dev/null -w '%{http_code}'");
        EXPECT_EQ(unauthorized.output, "401") << unauthorized.output;
        auto scraped = run(daemon.curl("/metrics"));
        ASSERT_EQ(scraped.exit_code, 0) << scraped.output;
        for (const char* line :
             {"# TYPE headend_pev_bindings gauge\n", "headend_pev_bindings{state=\"active\"} 1\n",
              "headend_pev_bindings{state=\"ended\"} 1\n", "headend_pev_bindings{state=\"fallback\"} 0\n"}) {
            EXPECT_NE(scraped.output.find(line), std::string::npos) << line << scraped.output;
        }
        auto checked = run(daemon.curl("/metrics") + " | promtool check metrics");
        EXPECT_EQ(checked.exit_code, 0) << checked.output;

        auto reconfigured = run(daemon.ctl("eumd set-interval --premises P1 --seconds 300"));
        EXPECT_EQ(reconfigured.exit_code, 0) << reconfigured.output;
        // The devices now keep fixed source ports, as real HAN devices do, and come back from them a second time.
        const std::uint16_t ports = free_udp_ports(4);
        ASSERT_NE(ports, 0);
        const std::string fixed = emulator + " --source-port " + std::to_string(ports);
        auto applied = run(fixed + " --scenario 1");
        EXPECT_NE(applied.output.find("interval 300 s"), std::string::npos) << applied.output;
        auto again = run(fixed + " --scenario 1");  // from the same ports again
        EXPECT_EQ(again.exit_code, 0) << again.output;

        auto audit = run(daemon.ctl("pev audit 1HGCM82633A004352"));
        ASSERT_EQ(audit.exit_code, 0) << audit.output;
        for (const char* step : {"esci.requested", "pev.pinned", "binding.confirmed", "credential.issued",
                                 "pev.read_binding", "binding.acknowledged", "eumd.acknowledged", "binding.active",
                                 "pev.unplugged", "binding.ended", "eumd.reconfigured", "eumd.interval_applied"}) {
            EXPECT_NE(audit.output.find(step), std::string::npos) << step << "\n" << audit.output;
        }
        EXPECT_EQ(run(daemon.ctl("pev audit 1M8GDM9AXKP042788")).exit_code, 1);
        EXPECT_EQ(daemon.terminate(), 0);
    }
    fs::remove_all(dir);
}

TEST(Cli, APluginThatCannotStartStopsTheDaemonWithItsReason) {
    const fs::path dir = temp_dir();
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[plugin.pev-registration]\n"
                                        << "programs_file = \"" << (dir / "missing.toml").string() << "\"\n";
    auto result = run(std::string(HEADEND_BIN) + " --data-dir " + (dir / "data").string() +
                      " --coaps-port 0 --admin-port 0 --config " + (dir / "headend.toml").string());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("missing.toml: cannot be read"), std::string::npos) << result.output;
    fs::remove_all(dir);
}

TEST(Cli, AProgramCatalogOfAnotherTimeZoneStopsTheDaemon) {
    const fs::path dir = temp_dir();
    std::ofstream(dir / "headend.toml") << "[territory]\ntime_zone = \"America/New_York\"\n"
                                        << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[plugin.pev-registration]\n"
                                        << "programs_file = \"" << PROGRAMS_FILE << "\"\n";
    auto result = run(std::string(HEADEND_BIN) + " --data-dir " + (dir / "data").string() +
                      " --coaps-port 0 --admin-port 0 --config " + (dir / "headend.toml").string());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("time_zone 'America/Los_Angeles' is not the territory's ('America/New_York'"),
              std::string::npos)
        << result.output;
    fs::remove_all(dir);
}

// From review: a second daemon started on the same data folder ran the same queues beside the first.
TEST(Cli, ASecondDaemonOnTheSameDataFolderIsRefused) {
    const fs::path dir = temp_dir();
    {
        DaemonProcess daemon(dir);
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto second =
            run(std::string(HEADEND_BIN) + " --data-dir " + (dir / "data").string() + " --coaps-port 0 --admin-port 0");
        EXPECT_NE(second.exit_code, 0);
        EXPECT_NE(second.output.find("is in use by another headend"), std::string::npos) << second.output;
        daemon.kill_hard();
    }
    // The lock goes with the process, however it ended.
    DaemonProcess again(dir);
    EXPECT_NE(again.coaps_port(), 0) << again.stderr_text();
    fs::remove_all(dir);
}

TEST(Cli, ABadConfigKeyStopsTheDaemonNamingTheKey) {
    const fs::path dir = temp_dir();
    std::ofstream(dir / "bad.toml") << "[limits]\nmax_sesions = 10\n";
    auto result = run(std::string(HEADEND_BIN) + " --config " + (dir / "bad.toml").string());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("limits.max_sesions"), std::string::npos) << result.output;
    EXPECT_FALSE(fs::exists(dir / "data"));
    fs::remove_all(dir);
}

TEST(Cli, HelpAndDefaultConfig) {
    auto help = run(std::string(HEADEND_BIN) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("--coaps-port"), std::string::npos);
    auto defaults = run(std::string(HEADEND_BIN) + " --print-default-config");
    EXPECT_EQ(defaults.exit_code, 0);
    EXPECT_NE(defaults.output.find("coaps_port = 5684"), std::string::npos);
    // A missing configuration file is a configuration error (2), not CLI11's own exit code (105).
    auto missing = run(std::string(HEADEND_BIN) + " --config /nonexistent/headend.toml");
    EXPECT_EQ(missing.exit_code, 2) << missing.output;
    EXPECT_NE(missing.output.find("/nonexistent/headend.toml"), std::string::npos) << missing.output;
}

}  // namespace
