// Runs the real headendctl binary against an in-process HttpServer that implements the admin API contract minimally
// and records what it received.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "headend/http/json.hpp"
#include "headend/http/server.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX name

namespace {

namespace fs = std::filesystem;
using headend::http::Access;
using headend::http::HttpServer;
using headend::http::json_error;
using headend::http::json_response;
using headend::http::Request;
using headend::http::Response;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kToken = "s3cret-admin-token";
constexpr const char* kLfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5";

struct CtlRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
}

json device_json(int id, const json& request) {
    const auto field = [&request](const char* key) { return request.contains(key) ? request[key] : json(nullptr); };
    const bool has_lfdi = request.contains("lfdi") || request.contains("cert_pem");
    return {{"id", id},
            {"type", request.value("type", "esci")},
            {"premises_id", field("premises_id")},
            {"lfdi", has_lfdi ? json(kLfdi) : json(nullptr)},
            {"sfdi", has_lfdi ? json(167261211391) : json(nullptr)},
            {"psk_identity", field("psk_identity")},
            {"pin", request.contains("pin") ? request["pin"] : json(123455)},
            {"edev_path", "/edev/" + std::to_string(id)},
            {"created_at", 1764248400}};
}

class HeadendctlTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "headendctl-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        token_file_ = dir_ / "admin.token";
        write_file(token_file_, std::string(kToken) + "\n");

        headend::http::HttpServerOptions options;
        options.admin_token = kToken;
        server_ = std::make_unique<HttpServer>(options);
        server_->add("POST", "/api/v1/devices", [this](const Request& r) { return record(r, post_devices_); });
        server_->add("GET", "/api/v1/devices", [this](const Request& r) { return record(r, get_devices_); });
        server_->add("GET", "/api/v1/sessions", [this](const Request& r) {
            return record(r, [](const Request&) {
                return json_response(200, json{{"sessions",
                                                {{{"binding_id", 4},
                                                  {"vin", "1HGCM82633A004352"},
                                                  {"premises_id", "P1"},
                                                  {"kind", "home"},
                                                  {"binding_status", "ended"},
                                                  {"from", 1793491200},
                                                  {"to", 1793502000},
                                                  {"energy_wh", 12345},
                                                  {"intervals", 12},
                                                  {"quality", "actual"}}}}});
            });
        });
        server_->add("DELETE", "/api/v1/devices/{id}", [this](const Request& r) { return record(r, delete_device_); });
        server_->add(
            "GET", "/api/v1/health", [this](const Request& r) { return record(r, health_); }, Access::Public);
        const auto started = server_->start();
        ASSERT_TRUE(started) << started.error().message;
        admin_ = "http://127.0.0.1:" + std::to_string(server_->port());
    }

    void TearDown() override {
        server_->stop();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    Response record(const Request& request, const std::function<Response(const Request&)>& responder) {
        std::lock_guard lock(mutex_);
        received_.push_back(request);
        return responder(request);
    }

    std::vector<Request> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }

    // Runs headendctl with `args` in the test folder, with the test's HEADEND_* variables only.
    CtlRun run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
        std::vector<std::string> argv_text{HEADENDCTL_PATH};
        argv_text.insert(argv_text.end(), args.begin(), args.end());
        std::vector<char*> argv;
        argv.reserve(argv_text.size() + 1);
        for (auto& arg : argv_text) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);

        std::vector<std::string> env_text;
        for (char** entry = environ; *entry != nullptr; ++entry) {
            if (std::string_view(*entry).rfind("HEADEND_", 0) != 0) {
                env_text.emplace_back(*entry);
            }
        }
        for (const auto& [name, value] : env) {
            env_text.push_back(name);
            env_text.back().append("=").append(value);
        }
        std::vector<char*> envp;
        envp.reserve(env_text.size() + 1);
        for (auto& entry : env_text) {
            envp.push_back(entry.data());
        }
        envp.push_back(nullptr);

        const auto out_path = dir_ / "stdout";
        const auto err_path = dir_ / "stderr";
        const auto work_dir = dir_.string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addchdir_np(&actions, work_dir.c_str());
        pid_t pid = 0;
        const int spawned = posix_spawn(&pid, HEADENDCTL_PATH, &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        CtlRun result;
        if (spawned != 0) {
            ADD_FAILURE() << "cannot run " << HEADENDCTL_PATH << ": "
                          << std::error_code(spawned, std::generic_category()).message();
            return result;
        }
        int status = 0;
        waitpid(pid, &status, 0);
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        result.out = slurp(out_path);
        result.err = slurp(err_path);
        return result;
    }

    // headendctl with the test server and token file given as flags after the command's own arguments.
    CtlRun ctl(std::vector<std::string> args) {
        args.insert(args.end(), {"--admin", admin_, "--token-file", token_file_.string()});
        return run(args);
    }

    fs::path dir_;
    fs::path token_file_;
    std::string admin_;
    std::unique_ptr<HttpServer> server_;
    std::mutex mutex_;
    std::vector<Request> received_;

    std::function<Response(const Request&)> post_devices_ = [](const Request& r) {
        return json_response(201, {{"device", device_json(3, json::parse(r.body))}});
    };
    std::function<Response(const Request&)> get_devices_ = [](const Request&) {
        return json_response(
            200, {{"devices",
                   {device_json(3, {{"type", "esci"}, {"premises_id", "P-100"}, {"lfdi", kLfdi}}),
                    device_json(12, {{"type", "eumd"}, {"premises_id", "P-100"}, {"psk_identity", "eumd-12"}}),
                    device_json(13, {{"type", "display"}})}}});
    };
    std::function<Response(const Request&)> delete_device_ = [](const Request& r) {
        if (r.params.at("id") == "404") {
            return json_error(404, "device.not_found", "no device 404");
        }
        return json_response(200, {{"removed", std::stoi(r.params.at("id"))}});
    };
    std::function<Response(const Request&)> health_ = [](const Request&) {
        return json_response(200, {{"status", "ok"},
                                   {"version", "0.1.0"},
                                   {"uptime_s", 93784},
                                   {"database",
                                    {{"ok", true},
                                     {"write_queue", 3},
                                     {"wal_bytes", 1258291},
                                     {"wal_warn_bytes", 67108864},
                                     {"checkpoint_lag_frames", 340},
                                     {"checkpoint_lag_s", 12.5}}},
                                   {"coaps", {{"port", 5684}, {"sessions", 7}, {"observations", 2}}},
                                   {"devices", 42}});
    };
};

TEST_F(HeadendctlTest, HelpAndVersionExitZero) {
    const auto top = run({"--help"});
    EXPECT_EQ(top.exit_code, 0);
    EXPECT_THAT(top.out, HasSubstr("device"));
    EXPECT_THAT(top.out, HasSubstr("health"));
    EXPECT_THAT(top.out, HasSubstr("Exit codes"));
    for (const auto& command : {std::vector<std::string>{"device", "--help"},
                                {"device", "add", "--help"},
                                {"device", "list", "--help"},
                                {"device", "remove", "--help"},
                                {"health", "--help"}}) {
        const auto help = run(command);
        EXPECT_EQ(help.exit_code, 0) << command[0];
        EXPECT_THAT(help.out, HasSubstr("--help"));
    }
    const auto add_help = run({"device", "add", "--help"});
    for (const auto* option : {"--type", "--premises", "--cert", "--lfdi", "--psk-identity", "--psk-key", "--admin",
                               "--token-file", "--json"}) {
        EXPECT_THAT(add_help.out, HasSubstr(option));
    }
    const auto version = run({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_THAT(version.out, HasSubstr("0."));
    EXPECT_THAT(received(), IsEmpty());
}

TEST_F(HeadendctlTest, DeviceAddWithLfdi) {
    const auto result = ctl({"device", "add", "--type", "esci", "--premises", "P-100", "--lfdi", kLfdi});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, std::string("registered esci #3 premises=P-100 lfdi=") + kLfdi +
                              " sfdi=167261211391 pin=123455 path=/edev/3\n");
    EXPECT_EQ(result.err, "");
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].path, "/api/v1/devices");
    EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(requests[0].body), (json{{"type", "esci"}, {"premises_id", "P-100"}, {"lfdi", kLfdi}}));
}

TEST_F(HeadendctlTest, DeviceAddWithCertificateSendsThePem) {
    const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
    write_file(dir_ / "pev.pem", pem);
    const auto result = ctl({"device", "add", "--type", "pev", "--cert", (dir_ / "pev.pem").string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr("registered pev #3 lfdi="));
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(json::parse(requests[0].body), (json{{"type", "pev"}, {"cert_pem", pem}}));
}

TEST_F(HeadendctlTest, DeviceAddWithPsk) {
    const auto result = ctl({"device", "add", "--type", "eumd", "--psk-identity", "eumd-7", "--psk-key",
                             "00112233445566778899aabbccddeeff"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "registered eumd #3 psk-identity=eumd-7 pin=123455 path=/edev/3\n");
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(json::parse(requests[0].body),
              (json{{"type", "eumd"}, {"psk_identity", "eumd-7"}, {"psk_key", "00112233445566778899aabbccddeeff"}}));
}

TEST_F(HeadendctlTest, DeviceAddWithPinSendsIt) {
    const auto result = ctl({"device", "add", "--type", "esci", "--lfdi", kLfdi, "--pin", "482916"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr(" pin=482916 "));
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(json::parse(requests[0].body), (json{{"type", "esci"}, {"lfdi", kLfdi}, {"pin", 482916}}));
}

TEST_F(HeadendctlTest, DeviceAddJsonPrintsTheServerAnswer) {
    const auto result = ctl({"device", "add", "--type", "esci", "--lfdi", kLfdi, "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(json::parse(result.out), (json{{"device", device_json(3, {{"type", "esci"}, {"lfdi", kLfdi}})}}));
}

TEST_F(HeadendctlTest, DeviceAddUsageErrorsSendNothing) {
    const std::vector<std::vector<std::string>> cases{
        {"device", "add", "--type", "esci"},  // no credential
        {"device", "add", "--type", "esci", "--lfdi", kLfdi, "--psk-identity", "x", "--psk-key", "00"},  // two
        {"device", "add", "--type", "esci", "--psk-identity", "x"},                                      // key missing
        {"device", "add", "--type", "esci", "--psk-key", "0011"},                        // identity missing
        {"device", "add", "--type", "esci", "--psk-identity", "x", "--psk-key", "abc"},  // odd hex
        {"device", "add", "--type", "esci", "--lfdi", "1234"},                           // short LFDI
        {"device", "add", "--type", "esci", "--lfdi", std::string(40, 'g')},             // not hex
        {"device", "add", "--type", "esci", "--lfdi", kLfdi, "--pin", "12a"},            // PIN not digits
        {"device", "add", "--type", "esci", "--lfdi", kLfdi, "--pin", "1234567"},        // PIN too long
        {"device", "add", "--type", "meter", "--lfdi", kLfdi},                           // unknown type
        {"device", "add", "--lfdi", kLfdi},                                              // no type
        {"device", "add", "--type", "pev", "--cert", "/nonexistent/pev.pem"},            // unreadable certificate
        {"device", "frobnicate"},                                                        // unknown command
        {"device"},                                                                      // no command
        {},                                                                              // nothing at all
        {"device", "remove"},                                                            // no id
        {"device", "remove", "abc"},                                                     // bad id
        {"device", "remove", "0x7"},                                                     // hex is not an id
        {"device", "remove", "99999999999999999999"},                                    // nor is overflow
        {"alarm", "clear", "0x1"},
        {"alarm", "clear", "0"},
        {"alarm", "clear", "99999999999999999999"},
        {"device", "sessions", "--device", "0x5"},
        {"device", "list", "--bogus"},  // unknown option
    };
    for (const auto& args : cases) {
        auto full = args;
        full.insert(full.end(), {"--admin", admin_, "--token-file", token_file_.string()});
        const auto result = run(full);
        const auto shown = ::testing::PrintToString(args);
        EXPECT_EQ(result.exit_code, 2) << shown << "\n" << result.err;
        EXPECT_THAT(result.err, HasSubstr("headendctl: ")) << shown;
        EXPECT_THAT(result.err, HasSubstr("--help")) << shown;
        EXPECT_EQ(result.out, "") << shown;
    }
    write_file(dir_ / "key.pem", "-----BEGIN PRIVATE KEY-----\n");
    const auto not_cert = ctl({"device", "add", "--type", "pev", "--cert", (dir_ / "key.pem").string()});
    EXPECT_EQ(not_cert.exit_code, 2);
    EXPECT_THAT(not_cert.err, HasSubstr("not a PEM certificate"));
    EXPECT_THAT(received(), IsEmpty());
}

TEST_F(HeadendctlTest, RefusalExitsOneWithTheServerMessage) {
    post_devices_ = [](const Request&) {
        return json_error(409, "device.duplicate", "a device with this LFDI is already registered");
    };
    const auto human = ctl({"device", "add", "--type", "esci", "--lfdi", kLfdi});
    EXPECT_EQ(human.exit_code, 1);
    EXPECT_EQ(human.out, "");
    EXPECT_THAT(human.err, HasSubstr("a device with this LFDI is already registered"));
    EXPECT_THAT(human.err, HasSubstr("409"));

    const auto scripted = ctl({"--json", "device", "add", "--type", "esci", "--lfdi", kLfdi});
    EXPECT_EQ(scripted.exit_code, 1);
    EXPECT_EQ(json::parse(scripted.out)["error"]["code"], "device.duplicate");

    const auto missing = ctl({"device", "remove", "404"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_THAT(missing.err, HasSubstr("no device 404"));
}

TEST_F(HeadendctlTest, WrongTokenIsRefusedWithAHint) {
    write_file(token_file_, "not-the-token\n");
    const auto result = ctl({"device", "list"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.err, HasSubstr("401"));
    EXPECT_THAT(result.err, HasSubstr(token_file_.string()));
    const auto requests = received();
    ASSERT_EQ(requests.size(), 0U);  // refused before the handler
}

TEST_F(HeadendctlTest, ServerErrorExitsThree) {
    get_devices_ = [](const Request&) -> Response { throw std::runtime_error("database on fire"); };
    const auto result = ctl({"device", "list"});
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_THAT(result.err, HasSubstr("server error"));
    EXPECT_THAT(result.err, HasSubstr("500"));

    get_devices_ = [](const Request&) { return Response{200, "<html>surprise</html>", "text/html", {}, {}}; };
    const auto garbled = ctl({"device", "list"});
    EXPECT_EQ(garbled.exit_code, 3);
    EXPECT_THAT(garbled.err, HasSubstr("not JSON"));

    get_devices_ = [](const Request&) { return json_response(200, {{"unexpected", true}}); };
    const auto wrong_shape = ctl({"device", "list"});
    EXPECT_EQ(wrong_shape.exit_code, 3);
    EXPECT_EQ(wrong_shape.out, "");
    EXPECT_THAT(wrong_shape.err, HasSubstr("unexpected answer"));
}

TEST_F(HeadendctlTest, ConnectionRefusedExitsThree) {
    server_->stop();
    const auto result = ctl({"device", "list"});
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_THAT(result.err, HasSubstr("cannot connect"));
    const auto scripted = ctl({"device", "list", "--json"});
    EXPECT_EQ(scripted.exit_code, 3);
    EXPECT_EQ(json::parse(scripted.out)["error"]["code"], "http.connect");
}

TEST_F(HeadendctlTest, BadAdminUrlIsAUsageError) {
    const auto result = run({"device", "list", "--admin", "https://example.org", "--token-file", token_file_.string()});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.err, HasSubstr("--admin"));
}

TEST_F(HeadendctlTest, MissingOrEmptyTokenFileIsAClearError) {
    const auto missing = run({"device", "list", "--admin", admin_, "--token-file", (dir_ / "nope").string()});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_THAT(missing.err, HasSubstr((dir_ / "nope").string()));
    EXPECT_THAT(missing.err, HasSubstr("No such file"));

    // Default ./data/admin.token, relative to the working directory: absent here.
    const auto default_missing = run({"device", "list", "--admin", admin_});
    EXPECT_EQ(default_missing.exit_code, 2);
    EXPECT_THAT(default_missing.err, HasSubstr("data/admin.token"));

    write_file(dir_ / "empty.token", "\n");
    const auto empty = run({"device", "list", "--admin", admin_, "--token-file", (dir_ / "empty.token").string()});
    EXPECT_EQ(empty.exit_code, 2);
    EXPECT_THAT(empty.err, HasSubstr("empty"));
    EXPECT_THAT(received(), IsEmpty());
}

TEST_F(HeadendctlTest, EnvironmentAndDefaultsAreUsedAndFlagsWin) {
    const auto from_env =
        run({"device", "list", "--json"}, {{"HEADEND_ADMIN", admin_}, {"HEADEND_TOKEN_FILE", token_file_.string()}});
    EXPECT_EQ(from_env.exit_code, 0) << from_env.err;

    write_file(dir_ / "data" / "admin.token", std::string(kToken) + "\n");
    const auto from_default = run({"device", "list"}, {{"HEADEND_ADMIN", admin_}});
    EXPECT_EQ(from_default.exit_code, 0) << from_default.err;

    const auto flag_wins = run({"--admin", admin_, "device", "list"}, {{"HEADEND_ADMIN", "http://127.0.0.1:1"}});
    EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.err;

    write_file(dir_ / "wrong.token", "wrong\n");
    const auto token_flag_wins =
        run({"device", "list", "--token-file", token_file_.string()},
            {{"HEADEND_ADMIN", admin_}, {"HEADEND_TOKEN_FILE", (dir_ / "wrong.token").string()}});
    EXPECT_EQ(token_flag_wins.exit_code, 0) << token_flag_wins.err;
    EXPECT_EQ(received().size(), 4U);
}

TEST_F(HeadendctlTest, SessionListTakesDatesAsUtcAndShowsKwhExactly) {
    const auto result =
        ctl({"session", "list", "--vin", "1HGCM82633A004352", "--from", "2026-11-01", "--to", "1793577600"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr("12.345"));  // 12345 Wh
    EXPECT_THAT(result.out, HasSubstr("2026-11-01T00:00:00Z"));
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].path, "/api/v1/sessions");
    EXPECT_EQ(requests[0].query.at("from"), "1793491200");
    EXPECT_EQ(requests[0].query.at("to"), "1793577600");
    EXPECT_EQ(requests[0].query.at("vin"), "1HGCM82633A004352");
    for (const char* bad : {"2026-13-01", "11/01/2026", "0x10", ""})
        EXPECT_EQ(ctl({"session", "list", "--from", bad}).exit_code, 2) << bad;
}

TEST_F(HeadendctlTest, DeviceListPrintsATable) {
    const auto result = ctl({"device", "list", "--type", "esci", "--premises", "P 100&x"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const std::string expected =
        std::string() +
        "ID  TYPE     PREMISES  LFDI                                      PSK-ID   PIN     PATH\n"
        "3   esci     P-100     " +
        kLfdi +
        "  -        123455  /edev/3\n"
        "12  eumd     P-100     -                                         eumd-12  123455  /edev/12\n"
        "13  display  -         -                                         -        123455  /edev/13\n";
    EXPECT_EQ(result.out, expected);
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].path, "/api/v1/devices");
    EXPECT_EQ(requests[0].query, (std::map<std::string, std::string>{{"type", "esci"}, {"premises", "P 100&x"}}));
    EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kToken);
}

TEST_F(HeadendctlTest, DeviceListJsonAndEmpty) {
    const auto scripted = ctl({"device", "list", "--json"});
    EXPECT_EQ(scripted.exit_code, 0);
    EXPECT_EQ(json::parse(scripted.out)["devices"].size(), 3U);
    EXPECT_TRUE(received().at(0).query.empty());

    get_devices_ = [](const Request&) { return json_response(200, {{"devices", json::array()}}); };
    const auto empty = ctl({"device", "list"});
    EXPECT_EQ(empty.exit_code, 0);
    EXPECT_EQ(empty.out, "no devices\n");
}

TEST_F(HeadendctlTest, DeviceRemove) {
    const auto result = ctl({"device", "remove", "7"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "removed device #7\n");
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "DELETE");
    EXPECT_EQ(requests[0].path, "/api/v1/devices/7");
    EXPECT_EQ(json::parse(ctl({"device", "remove", "8", "--json"}).out), (json{{"removed", 8}}));
}

TEST_F(HeadendctlTest, HealthOk) {
    const auto result = ctl({"health"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out,
              "status:   ok\n"
              "version:  0.1.0\n"
              "uptime:   1d 2h 3m 4s\n"
              "database: ok\n"
              "storage:  WAL 1.2 MiB, 340 frames not checkpointed for 12.5 s, write queue 3\n"
              "coaps:    port 5684, 7 sessions, 2 observations\n"
              "devices:  42\n");
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].path, "/api/v1/health");
    const auto scripted = json::parse(ctl({"health", "--json"}).out);
    EXPECT_EQ(scripted["devices"], 42);
    EXPECT_EQ(scripted["database"]["wal_bytes"], 1258291);
    EXPECT_EQ(scripted["database"]["checkpoint_lag_frames"], 340);
}

TEST_F(HeadendctlTest, HealthFlagsAWalOverItsWarningSize) {
    health_ = [](const Request&) {
        return json_response(200, {{"status", "ok"},
                                   {"database",
                                    {{"ok", true},
                                     {"write_queue", 0},
                                     {"wal_bytes", 100 * 1024 * 1024},
                                     {"wal_warn_bytes", 64 * 1024 * 1024},
                                     {"checkpoint_lag_frames", 0},
                                     {"checkpoint_lag_s", 0}}}});
    };
    const auto result = ctl({"health"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(
        result.out,
        HasSubstr("storage:  WAL 100.0 MiB (over the warning size, 64.0 MiB), all checkpointed, write queue 0\n"));
}

TEST_F(HeadendctlTest, HealthDegradedExitsOne) {
    health_ = [](const Request&) {
        return json_response(503, {{"status", "degraded"},
                                   {"version", "0.1.0"},
                                   {"uptime_s", 5},
                                   {"database", {{"ok", false}}},
                                   {"coaps", {{"port", 5684}, {"sessions", 0}}},
                                   {"devices", 0}});
    };
    const auto result = ctl({"health"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.out, HasSubstr("status:   degraded"));
    EXPECT_THAT(result.out, HasSubstr("database: not ok"));
    const auto scripted = ctl({"health", "--json"});
    EXPECT_EQ(scripted.exit_code, 1);
    EXPECT_EQ(json::parse(scripted.out)["status"], "degraded");
}

TEST_F(HeadendctlTest, HealthWorksWithoutTheDefaultTokenFile) {
    const auto result = run({"health", "--admin", admin_});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto requests = received();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].headers.count("authorization"), 0U);
    // An explicitly named token file must exist, even for health.
    EXPECT_EQ(run({"health", "--admin", admin_, "--token-file", (dir_ / "nope").string()}).exit_code, 2);
}

}  // namespace
