#include "headend/core/daemon.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "daemon_metrics.hpp"
#include "encoding.hpp"
#include "han/coap_server.hpp"
#include "headend/core/admin_api.hpp"
#include "headend/core/alarm_store.hpp"
#include "headend/core/metrics.hpp"
#include "headend/core/plugin_devices.hpp"
#include "headend/core/plugin_host.hpp"
#include "headend/core/sep_resources.hpp"
#include "headend/core/services.hpp"
#include "headend/http/listeners.hpp"
#include "headend/http/server.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "pki/pki.hpp"
#include "sep/codec.hpp"
#include "sep/plugin_codec.hpp"

namespace headend::core {

namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& file, const std::string& what) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return make_error("startup", what + " " + file.string() + ": cannot read");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The admin token: created once with mode 0600, then reused so headendctl keeps working across restarts.
Result<std::string> load_or_create_admin_token(const fs::path& data_dir) {
    const fs::path file = data_dir / "admin.token";
    if (fs::exists(file)) {
        auto text = read_file(file, "admin token");
        if (!text)
            return text.error();
        std::string token = *text;
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
            token.pop_back();
        if (token.size() < 32)
            return make_error("startup", file.string() + ": admin token too short; delete it to make a new one");
        return token;
    }
    unsigned char random[32];
    RAND_bytes(random, sizeof random);
    std::string token;
    static constexpr char digits[] = "0123456789abcdef";
    for (unsigned char byte : random) {
        token += digits[byte >> 4U];
        token += digits[byte & 15U];
    }
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return make_error("startup", file.string() + ": cannot create the admin token");
    const std::string line = token + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written)
        return make_error("startup", file.string() + ": cannot write the admin token");
    return token;
}

Result<std::vector<std::uint8_t>> certificate_der(const std::string& pem, const std::string& what) {
    auto der = pem_certificate_to_der(pem);
    if (!der)
        return make_error("startup", what + ": not a PEM certificate");
    return std::move(*der);
}

Result<std::vector<std::uint8_t>> pem_key_to_der(const std::string& pem, const std::string& what) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr)
        return make_error("startup", what + ": not a PEM private key");
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        EVP_PKEY_free(key);
        return make_error("startup", what + ": the head-end key must be ECDSA P-256");
    }
    unsigned char* der = nullptr;
    const int length = i2d_PrivateKey(key, &der);
    EVP_PKEY_free(key);
    std::vector<std::uint8_t> bytes(der, der + std::max(length, 0));
    OPENSSL_free(der);
    return bytes;
}

// The head-end's certificate: the configured one, or one made under data_dir/tls on first start.
Result<std::pair<fs::path, fs::path>> server_certificate_files(const Config& config) {
    if (!config.server_certificate.empty())
        return std::pair{config.server_certificate, config.server_key};
    const fs::path dir = config.data_dir / "tls";
    const fs::path cert = dir / "headend.pem";
    const fs::path key = dir / "headend.key";
    if (fs::exists(cert) && fs::exists(key))
        return std::pair{cert, key};
    auto ca = fs::exists(dir / "ca.pem") ? pki::load_ca(dir) : pki::make_ca(dir, "PEV Head-end Local CA");
    if (!ca)
        return make_error("startup", "cannot create the head-end CA in " + dir.string() + ": " + ca.error().message);
    auto leaf = pki::make_leaf(*ca, dir, "headend", pki::LeafKind::server);
    if (!leaf)
        return make_error("startup", "cannot create the head-end certificate: " + leaf.error().message);
    spdlog::info("[HEADEND_TLS_CREATED] made a head-end certificate {} (devices trust {})", cert.string(),
                 (dir / "ca.pem").string());
    return std::pair{leaf->cert, leaf->key};
}

}  // namespace

class Daemon::Impl {
public:
    Config config;
    std::shared_ptr<const plugin::Clock> clock;
    std::shared_ptr<SimulatedClock> simulated;  // the same clock under --simulated-time
    std::string token;
    boost::asio::io_context io;
    std::unique_ptr<storage::SqliteDatabase> database;
    std::unique_ptr<DeviceRegistry> devices;
    std::unique_ptr<han::CoapServer> coap;
    std::unique_ptr<http::HttpServer> http;
    http::ListenerHost listeners;  // the plugins' own HTTPS listeners
    std::unique_ptr<AsioTimers> timers;
    std::unique_ptr<AsioEventBus> events;
    std::unique_ptr<SepResources> resources;
    std::unique_ptr<plugin::SepCodec> plugin_codec;
    std::unique_ptr<PluginDevices> plugin_devices;
    MetricsRegistry metrics;
    std::unique_ptr<PluginHost> plugins;
    std::thread io_thread;
    std::optional<boost::asio::signal_set> signals;

    std::mutex mutex;
    std::condition_variable stopped_cv;
    bool stop_requested = false;
    bool stopped = false;
    int lock_fd = -1;  // flock on data_dir/headend.lock while this daemon uses the folder

    ~Impl() {
        if (lock_fd >= 0)
            ::close(lock_fd);
    }
    Result<void> start();
    void stop();
};

Result<void> Daemon::Impl::start() {
    std::error_code ec;
    fs::create_directories(config.data_dir, ec);
    if (ec)
        return make_error("startup", "data folder " + config.data_dir.string() + ": " + ec.message());
    fs::permissions(config.data_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
    // One daemon per data folder: a second would run the same queues (bills mailed twice, files written by two).
    // The kernel drops the lock with the process, however it ends.
    const fs::path lock_file = config.data_dir / "headend.lock";
    lock_fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        return make_error("startup", lock_file.string() + ": cannot be opened");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
        return make_error("startup", "data folder " + config.data_dir.string() + " is in use by another headend (" +
                                         lock_file.string() + "); one daemon per data folder");

    auto admin = load_or_create_admin_token(config.data_dir);
    if (!admin)
        return admin.error();
    token = *admin;

    han::ServerOptions coap_options;
    coap_options.address = config.listen_address;
    coap_options.port = config.coaps_port;
    coap_options.credentials.psk_hint = config.psk_hint;
    coap_options.limits = han::ServerLimits{config.max_sessions,
                                            config.max_handshakes,
                                            config.idle_timeout,
                                            config.max_observers_per_identity,
                                            config.max_body_bytes,
                                            config.block1_timeout,
                                            config.ack_timeout,
                                            config.max_retransmit,
                                            config.receive_buffer_bytes,
                                            config.handshake_timeout,
                                            config.max_sessions_per_identity};
    auto files = server_certificate_files(config);
    if (!files)
        return files.error();
    auto cert_pem = read_file(files->first, "tls.server_certificate");
    if (!cert_pem)
        return cert_pem.error();
    auto key_pem = read_file(files->second, "tls.server_key");
    if (!key_pem)
        return key_pem.error();
    auto cert_der = certificate_der(*cert_pem, "tls.server_certificate " + files->first.string());
    if (!cert_der)
        return cert_der.error();
    auto key_der = pem_key_to_der(*key_pem, "tls.server_key " + files->second.string());
    if (!key_der)
        return key_der.error();
    coap_options.credentials.certificate_der = std::move(*cert_der);
    coap_options.credentials.private_key_der = std::move(*key_der);
    for (const auto& ca_file : config.device_ca) {
        auto pem = read_file(ca_file, "tls.device_ca");
        if (!pem)
            return pem.error();
        auto der = certificate_der(*pem, "tls.device_ca " + ca_file.string());
        if (!der)
            return der.error();
        coap_options.credentials.trusted_ca_der.push_back(std::move(*der));
    }

    storage::SqliteOptions storage_options;
    storage_options.journal_size_limit_bytes = config.journal_size_limit_bytes;
    storage_options.wal_warn_bytes = static_cast<std::uint64_t>(config.wal_warn_bytes);
    auto opened = storage::SqliteDatabase::open(config.data_dir / "headend.db", storage_options);
    if (!opened)
        return make_error("startup", "database: " + opened.error().message);
    database = std::move(*opened);
    const auto core_migrations = DeviceRegistry::migrations();
    if (auto migrated = database->migrate("core", core_migrations); !migrated) {
        return make_error("startup", "database migration: " + migrated.error().message);
    }
    if (auto migrated = database->migrate("alarms", alarm_migrations()); !migrated)
        return make_error("startup", "database migration: " + migrated.error().message);

    auto codec = sep::Codec::load(config.schema_dir);
    if (!codec)
        return make_error("startup", "schemas in " + config.schema_dir.string() + ": " + codec.error().message);

    auto loaded = DeviceRegistry::load(*database, *clock);
    if (!loaded)
        return make_error("startup", "loading devices: " + loaded.error().message);
    devices = std::move(*loaded);

    coap = std::make_unique<han::CoapServer>(
        io, coap_options, std::shared_ptr<const han::SecurityStore>(devices.get(), [](const han::SecurityStore*) {}));
    // A removed device loses its open sessions, not only its next handshake. (The registry's writer stops before the
    // server does.)
    devices->on_change([server = coap.get()](const Device& device, bool removed) {
        if (removed)
            server->close_sessions(device.lfdi, device.psk_identity);
    });
    http::HttpServerOptions http_options;
    http_options.address = config.admin_address;
    http_options.port = config.admin_port;
    http_options.admin_token = token;
    http_options.max_body_bytes = config.admin_max_body_bytes;
    http = std::make_unique<http::HttpServer>(http_options);
    timers = std::make_unique<AsioTimers>(io);
    if (simulated)
        simulated->on_advance([this](std::chrono::seconds by) { timers->advance(by); });
    events = std::make_unique<AsioEventBus>(io);

    resources =
        std::make_unique<SepResources>(*coap, *devices, *database, *codec, *clock, *timers,
                                       SepSettings{config.time_zone, config.time_quality, config.max_list_limit});
    resources->start();

    add_admin_routes(
        *http, *devices,
        [this] {
            HealthReport report;
            report.database_ok = database
                                     ->read([](storage::Transaction& tx) -> Result<void> {
                                         auto rows = tx.query("SELECT 1");
                                         if (!rows)
                                             return rows.error();
                                         return {};
                                     })
                                     .ok();
            report.coaps_port = coap->port();
            const han::ServerStats stats = coap->stats();
            report.sessions = stats.sessions;
            report.observations = stats.observations;
            const storage::WriterStats writer = database->stats();
            report.write_queue = writer.queue_depth;
            report.wal_bytes = writer.wal_bytes;
            report.wal_warn_bytes = static_cast<std::uint64_t>(config.wal_warn_bytes);
            report.checkpoint_lag_frames = writer.checkpoint_lag_frames;
            report.checkpoint_lag_seconds = writer.checkpoint_lag_seconds;
            return report;
        },
        [this] { return coap->sessions(); }, clock->now(), *clock);

    const std::int64_t started_at = clock->now();
    metrics.add_writer([this, started_at](MetricsText& out) {
        out.gauge("headend_start_time_seconds", "when the head-end started, in Unix seconds",
                  static_cast<double>(started_at));
        out.gauge("headend_devices", "registered devices", static_cast<double>(devices->size()));
        write_coap_metrics(out, coap->stats());
        write_storage_metrics(out, database->stats());
    });
    add_metrics_route(*http, metrics);
    add_alarm_routes(*http, *database, *clock);
    if (simulated) {
        add_clock_routes(*http, *simulated);
        spdlog::warn(
            "[HEADEND_CLOCK_SIMULATED] the head-end runs on simulated time: POST /api/v1/clock moves it "
            "forward (test and demo systems only)");
    }

    plugin_codec = sep::make_plugin_codec(*codec);
    plugin_devices = std::make_unique<PluginDevices>(*devices, *coap, *resources);
    plugins = std::make_unique<PluginHost>(HostServices{*coap, *http, *events, *database, *clock, *timers,
                                                        *plugin_codec, *plugin_devices, config.time_zone, metrics,
                                                        listeners, config.data_dir});
    for (const auto& plugin : config.plugins) {
        if (auto result = plugins->load(plugin); !result)
            return result.error();
    }

    // Only a sound database is served.
    if (auto checked = database->check_integrity(); !checked) {
        return make_error("startup", "database integrity check failed: " + checked.error().message);
    }
    if (auto started = plugins->start_all(); !started)
        return started.error();
    if (auto started = coap->start(); !started)
        return make_error("startup", "CoAPS: " + started.error().message);
    if (auto started = http->start(); !started)
        return make_error("startup", "admin HTTP: " + started.error().message);

    io_thread = std::thread([this] {
        auto guard = boost::asio::make_work_guard(io);
        io.run();
    });
    spdlog::info("[HEADEND_STARTED] CoAPS on {}:{}, admin API on http://{}:{}, {} devices, data in {}",
                 config.listen_address, coap->port(), config.admin_address, http->port(), devices->size(),
                 config.data_dir.string());
    return {};
}

void Daemon::Impl::stop() {
    {
        std::lock_guard lock(mutex);
        if (stopped)
            return;
        stopped = true;
    }
    spdlog::info("[HEADEND_STOPPING] finishing in-flight work");
    if (http)
        http->stop();
    if (plugins)
        plugins->stop_all();
    // After the plugins: a stopping plugin may still be finishing a file being downloaded.
    listeners.stop_all();
    // Commit whatever is queued; its answers are posted to the HAN loop, which is still running.
    if (database)
        database->close();
    if (io_thread.joinable()) {
        std::promise<void> closed;
        boost::asio::post(io, [this, &closed] {
            if (signals)
                signals->cancel();
            // Separate responses posted by the commits above run before this, in order.
            if (coap)
                coap->stop();
            closed.set_value();
        });
        closed.get_future().wait();
        io.stop();
        io_thread.join();
    } else if (coap) {
        coap->stop();
    }
    {
        std::lock_guard lock(mutex);
        stop_requested = true;
    }
    stopped_cv.notify_all();
    spdlog::info("[HEADEND_STOPPED] clean shutdown");
}

Result<std::unique_ptr<Daemon>> Daemon::start(Config config, std::shared_ptr<const plugin::Clock> clock) {
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    if (impl->config.simulated_time) {
        if (clock)
            return make_error("config", "simulated time runs on the daemon's own clock, not an injected one");
        impl->simulated = std::make_shared<SimulatedClock>();
        clock = impl->simulated;
    }
    impl->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
    if (auto started = impl->start(); !started) {
        impl->stop();
        return started.error();
    }
    return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() {
    impl_->stop();
}

std::uint16_t Daemon::coaps_port() const {
    return impl_->coap->port();
}
std::uint16_t Daemon::admin_port() const {
    return impl_->http->port();
}

std::uint16_t Daemon::listener_port(const std::string& name) const {
    return impl_->listeners.port(name);
}
void Daemon::time_moved(std::chrono::seconds by) {
    impl_->timers->advance(by);
}
const std::string& Daemon::admin_token() const {
    return impl_->token;
}
DeviceRegistry& Daemon::devices() {
    return *impl_->devices;
}

void Daemon::install_signal_handlers() {
    impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
    impl_->signals->async_wait([this](const boost::system::error_code& error, int signal) {
        if (error)
            return;
        spdlog::info("[HEADEND_SIGNAL] received signal {}", signal);
        std::lock_guard lock(impl_->mutex);
        impl_->stop_requested = true;
        impl_->stopped_cv.notify_all();
    });
}

void Daemon::wait() {
    std::unique_lock lock(impl_->mutex);
    impl_->stopped_cv.wait(lock, [this] { return impl_->stop_requested; });
}

void Daemon::stop() {
    impl_->stop();
}

}  // namespace headend::core
