// headend: the PEV head-end daemon.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "headend/core/config.hpp"
#include "headend/core/daemon.hpp"
#include "headend/core/log_format.hpp"

int main(int argc, char** argv) {
    CLI::App app{"PEV head-end: serves IEEE 2030.5 resources to HAN devices over CoAP/DTLS.", "headend"};
    std::string config_file;
    std::string data_dir;
    std::string listen;
    std::string log_level;
    std::optional<std::uint16_t> coaps_port;
    std::optional<std::uint16_t> admin_port;
    bool print_default = false;
    bool simulated_time = false;
    app.add_option("--config", config_file, "configuration file (TOML); see --print-default-config")
        ->check(CLI::ExistingFile);
    app.add_option("--data-dir", data_dir, "folder for the database, admin.token and TLS material");
    app.add_option("--listen", listen, "CoAPS listen address (numeric IPv4 or IPv6)");
    app.add_option("--coaps-port", coaps_port, "CoAPS (DTLS) port, 0 for any free port");
    app.add_option("--admin-port", admin_port, "admin HTTP API port on the admin address, 0 for any free port");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.add_flag("--simulated-time", simulated_time,
                 "test and demo systems only: the head-end's clock starts at the system's time and moves forward "
                 "when told (POST /api/v1/clock {\"advance_s\": N}), so simulated days pass in seconds");
    app.add_flag("--print-default-config", print_default, "print the documented default configuration and exit");
    app.set_version_flag("--version", HEADEND_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // --help and --version exit 0; anything wrong on the command line (a missing --config file too) is a
        // configuration error, exit 2 as documented, not CLI11's own codes.
        return app.exit(error) == 0 ? 0 : 2;
    }

    if (print_default) {
        std::cout << headend::core::default_config_text();
        return 0;
    }

    auto config =
        config_file.empty() ? headend::core::parse_config("", "(defaults)") : headend::core::load_config(config_file);
    if (!config) {
        std::cerr << "headend: configuration error: " << config.error().message << "\n";
        return 2;
    }
    if (!data_dir.empty())
        config->data_dir = data_dir;
    if (!listen.empty())
        config->listen_address = listen;
    if (coaps_port)
        config->coaps_port = *coaps_port;
    if (admin_port)
        config->admin_port = *admin_port;
    if (!log_level.empty())
        config->log_level = log_level;
    config->simulated_time = simulated_time;

    // Logs go to stderr; stdout carries only the readiness line scripts wait for.
    spdlog::set_default_logger(spdlog::stderr_color_mt("headend"));
    spdlog::set_level(spdlog::level::from_str(config->log_level));
    spdlog::set_formatter(std::make_unique<headend::core::EscapingFormatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v"));

    auto daemon = headend::core::Daemon::start(std::move(*config));
    if (!daemon) {
        if (daemon.error().code == "config") {
            std::cerr << "headend: configuration error: " << daemon.error().message << "\n";
            return 2;
        }
        std::cerr << "headend: cannot start: " << daemon.error().message << "\n";
        return 1;
    }
    (*daemon)->install_signal_handlers();
    // Machine-readable readiness line: scripts and tests wait for it to learn the ports.
    std::cout << "headend ready coaps_port=" << (*daemon)->coaps_port() << " admin_port=" << (*daemon)->admin_port()
              << std::endl;
    (*daemon)->wait();
    (*daemon)->stop();
    return 0;
}
