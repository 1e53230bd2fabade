// headend-bench: the performance ratios of issue 2, each against its baseline measured in the same run.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "han/device_client.hpp"
#include "headend_fixture.hpp"
#include "pki/pki.hpp"
#include "psk_load.hpp"
#include "storm.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kPskKey = "bench-psk-secret";

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "headend-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

double safe_ratio(double a, double b) {
    return b > 0 ? a / b : 0;
}

std::string load_average() {
    std::FILE* file = std::fopen("/proc/loadavg", "r");
    char text[128] = {};
    if (file != nullptr) {
        if (std::fgets(text, sizeof text, file) == nullptr)
            text[0] = '\0';
        std::fclose(file);
    }
    std::string result(text);
    if (!result.empty() && result.back() == '\n')
        result.pop_back();
    return result;
}

// Measures one server under the PSK load, sampling its CPU time around the timed window only.
json measure_psk_server(bench::ChildProcess& server, bench::PskLoadOptions options) {
    const double cpu_before = server.cpu_seconds();
    const auto result = bench::run_psk_load(options);
    const double cpu = server.cpu_seconds() - cpu_before;
    return {{"sessions_established", result.sessions_established},
            {"responses", result.responses},
            {"responses_per_s", safe_ratio(static_cast<double>(result.responses), result.seconds)},
            {"errors", result.errors},
            {"timeouts", result.timeouts},
            {"unanswered_at_end", result.unanswered_at_end},
            {"server_cpu_s", cpu},
            {"responses_per_server_cpu_s", safe_ratio(static_cast<double>(result.responses), cpu)},
            {"seconds", result.seconds}};
}

json run_tm(const fs::path& headend, unsigned sessions, unsigned outstanding, double seconds) {
    TempDir dir;
    std::vector<std::string> identities;
    for (unsigned i = 1; i <= sessions; ++i)
        identities.push_back("bench-" + std::to_string(i));
    bench::PskLoadOptions options{.port = 0,
                                  .identities = identities,
                                  .key = std::string(kPskKey),
                                  .path = "tm",
                                  .outstanding = outstanding,
                                  .seconds = seconds};
    json report = {{"load_average_before", load_average()},
                   {"sessions", sessions},
                   {"outstanding", outstanding},
                   {"seconds", seconds}};
    {
        // Room for every session of the run (and their handshakes) beyond the defaults.
        const std::string limits = "[limits]\nmax_sessions = " + std::to_string(std::max(sessions, 10000U)) +
                                   "\nmax_handshakes = " + std::to_string(std::max(sessions, 128U)) + "\n";
        bench::HeadendFixture daemon(headend, dir.path, {}, limits);
        for (const auto& identity : identities)
            daemon.add_psk_device(identity, std::string(kPskKey));
        options.port = daemon.coaps_port();
        report["headend"] = measure_psk_server(daemon.process(), options);
    }
    {
        const auto port = bench::free_udp_port_pair();
        bench::ChildProcess server({"coap-server-openssl", "-A", "127.0.0.1", "-p", std::to_string(port), "-k",
                                    std::string(kPskKey), "-v", "0"},
                                   dir.path / "coap-server.log");
        // coap-server prints nothing when ready; give it a moment to bind before the handshakes start.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (!server.running())
            throw std::runtime_error("coap-server-openssl exited; is libcoap3-bin installed?");
        options.port = static_cast<std::uint16_t>(port + 1);  // coap-server listens for DTLS on port + 1
        options.path = "";
        report["coap_server"] = measure_psk_server(server, options);
    }
    report["ratio_throughput"] =
        safe_ratio(report["headend"]["responses_per_s"], report["coap_server"]["responses_per_s"]);
    report["ratio_per_server_cpu_s"] = safe_ratio(report["headend"]["responses_per_server_cpu_s"],
                                                  report["coap_server"]["responses_per_server_cpu_s"]);
    report["goal"] = ">= 0.6";
    report["load_average_after"] = load_average();
    return report;
}

struct HandshakeCounts {
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
};

// One worker process: full handshakes (a fresh DTLS context each, so no resumption), each session closed at once.
// A handshake counts when both Finished messages verified; the worker's first session also GETs /tm, to show the
// head-end serves the identity it accepted (a request after every handshake would be CoAP work, not handshakes).
HandshakeCounts handshake_worker(std::uint16_t port, const headend::pki::CertificateFiles& device, double seconds) {
    HandshakeCounts counts;
    const auto credentials = han::ClientCredentials::certificate(device.cert, device.key);
    han::ClientOptions options;
    options.connect_timeout = std::chrono::milliseconds(5000);
    options.request_timeout = std::chrono::milliseconds(5000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (int i = 0; i < 1'000'000 && std::chrono::steady_clock::now() < deadline; ++i) {
        auto client = han::DeviceClient::connect("127.0.0.1", port, credentials, options);
        if (!client) {
            ++counts.failures;
            continue;
        }
        if (i == 0) {
            auto response = (*client)->get("/tm");
            if (!response || response->code != 205) {
                ++counts.failures;
                continue;
            }
        }
        ++counts.successes;
    }
    return counts;
}

// Sign/s, verify/s and ECDH op/s for P-256 from `openssl speed`.
json openssl_speed() {
    const std::string output = bench::run_command("openssl speed -seconds 3 ecdsap256 ecdhp256 2>/dev/null");
    std::smatch ecdsa, ecdh;
    const std::string number = R"(([0-9.]+))";
    if (!std::regex_search(output, ecdsa,
                           std::regex(R"(ecdsa \(nistp256\)\s+\S+\s+\S+\s+)" + number + R"(\s+)" + number)) ||
        !std::regex_search(output, ecdh, std::regex(R"(ecdh \(nistp256\)\s+\S+\s+)" + number)))
        throw std::runtime_error("cannot parse openssl speed output:\n" + output);
    const double sign = std::stod(ecdsa[1]), verify = std::stod(ecdsa[2]), derive = std::stod(ecdh[1]);
    return {{"ecdsa_sign_per_s", sign},
            {"ecdsa_verify_per_s", verify},
            {"ecdh_op_per_s", derive},
            {"ceiling_formula", "1 / (1/sign + 2/verify + 1/ecdh)"},
            {"ceiling_handshakes_per_core_s", 1.0 / (1.0 / sign + 2.0 / verify + 1.0 / derive)},
            // The server also generates its ephemeral ECDHE key, a scalar multiplication as dear as the derive.
            {"ceiling_with_keygen_formula", "1 / (1/sign + 2/verify + 2/ecdh)"},
            {"ceiling_with_keygen_handshakes_per_core_s", 1.0 / (1.0 / sign + 2.0 / verify + 2.0 / derive)}};
}

json run_handshakes(const fs::path& headend, double seconds, unsigned concurrency) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path / "pki");
    if (!ca)
        throw std::runtime_error("make_ca failed: " + ca.error().message);
    auto device = headend::pki::make_leaf(*ca, dir.path / "pki", "bench-device");
    if (!device)
        throw std::runtime_error("make_leaf failed: " + device.error().message);

    json report = {{"load_average_before", load_average()}, {"concurrency", concurrency}, {"seconds", seconds}};
    {
        bench::HeadendFixture daemon(headend, dir.path, {ca->cert});
        daemon.add_certificate_device(device->cert);
        const double cpu_before = daemon.process().cpu_seconds();
        const auto start = std::chrono::steady_clock::now();
        // Processes rather than threads: each DeviceClient is a separate libcoap context with its own I/O loop.
        std::vector<std::pair<pid_t, int>> workers;
        for (unsigned i = 0; i < concurrency; ++i) {
            int fds[2];
            if (pipe(fds) != 0)
                throw std::runtime_error("pipe failed");
            const pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                const auto counts = handshake_worker(daemon.coaps_port(), *device, seconds);
                const ssize_t written = write(fds[1], &counts, sizeof counts);
                _exit(written == static_cast<ssize_t>(sizeof counts) ? 0 : 1);
            }
            close(fds[1]);
            workers.emplace_back(pid, fds[0]);
        }
        HandshakeCounts total;
        for (const auto& [pid, fd] : workers) {
            HandshakeCounts counts;
            if (read(fd, &counts, sizeof counts) == static_cast<ssize_t>(sizeof counts)) {
                total.successes += counts.successes;
                total.failures += counts.failures;
            }
            close(fd);
            waitpid(pid, nullptr, 0);
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double cpu = daemon.process().cpu_seconds() - cpu_before;
        report["headend"] = {{"handshakes", total.successes},
                             {"failures", total.failures},
                             {"handshakes_per_s", safe_ratio(static_cast<double>(total.successes), elapsed)},
                             {"server_cpu_s", cpu},
                             {"handshakes_per_server_cpu_s", safe_ratio(static_cast<double>(total.successes), cpu)},
                             {"seconds", elapsed}};
    }
    report["openssl_speed"] = openssl_speed();
    report["ratio_per_server_cpu_s_to_ceiling"] = safe_ratio(report["headend"]["handshakes_per_server_cpu_s"],
                                                             report["openssl_speed"]["ceiling_handshakes_per_core_s"]);
    report["ratio_per_server_cpu_s_to_ceiling_with_keygen"] =
        safe_ratio(report["headend"]["handshakes_per_server_cpu_s"],
                   report["openssl_speed"]["ceiling_with_keygen_handshakes_per_core_s"]);
    report["goal"] = ">= 0.3";
    report["load_average_after"] = load_average();
    return report;
}

void print_text(const json& report, const std::string& indent = "") {
    for (const auto& [key, value] : report.items()) {
        if (value.is_object()) {
            std::cout << indent << key << ":\n";
            print_text(value, indent + "  ");
        } else {
            std::cout << indent << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"headend-bench: head-end performance ratios against baselines measured in the same run"};
    app.require_subcommand(1);
    bool as_json = false;
    app.add_flag("--json", as_json, "print the report as JSON");

    std::string headend_path;
    unsigned sessions = 16, outstanding = 8, concurrency = 4;
    double tm_seconds = 10, handshake_seconds = 10;

    auto* tm = app.add_subcommand("tm", "GET /tm over DTLS-PSK sessions vs coap-server-openssl serving GET /");
    tm->add_option("--headend", headend_path, "the headend binary")->required();
    tm->add_option("--sessions", sessions, "DTLS-PSK sessions")->check(CLI::Range(1, 100000));
    tm->add_option("--outstanding", outstanding, "confirmable GETs in flight per session")->check(CLI::Range(1, 64));
    tm->add_option("--seconds", tm_seconds, "timed window per server")->check(CLI::Range(1.0, 600.0));

    auto* handshakes = app.add_subcommand("handshakes", "full ECDHE-ECDSA handshakes with client certificates");
    handshakes->add_option("--headend", headend_path, "the headend binary")->required();
    handshakes->add_option("--seconds", handshake_seconds, "timed window")->check(CLI::Range(1.0, 600.0));
    handshakes->add_option("--concurrency", concurrency, "client processes")->check(CLI::Range(1, 64));

    bench::StormOptions storm_options;
    auto* storm = app.add_subcommand("storm", "binding storm: PEVs bind for the first time, then all re-bind");
    storm->add_option("--headend", headend_path, "the headend binary")->required();
    storm->add_option("--pevs", storm_options.pevs, "emulated PEVs")->check(CLI::Range(1, 20000));
    storm->add_option("--premises", storm_options.premises, "premises they are spread over")
        ->check(CLI::Range(1, 5000));
    storm->add_option("--threads", storm_options.threads, "emulator threads")->check(CLI::Range(1, 64));
    storm->add_option("--metrics-out", storm_options.metrics_out,
                      "write a /metrics scrape taken while the first bindings run to this file");

    CLI11_PARSE(app, argc, argv);
    try {
        const json report = tm->parsed()           ? run_tm(headend_path, sessions, outstanding, tm_seconds)
                            : handshakes->parsed() ? run_handshakes(headend_path, handshake_seconds, concurrency)
                                                   : bench::run_storm(headend_path, storm_options);
        if (as_json)
            std::cout << report.dump(2) << "\n";
        else
            print_text(report);
    } catch (const std::exception& error) {
        std::cerr << "headend-bench: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
