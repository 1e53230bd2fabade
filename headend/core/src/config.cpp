#include "headend/core/config.hpp"

#include <date/tz.h>

#include <toml++/toml.h>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace headend::core {

namespace {

Error config_error(const std::string& origin, const std::string& key, const std::string& message) {
    return make_error("config", origin + ": " + key + ": " + message);
}

// Reads the keys of one table, refusing any key it does not know.
class Section {
public:
    Section(const toml::table* table, std::string prefix, const std::string& origin)
        : table_(table), prefix_(std::move(prefix)), origin_(origin) {}

    std::optional<Error> error() const { return error_; }

    template <typename T, typename Apply>
    void read(const std::string& key, Apply apply) {
        known_.insert(key);
        if (table_ == nullptr || error_)
            return;
        const toml::node* node = table_->get(key);
        if (node == nullptr)
            return;
        auto value = node->value<T>();
        if (!value || !node->is<T>()) {
            fail(key, std::string("expected ") + type_name<T>());
            return;
        }
        if (auto problem = apply(*value))
            fail(key, *problem);
    }

    void port(const std::string& key, std::uint16_t& out) {
        read<std::int64_t>(key, [&](std::int64_t v) -> std::optional<std::string> {
            if (v < 0 || v > 65535)
                return "a port is 0..65535";
            out = static_cast<std::uint16_t>(v);
            return std::nullopt;
        });
    }
    template <typename Int>
    void positive(const std::string& key, Int& out) {
        read<std::int64_t>(key, [&](std::int64_t v) -> std::optional<std::string> {
            if (v <= 0)
                return "must be a positive integer";
            out = static_cast<Int>(v);
            return std::nullopt;
        });
    }
    void seconds(const std::string& key, std::chrono::seconds& out) {
        read<std::int64_t>(key, [&](std::int64_t v) -> std::optional<std::string> {
            if (v <= 0)
                return "must be a positive number of seconds";
            out = std::chrono::seconds(v);
            return std::nullopt;
        });
    }
    void text(const std::string& key, std::string& out) {
        read<std::string>(key, [&](const std::string& v) -> std::optional<std::string> {
            out = v;
            return std::nullopt;
        });
    }
    void path(const std::string& key, std::filesystem::path& out) {
        read<std::string>(key, [&](const std::string& v) -> std::optional<std::string> {
            out = v;
            return std::nullopt;
        });
    }

    void refuse_unknown_keys() {
        if (table_ == nullptr || error_)
            return;
        for (const auto& [key, node] : *table_) {
            if (!known_.contains(std::string(key.str()))) {
                fail(std::string(key.str()), "unknown key");
                return;
            }
        }
    }

    void fail(const std::string& key, const std::string& message) {
        if (!error_)
            error_ = config_error(origin_, prefix_ + key, message);
    }

    void mark_known(const std::string& key) { known_.insert(key); }

private:
    template <typename T>
    static const char* type_name() {
        if constexpr (std::is_same_v<T, std::int64_t>)
            return "an integer";
        if constexpr (std::is_same_v<T, bool>)
            return "true or false";
        return "a string";
    }

    const toml::table* table_;
    std::string prefix_;
    const std::string& origin_;
    std::set<std::string> known_;
    std::optional<Error> error_;
};

}  // namespace

Result<Config> parse_config(const std::string& text, const std::string& origin) {
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& error) {
        std::ostringstream message;
        message << origin << ":" << error.source().begin.line << ":" << error.source().begin.column << ": "
                << error.description();
        return make_error("config", message.str());
    }

    Config config;
    const std::set<std::string> sections = {"server", "tls", "territory", "limits", "storage", "plugins", "plugin"};
    for (const auto& [key, node] : root) {
        if (!sections.contains(std::string(key.str())))
            return config_error(origin, std::string(key.str()), "unknown key");
        if (key.str() != "plugins" && !node.is_table())
            return config_error(origin, std::string(key.str()), "expected a table");
    }

    Section server(root["server"].as_table(), "server.", origin);
    server.text("listen", config.listen_address);
    server.port("coaps_port", config.coaps_port);
    server.text("admin_listen", config.admin_address);
    server.port("admin_port", config.admin_port);
    server.path("data_dir", config.data_dir);
    server.path("schema_dir", config.schema_dir);
    server.read<std::string>("log_level", [&](const std::string& v) -> std::optional<std::string> {
        static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
        if (!levels.contains(v))
            return "one of trace, debug, info, warn, error, off";
        config.log_level = v;
        return std::nullopt;
    });
    server.refuse_unknown_keys();
    if (auto error = server.error())
        return *error;

    Section tls(root["tls"].as_table(), "tls.", origin);
    tls.path("server_certificate", config.server_certificate);
    tls.path("server_key", config.server_key);
    tls.mark_known("device_ca");
    if (const toml::node* cas = root["tls"]["device_ca"].node()) {
        const toml::array* list = cas->as_array();
        if (list == nullptr)
            return config_error(origin, "tls.device_ca", "expected a list of file names");
        for (const auto& item : *list) {
            auto file = item.value<std::string>();
            if (!file || !item.is_string())
                return config_error(origin, "tls.device_ca", "expected a list of file names");
            config.device_ca.emplace_back(*file);
        }
    }
    tls.read<std::string>("psk_hint", [&](const std::string& v) -> std::optional<std::string> {
        config.psk_hint = v;
        return std::nullopt;
    });
    tls.refuse_unknown_keys();
    if (auto error = tls.error())
        return *error;
    if (config.server_certificate.empty() != config.server_key.empty()) {
        return config_error(origin, "tls.server_key", "server_certificate and server_key go together");
    }

    Section territory(root["territory"].as_table(), "territory.", origin);
    territory.read<std::string>("time_zone", [&](const std::string& v) -> std::optional<std::string> {
        try {
            (void)date::locate_zone(v);
        } catch (const std::exception&) {
            return "unknown time zone '" + v + "'";
        }
        config.time_zone = v;
        return std::nullopt;
    });
    territory.read<std::int64_t>("time_quality", [&](std::int64_t v) -> std::optional<std::string> {
        if (v < 3 || v > 7)
            return "IEEE 2030.5 time quality is 3..7";
        config.time_quality = static_cast<int>(v);
        return std::nullopt;
    });
    territory.refuse_unknown_keys();
    if (auto error = territory.error())
        return *error;

    Section limits(root["limits"].as_table(), "limits.", origin);
    limits.positive("max_sessions", config.max_sessions);
    limits.positive("max_handshakes", config.max_handshakes);
    limits.seconds("idle_timeout_s", config.idle_timeout);
    limits.seconds("handshake_timeout_s", config.handshake_timeout);
    limits.positive("max_sessions_per_identity", config.max_sessions_per_identity);
    limits.positive("max_observers_per_identity", config.max_observers_per_identity);
    limits.positive("max_body_bytes", config.max_body_bytes);
    limits.positive("admin_max_body_bytes", config.admin_max_body_bytes);
    limits.seconds("block1_timeout_s", config.block1_timeout);
    limits.positive("max_list_limit", config.max_list_limit);
    limits.read<std::int64_t>("ack_timeout_ms", [&](std::int64_t v) -> std::optional<std::string> {
        if (v < 1000 || v > 60000)
            return "CoAP ACK_TIMEOUT is 1000..60000 ms";
        config.ack_timeout = std::chrono::milliseconds(v);
        return std::nullopt;
    });
    limits.read<std::int64_t>("max_retransmit", [&](std::int64_t v) -> std::optional<std::string> {
        if (v < 1 || v > 10)
            return "CoAP MAX_RETRANSMIT is 1..10";
        config.max_retransmit = static_cast<std::uint32_t>(v);
        return std::nullopt;
    });
    limits.read<std::int64_t>("receive_buffer_bytes", [&](std::int64_t v) -> std::optional<std::string> {
        if (v < 65536 || v > std::int64_t{1} << 30)
            return "the receive buffer is 65536..1073741824 bytes";
        config.receive_buffer_bytes = static_cast<std::size_t>(v);
        return std::nullopt;
    });
    limits.refuse_unknown_keys();
    if (auto error = limits.error())
        return *error;

    Section storage(root["storage"].as_table(), "storage.", origin);
    storage.read<std::int64_t>("journal_size_limit_bytes", [&](std::int64_t v) -> std::optional<std::string> {
        if (v < 0)
            return "must be 0 or more bytes";
        config.journal_size_limit_bytes = v;
        return std::nullopt;
    });
    storage.positive("wal_warn_bytes", config.wal_warn_bytes);
    storage.refuse_unknown_keys();
    if (auto error = storage.error())
        return *error;

    // [[plugins]] name = "...", library = "..."; settings in [plugin.NAME].
    if (const toml::node* plugins = root["plugins"].node()) {
        const toml::array* list = plugins->as_array();
        if (list == nullptr)
            return config_error(origin, "plugins", "expected [[plugins]] entries");
        std::size_t index = 0;
        for (const auto& item : *list) {
            const std::string where = "plugins[" + std::to_string(index++) + "].";
            const toml::table* table = item.as_table();
            if (table == nullptr)
                return config_error(origin, where, "expected a table");
            PluginConfig plugin;
            Section section(table, where, origin);
            section.text("name", plugin.name);
            section.path("library", plugin.library);
            section.refuse_unknown_keys();
            if (auto error = section.error())
                return *error;
            if (plugin.name.empty())
                return config_error(origin, where + "name", "required");
            if (plugin.library.empty())
                return config_error(origin, where + "library", "required");
            config.plugins.push_back(std::move(plugin));
        }
    }
    if (const toml::table* settings = root["plugin"].as_table()) {
        for (const auto& [name, node] : *settings) {
            const std::string plugin_name(name.str());
            auto it = std::find_if(config.plugins.begin(), config.plugins.end(),
                                   [&](const PluginConfig& p) { return p.name == plugin_name; });
            if (it == config.plugins.end())
                return config_error(origin, "plugin." + plugin_name, "no such plugin loaded");
            const toml::table* table = node.as_table();
            if (table == nullptr)
                return config_error(origin, "plugin." + plugin_name, "expected a table");
            for (const auto& [key, value] : *table) {
                const std::string full = "plugin." + plugin_name + "." + std::string(key.str());
                if (auto i = value.value<std::int64_t>(); i && value.is_integer()) {
                    it->settings[std::string(key.str())] = *i;
                } else if (auto b = value.value<bool>(); b && value.is_boolean()) {
                    it->settings[std::string(key.str())] = *b;
                } else if (auto s = value.value<std::string>(); s && value.is_string()) {
                    it->settings[std::string(key.str())] = *s;
                } else {
                    return config_error(origin, full, "expected an integer, a boolean or a string");
                }
            }
        }
    }
    return config;
}

Result<Config> load_config(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in)
        return make_error("config", file.string() + ": cannot read the configuration file");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), file.string());
}

std::string default_config_text() {
    return R"(# PEV head-end configuration. Every key is optional; the values shown are the defaults.
# Command-line flags (--listen, --coaps-port, --admin-port, --data-dir) override this file.

[server]
listen = "0.0.0.0"          # CoAPS (DTLS) listen address for HAN devices
coaps_port = 5684           # 0 picks a free port (tests)
admin_listen = "127.0.0.1"  # admin HTTP API; keep it on loopback
admin_port = 8080
data_dir = "data"           # SQLite database, admin.token, generated TLS material
# schema_dir = "..."        # the XSDs of schemas/ (default: where they were at build time)
log_level = "info"          # trace, debug, info, warn, error, off

[tls]
# The head-end's certificate and key (PEM, ECDSA P-256). Empty: generated under data_dir/tls on first start.
server_certificate = ""
server_key = ""
# Manufacturer CAs whose device certificates are accepted (PEM files).
device_ca = []
# psk_hint = ""             # no PSK identity hint is sent unless set

[territory]
time_zone = "America/Los_Angeles"  # served in /tm and used for rating
time_quality = 4                    # IEEE 2030.5 Time.quality of our clock source

[limits]
max_sessions = 10000              # DTLS sessions; the least recently used idle one goes beyond this
max_handshakes = 128              # DTLS handshakes in progress past the cookie exchange
idle_timeout_s = 300              # idle DTLS sessions are closed after this
handshake_timeout_s = 30          # a handshake not finished this long after its cookie exchange is dropped
max_sessions_per_identity = 8     # one device's sessions; a new one beyond this closes its oldest
max_observers_per_identity = 16   # RFC 7641 observations per device identity (beyond: GETs served, not registered)
max_body_bytes = 16384            # request bodies after Block1 reassembly (4.13 beyond)
block1_timeout_s = 60             # unfinished Block1 uploads are dropped after this
max_list_limit = 255              # upper bound of the 2030.5 list query parameter l
admin_max_body_bytes = 67108864   # admin API request bodies (CIS and AMI files): 64 MiB, held in memory
ack_timeout_ms = 2000             # CoAP ACK_TIMEOUT for separate responses and notifications (1000..60000)
max_retransmit = 4                # CoAP MAX_RETRANSMIT; an observer that never acknowledges is dropped after it
receive_buffer_bytes = 4194304    # the HAN socket's kernel receive buffer, for bursts (drops are a metric)

[storage]
# SQLite's write-ahead log: checkpoints catch up once readers let go, and a WAL file larger than this is truncated
# (journal_size_limit) as soon as every frame is checkpointed and no reader uses it.
journal_size_limit_bytes = 16777216   # 16 MiB
wal_warn_bytes = 67108864             # 64 MiB: [STORAGE_WAL_LARGE] warnings while the WAL is larger

# Plugins are shared libraries loaded at start, in this order (pev-binding reads pev-registration's views,
# interval-collection pev-binding's, mdm-export interval-collection's, billing all three, and customer-portal all
# four, so each comes after the ones it reads).
# Paths are where the build puts them, relative to the working directory:
# [[plugins]]
# name = "pev-registration"
# library = "build/plugins/pev-registration/libpev_registration.so"
#
# [[plugins]]
# name = "pev-binding"
# library = "build/plugins/pev-binding/libpev_binding.so"
#
# [[plugins]]
# name = "interval-collection"
# library = "build/plugins/interval-collection/libinterval_collection.so"
#
# [[plugins]]
# name = "mdm-export"
# library = "build/plugins/mdm-export/libmdm_export.so"
#
# [[plugins]]
# name = "billing"
# library = "build/plugins/billing/libbilling.so"
#
# [[plugins]]
# name = "customer-portal"
# library = "build/plugins/customer-portal/libcustomer_portal.so"
#
# [plugin.pev-registration]
# programs_file = "config/programs.toml"   # required
#
# [plugin.pev-binding]
# binding_timeout_s = 60
)";
}

}  // namespace headend::core
