// han-display: a HAN display device of one premises. It connects to the head-end over DTLS with the display's own
// credential (PSK or device certificate), discovers from /dcap, reads and observes its premises' PEV PowerStatus
// (PEVInfo), usage points and bills, and prints what a home display shows: one block per update.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>

#include "display/display.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConnection = 3;

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) {
    stop_requested = true;
}

int exit_code_of(const headend::Error& error) {
    return error.code == "display.refused" ? kExitRefused : kExitConnection;
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5684;
    std::string psk;
    fs::path cert;
    fs::path key;
    fs::path server_ca;
    fs::path schema_dir = HEADEND_DEFAULT_SCHEMA_DIR;
    bool json = false;
    std::uint64_t count = 0;
    double duration = 0;
    double refresh = 60;
    double timeout = 5;

    CLI::App app{
        "Emulates a HAN display of one premises: reads and observes its PEVs' PowerStatus (PEVInfo), its usage "
        "points and its account's bills at the head-end over CoAP/DTLS, printing what the display shows, one block "
        "per update."};
    app.add_option("--host", host, "Head-end address")->capture_default_str();
    app.add_option("--port", port, "Head-end CoAPS port")->capture_default_str();
    auto* psk_option = app.add_option("--psk", psk, "The display's PSK as IDENTITY:HEXKEY");
    auto* cert_option =
        app.add_option("--cert", cert, "The display's device certificate (PEM)")->check(CLI::ExistingFile);
    auto* key_option = app.add_option("--key", key, "Its private key (PEM)")->check(CLI::ExistingFile);
    app.add_option("--server-ca", server_ca,
                   "CA the head-end's certificate chains to (DATA/tls/ca.pem); required with --cert")
        ->check(CLI::ExistingFile);
    psk_option->excludes(cert_option)->excludes(key_option);
    cert_option->needs(key_option);
    key_option->needs(cert_option);
    app.add_option("--schema-dir", schema_dir, "SEP schemas")->capture_default_str();
    app.add_flag("--json", json, "One JSON object per update, one per line");
    app.add_option("--count", count, "Stop after N updates (the first look counts as one)")
        ->check(CLI::Range(1, 1000000));
    app.add_option("--duration", duration, "Stop after this many seconds")->check(CLI::Range(0.1, 31'536'000.0));
    app.add_option("--refresh", refresh,
                   "Seconds between looks for PEVs and meters that appeared, and status not reported before")
        ->check(CLI::Range(1.0, 86'400.0))
        ->capture_default_str();
    app.add_option("--timeout", timeout, "Seconds to wait for the handshake and for each answer")
        ->check(CLI::Range(0.5, 300.0))
        ->capture_default_str();
    app.footer(
        "Output: a block per update: first what it shows at start, then one per notification the head-end sends "
        "(a PEV's PowerStatus, a meter's latest reading, a bill issued) and after a refresh that found something "
        "new. --json prints each as one line: {\"update\", \"at\", \"cause\", \"pevs\": [{\"href\", \"plugged_in\", "
        "\"charging\", \"power_w\", \"energy_requested_wh\", \"target_soc_percent\", \"time_charge_is_needed\", ...}], "
        "\"usage\": [{\"usage_point\", \"kind\", \"wh\", \"start\", \"duration_s\", ...}], \"bill\": {\"account\", "
        "\"customer\", \"currency\", \"last_bill\", \"month_to_date\"}}.\n"
        "Without --count or --duration it runs until SIGINT or SIGTERM.\n"
        "Exit codes: 0 stopped as asked (--count, --duration, a signal); 1 the head-end refused the display (/dcap "
        "answered 4.03) or sent what it cannot read; 2 usage; 3 no session with the head-end (handshake failed, "
        "no answer) or the session was lost.\n"
        "Example: han-display --psk display-1:000102030405060708090a0b0c0d0e0f --port 5684 --count 10");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? kExitOk : kExitUsage;
    }

    display::Options options;
    options.host = host;
    options.port = port;
    if (!psk.empty()) {
        auto parsed = display::parse_psk(psk);
        if (!parsed) {
            std::cerr << "han-display: --psk takes IDENTITY:HEXKEY (an even number of hex digits after the last ':')\n";
            return kExitUsage;
        }
        options.credentials = han::ClientCredentials::psk(parsed->identity, parsed->key);
    } else if (!cert.empty()) {
        if (server_ca.empty()) {
            std::cerr << "han-display: --cert needs --server-ca, the CA the head-end's certificate chains to\n";
            return kExitUsage;
        }
        options.credentials = han::ClientCredentials::certificate(cert, key, server_ca);
    } else {
        std::cerr << "han-display: give the display's credential: --psk IDENTITY:HEXKEY, or --cert and --key\n";
        return kExitUsage;
    }
    auto codec = sep::Codec::load(schema_dir);
    if (!codec) {
        std::cerr << "han-display: " << codec.error().message << '\n';
        return kExitUsage;
    }
    options.codec = *codec;
    const auto timeout_ms = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
    options.client.connect_timeout = timeout_ms;
    options.client.request_timeout = timeout_ms;

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);

    auto connected = display::Display::connect(options);
    if (!connected) {
        std::cerr << "han-display: no session with " << host << ":" << port << ": " << connected.error().message
                  << '\n';
        return kExitConnection;
    }
    auto& screen = **connected;
    if (auto found = screen.discover(); !found) {
        std::cerr << "han-display: " << found.error().message << '\n';
        return exit_code_of(found.error());
    }

    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    const bool bounded = duration > 0;
    const auto deadline = started + std::chrono::milliseconds(static_cast<std::int64_t>(duration * 1000));
    const auto refresh_every = std::chrono::milliseconds(static_cast<std::int64_t>(refresh * 1000));
    auto next_refresh = started + refresh_every;
    std::uint64_t shown = 0;
    const auto show = [&](const std::string& cause) {
        const display::Update update{++shown, static_cast<std::int64_t>(std::time(nullptr)), cause};
        if (json)
            std::cout << display::render_json(screen.screen(), update).dump() << std::endl;
        else
            std::cout << display::render_text(screen.screen(), update) << std::flush;
    };
    const auto done = [&] {
        return stop_requested.load() || (count > 0 && shown >= count) || (bounded && Clock::now() >= deadline);
    };

    show("start");
    while (!done()) {
        auto slice = std::chrono::milliseconds(200);
        if (bounded)
            slice = std::min(slice, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        auto waited = screen.wait(std::max(slice, std::chrono::milliseconds(1)), [&](const std::string& path) {
            // Notifications that arrived together are each their own update, up to --count.
            if (count == 0 || shown < count)
                show(path);
        });
        if (!waited) {
            std::cerr << "han-display: " << waited.error().message << '\n';
            return kExitConnection;
        }
        if (!done() && Clock::now() >= next_refresh) {
            next_refresh = Clock::now() + refresh_every;
            auto changed = screen.refresh();
            if (!changed) {
                std::cerr << "han-display: " << changed.error().message << '\n';
                return exit_code_of(changed.error());
            }
            if (*changed)
                show("refresh");
        }
    }
    return kExitOk;
}
