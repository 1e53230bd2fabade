// The MDM's pull against the real daemon: premises meter data imported from an AMI file with headendctl, exported
// by a cycle, then fetched over the mdm-export plugin's HTTPS listener by the real mdm-pull binary with a client
// certificate (mutual TLS) or a bearer token: wrong credentials refused, an interrupted download resumed, a corrupt
// one detected and fetched again, acknowledged files no longer waiting.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "cmep/cmep.hpp"
#include "daemon_process.hpp"
#include "headend/testing/fakes.hpp"
#include "headend/testing/python_server.hpp"
#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::DaemonProcess;
using headend::testing::run;
using nlohmann::json;

constexpr std::int64_t kQuarter = 900;
const std::string kToken = "mdm-token-0123456789abcdef0123456789abcdef";
constexpr std::int64_t kWalLimit = 128 * 1024;  // the WAL is truncated to this once checkpointed

// A CA and a client certificate it signs, made with the openssl CLI as an MDM operator would.
void make_client_pki(const fs::path& dir, const std::string& name) {
    const std::string d = dir.string();
    for (const std::string& command :
         {"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" + name +
              "-ca -keyout " + d + "/" + name + "-ca.key -out " + d + "/" + name + "-ca.pem",
          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name + " -keyout " + d + "/" +
              name + ".key -out " + d + "/" + name + ".csr",
          "openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d + "/" + name + "-ca.pem -CAkey " + d +
              "/" + name + "-ca.key -CAcreateserial -out " + d + "/" + name + ".pem"}) {
        auto made = run(command + " 2>&1");
        ASSERT_EQ(made.exit_code, 0) << command << "\n" << made.output;
    }
}

class MdmPullTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("headend-mdm-" + std::to_string(std::random_device()()));
        fs::create_directories(dir_);
        make_client_pki(dir_, "mdm");
        make_client_pki(dir_, "rogue");
        std::ofstream(dir_ / "token") << kToken << " \r\n";  // an editor's line end: not part of the token
        std::ofstream(dir_ / "wrong-token") << "not-the-token-0123456789abcdef0123456789\n";
        std::ofstream(dir_ / "headend.toml")
            << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \"" << PEV_REGISTRATION_PLUGIN
            << "\"\n[[plugins]]\nname = \"pev-binding\"\nlibrary = \"" << PEV_BINDING_PLUGIN
            << "\"\n[[plugins]]\nname = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
            << "\"\n[[plugins]]\nname = \"mdm-export\"\nlibrary = \"" << MDM_EXPORT_PLUGIN
            << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE << "\"\n"
            << "[plugin.mdm-export]\nlisten_address = \"127.0.0.1\"\nlisten_port = 0\nclient_ca = \""
            << (dir_ / "mdm-ca.pem").string() << "\"\ntoken_file = \"" << (dir_ / "token").string() << "\"\n"
            << "intervals_per_file = " << intervals_per_file_ << "\n"
            << "[storage]\njournal_size_limit_bytes = " << kWalLimit << "\n";
        std::ofstream(dir_ / "cis.csv") << "account_id,customer_id,customer_name,premises_id,service_address,"
                                           "default_rate\nA1,C1,Jane Doe,P1,1 Main St,DOM-FLAT\n";
        daemon_ = std::make_unique<DaemonProcess>(dir_, dir_ / "headend.toml");
        ASSERT_NE(daemon_->coaps_port(), 0) << daemon_->stderr_text();
        const std::string text = daemon_->stderr_text();
        std::smatch match;
        ASSERT_TRUE(std::regex_search(text, match, std::regex(R"(MDM_LISTENING\].*https://127\.0\.0\.1:(\d+))")))
            << text;
        url_ = "https://127.0.0.1:" + match[1].str();
        ASSERT_EQ(run(daemon_->ctl("import customers " + (dir_ / "cis.csv").string())).exit_code, 0);
    }
    void TearDown() override {
        daemon_.reset();
        fs::remove_all(dir_);
    }

    // `days` of the premises meter's quarter hours from the AMI, ending `ago` days before today (UTC); imported with
    // headendctl, then exported.
    void import_days(int days, int ago = 1) {
        import_only(days, ago);
        auto exported = run(daemon_->ctl("--json export run"));
        ASSERT_EQ(exported.exit_code, 0) << exported.output;
    }
    void import_only(int days, int ago) {
        const std::int64_t now = std::time(nullptr);
        const std::int64_t first = now - now % 86400 - (days + ago) * 86400;
        std::ofstream file(dir_ / "ami.cmep");
        for (int day = 0; day < days; ++day) {
            cmep::Record record;
            record.sender_id = "AMI";
            record.receiver_id = "PEVHEADEND";
            record.timestamp = now;
            record.meter_id = "P1";
            record.purpose = "OK";
            record.interval_s = kQuarter;
            for (int i = 0; i < 96; ++i) {
                const std::int64_t start = first + day * 86400 + i * kQuarter;
                record.values.push_back({start + kQuarter, cmep::Flag::Actual, 100 + (start / kQuarter) % 700});
            }
            file << cmep::format_record(record) << "\r\n";
        }
        file.close();
        auto imported = run(daemon_->ctl("import intervals " + (dir_ / "ami.cmep").string()));
        ASSERT_EQ(imported.exit_code, 0) << imported.output;
    }

    headend::testing::Command pull(const std::string& credentials, const fs::path& out, const std::string& extra = "") {
        return run(std::string(MDM_PULL_BIN) + " --json --url " + url_ + " --out " + out.string() + " --ca " +
                   (dir_ / "data" / "tls" / "ca.pem").string() + " " + credentials + " " + extra);
    }
    std::string certificate(const std::string& name) const {
        return "--cert " + (dir_ / (name + ".pem")).string() + " --key " + (dir_ / (name + ".key")).string();
    }
    json waiting() {
        auto listed = run(daemon_->ctl("--json export list --waiting"));
        EXPECT_EQ(listed.exit_code, 0) << listed.output;
        return json::parse(listed.output)["files"];
    }

    fs::path dir_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::string url_;
    int intervals_per_file_ = 200;
};

// Files large enough (25 days of quarter hours in one ESPI feed, over 384 KiB) that a slow reader leaves the
// head-end's side of the transfer blocked, not finished into socket buffers.
class SlowMdmTest : public MdmPullTest {
protected:
    SlowMdmTest() { intervals_per_file_ = 100000; }
};

TEST_F(MdmPullTest, TheMdmFetchesChecksAndAcknowledgesWithItsCertificateAndWrongCredentialsAreRefused) {
    import_days(3);  // 288 intervals: two files per format at 200 per file
    const auto before = waiting();
    ASSERT_EQ(before.size(), 4U) << before.dump();

    // A certificate from another CA fails the handshake; a wrong token is 401; nothing is acknowledged.
    auto rogue = pull(certificate("rogue"), dir_ / "rogue");
    EXPECT_EQ(rogue.exit_code, 3) << rogue.output;
    auto wrong = pull("--token-file " + (dir_ / "wrong-token").string(), dir_ / "wrong");
    EXPECT_EQ(wrong.exit_code, 3) << wrong.output;
    EXPECT_NE(wrong.output.find("401"), std::string::npos) << wrong.output;
    auto anonymous = pull("", dir_ / "anonymous");  // no credential at all: a usage error, nothing asked
    EXPECT_EQ(anonymous.exit_code, 2) << anonymous.output;
    const std::string ca = " --cacert " + (dir_ / "data" / "tls" / "ca.pem").string();
    EXPECT_EQ(run("curl -s -o /dev/null -w '%{http_code}'" + ca + " " + url_ + "/mdm/v1/files").output, "401");
    EXPECT_EQ(waiting().size(), 4U);

    // A symlink planted where a download goes is removed, not written through.
    fs::create_directories(dir_ / "mdm");
    std::ofstream(dir_ / "victim") << "keep me";
    fs::create_symlink(dir_ / "victim", dir_ / "mdm" / ("." + before[0]["name"].get<std::string>() + ".part"));
    auto fetched = pull(certificate("mdm"), dir_ / "mdm");
    ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
    const auto outcome = json::parse(fetched.output);
    ASSERT_EQ(outcome["files"].size(), 4U);
    std::int64_t intervals = 0;
    for (const auto& file : outcome["files"]) {
        EXPECT_EQ(file["status"], "fetched");
        EXPECT_TRUE(file["acknowledged"].get<bool>());
        const auto path = dir_ / "mdm" / file["name"].get<std::string>();
        EXPECT_EQ(run("sha256sum " + path.string()).output.substr(0, 64), file["sha256"].get<std::string>());
        if (file["name"].get<std::string>().starts_with("cmep")) {
            std::ifstream in(path);
            for (std::string line; std::getline(in, line);) {
                line.pop_back();
                auto record = cmep::parse_record(line);
                ASSERT_TRUE(record) << record.error().message;
                intervals += static_cast<std::int64_t>(record->values.size());
            }
        }
    }
    EXPECT_EQ(intervals, 288);
    std::ifstream victim(dir_ / "victim");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(victim), std::istreambuf_iterator<char>()), "keep me");
    EXPECT_TRUE(waiting().empty());
    // Nothing waits now; the token works as well as the certificate.
    auto again = pull("--token-file " + (dir_ / "token").string(), dir_ / "mdm");
    EXPECT_EQ(again.exit_code, 0) << again.output;
    EXPECT_TRUE(json::parse(again.output)["files"].empty());
}

TEST_F(MdmPullTest, AnInterruptedDownloadIsResumedAndACorruptOneIsDetectedAndFetchedAgain) {
    import_days(1);
    const auto files = waiting();
    ASSERT_EQ(files.size(), 2U);
    const std::string cmep_name = files[0]["name"];
    const std::string espi_name = files[1]["name"];
    const fs::path out = dir_ / "out";
    fs::create_directories(out);
    const fs::path source = dir_ / "data" / "mdm-export";
    // The CMEP file broke off halfway, as after a dropped connection; the ESPI file's partial copy is corrupt.
    const auto cmep_size = fs::file_size(source / cmep_name);
    {
        std::ifstream in(source / cmep_name, std::ios::binary);
        std::string half(cmep_size / 2, '\0');
        in.read(half.data(), static_cast<std::streamsize>(half.size()));
        std::ofstream(out / ("." + cmep_name + ".part"), std::ios::binary) << half;
        std::ofstream(out / ("." + espi_name + ".part"), std::ios::binary) << "<not the feed>";
    }
    auto first = pull("--token-file " + (dir_ / "token").string(), out);
    EXPECT_EQ(first.exit_code, 1) << first.output;
    const auto outcome = json::parse(first.output)["files"];
    ASSERT_EQ(outcome.size(), 2U) << first.output;
    EXPECT_EQ(outcome[0]["status"], "fetched");
    EXPECT_EQ(outcome[0]["resumed_from"], cmep_size / 2);
    EXPECT_EQ(outcome[1]["status"], "checksum_mismatch");
    EXPECT_FALSE(outcome[1]["acknowledged"].get<bool>());
    EXPECT_FALSE(fs::exists(out / espi_name));
    EXPECT_EQ(waiting().size(), 1U);  // the ESPI file still waits

    auto second = pull("--token-file " + (dir_ / "token").string(), out);
    EXPECT_EQ(second.exit_code, 0) << second.output;
    const auto retried = json::parse(second.output)["files"];
    ASSERT_EQ(retried.size(), 1U);
    EXPECT_EQ(retried[0]["status"], "fetched");
    EXPECT_EQ(retried[0]["resumed_from"], 0);
    EXPECT_EQ(run("cmp " + (out / espi_name).string() + " " + (source / espi_name).string()).exit_code, 0);
    EXPECT_EQ(run("cmp " + (out / cmep_name).string() + " " + (source / cmep_name).string()).exit_code, 0);
    EXPECT_TRUE(waiting().empty());
}

// The operator's side of an alarm with headendctl: a conflicting AMI value raises one, `alarm clear --note` keeps it
// as cleared, and the note shows where the cleared alarms are listed.
TEST_F(MdmPullTest, AnAlarmClearedWithANoteIsListedAsClearedWithIt) {
    import_days(1);
    std::string line;
    std::getline(std::ifstream(dir_ / "ami.cmep"), line);
    // The same record with its first value one Wh more: a conflict, kept aside with an alarm.
    const std::string bumped = cmep::format_record([&] {
        auto record = cmep::parse_record(line);
        EXPECT_TRUE(record) << line;
        record->values.resize(1);
        record->values[0].wh += 1;
        return *record;
    }());
    std::ofstream(dir_ / "conflict.cmep") << bumped << "\r\n";
    ASSERT_EQ(run(daemon_->ctl("import intervals " + (dir_ / "conflict.cmep").string())).exit_code, 0);
    auto open = run(daemon_->ctl("--json alarm list --kind interval_conflict"));
    ASSERT_EQ(open.exit_code, 0) << open.output;
    const auto alarms = json::parse(open.output)["alarms"];
    ASSERT_EQ(alarms.size(), 1U) << open.output;
    const std::string id = std::to_string(alarms[0]["alarm_id"].get<std::int64_t>());
    EXPECT_EQ(run(daemon_->ctl("alarm clear " + id + " --note \"meter swapped\"")).exit_code, 0);
    EXPECT_EQ(run(daemon_->ctl("alarm list")).output, "no alarms\n");
    auto cleared = run(daemon_->ctl("alarm list --state cleared"));
    ASSERT_EQ(cleared.exit_code, 0);
    EXPECT_NE(cleared.output.find("NOTE"), std::string::npos) << cleared.output;
    EXPECT_NE(cleared.output.find("meter swapped"), std::string::npos) << cleared.output;
}

// An MDM that reads a file slowly holds no database read transaction while it does: the head-end goes on storing
// intervals, and its WAL is checkpointed and truncated to journal_size_limit_bytes behind it, mid-download.
TEST_F(SlowMdmTest, ASlowDownloadHoldsNoReadTransactionAndTheWalIsCheckpointedBehindIt) {
    import_days(25, 30);
    const auto files = waiting();
    ASSERT_FALSE(files.empty());
    std::string name;
    std::int64_t size = 0;
    for (const auto& file : files)
        if (file["bytes"].get<std::int64_t>() > size) {
            name = file["name"];
            size = file["bytes"];
        }
    ASSERT_GT(size, 384 * 1024) << "a file larger than a slow reader's socket buffers on loopback";
    // 1 KiB/s: the download lasts far longer than this test waits; stopped at the end.
    const fs::path partial = dir_ / "slow.part";
    const std::string pid = run("curl -s --limit-rate 1k --cacert " + (dir_ / "data" / "tls" / "ca.pem").string() +
                                " -H 'Authorization: Bearer " + kToken + "' -o " + partial.string() + " " + url_ +
                                "/mdm/v1/files/" + name + " > /dev/null 2>&1 & echo $!")
                                .output;
    for (int i = 0; i < 100 && (!fs::exists(partial) || fs::file_size(partial) == 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(fs::exists(partial) && fs::file_size(partial) > 0) << "the download did not start";

    // Meanwhile 25 more days of the meter's quarter hours go in: far more WAL than the limit.
    ASSERT_NO_FATAL_FAILURE(import_only(25, 3));
    json health;
    bool caught_up = false;
    for (int i = 0; i < 100 && !caught_up; ++i) {
        health = json::parse(run(daemon_->curl("/api/v1/health")).output)["database"];
        caught_up = health["wal_bytes"].get<std::int64_t>() <= kWalLimit && health["checkpoint_lag_frames"] == 0;
        if (!caught_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const auto received = static_cast<std::int64_t>(fs::file_size(partial));
    run("kill " + pid);
    EXPECT_TRUE(caught_up) << health.dump();
    EXPECT_LE(static_cast<std::int64_t>(fs::file_size(dir_ / "data" / "headend.db-wal")), kWalLimit);
    EXPECT_LT(received, size) << "the download was still under way when the WAL caught up";
}

TEST_F(MdmPullTest, TheListenerAnswersOnlyAuthorisedRequestsAndNeverServesFilesOutsideItsFolder) {
    import_days(1);
    const std::string ca = " --cacert " + (dir_ / "data" / "tls" / "ca.pem").string();
    auto code = [&](const std::string& arguments) {
        return run("curl -s -o /dev/null -w '%{http_code}'" + ca + " " + arguments).output;
    };
    EXPECT_EQ(code(url_ + "/mdm/v1/files"), "401");
    EXPECT_EQ(code("-H 'Authorization: Bearer " + kToken + "' " + url_ + "/mdm/v1/files/..%2Fheadend.db"), "404");
    EXPECT_EQ(code("-H 'Authorization: Bearer " + kToken + "' " + url_ + "/mdm/v1/files/manifest.json"), "404");
    EXPECT_EQ(code("-H 'Authorization: Bearer " + kToken + "' -X POST " + url_ + "/mdm/v1/files/nope.csv/ack"), "404");
    EXPECT_EQ(code("-H 'Authorization: Bearer " + kToken + "' " + url_ + "/mdm/v1/manifest"), "200");
    EXPECT_EQ(code("--tls-max 1.1 -H 'Authorization: Bearer " + kToken + "' " + url_ + "/mdm/v1/files"), "000");
}

// A file claimed but not yet written (here the export folder is gone) is not the MDM's to see: it is neither listed
// nor served until it is written whole; the operator sees it pending.
TEST_F(MdmPullTest, AFileStillBeingWrittenIsNeitherListedNorServedToTheMdm) {
    import_days(1, 2);
    const fs::path folder = dir_ / "data" / "mdm-export";
    fs::rename(folder, dir_ / "away");
    std::ofstream(folder) << "not a folder";
    ASSERT_NO_FATAL_FAILURE(import_only(1, 1));
    auto failed = run(daemon_->ctl("--json export run"));
    EXPECT_NE(failed.exit_code, 0) << failed.output;
    auto admin = run(daemon_->ctl("--json export list"));
    ASSERT_EQ(admin.exit_code, 0) << admin.output;
    std::vector<std::string> pending;
    const auto files = json::parse(admin.output)["files"];
    for (const auto& file : files)
        if (file["state"] == "pending")
            pending.push_back(file["name"]);
    ASSERT_EQ(pending.size(), 1U) << admin.output;  // the cycle stops at the first file it cannot write

    const std::string curl = "curl -s --cacert " + (dir_ / "data" / "tls" / "ca.pem").string() +
                             " -H 'Authorization: Bearer " + kToken + "' ";
    auto listed = json::parse(run(curl + url_ + "/mdm/v1/files").output)["files"];
    EXPECT_EQ(listed.size(), 2U) << listed.dump();
    for (const auto& file : listed)
        EXPECT_EQ(std::find(pending.begin(), pending.end(), file["name"]), pending.end()) << listed.dump();
    EXPECT_EQ(run(curl + "-o /dev/null -w '%{http_code}' " + url_ + "/mdm/v1/files/" + pending[0]).output, "404");

    fs::remove(folder);
    fs::rename(dir_ / "away", folder);
    auto recovered = run(daemon_->ctl("--json export run"));
    ASSERT_EQ(recovered.exit_code, 0) << recovered.output;
    listed = json::parse(run(curl + url_ + "/mdm/v1/files").output)["files"];
    EXPECT_EQ(listed.size(), 4U) << listed.dump();
    EXPECT_EQ(run(curl + "-o /dev/null -w '%{http_code}' " + url_ + "/mdm/v1/files/" + pending[0]).output, "200");
}

// A listener that would let nobody in is a configuration error: the daemon does not start (exit 2, as for its own
// configuration errors) and says why.
TEST(MdmListener, WithNeitherClientCaNorTokenTheDaemonRefusesToStart) {
    const fs::path dir = fs::temp_directory_path() / ("headend-mdm-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[[plugins]]\nname = \"pev-binding\"\n"
                                        << "library = \"" << PEV_BINDING_PLUGIN << "\"\n[[plugins]]\nname = "
                                        << "\"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
                                        << "\"\n[[plugins]]\nname = \"mdm-export\"\nlibrary = \"" << MDM_EXPORT_PLUGIN
                                        << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE
                                        << "\"\n[plugin.mdm-export]\nlisten_address = \"127.0.0.1\"\n";
    auto started = run(std::string(HEADEND_BIN) + " --config " + (dir / "headend.toml").string() + " --data-dir " +
                       (dir / "data").string() + " --coaps-port 0 --admin-port 0");
    EXPECT_EQ(started.exit_code, 2) << started.output;
    EXPECT_NE(started.output.find("needs client_ca (mutual TLS) or token_file"), std::string::npos) << started.output;
    fs::remove_all(dir);
}

// mdm-pull against a server that lies (tests/integration/rogue_mdm_server.py, Python's own HTTPS server): a listing
// that is not JSON or not UTF-8 is refused whole (exit 3); malformed entries fail one by one and write nothing,
// inside the folder or out of it; a download that ignores Range starts over; one longer than listed is cut off and
// never kept (exit 1).
class RogueServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(dir_ / "out");
        const std::string d = dir_.string();
        auto made =
            run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                "-subj /CN=rogue-mdm -addext subjectAltName=IP:127.0.0.1 -keyout " +
                d + "/server.key -out " + d + "/server.pem");
        ASSERT_EQ(made.exit_code, 0) << made.output;
        std::ofstream(dir_ / "token") << kToken << "\n";
    }
    // Starts the server in `mode`; false when it did not say its port.
    bool serve(const std::string& mode) {
        server_ = std::make_unique<headend::testing::PythonServer>(
            ROGUE_MDM_SERVER,
            "--mode " + mode + " --cert " + (dir_ / "server.pem").string() + " --key " + (dir_ / "server.key").string(),
            dir_);
        url_ = "https://127.0.0.1:" + std::to_string(server_->port());
        return server_->port() != 0;
    }
    headend::testing::Command pull() {
        return run(std::string(MDM_PULL_BIN) + " --json --url " + url_ + " --out " + (dir_ / "out").string() +
                   " --ca " + (dir_ / "server.pem").string() + " --token-file " + (dir_ / "token").string());
    }

    headend::testing::TempDir temp_;
    fs::path dir_ = temp_.path();
    std::unique_ptr<headend::testing::PythonServer> server_;  // stopped before the folder goes
    std::string url_;
};

TEST_F(RogueServerTest, AListingThatIsNotJsonIsRefusedWhole) {
    ASSERT_TRUE(serve("not-json"));
    auto pulled = pull();
    EXPECT_EQ(pulled.exit_code, 3) << pulled.output;
    EXPECT_NE(pulled.output.find("the listing is not"), std::string::npos) << pulled.output;
    EXPECT_TRUE(fs::is_empty(dir_ / "out"));
}

TEST_F(RogueServerTest, AListingThatIsNotUtf8IsRefusedWhole) {
    ASSERT_TRUE(serve("bad-utf8"));
    auto pulled = pull();
    EXPECT_EQ(pulled.exit_code, 3) << pulled.output;
    EXPECT_TRUE(fs::is_empty(dir_ / "out"));
}

TEST_F(RogueServerTest, MalformedEntriesFailOneByOneAndLyingDownloadsAreNeverKept) {
    ASSERT_TRUE(serve("entries"));
    // Half a file from an earlier run: the server ignores Range, so mdm-pull must start over, not append.
    std::ofstream(dir_ / "out" / ".no-resume.csv.part") << "MEPMD01,19970819,HEADEND,";
    auto pulled = pull();
    EXPECT_EQ(pulled.exit_code, 1) << pulled.output;
    const auto outcome = json::parse(pulled.output);
    std::map<std::string, std::string> status;
    std::size_t malformed = 0;
    for (const auto& file : outcome["files"]) {
        if (file.contains("error") && file["error"].is_string() &&
            file["error"].get<std::string>().starts_with("the listing's entry is"))
            ++malformed;
        else
            status[file["name"]] = file["status"];
    }
    EXPECT_EQ(malformed, 7U) << pulled.output;
    EXPECT_EQ(status["no-resume.csv"], "fetched") << pulled.output;
    EXPECT_EQ(status["too-long.csv"], "failed") << pulled.output;
    EXPECT_EQ(status.size(), 2U) << pulled.output;
    // Only the good file is there, whole; nothing escaped the folder.
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_ / "out"))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{".too-long.csv.part", "no-resume.csv"}));
    EXPECT_FALSE(fs::exists(dir_ / "escape.csv"));
    // The server's 200 lines, each once, in order: the stale partial was not kept in front of them.
    std::ifstream fetched(dir_ / "out" / "no-resume.csv");
    int lines = 0;
    for (std::string line; std::getline(fetched, line); ++lines)
        EXPECT_TRUE(line.starts_with("MEPMD01,") && line.ends_with("," + std::to_string(lines) + ",A,1.5\r")) << line;
    EXPECT_EQ(lines, 200);
}

TEST_F(RogueServerTest, AFileOfTheSameNameReceivedBeforeIsNeverReplaced) {
    ASSERT_TRUE(serve("replaced"));
    // What the MDM received under that name earlier (from a head-end whose numbering has since started over), maybe
    // not processed yet: it stays, and the new file is neither kept nor acknowledged.
    const std::string earlier =
        "MEPMD01,19970819,HEADEND,,,,202611010000,P1,OK,E,KWH,1,00000015,1,202611010015,A,2\r\n";
    std::ofstream(dir_ / "out" / "cmep-00000001.csv") << earlier;
    auto pulled = pull();
    EXPECT_EQ(pulled.exit_code, 1) << pulled.output;
    const auto outcome = json::parse(pulled.output);
    ASSERT_EQ(outcome["files"].size(), 1U) << pulled.output;
    EXPECT_EQ(outcome["files"][0]["status"], "failed") << pulled.output;
    EXPECT_EQ(outcome["files"][0]["acknowledged"], false) << pulled.output;
    EXPECT_NE(pulled.output.find("not replaced"), std::string::npos) << pulled.output;
    std::ifstream kept(dir_ / "out" / "cmep-00000001.csv");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), earlier);
}

}  // namespace
