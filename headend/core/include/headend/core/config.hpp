// The daemon's configuration: a TOML file with documented defaults, overridden by command-line flags. Every
// error names the offending key.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "headend/plugin/plugin.hpp"
#include "headend/plugin/result.hpp"

namespace headend::core {

struct PluginConfig {
    std::string name;
    std::filesystem::path library;
    // The plugin's own section ([plugin.NAME]), kept raw until the plugin declares its keys.
    std::map<std::string, plugin::ConfigKey::Value> settings;
};

struct Config {
    // [server]
    std::string listen_address = "0.0.0.0";
    std::uint16_t coaps_port = 5684;
    std::string admin_address = "127.0.0.1";
    std::uint16_t admin_port = 8080;
    std::filesystem::path data_dir = "data";
    std::string log_level = "info";
    std::filesystem::path schema_dir = HEADEND_DEFAULT_SCHEMA_DIR;  // the XSDs the codec validates against

    // [tls]
    std::filesystem::path server_certificate;  // PEM; empty: generated under data_dir/tls on first start
    std::filesystem::path server_key;
    std::vector<std::filesystem::path> device_ca;  // manufacturer CAs trusted for device certificates
    std::optional<std::string> psk_hint;

    // [territory]
    std::string time_zone = "America/Los_Angeles";
    int time_quality = 4;  // IEEE 2030.5 Time.quality: 4 = from a level-3 (NTP-synchronised) source

    // [limits]
    std::size_t max_sessions = 10000;
    std::size_t max_handshakes = 128;
    std::chrono::seconds idle_timeout{300};
    std::chrono::seconds handshake_timeout{30};
    std::size_t max_sessions_per_identity = 8;
    std::size_t max_observers_per_identity = 16;
    std::size_t max_body_bytes = 16384;
    std::size_t admin_max_body_bytes = std::size_t{64} * 1024 * 1024;  // admin API requests (file imports)
    std::chrono::seconds block1_timeout{60};
    std::uint32_t max_list_limit = 255;                  // upper bound for the 2030.5 `l` query parameter
    std::chrono::milliseconds ack_timeout{2000};         // CoAP ACK_TIMEOUT for what the server sends confirmable
    std::uint32_t max_retransmit = 4;                    // CoAP MAX_RETRANSMIT
    std::size_t receive_buffer_bytes = 4 * 1024 * 1024;  // the HAN socket's kernel receive buffer

    // [storage]
    std::int64_t journal_size_limit_bytes = std::int64_t{16} * 1024 * 1024;  // the WAL is truncated back to this
    std::int64_t wal_warn_bytes = std::int64_t{64} * 1024 * 1024;            // [STORAGE_WAL_LARGE] beyond this

    std::vector<PluginConfig> plugins;

    // headend --simulated-time only, no TOML key: the clock is a SimulatedClock that POST /api/v1/clock moves forward.
    bool simulated_time = false;
};

// Parses TOML text; `origin` names the file in messages.
Result<Config> parse_config(const std::string& text, const std::string& origin);
Result<Config> load_config(const std::filesystem::path& file);

// The documented default file (what `headend --print-default-config` prints).
std::string default_config_text();

}  // namespace headend::core
