// headend-bench: the performance ratios of issue 2, each against its baseline measured in the same run.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "flood.hpp"
#include "han/device_client.hpp"
#include "headend_fixture.hpp"
#include "ingest.hpp"
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

struct HandshakeSamples {
    HandshakeCounts counts;
    std::vector<std::uint32_t> latencies_us;  // of each successful handshake
};

// Who the handshaking devices are: one certificate for every handshake, or (as in the field, where each device has
// its own) a new certificate issued by `issuer` for each one, so the server verifies every chain it sees.
struct WorkerIdentity {
    headend::pki::CertificateFiles device;
    std::optional<headend::pki::CertificateFiles> issuer;
    fs::path scratch;  // where the fresh certificates are written (and removed after their handshake)
};

// One worker process: full handshakes (a fresh DTLS context each, so no resumption), each session closed at once.
// A handshake counts when both Finished messages verified; the worker's first session also GETs /tm, to show the
// head-end serves the identity it accepted (a request after every handshake would be CoAP work, not handshakes).
// Issuing a fresh certificate is the worker's cost, before its clock starts, not the server's.
HandshakeSamples handshake_worker(std::uint16_t port, const WorkerIdentity& identity, double seconds) {
    HandshakeSamples samples;
    auto& counts = samples.counts;
    han::ClientOptions options;
    options.connect_timeout = std::chrono::milliseconds(5000);
    options.request_timeout = std::chrono::milliseconds(5000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (int i = 0; i < 1'000'000 && std::chrono::steady_clock::now() < deadline; ++i) {
        headend::pki::CertificateFiles device = identity.device;
        if (identity.issuer) {
            auto fresh = headend::pki::make_leaf(*identity.issuer, identity.scratch,
                                                 "dev-" + std::to_string(getpid()) + "-" + std::to_string(i));
            if (!fresh) {
                ++counts.failures;
                continue;
            }
            device = *fresh;
        }
        const auto credentials = han::ClientCredentials::certificate(device.cert, device.key);
        const auto started = std::chrono::steady_clock::now();
        auto client = han::DeviceClient::connect("127.0.0.1", port, credentials, options);
        if (identity.issuer) {
            std::error_code ignored;
            for (const auto& file : {device.cert, device.key, device.der})
                fs::remove(file, ignored);
        }
        if (!client) {
            ++counts.failures;
            continue;
        }
        const auto latency = std::chrono::steady_clock::now() - started;
        if (i == 0) {
            auto response = (*client)->get("/tm");
            if (!response || response->code != 205) {
                ++counts.failures;
                continue;
            }
        }
        ++counts.successes;
        samples.latencies_us.push_back(
            static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
    }
    return samples;
}

bool write_all(int fd, const void* data, std::size_t size) {
    for (std::size_t done = 0; done < size;) {
        const ssize_t n = write(fd, static_cast<const char*>(data) + done, size - done);
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t size) {
    for (std::size_t done = 0; done < size;) {
        const ssize_t n = read(fd, static_cast<char*>(data) + done, size - done);
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Runs `concurrency` handshake_worker processes at once and merges what they measured. Processes rather than
// threads: each DeviceClient is a separate libcoap context with its own I/O loop.
HandshakeSamples run_handshake_workers(std::uint16_t port, const WorkerIdentity& identity, double seconds,
                                       unsigned concurrency) {
    std::vector<std::pair<pid_t, int>> workers;
    for (unsigned i = 0; i < concurrency; ++i) {
        int fds[2];
        if (pipe(fds) != 0)
            throw std::runtime_error("pipe failed");
        const pid_t pid = fork();
        if (pid == 0) {
            // Nothing may unwind back into the parent's code in this process.
            try {
                close(fds[0]);
                const auto samples = handshake_worker(port, identity, seconds);
                const std::uint64_t count = samples.latencies_us.size();
                const bool written = write_all(fds[1], &samples.counts, sizeof samples.counts) &&
                                     write_all(fds[1], &count, sizeof count) &&
                                     write_all(fds[1], samples.latencies_us.data(), count * sizeof(std::uint32_t));
                _exit(written ? 0 : 1);
            } catch (...) {
                _exit(1);
            }
        }
        close(fds[1]);
        workers.emplace_back(pid, fds[0]);
    }
    HandshakeSamples total;
    for (const auto& [pid, fd] : workers) {
        HandshakeCounts counts;
        std::uint64_t count = 0;
        if (read_all(fd, &counts, sizeof counts) && read_all(fd, &count, sizeof count)) {
            std::vector<std::uint32_t> latencies(count);
            if (read_all(fd, latencies.data(), count * sizeof(std::uint32_t))) {
                total.counts.successes += counts.successes;
                total.counts.failures += counts.failures;
                total.latencies_us.insert(total.latencies_us.end(), latencies.begin(), latencies.end());
            }
        }
        close(fd);
        waitpid(pid, nullptr, 0);
    }
    return total;
}

struct BenchPki {
    headend::pki::CertificateFiles ca;
    headend::pki::CertificateFiles device;
};

// A CA for the daemon to trust and one device certificate it issued, under dir/pki.
BenchPki make_bench_pki(const fs::path& dir) {
    auto ca = headend::pki::make_ca(dir / "pki");
    if (!ca)
        throw std::runtime_error("make_ca failed: " + ca.error().message);
    auto device = headend::pki::make_leaf(*ca, dir / "pki", "bench-device");
    if (!device)
        throw std::runtime_error("make_leaf failed: " + device.error().message);
    return {*ca, *device};
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
    // What the server computes per full ECDHE-ECDSA handshake with a device certificate it has not seen before: it
    // signs its ServerKeyExchange (a sign), generates its ephemeral key (a fixed-base multiplication, priced as a
    // sign, which is one plus a cheap inversion), verifies the device certificate's signature and the device's
    // CertificateVerify (two verifies) and derives the shared secret (an ECDH).
    return {{"ecdsa_sign_per_s", sign},
            {"ecdsa_verify_per_s", verify},
            {"ecdh_op_per_s", derive},
            {"ceiling_formula", "1 / (2/sign + 2/verify + 1/ecdh)"},
            {"ceiling_handshakes_per_core_s", 1.0 / (2.0 / sign + 2.0 / verify + 1.0 / derive)},
            // The formula used before 2026-12-01, kept to compare: it left out the key generation.
            {"old_ceiling_formula", "1 / (1/sign + 2/verify + 1/ecdh)"},
            {"old_ceiling_handshakes_per_core_s", 1.0 / (1.0 / sign + 2.0 / verify + 1.0 / derive)}};
}

json run_handshakes(const fs::path& headend, double seconds, unsigned concurrency) {
    TempDir dir;
    const auto pki = make_bench_pki(dir.path);

    json report = {{"load_average_before", load_average()}, {"concurrency", concurrency}, {"seconds", seconds}};
    {
        bench::HeadendFixture daemon(headend, dir.path, {pki.ca.cert});
        daemon.add_certificate_device(pki.device.cert);
        const double cpu_before = daemon.process().cpu_seconds();
        const auto start = std::chrono::steady_clock::now();
        const WorkerIdentity identity{pki.device, pki.ca, dir.path / "fresh"};
        fs::create_directories(identity.scratch);
        const auto total = run_handshake_workers(daemon.coaps_port(), identity, seconds, concurrency).counts;
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
    report["certificate_per_handshake"] = true;
    report["ratio_per_server_cpu_s_to_ceiling"] = safe_ratio(report["headend"]["handshakes_per_server_cpu_s"],
                                                             report["openssl_speed"]["ceiling_handshakes_per_core_s"]);
    report["ratio_per_server_cpu_s_to_old_ceiling"] = safe_ratio(
        report["headend"]["handshakes_per_server_cpu_s"], report["openssl_speed"]["old_ceiling_handshakes_per_core_s"]);
    report["goal"] = ">= 0.3";
    report["load_average_after"] = load_average();
    return report;
}

struct FloodSettings {
    double rate = 10000;
    double seconds = 10;
    unsigned concurrency = 2;
    unsigned sources = 4096;
};

// All cores' CPU time from /proc/stat's first line, to show how busy the shared machine was during a phase.
struct MachineCpu {
    double busy = 0;
    double total = 0;
};

MachineCpu machine_cpu() {
    std::ifstream stat("/proc/stat");
    std::string label;
    stat >> label;
    MachineCpu cpu;
    // user nice system idle iowait irq softirq steal; guest time is already counted in user and nice.
    for (int field = 0; field < 8; ++field) {
        double ticks = 0;
        stat >> ticks;
        cpu.total += ticks;
        if (field != 3 && field != 4)
            cpu.busy += ticks;
    }
    return cpu;
}

// CPU seconds of the child processes reaped so far.
double reaped_children_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Nearest-rank percentile of sorted samples, in milliseconds; 0 without samples.
double percentile_ms(const std::vector<std::uint32_t>& sorted_us, double percent) {
    if (sorted_us.empty())
        return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted_us.size())));
    return sorted_us[std::clamp<std::size_t>(rank, 1, sorted_us.size()) - 1] / 1000.0;
}

// One phase of the flood benchmark: the handshake workers for `seconds`, with what the server, the workers and the
// machine as a whole spent meanwhile.
json handshake_phase(bench::HeadendFixture& daemon, const headend::pki::CertificateFiles& device,
                     const FloodSettings& settings) {
    const double server_before = daemon.process().cpu_seconds();
    const double workers_before = reaped_children_cpu_seconds();
    const auto machine_before = machine_cpu();
    const auto start = std::chrono::steady_clock::now();
    // One certificate throughout: this measures the front door under a flood, not certificate verification.
    auto samples = run_handshake_workers(daemon.coaps_port(), WorkerIdentity{device, std::nullopt, {}},
                                         settings.seconds, settings.concurrency);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto machine_after = machine_cpu();
    const double server_cpu = daemon.process().cpu_seconds() - server_before;
    std::sort(samples.latencies_us.begin(), samples.latencies_us.end());
    const auto& counts = samples.counts;
    const auto attempts = counts.successes + counts.failures;
    return {{"attempts", attempts},
            {"successes", counts.successes},
            {"failures", counts.failures},
            {"completion_ratio", safe_ratio(static_cast<double>(counts.successes), static_cast<double>(attempts))},
            {"handshakes_per_s", safe_ratio(static_cast<double>(counts.successes), elapsed)},
            {"latency_p50_ms", percentile_ms(samples.latencies_us, 50)},
            {"latency_p99_ms", percentile_ms(samples.latencies_us, 99)},
            {"server_cpu_s", server_cpu},
            // During the flood this includes the server's share of answering it.
            {"server_cpu_ms_per_handshake", safe_ratio(server_cpu * 1000, static_cast<double>(counts.successes))},
            {"workers_cpu_s", reaped_children_cpu_seconds() - workers_before},
            {"machine_cpu_busy",
             safe_ratio(machine_after.busy - machine_before.busy, machine_after.total - machine_before.total)},
            {"seconds", elapsed}};
}

// Legitimate certificate handshakes without, then during, a flood of cookieless ClientHellos from many source ports.
json run_flood(const fs::path& headend, const FloodSettings& settings) {
    TempDir dir;
    const auto pki = make_bench_pki(dir.path);
    json report = {{"load_average_before", load_average()},
                   {"cores", std::thread::hardware_concurrency()},
                   {"rate", settings.rate},
                   {"seconds", settings.seconds},
                   {"concurrency", settings.concurrency},
                   {"sources", settings.sources}};
    {
        bench::HeadendFixture daemon(headend, dir.path, {pki.ca.cert});
        daemon.add_certificate_device(pki.device.cert);
        report["baseline"] = handshake_phase(daemon, pki.device, settings);
        bench::ClientHelloFlood flood(
            {.port = daemon.coaps_port(), .rate = settings.rate, .sources = settings.sources});
        // The flood is at its rate, and a server that keeps state per ClientHello full, before the first handshake.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        report["during_flood"] = handshake_phase(daemon, pki.device, settings);
        const auto sent = flood.stop();
        report["flood"] = {{"datagrams_sent", sent.datagrams_sent},
                           {"achieved_rate_per_s", safe_ratio(static_cast<double>(sent.datagrams_sent), sent.seconds)},
                           {"hello_verify_requests_received", sent.hello_verify_requests},
                           {"other_answers_received", sent.other_answers},
                           {"send_errors", sent.send_errors},
                           {"skipped_behind_schedule", sent.skipped_behind_schedule},
                           {"flood_cpu_s", sent.cpu_seconds},
                           {"seconds", sent.seconds}};
    }
    const json& baseline = report["baseline"];
    const json& during = report["during_flood"];
    report["completed_ratio_during_flood"] = during["completion_ratio"];
    report["goal"] = ">= 0.99";
    report["rate_ratio_flood_to_baseline"] = safe_ratio(during["handshakes_per_s"], baseline["handshakes_per_s"]);
    report["load_average_after"] = load_average();
    return report;
}

std::string table_cell(const json& value) {
    if (!value.is_number_float())
        return value.is_string() ? value.get<std::string>() : value.dump();
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value.get<double>());
    return text;
}

// The flood report as a table of the two phases side by side, then the flood's own figures and the headline ones.
void print_flood_table(const json& report) {
    std::printf("%u ClientHellos/s from %u source ports; %u handshake workers; %u cores; load average %s\n\n",
                static_cast<unsigned>(report["rate"].get<double>()), report["sources"].get<unsigned>(),
                report["concurrency"].get<unsigned>(), report["cores"].get<unsigned>(),
                report["load_average_before"].get<std::string>().c_str());
    std::printf("%-28s %14s %14s\n", "", "baseline", "during flood");
    for (const char* row : {"attempts", "successes", "failures", "completion_ratio", "handshakes_per_s",
                            "latency_p50_ms", "latency_p99_ms", "server_cpu_s", "server_cpu_ms_per_handshake",
                            "workers_cpu_s", "machine_cpu_busy", "seconds"})
        std::printf("%-28s %14s %14s\n", row, table_cell(report["baseline"][row]).c_str(),
                    table_cell(report["during_flood"][row]).c_str());
    std::printf("\nflood\n");
    for (const auto& [key, value] : report["flood"].items())
        std::printf("  %-32s %s\n", key.c_str(), table_cell(value).c_str());
    std::printf("\ncompleted_ratio_during_flood %s (goal %s)\nrate_ratio_flood_to_baseline %s\nload average after %s\n",
                table_cell(report["completed_ratio_during_flood"]).c_str(), report["goal"].get<std::string>().c_str(),
                table_cell(report["rate_ratio_flood_to_baseline"]).c_str(),
                report["load_average_after"].get<std::string>().c_str());
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

    FloodSettings flood_settings;
    auto* flood = app.add_subcommand("flood", "certificate handshakes without, then during, a ClientHello flood");
    flood->add_option("--headend", headend_path, "the headend binary")->required();
    flood->add_option("--rate", flood_settings.rate, "cookieless ClientHellos per second")
        ->check(CLI::Range(1.0, 1000000.0));
    flood->add_option("--seconds", flood_settings.seconds, "timed window per phase")->check(CLI::Range(1.0, 600.0));
    flood->add_option("--concurrency", flood_settings.concurrency, "handshake client processes")
        ->check(CLI::Range(1, 64));
    flood->add_option("--sources", flood_settings.sources, "UDP source ports the flood comes from")
        ->check(CLI::Range(1, 60000));

    bench::IngestOptions ingest_options;
    auto* ingest = app.add_subcommand("ingest", "premises meters posting 96 readings per POST vs raw SQLite inserts");
    ingest->add_option("--headend", headend_path, "the headend binary")->required();
    ingest->add_option("--meters", ingest_options.meters, "meters posting at once")->check(CLI::Range(1, 256));
    ingest->add_option("--seconds", ingest_options.seconds, "timed window of each side")->check(CLI::Range(1.0, 600.0));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;  // --help, or a usage error (exit 2 as every tool here)
    }
    try {
        const json report = tm->parsed()           ? run_tm(headend_path, sessions, outstanding, tm_seconds)
                            : handshakes->parsed() ? run_handshakes(headend_path, handshake_seconds, concurrency)
                            : flood->parsed()      ? run_flood(headend_path, flood_settings)
                            : ingest->parsed()     ? bench::run_ingest(headend_path, ingest_options)
                                                   : bench::run_storm(headend_path, storm_options);
        if (as_json)
            std::cout << report.dump(2) << "\n";
        else if (flood->parsed())
            print_flood_table(report);
        else
            print_text(report);
    } catch (const std::exception& error) {
        std::cerr << "headend-bench: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
