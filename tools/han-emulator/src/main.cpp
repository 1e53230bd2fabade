// han-emulator: one premises' HAN (an ESCI, an EUMD and a PEV) running seed scenarios 1, 2 and 3 against the head-end
// over real DTLS, printing each step; faults by flag. With --fleet, many premises for many simulated days against a
// head-end on simulated time.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "emulator/certificates.hpp"
#include "emulator/devices.hpp"
#include "emulator/fleet.hpp"
#include "emulator/live_head_end.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5684;
    fs::path server_ca;
    fs::path schema_dir = HEADEND_DEFAULT_SCHEMA_DIR;
    std::string esci;
    std::string eumd;
    std::string away_esci;
    fs::path pev_cert;
    fs::path pev_key;
    fs::path mfr_ca;
    std::string vin;
    std::string scenario = "both";
    std::int64_t energy_wh = 9000;
    double kilowatts = 7.2;
    std::string fault;
    double wait_seconds = 60;
    std::int64_t skew_seconds = 300;
    bool json = false;
    std::uint16_t source_port = 0;
    // --fleet
    bool fleet = false;
    emulator::FleetOptions fleet_options;
    std::string admin_url = "http://127.0.0.1:8080";
    fs::path token_file = "./data/admin.token";
};

// "identity:hexkey"
std::optional<han::PskCredentials> parse_psk(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || (text.size() - colon - 1) % 2 != 0)
        return std::nullopt;
    han::PskCredentials psk{text.substr(0, colon), {}};
    for (std::size_t i = colon + 1; i + 1 < text.size(); i += 2) {
        unsigned value = 0;
        if (std::sscanf(text.c_str() + i, "%2x", &value) != 1)
            return std::nullopt;
        psk.key.push_back(static_cast<std::uint8_t>(value));
    }
    return psk.key.empty() ? std::nullopt : std::optional(psk);
}

fs::path scratch_dir() {
    std::random_device random;
    auto dir = fs::temp_directory_path() / ("han-emulator-" + std::to_string(random()));
    fs::create_directories(dir);
    return dir;
}

// --fleet: provisions the premises through the admin API, runs the days moving the head-end's clock, prints progress
// and the summary, then the checks the admin API and /upt allow.
int run_fleet(const Settings& settings, std::optional<std::uint16_t> coaps_port) {
    std::ifstream token_file(settings.token_file);
    std::stringstream token;
    token << token_file.rdbuf();
    std::string value = token.str();
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    if (!token_file || value.empty()) {
        std::cerr << "han-emulator: no admin token in " << settings.token_file.string()
                  << " (set --token-file or HEADEND_TOKEN_FILE)\n";
        return kExitUsage;
    }
    auto headend = emulator::LiveHeadEnd::connect(
        {settings.admin_url, value, settings.host, coaps_port, settings.server_ca, settings.mfr_ca});
    if (!headend) {
        std::cerr << "han-emulator: " << headend.error().message << '\n';
        return kExitFailed;
    }
    std::ostream& progress = settings.json ? std::cerr : std::cout;
    emulator::Fleet fleet(**headend, settings.fleet_options);
    if (auto provisioned = fleet.provision(); !provisioned) {
        std::cerr << "han-emulator: provisioning the fleet failed: " << provisioned.error().message << '\n';
        return kExitFailed;
    }
    progress << "provisioned " << settings.fleet_options.premises << " premises; the head-end's clock is at "
             << (*headend)->now() << std::endl;
    const bool ok = emulator::run_fleet(
        fleet, [&fleet] { return fleet.verify(); }, settings.json, std::cout, progress);
    return ok ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    CLI::App app{
        "Emulates one premises' HAN (ESCI, EUMD, PEV) running seed scenarios 1, 2 and 3 against the head-end; with "
        "--fleet, many premises charging for many simulated days against a head-end on simulated time."};
    app.add_option("--host", settings.host, "Head-end address")->capture_default_str();
    auto* port = app.add_option("--port", settings.port, "Head-end CoAPS port (--fleet: the one the head-end reports)")
                     ->capture_default_str();
    app.add_option("--server-ca", settings.server_ca, "CA the head-end's certificate chains to (DATA/tls/ca.pem)")
        ->required();
    app.add_option("--schema-dir", settings.schema_dir, "SEP schemas")->capture_default_str();
    app.add_option("--mfr-ca", settings.mfr_ca,
                   "Manufacturer CA folder: mint the PEV's certificate for --vin there (kept as pev-VIN.pem); "
                   "--fleet mints every PEV's there");
    app.add_flag("--json", settings.json, "Print a JSON summary instead of the step log");
    const std::vector<CLI::Option*> one_premises = {
        app.add_option("--esci", settings.esci, "The ESCI's PSK as IDENTITY:HEXKEY (required)"),
        app.add_option("--eumd", settings.eumd, "The EUMD's PSK as IDENTITY:HEXKEY (required)"),
        app.add_option("--away-esci", settings.away_esci, "Another premises' ESCI (for --fault wrong-premises)"),
        app.add_option("--pev-cert", settings.pev_cert, "The PEV's certificate (PEM)"),
        app.add_option("--pev-key", settings.pev_key, "The PEV's key (PEM)"),
        app.add_option("--vin", settings.vin, "The PEV's VIN when minting its certificate"),
        app.add_option("--scenario", settings.scenario,
                       "1; 2 (after 1) or both; 3 (after 1: the EUMD sends the energy of the intervals complete since "
                       "the binding, waiting for the first, and the PEV reads it back); all (1, 2, 3)")
            ->check(CLI::IsMember({"1", "2", "both", "3", "all"}))
            ->capture_default_str(),
        app.add_option("--energy-wh", settings.energy_wh, "Energy of the charge scenario 3 sends, Wh")
            ->check(CLI::Range(1, 200'000))
            ->capture_default_str(),
        app.add_option("--kw", settings.kilowatts,
                       "Charging power of that charge, kW (level 2 about 7.2, level 1 about 1.4)")
            ->check(CLI::Range(0.5, 19.2))
            ->capture_default_str(),
        app.add_option("--fault", settings.fault, "Inject one fault")
            ->check(CLI::IsMember({"esci-unreachable", "bad-certificate", "unenrolled-vin", "wrong-premises",
                                   "cloned-vin", "clock-skew", "drop-ack"})),
        app.add_option("--wait", settings.wait_seconds, "Seconds the PEV waits for its binding before charging anyway")
            ->capture_default_str(),
        app.add_option("--skew", settings.skew_seconds, "PEV clock error for --fault clock-skew, seconds")
            ->capture_default_str(),
        app.add_option("--source-port", settings.source_port,
                       "Fixed UDP source ports, as devices keep across reboots: the ESCI uses PORT, the EUMD PORT+1, "
                       "the PEV PORT+2, another premises' ESCI PORT+3 (default: ephemeral)")
            ->check(CLI::Range(1, 65532))};
    for (auto* option : one_premises)
        option->group("One premises");

    auto* fleet = app.add_flag("--fleet", settings.fleet,
                               "Fleet mode: --premises premises (F001, ...) for --days simulated days against a "
                               "head-end on simulated time, through its admin API (see below)")
                      ->group("Fleet");
    for (auto* option : one_premises)
        fleet->excludes(option);
    const std::vector<CLI::Option*> fleet_only = {
        app.add_option("--premises", settings.fleet_options.premises, "Premises, each with an ESCI, an EUMD and a PEV")
            ->check(CLI::Range(1, 999))
            ->capture_default_str(),
        app.add_option("--days", settings.fleet_options.days, "Simulated days")
            ->check(CLI::Range(1, 55))
            ->capture_default_str(),
        app.add_option("--seed", settings.fleet_options.seed, "Decides charges and house loads")->capture_default_str(),
        app.add_flag("--mix", settings.fleet_options.mix,
                     "Vary the days as a billing month does: off-peak charges, a guest at F002, a visitor at F003, a "
                     "fallback at F002 each week (at least 3 premises; the visitor's certificate is MFR-CA/visitor-" +
                         std::string(emulator::kFleetVisitorVin) + ".pem, named in the head-end's roaming registry)"),
        app.add_option("--admin", settings.admin_url, "The head-end's admin API")
            ->envname("HEADEND_ADMIN")
            ->capture_default_str(),
        app.add_option("--token-file", settings.token_file, "File holding the admin token")
            ->envname("HEADEND_TOKEN_FILE")
            ->capture_default_str()};
    for (auto* option : fleet_only)
        option->group("Fleet")->needs(fleet);
    app.footer(
        "Exit codes: 0 every step as expected (--fleet: every day and check), 1 a step or check failed, 2 usage.\n"
        "Faults: unenrolled-vin mints a certificate for an unenrolled VIN (needs --mfr-ca); cloned-vin mints a "
        "second certificate with the same VIN after the first binding (needs --mfr-ca); bad-certificate uses "
        "a CA the head-end does not trust.\n"
        "Fleet mode needs a head-end started with --simulated-time (test and demo systems only) that trusts --mfr-ca "
        "for device certificates. It imports CIS records, registers each premises' ESCI and EUMD (PSK) and enrolls "
        "its PEV (certificate minted in --mfr-ca) through the admin API; then every simulated day at 18:00 local time "
        "each PEV plugs in and binds, the emulator moves the head-end's clock (POST /api/v1/clock) to the next "
        "evening, the EUMD posts the charge and the ESCI the premises meter's day. It prints a line per day, the "
        "intervals acknowledged, kWh and failures, then checks through the admin API and /upt: no load mismatch "
        "alarm, one session per PEV per day with the energy posted, each PEV's usage as posted. --json prints one "
        "document (progress on stderr). Use a fresh head-end: the premises' identities are the same every run.\n"
        "Example: han-emulator --fleet --premises 20 --days 28 --server-ca data/tls/ca.pem --mfr-ca mfr "
        "--admin http://127.0.0.1:8080 --token-file data/admin.token");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? kExitOk : kExitUsage;
    }
    if (settings.fleet) {
        if (settings.mfr_ca.empty()) {
            std::cerr << "han-emulator: --fleet needs --mfr-ca, the manufacturer CA the head-end trusts\n";
            return kExitUsage;
        }
        if (settings.fleet_options.mix && settings.fleet_options.premises < 3) {
            std::cerr << "han-emulator: --mix needs at least 3 premises (a guest at F002, a visitor at F003)\n";
            return kExitUsage;
        }
        settings.fleet_options.schema_dir = settings.schema_dir;
        return run_fleet(settings, port->count() > 0 ? std::optional(settings.port) : std::nullopt);
    }
    const auto esci_psk = parse_psk(settings.esci);
    const auto eumd_psk = parse_psk(settings.eumd);
    if (!esci_psk || !eumd_psk) {
        std::cerr << "han-emulator: --esci and --eumd take IDENTITY:HEXKEY (both are required without --fleet)\n";
        return kExitUsage;
    }
    if (settings.fault == "unenrolled-vin")
        settings.vin = "11111111111111111";  // valid, and never enrolled by the demo
    const bool minting = settings.pev_cert.empty();
    if (minting && (settings.mfr_ca.empty() || settings.vin.empty())) {
        std::cerr << "han-emulator: give --pev-cert and --pev-key, or --mfr-ca and --vin\n";
        return kExitUsage;
    }
    if (settings.fault == "wrong-premises" && !parse_psk(settings.away_esci)) {
        std::cerr << "han-emulator: --fault wrong-premises needs --away-esci IDENTITY:HEXKEY\n";
        return kExitUsage;
    }
    if ((settings.fault == "unenrolled-vin" || settings.fault == "cloned-vin") && settings.mfr_ca.empty()) {
        std::cerr << "han-emulator: --fault " << settings.fault << " needs --mfr-ca\n";
        return kExitUsage;
    }

    auto codec = sep::Codec::load(settings.schema_dir);
    if (!codec) {
        std::cerr << "han-emulator: " << codec.error().message << '\n';
        return kExitUsage;
    }
    emulator::Endpoint endpoint{settings.host, settings.port, settings.server_ca, {}, *codec};
    emulator::StepLog log;
    const fs::path scratch = scratch_dir();
    auto cleanup = std::unique_ptr<const fs::path, void (*)(const fs::path*)>(
        &scratch, [](const fs::path* dir) { fs::remove_all(*dir); });

    emulator::Pev::Options options;
    options.wait = std::chrono::milliseconds(static_cast<std::int64_t>(settings.wait_seconds * 1000));
    options.drop_acknowledgement = settings.fault == "drop-ack";
    if (minting || settings.fault == "bad-certificate" || settings.fault == "unenrolled-vin") {
        const bool untrusted = settings.fault == "bad-certificate";
        auto files = emulator::mint_pev_certificate(settings.mfr_ca, untrusted ? scratch : settings.mfr_ca,
                                                    "pev-" + settings.vin, settings.vin, untrusted);
        if (!files) {
            std::cerr << "han-emulator: " << files.error().message << '\n';
            return kExitUsage;
        }
        options.cert = files->cert;
        options.key = files->key;
    } else {
        options.cert = settings.pev_cert;
        options.key = settings.pev_key;
    }
    emulator::LocalClock clock = emulator::system_clock();
    if (settings.fault == "clock-skew")
        clock = [skew = settings.skew_seconds] { return emulator::system_clock()() + skew; };

    // Each device on its own fixed port when asked, the next one up from the last.
    const auto endpoint_for = [&](std::uint16_t offset) {
        emulator::Endpoint own = endpoint;
        if (settings.source_port != 0)
            own.client.local_port = static_cast<std::uint16_t>(settings.source_port + offset);
        return own;
    };
    emulator::Esci esci("esci", endpoint_for(0), *esci_psk, log);
    emulator::Eumd eumd("eumd", endpoint_for(1), *eumd_psk, log);
    emulator::Pev pev("pev", endpoint_for(2), options, log, clock);
    std::optional<emulator::Esci> away;
    if (settings.fault == "wrong-premises")
        away.emplace("away-esci", endpoint_for(3), *parse_psk(settings.away_esci), log);
    emulator::Esci& requester = away ? *away : esci;

    const auto scenario1 = [&]() -> bool {
        if (!pev.plug_in() || !pev.discover())
            return false;
        if (settings.fault != "esci-unreachable") {
            if (!requester.connect() || !requester.request_binding(pev.identity()))
                return false;
        }
        if (!pev.find_end_device() || !pev.read_binding())
            return false;
        const auto status = pev.binding()->status;
        if (status == sep::BindingStatus::kRefused || status == sep::BindingStatus::kFallback ||
            status == sep::BindingStatus::kEnded)
            return false;
        if (!pev.plan_charging())
            return false;
        // Bound already (a second run while plugged in): nothing to acknowledge again.
        if (status == sep::BindingStatus::kConfirmed && !pev.acknowledge())
            return false;
        if (!eumd.connect() || !eumd.read_configuration() || !eumd.acknowledge())
            return false;
        if (settings.fault == "cloned-vin") {
            fs::remove(scratch / ("pev-" + settings.vin + "-clone.pem"));
            auto files = emulator::mint_pev_certificate(settings.mfr_ca, scratch, "pev-" + settings.vin + "-clone",
                                                        settings.vin);
            if (!files)
                return false;
            emulator::Pev clone("pev-clone", endpoint,
                                {files->cert, files->key, options.wait, options.poll_every, false}, log);
            if (clone.plug_in())
                (void)esci.request_binding(clone.identity());
        }
        return true;
    };
    const auto scenario2 = [&]() -> bool {
        if (!pev.unplug() || !pev.replug() || !esci.request_binding(pev.identity()))
            return false;
        // Re-bind credential refused (expired): bound as the first time, which brings a fresh one.
        if (!pev.rebinding() && (!pev.find_end_device() || !pev.read_binding() || !pev.acknowledge()))
            return false;
        return eumd.read_configuration() && eumd.acknowledge();
    };

    // The charge since the latest binding, as the EUMD measured it: the intervals complete so far (waiting for the
    // first), at most the profile of --energy-wh. Energy before the binding is not the PEV's: the head-end refuses it.
    std::int64_t energy_read = 0;
    const auto scenario3 = [&]() -> bool {
        const std::uint32_t interval = eumd.interval();
        const std::int64_t bound_at = eumd.now();
        const std::int64_t started = bound_at - bound_at % interval;
        if (started + interval > eumd.now())
            std::cout << "waiting " << started + interval - eumd.now() << " s for the EUMD's first complete interval\n"
                      << std::flush;
        while (started + interval > eumd.now())
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        auto profile = emulator::charging_profile(interval, settings.kilowatts, settings.energy_wh);
        const auto complete = static_cast<std::size_t>((eumd.now() - started) / interval);
        if (profile.size() > complete)
            profile.resize(complete);
        auto posted = eumd.post_session(started, profile);
        if (!posted || *posted != 201)
            return false;
        auto usage = pev.read_usage();
        if (!usage)
            return false;
        for (const auto& reading : *usage)
            energy_read += reading.value.value_or(0);
        return true;
    };

    const bool with2 = settings.scenario == "2" || settings.scenario == "both" || settings.scenario == "all";
    const bool with3 = settings.scenario == "3" || settings.scenario == "all";
    bool completed = scenario1();
    if (completed && with2)
        completed = scenario2();
    if (completed && with3)
        completed = scenario3();
    if (settings.json) {
        auto summary = log.summary();
        summary["charging"] = pev.charging_mode();
        summary["completed"] = completed;
        if (pev.binding())
            summary["binding_status"] = std::string(sep::to_string(pev.binding()->status));
        if (with3)
            summary["energy_read_wh"] = energy_read;
        std::cout << summary.dump(2) << '\n';
    } else {
        log.print(std::cout);
        std::cout << "charging: " << pev.charging_mode() << '\n';
        if (with3)
            std::cout << "energy the head-end holds for the PEV: " << energy_read << " Wh\n";
    }
    return log.failures() == 0 ? kExitOk : kExitFailed;
}
