// HAN displays (issue 12): the daemon with its plugins (P1: Jane, P2: John), a PEV and the ESCIs as real DTLS clients,
// and the han-display binary as a child process reading its stdout line by line. A display the operator registered
// (headendctl, PSK) sees its premises' PEV, usage and bills, and each change one notification after it happens; a
// display an ESCI registered at the other premises (POST /edev, its own certificate) gets 4.03 for all of P1's, the
// same as for what does not exist. And the tool's usage errors.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <date/tz.h>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "emulator/devices.hpp"
#include "han/device_client.hpp"
#include "run_command.hpp"
#include "sep/encode.hpp"
#include "support/program_daemon.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::ProgramDaemon;
using headend::testing::run;
using nlohmann::json;

constexpr std::int64_t kQuarter = 900;
constexpr auto kLineWait = std::chrono::seconds(15);
const std::string kDisplayKeyHex = "00112233445566778899aabbccddeeff";

// kDisplayKeyHex as bytes.
std::vector<std::uint8_t> display_key() {
    std::vector<std::uint8_t> key;
    for (unsigned i = 0; i < 16; ++i)
        key.push_back(static_cast<std::uint8_t>(i * 0x11));
    return key;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The local month before this one in the daemon's territory (America/Los_Angeles): over, so it can be billed.
std::string previous_month() {
    const auto local = date::locate_zone("America/Los_Angeles")->to_local(std::chrono::system_clock::now());
    const date::year_month_day today(date::floor<date::days>(local));
    const date::year_month before = today.year() / today.month() - date::months(1);
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u", static_cast<int>(before.year()),
                  static_cast<unsigned>(before.month()));
    return text;
}

// han-display as a child: stdout read line by line, stderr to a file; SIGKILLed if still running at the end.
class DisplayProcess {
public:
    DisplayProcess(const std::vector<std::string>& arguments, const fs::path& stderr_file) {
        int pipe_fds[2];
        if (pipe(pipe_fds) != 0)
            return;
        std::vector<std::string> argv_text = {HAN_DISPLAY_BIN};
        argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
        std::vector<char*> argv;
        for (auto& argument : argv_text)
            argv.push_back(argument.data());
        argv.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(pipe_fds[1], STDOUT_FILENO);
            const int err = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(err, STDERR_FILENO);
            close(pipe_fds[0]);
            execv(HAN_DISPLAY_BIN, argv.data());
            _exit(127);
        }
        close(pipe_fds[1]);
        fd_ = pipe_fds[0];
    }
    ~DisplayProcess() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0)
            close(fd_);
    }
    DisplayProcess(const DisplayProcess&) = delete;
    DisplayProcess& operator=(const DisplayProcess&) = delete;

    // The next line it prints, waiting up to `wait`; none at EOF or when the wait is over.
    std::optional<std::string> next_line(std::chrono::milliseconds wait = kLineWait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (true) {
            if (const auto end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return line;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return std::nullopt;
            pollfd readable{fd_, POLLIN, 0};
            if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0)
                continue;
            char chunk[4096];
            const ssize_t got = read(fd_, chunk, sizeof chunk);
            if (got <= 0)
                return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(got));
        }
    }
    // The next line as JSON (a discarded value when none came or it does not parse).
    json next_update() {
        const auto line = next_line();
        return line ? json::parse(*line, nullptr, false) : json(json::value_t::discarded);
    }
    // Its exit status once it has exited by itself within `wait`; -1 otherwise.
    int exit_code(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    bool exited_ = false;
    std::string buffer_;
};

sep::PEVInfo pev_info(std::int16_t kilowatts_tenths, std::uint64_t requested_wh, std::uint16_t target_hundredths,
                      std::int64_t needed_at) {
    sep::PEVInfo info;
    info.charging_power_now = sep::ActivePower{2, kilowatts_tenths};  // × 100 W
    info.energy_request_now = sep::RealEnergy{0, requested_wh};
    info.max_forward_power = sep::ActivePower{2, 77};
    info.minimum_charging_duration = 3600;
    info.target_state_of_charge = target_hundredths;
    info.time_charge_is_needed = needed_at;
    info.time_charging_status_pev = now_seconds();
    return info;
}

class DisplayTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(headend_.ok());
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        endpoint_ = emulator::Endpoint{"127.0.0.1", headend_.coaps_port(), headend_.server_ca(), {}, *codec};
        esci_ = std::make_unique<emulator::Esci>("esci-1", endpoint_,
                                                 han::PskCredentials{"esci-1", headend::testing::kDeviceKey}, log_);
        ASSERT_TRUE(esci_->connect());
    }

    // Jane's PEV plugs in at P1 with its certificate and the ESCI registers it (the binding request): its EndDevice.
    void plug_in_pev() {
        const auto files = headend_.pev_certificate("pev-jane", headend::testing::kGuestVin);
        auto connected = han::DeviceClient::connect(
            "127.0.0.1", headend_.coaps_port(),
            han::ClientCredentials::certificate(files.cert, files.key, headend_.server_ca()));
        ASSERT_TRUE(connected) << connected.error().message;
        pev_ = std::move(*connected);
        ASSERT_EQ(pev_->get("/tm")->code, 205);
        auto answer = esci_->request_binding(files.identity);
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->code, 201) << answer->reason;
        pev_edev_ = answer->edev_path;
    }
    // The PEV's PUT of its PowerStatus: plugged in, with `info`.
    void report(const sep::PEVInfo& info) {
        sep::PowerStatus status;
        status.changed_time = now_seconds();
        status.current_power_source = 1;
        status.estimated_charge_remaining = 4200;
        status.pev_info = info;
        auto answer = pev_->put(pev_edev_ + "/ps", sep::encode(status));
        ASSERT_TRUE(answer);
        ASSERT_EQ(answer->code, 204) << answer->body;
    }
    // The premises meter's energy for the quarter hours from `start` (the ESCI's mirror).
    void post_premises(std::int64_t start, const std::vector<std::int64_t>& energy_wh) {
        auto posted = esci_->post_premises_load(start, energy_wh);
        ASSERT_TRUE(posted) << posted.error().message;
        ASSERT_EQ(*posted / 100, 2);
    }
    // The previous month's bills; A1's bill id and total ("12.34").
    std::pair<std::int64_t, std::string> bill_previous_month() {
        const std::string month = previous_month();
        const auto [status, run] = headend_.admin("POST", "/api/v1/bills/run", json{{"month", month}}.dump());
        EXPECT_EQ(status, 200) << run.dump();
        const auto listed = headend_.admin("GET", "/api/v1/bills?account=A1&month=" + month).second;
        EXPECT_EQ(listed["bills"].size(), 1U) << listed.dump();
        if (listed["bills"].size() != 1)
            return {0, ""};
        const auto bill = headend_.admin("GET", "/api/v1/bills/" + listed["bills"][0]["bill_id"].dump()).second;
        return {bill["bill_id"].get<std::int64_t>(), bill["total"].get<std::string>()};
    }
    std::vector<std::string> display_psk_arguments() const {
        return {"--port", std::to_string(headend_.coaps_port()), "--psk", "display-p1:" + kDisplayKeyHex, "--json"};
    }
    // The operator's registration of P1's display, with headendctl.
    void register_p1_display() {
        const auto added =
            run(std::string(HEADENDCTL_BIN) +
                " --admin http://127.0.0.1:" + std::to_string(headend_.daemon().admin_port()) + " --token-file " +
                (headend_.root() / "data" / "admin.token").string() +
                " device add --type display --premises P1 --psk-identity display-p1 --psk-key " + kDisplayKeyHex);
        ASSERT_EQ(added.exit_code, 0) << added.output;
    }
    fs::path stderr_file(const std::string& name) const { return headend_.root() / (name + ".err"); }
    std::string read_file(const fs::path& file) const {
        std::ifstream in(file);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    ProgramDaemon headend_;
    emulator::StepLog log_;
    emulator::Endpoint endpoint_;
    std::unique_ptr<emulator::Esci> esci_;
    std::unique_ptr<han::DeviceClient> pev_;
    std::string pev_edev_;
};

TEST_F(DisplayTest, TheDisplaySeesEachChangeOfItsPremisesOneNotificationAfterIt) {
    ASSERT_NO_FATAL_FAILURE(register_p1_display());
    ASSERT_NO_FATAL_FAILURE(plug_in_pev());
    const std::int64_t now = now_seconds();
    const std::int64_t quarter = now - now % kQuarter;
    ASSERT_NO_FATAL_FAILURE(report(pev_info(72, 20'000, 8000, quarter + 8 * 3600)));
    ASSERT_NO_FATAL_FAILURE(post_premises(quarter - 3 * kQuarter, {500, 700}));

    // Start, PEVInfo changed, a reading, the bill issued (billing periods, then the month to date).
    auto arguments = display_psk_arguments();
    arguments.insert(arguments.end(), {"--count", "5"});
    DisplayProcess display(arguments, stderr_file("display-p1"));
    const json first = display.next_update();
    ASSERT_TRUE(first.is_object()) << read_file(stderr_file("display-p1"));
    EXPECT_EQ(first["update"], 1);
    EXPECT_EQ(first["cause"], "start");
    ASSERT_EQ(first["pevs"].size(), 1U) << first.dump();
    const json& pev = first["pevs"][0];
    EXPECT_EQ(pev["href"], pev_edev_ + "/ps");
    EXPECT_EQ(pev["plugged_in"], true);
    EXPECT_EQ(pev["charging"], true);
    EXPECT_EQ(pev["power_w"], 7200);
    EXPECT_EQ(pev["energy_requested_wh"], 20'000);
    EXPECT_EQ(pev["target_soc_percent"], 80.0);
    EXPECT_EQ(pev["time_charge_is_needed"], quarter + 8 * 3600);
    ASSERT_EQ(first["usage"].size(), 1U) << first.dump();
    EXPECT_EQ(first["usage"][0]["kind"], "premises");
    EXPECT_EQ(first["usage"][0]["wh"], 700);
    EXPECT_EQ(first["usage"][0]["start"], quarter - 2 * kQuarter);
    EXPECT_EQ(first["usage"][0]["duration_s"], kQuarter);
    EXPECT_EQ(first["bill"]["account"], "A1");
    EXPECT_EQ(first["bill"]["customer"], "Jane Doe");
    EXPECT_TRUE(first["bill"]["last_bill"].is_null()) << first.dump();
    EXPECT_TRUE(first["bill"]["month_to_date"].contains("amount")) << first.dump();

    // The PEV's PUT: the very next update shows its new PEVInfo.
    ASSERT_NO_FATAL_FAILURE(report(pev_info(33, 12'500, 9000, quarter + 10 * 3600)));
    const json changed = display.next_update();
    ASSERT_TRUE(changed.is_object()) << "no update after the PEV's PUT: " << read_file(stderr_file("display-p1"));
    EXPECT_EQ(changed["update"], 2);
    EXPECT_EQ(changed["cause"], pev_edev_ + "/ps");
    EXPECT_EQ(changed["pevs"][0]["power_w"], 3300);
    EXPECT_EQ(changed["pevs"][0]["energy_requested_wh"], 12'500);
    EXPECT_EQ(changed["pevs"][0]["target_soc_percent"], 90.0);
    EXPECT_EQ(changed["pevs"][0]["time_charge_is_needed"], quarter + 10 * 3600);

    // The premises meter's next quarter hour.
    ASSERT_NO_FATAL_FAILURE(post_premises(quarter - kQuarter, {640}));
    const json reading = display.next_update();
    ASSERT_TRUE(reading.is_object()) << "no update after the reading: " << read_file(stderr_file("display-p1"));
    EXPECT_EQ(reading["cause"], first["usage"][0]["reading"]);
    EXPECT_EQ(reading["usage"][0]["wh"], 640);
    EXPECT_EQ(reading["usage"][0]["start"], quarter - kQuarter);

    // A bill run: the billing periods' observers hear of the bill with its total.
    const auto [bill_id, total] = bill_previous_month();
    ASSERT_NE(bill_id, 0);
    // Both the billing periods' and the month to date's observers hear of it (in either order).
    std::set<std::string> causes;
    json billed;
    for (int i = 0; i < 2; ++i) {
        billed = display.next_update();
        ASSERT_TRUE(billed.is_object()) << "no update after the bill run: " << read_file(stderr_file("display-p1"));
        causes.insert(billed["cause"].get<std::string>());
    }
    EXPECT_EQ(causes, (std::set<std::string>{"/bill/1/ca/1/bp?l=1", "/bill/1/ca/1/abp"}));
    EXPECT_EQ(billed["bill"]["last_bill"]["amount"], total) << billed.dump();
    EXPECT_EQ(display.exit_code(), 0) << read_file(stderr_file("display-p1"));
}

TEST_F(DisplayTest, ADisplayOfAnotherPremisesGetsForbiddenForThisPremisesPowerStatusUsageAndBills) {
    ASSERT_NO_FATAL_FAILURE(register_p1_display());
    ASSERT_NO_FATAL_FAILURE(plug_in_pev());
    const std::int64_t now = now_seconds();
    ASSERT_NO_FATAL_FAILURE(report(pev_info(72, 20'000, 8000, now + 3600)));
    ASSERT_NO_FATAL_FAILURE(post_premises(now - now % kQuarter - 2 * kQuarter, {500, 700}));
    const auto [bill_id, total] = bill_previous_month();
    ASSERT_NE(bill_id, 0);

    // P2's ESCI registers its display (its own certificate) with POST /edev.
    const auto certificate = headend_.pev_certificate("display-p2", "");
    auto esci2 = han::DeviceClient::connect("127.0.0.1", headend_.coaps_port(),
                                            han::ClientCredentials::psk("esci-2", headend::testing::kDeviceKey));
    ASSERT_TRUE(esci2);
    sep::EndDevice announced;
    announced.lfdi = certificate.identity.lfdi;
    announced.sfdi = certificate.identity.sfdi;
    announced.changed_time = now;
    auto registered = (*esci2)->post("/edev", sep::encode(announced));
    ASSERT_TRUE(registered);
    ASSERT_EQ(registered->code, 201) << registered->body;
    ASSERT_EQ(headend_.admin("GET", "/api/v1/devices?type=display&premises=P2").second["devices"].size(), 1U);

    // The P1 display reads P1's paths; the P2 display gets the same 4.03 as for what does not exist.
    auto p1 = han::DeviceClient::connect("127.0.0.1", headend_.coaps_port(),
                                         han::ClientCredentials::psk("display-p1", display_key()));
    auto p2 = han::DeviceClient::connect(
        "127.0.0.1", headend_.coaps_port(),
        han::ClientCredentials::certificate(certificate.cert, certificate.key, headend_.server_ca()));
    ASSERT_TRUE(p1 && p2);
    auto codec = endpoint_.codec;
    const auto points = codec->decode<sep::UsagePointList>((*p1)->get("/upt?l=10")->body);
    ASSERT_TRUE(points);
    ASSERT_EQ(points->usage_points.size(), 1U);
    const std::string usage_point = *points->usage_points[0].href;
    const auto readings =
        codec->decode<sep::MeterReadingList>((*p1)->get(points->usage_points[0].meter_reading_list_link->href)->body);
    ASSERT_TRUE(readings);
    const std::string latest = readings->meter_readings.at(0).reading_link->href;
    const std::string mmr = latest.substr(latest.find("/mr/") + 4, latest.rfind("/r") - latest.find("/mr/") - 4);
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {pev_edev_ + "/ps", "/edev/999999/ps"},
        {pev_edev_, "/edev/999999"},
        {usage_point, "/upt/999999"},
        {latest, "/upt/999999/mr/1/r"},
        {"/bill/1/ca/1/bp/" + std::to_string(bill_id), "/bill/1/ca/1/bp/999999"},
        {"/bill/1/ca/1/hr/" + mmr, "/bill/1/ca/1/hr/999999"}};
    for (const auto& [existing, missing] : pairs) {
        const auto mine = (*p1)->get(existing);
        ASSERT_TRUE(mine);
        EXPECT_EQ(mine->code, 205) << existing;
        const auto theirs = (*p2)->get(existing);
        const auto nothing = (*p2)->get(missing);
        ASSERT_TRUE(theirs && nothing);
        EXPECT_EQ(theirs->code, 403) << existing;
        EXPECT_EQ(nothing->code, 403) << missing;
        EXPECT_EQ(theirs->body, nothing->body) << existing;
        EXPECT_EQ(theirs->content_format, nothing->content_format) << existing;
    }
    // Observing P1's PEV is refused without registering; the P2 display's own list has itself only.
    const auto observed = (*p2)->observe(pev_edev_ + "/ps", nullptr);
    ASSERT_TRUE(observed);
    EXPECT_EQ(observed->response.code, 403);
    EXPECT_EQ(observed->id, 0U);
    const auto own = codec->decode<sep::EndDeviceList>((*p2)->get("/edev?l=10")->body);
    ASSERT_TRUE(own);
    EXPECT_EQ(own->all, 1U);

    // The emulator as P2's display, on its certificate: no PEV, no usage, John's account with his bill.
    DisplayProcess display(
        {"--port", std::to_string(headend_.coaps_port()), "--cert", certificate.cert.string(), "--key",
         certificate.key.string(), "--server-ca", headend_.server_ca().string(), "--json", "--count", "1"},
        stderr_file("display-p2"));
    const json shown = display.next_update();
    ASSERT_TRUE(shown.is_object()) << read_file(stderr_file("display-p2"));
    EXPECT_TRUE(shown["pevs"].empty()) << shown.dump();
    EXPECT_TRUE(shown["usage"].empty()) << shown.dump();
    EXPECT_EQ(shown["bill"]["account"], "A2");
    EXPECT_EQ(shown["bill"]["customer"], "John Roe");
    EXPECT_TRUE(shown["bill"]["last_bill"].contains("amount")) << shown.dump();
    EXPECT_EQ(display.exit_code(), 0) << read_file(stderr_file("display-p2"));
}

// Usage errors exit 2 before any traffic; a head-end that never answers exits 3.
TEST(DisplayTool, RefusesBadUsageAndSaysWhenItCannotConnect) {
    const auto tool = [](const std::string& arguments) { return run(std::string(HAN_DISPLAY_BIN) + " " + arguments); };
    const auto help = tool("--help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("Exit codes"), std::string::npos) << help.output;
    const fs::path dir = fs::temp_directory_path() / ("han-display-usage-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    std::ofstream(dir / "cert.pem") << "x";
    std::ofstream(dir / "key.pem") << "x";
    const std::string cert = "--cert " + (dir / "cert.pem").string() + " --key " + (dir / "key.pem").string();
    for (const std::string& bad :
         {std::string(""), std::string("--psk nocolon"), std::string("--psk id:abc"), std::string("--psk id:zz"),
          "--psk id:00 " + cert, cert, std::string("--psk id:00 --count 0"), std::string("--psk id:00 --duration -1"),
          std::string("--psk id:00 --no-such-flag")}) {
        const auto refused = tool(bad);
        EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.output;
        EXPECT_FALSE(refused.output.empty()) << bad;
    }
    // A UDP port nobody answers on: the handshake never completes.
    const int silent = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const auto unreachable =
        tool("--port " + std::to_string(ntohs(address.sin_port)) + " --psk id:" + kDisplayKeyHex + " --timeout 1");
    EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
    EXPECT_NE(unreachable.output.find("no session"), std::string::npos) << unreachable.output;
    close(silent);
    fs::remove_all(dir);
}

}  // namespace
