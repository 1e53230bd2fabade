#include "storm.hpp"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "emulator/devices.hpp"
#include "headend_fixture.hpp"
#include "pev/vin.hpp"
#include "pki/pki.hpp"
#include "storm_report.hpp"

namespace bench {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::uint8_t> kKey(16, 0x5A);

std::string hex(const std::vector<std::uint8_t>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const auto byte : bytes) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0xf];
    }
    return out;
}

// A valid VIN per PEV: a fixed prefix, the serial in the last six positions, the check digit in position 9.
std::string vin_for(unsigned serial) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "1HGCM8260SA%06u", serial % 1'000'000);
    std::string vin(text.data(), 17);
    vin[8] = pev::vin_check_digit(vin);
    return vin;
}

std::string premises_for(unsigned index) {
    return "S" + std::to_string(index);
}

struct PremisesDevices {
    std::unique_ptr<emulator::Esci> esci;
    std::unique_ptr<emulator::Eumd> eumd;
    std::vector<std::unique_ptr<emulator::Pev>> pevs;
};

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs `work` for every premises on `threads` threads and measures wall time and the daemon's CPU.
template <typename Work>
PhaseResult run_phase(std::vector<PremisesDevices>& premises, unsigned threads, ChildProcess& daemon, Work work) {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failures{0};
    const double cpu_before = daemon.cpu_seconds();
    const double own_before = own_cpu_seconds();
    const auto started = Clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (std::size_t i; (i = next++) < premises.size();)
                failures += work(premises[i]);
        });
    }
    for (auto& worker : workers)
        worker.join();
    PhaseResult result;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    result.server_cpu_seconds = daemon.cpu_seconds() - cpu_before;
    result.emulator_cpu_seconds = own_cpu_seconds() - own_before;
    result.failures = failures;
    return result;
}

// Counters summed over every emulated device, to subtract before and after a phase.
struct Totals {
    std::size_t exchanges = 0;
    std::chrono::nanoseconds pev_handshakes{0};
};
Totals totals(const std::vector<PremisesDevices>& premises) {
    Totals sum;
    for (const auto& site : premises) {
        sum.exchanges += site.esci->exchanges() + site.eumd->exchanges();
        for (const auto& pev : site.pevs) {
            sum.exchanges += pev->exchanges();
            sum.pev_handshakes += pev->handshake_time();
        }
    }
    return sum;
}

// Bindings in `status` over all premises, from the head-end's own records.
std::size_t count_bindings(HeadendFixture& daemon, unsigned premises, const std::string& status) {
    std::size_t count = 0;
    for (unsigned p = 0; p < premises; ++p)
        count += json::parse(daemon.admin_get("/api/v1/bindings?status=" + status + "&premises=" + premises_for(p)))
                     .at("bindings")
                     .size();
    return count;
}

}  // namespace

json run_storm(const fs::path& headend, const StormOptions& options) {
    std::random_device random;
    const fs::path work = fs::temp_directory_path() / ("headend-storm-" + std::to_string(random()));
    fs::create_directories(work);
    auto manufacturer = headend::pki::make_ca(work / "mfr", "Storm Manufacturer CA");
    if (!manufacturer)
        throw std::runtime_error(manufacturer.error().message);

    std::ostringstream extra;
    extra << "[limits]\nmax_sessions = " << (options.pevs + 2 * options.premises + 100) << "\n"
          << "max_handshakes = 1024\n\n"
          << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \"" << PEV_REGISTRATION_PLUGIN << "\"\n"
          << "[[plugins]]\nname = \"pev-binding\"\nlibrary = \"" << PEV_BINDING_PLUGIN << "\"\n"
          << "[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE << "\"\n"
          << "[plugin.pev-binding]\nbinding_timeout_s = 3600\n";
    HeadendFixture daemon(headend, work, {manufacturer->cert}, extra.str());

    // Customer records, devices and enrollments through the admin API, as an operator would.
    std::string csv = "account_id,customer_id,customer_name,premises_id,service_address,default_rate\n";
    for (unsigned p = 0; p < options.premises; ++p)
        csv += "A" + std::to_string(p) + ",C" + std::to_string(p) + ",Customer " + std::to_string(p) + "," +
               premises_for(p) + ",Street " + std::to_string(p) + ",DOM-FLAT\n";
    if (daemon.admin_post("/api/v1/customers/import", csv) != 200)
        throw std::runtime_error("customer import failed");
    for (unsigned p = 0; p < options.premises; ++p) {
        for (const char* type : {"esci", "eumd"}) {
            const json device = {{"type", type},
                                 {"premises_id", premises_for(p)},
                                 {"psk_identity", std::string(type) + "-" + premises_for(p)},
                                 {"psk_key", hex(kKey)}};
            if (daemon.admin_post("/api/v1/devices", device.dump()) != 201)
                throw std::runtime_error("device registration failed");
        }
    }
    auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
    if (!codec)
        throw std::runtime_error(codec.error().message);
    emulator::Endpoint endpoint{"127.0.0.1", daemon.coaps_port(), work / "data" / "tls" / "ca.pem", {}, *codec};
    endpoint.client.request_timeout = std::chrono::milliseconds(10000);
    endpoint.client.connect_timeout = std::chrono::milliseconds(10000);
    emulator::StepLog log;
    std::vector<PremisesDevices> premises(options.premises);
    for (unsigned p = 0; p < options.premises; ++p) {
        premises[p].esci = std::make_unique<emulator::Esci>("esci-" + premises_for(p), endpoint,
                                                            han::PskCredentials{"esci-" + premises_for(p), kKey}, log);
        premises[p].eumd = std::make_unique<emulator::Eumd>("eumd-" + premises_for(p), endpoint,
                                                            han::PskCredentials{"eumd-" + premises_for(p), kKey}, log);
    }
    for (unsigned i = 0; i < options.pevs; ++i) {
        const unsigned p = i % options.premises;
        const std::string vin = vin_for(i);
        const json enrollment = {{"account_id", "A" + std::to_string(p)},
                                 {"customer_id", "C" + std::to_string(p)},
                                 {"premises_id", premises_for(p)},
                                 {"vin", vin},
                                 {"program_id", "EV-TOU"},
                                 {"channel", "bench"}};
        if (daemon.admin_post("/api/v1/enrollments", enrollment.dump()) != 201)
            throw std::runtime_error("enrollment of " + vin + " failed");
        auto files = headend::pki::make_leaf(*manufacturer, work / "pevs", "pev-" + std::to_string(i),
                                             headend::pki::LeafKind::device,
                                             {.days = 30, .overwrite = true, .subject_serial = vin});
        if (!files)
            throw std::runtime_error(files.error().message);
        emulator::Pev::Options pev_options;
        pev_options.cert = files->cert;
        pev_options.key = files->key;
        pev_options.wait = std::chrono::milliseconds(30000);
        pev_options.poll_every = std::chrono::milliseconds(20);
        premises[p].pevs.push_back(
            std::make_unique<emulator::Pev>("pev-" + std::to_string(i), endpoint, pev_options, log));
    }
    // The premises' always-on devices connect before the storm.
    for (auto& site : premises) {
        if (!site.esci->connect() || !site.eumd->connect())
            throw std::runtime_error("ESCI/EUMD connection failed");
    }

    // Scenario 1 for every PEV: certificate handshake, discovery, the ESCI's request, confirmation, the PEV's and the
    // EUMD's acknowledgements. A premises' PEVs bind one after another (its EUMD meters one at a time).
    Totals before = totals(premises);
    // Scrapes /metrics every 200 ms while the first bindings run; the last scrape taken during the phase is kept.
    std::atomic<bool> binding{true};
    std::string scrape;
    std::thread scraper;
    if (!options.metrics_out.empty()) {
        scraper = std::thread([&] {
            while (binding) {
                std::string taken = daemon.admin_get("/metrics");
                if (binding)
                    scrape = std::move(taken);
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        });
    }
    PhaseResult first = run_phase(premises, options.threads, daemon.process(), [](PremisesDevices& site) {
        std::size_t failed = 0;
        for (auto& pev : site.pevs) {
            const bool ok = pev->plug_in() && pev->discover() && site.esci->request_binding(pev->identity()) &&
                            pev->find_end_device() && pev->read_binding() &&
                            pev->binding()->status == sep::BindingStatus::kConfirmed && pev->acknowledge() &&
                            site.eumd->read_configuration() && site.eumd->acknowledge();
            failed += ok ? 0 : 1;
        }
        return failed;
    });
    binding = false;
    if (scraper.joinable()) {
        scraper.join();
        std::ofstream(options.metrics_out) << scrape;
    }
    Totals after = totals(premises);
    first.attempts = options.pevs;
    const std::size_t active_after_first = count_bindings(daemon, options.premises, "active");
    const auto sessions_after_first = json::parse(daemon.admin_get("/api/v1/health"))["coaps"]["sessions"];
    first.exchanges = after.exchanges - before.exchanges;
    first.pev_handshake_time = after.pev_handshakes - before.pev_handshakes;

    // Every PEV unplugs (not timed): the bindings end.
    run_phase(premises, options.threads, daemon.process(), [](PremisesDevices& site) {
        std::size_t failed = 0;
        for (auto& pev : site.pevs)
            failed += pev->unplug() ? 0 : 1;
        return failed;
    });

    // Scenario 2 for every PEV: re-bind PSK, the cached PowerStatus link, the ESCI's presence, the EUMD told.
    before = totals(premises);
    PhaseResult again = run_phase(premises, options.threads, daemon.process(), [](PremisesDevices& site) {
        std::size_t failed = 0;
        for (auto& pev : site.pevs) {
            const bool ok = pev->replug() && site.esci->request_binding(pev->identity()) &&
                            site.eumd->read_configuration() && site.eumd->acknowledge();
            failed += ok ? 0 : 1;
        }
        return failed;
    });
    after = totals(premises);
    again.attempts = options.pevs;
    const std::size_t active_after_rebinding = count_bindings(daemon, options.premises, "active");
    const auto sessions_after_rebinding = json::parse(daemon.admin_get("/api/v1/health"))["coaps"]["sessions"];
    again.exchanges = after.exchanges - before.exchanges;
    again.pev_handshake_time = after.pev_handshakes - before.pev_handshakes;

    json report;
    report["pevs"] = options.pevs;
    report["premises"] = options.premises;
    report["threads"] = options.threads;
    report["first_binding"] = phase_json(first);
    report["rebinding"] = phase_json(again);
    report["failed_steps"] = log.failures();
    // Checked on the head-end's side: every PEV's binding is active after each phase.
    report["first_binding"]["active_bindings"] = active_after_first;
    report["rebinding"]["active_bindings"] = active_after_rebinding;
    report["first_binding"]["server_sessions_after"] = sessions_after_first;
    report["rebinding"]["server_sessions_after"] = sessions_after_rebinding;
    const double first_rate = report["first_binding"]["bindings_per_s"];
    const double again_rate = report["rebinding"]["bindings_per_s"];
    report["ratio_rebinding_rate_to_first"] = again_rate / first_rate;
    report["ratio_rebinding_exchanges_to_first"] = report["rebinding"]["exchanges_per_binding"].get<double>() /
                                                   report["first_binding"]["exchanges_per_binding"].get<double>();
    fs::remove_all(work);
    return report;
}

}  // namespace bench
