// The mdm-export plugin: a worker thread writes export files every cycle (and removes acknowledged ones past their
// retention); operators run cycles and resends through the admin API; the MDM pulls files over its own HTTPS
// listener. Load it after interval-collection, whose views it reads.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <sstream>
#include <thread>

#include "calendar/local_days.hpp"
#include "headend/plugin/plugin.hpp"
#include "mdm/exporter.hpp"
#include "routes.hpp"
#include "secrets/token_file.hpp"

namespace {

using headend::make_error;
using headend::Result;

Result<std::vector<mdm::Format>> formats_of(const std::string& text) {
    std::vector<mdm::Format> formats;
    std::stringstream list(text);
    for (std::string name; std::getline(list, name, ',');) {
        const auto format = mdm::parse_format(name);
        if (!format)
            return make_error("config",
                              "plugin.mdm-export.formats: cmep and/or espi, comma-separated, not '" + name + "'");
        formats.push_back(*format);
    }
    if (formats.empty())
        return make_error("config", "plugin.mdm-export.formats: at least one of cmep, espi");
    return formats;
}

Result<cmep::Vocabulary> vocabulary_of(const std::string& text) {
    std::vector<std::string> words;
    std::stringstream list(text);
    for (std::string word; std::getline(list, word, ',');)
        words.push_back(word);
    if (words.size() != 3 || words[0].empty() || words[1].empty() || words[2].empty())
        return make_error("config", "plugin.mdm-export.cmep_flags: three words, actual,estimated,not-available");
    return cmep::Vocabulary{words[0], words[1], words[2]};
}

class ExportPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            const auto& config = context.config;
            mdm::ExportSettings settings;
            settings.folder = config.string("folder").empty() ? std::filesystem::path(context.data_dir) / "mdm-export"
                                                              : std::filesystem::path(config.string("folder"));
            auto formats = formats_of(config.string("formats"));
            if (!formats)
                return formats.error();
            settings.formats = *formats;
            settings.time_zone = context.territory_time_zone;
            const std::string& time = config.string("cmep_time");
            if (time != "utc" && time != "local")
                return make_error("config", "plugin.mdm-export.cmep_time: utc or local, not '" + time + "'");
            settings.cmep_local_time = time == "local";
            settings.sender_id = config.string("sender_id");
            settings.receiver_id = config.string("receiver_id");
            settings.correction_purpose = config.string("cmep_correction_purpose");
            auto vocabulary = vocabulary_of(config.string("cmep_flags"));
            if (!vocabulary)
                return vocabulary.error();
            settings.vocabulary = *vocabulary;
            const std::int64_t per_record = config.integer("cmep_values_per_record");
            if (per_record < 1 || per_record > 10000)
                return make_error("config", "plugin.mdm-export.cmep_values_per_record: 1 to 10000");
            settings.values_per_record = static_cast<std::size_t>(per_record);
            settings.intervals_per_file = config.integer("intervals_per_file");
            if (settings.intervals_per_file < 1 || settings.intervals_per_file > 10'000'000)
                return make_error("config", "plugin.mdm-export.intervals_per_file: 1 to 10000000");
            const std::int64_t retention_days = config.integer("retention_days");
            if (retention_days < 0 || retention_days > 3650)
                return make_error("config", "plugin.mdm-export.retention_days: 0 to 3650");
            settings.retention_s = retention_days * 86400;
            cycle_s_ = config.integer("cycle_s");
            if (cycle_s_ < 60 || cycle_s_ > 86400)
                return make_error("config", "plugin.mdm-export.cycle_s: 60 to 86400");
            settings.espi_base_href = config.string("espi_base_href");

            std::error_code error;
            std::filesystem::create_directories(settings.folder, error);
            if (error)
                return make_error("config",
                                  "plugin.mdm-export.folder " + settings.folder.string() + ": " + error.message());
            days_ = std::make_unique<calendar::LocalDays>(settings.time_zone);
            logger_ = &context.logger;
            exporter_ = std::make_unique<mdm::Exporter>(context.database, context.clock, context.logger, settings);
            if (auto recovered = exporter_->recover(); !recovered)
                return make_error("startup", "mdm-export: " + recovered.error().message);
            mdm::add_admin_routes(context.routes, *exporter_, *days_);
            if (auto listening = open_listener(context); !listening)
                return listening;
            context.logger.info("MDM_STARTED", "export folder " + settings.folder.string() + ", cycle " +
                                                   std::to_string(cycle_s_) + " s");
            worker_ = std::thread([this] { run(); });
            return {};
        } catch (const std::exception& error) {
            return make_error("plugin.start", error.what());
        }
    }

    void stop() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (worker_.joinable())
            worker_.join();
    }

    ~ExportPlugin() override { stop(); }

private:
    // The MDM's own HTTPS listener (off without listen_address): mutual TLS against client_ca, or a bearer token.
    Result<void> open_listener(headend::plugin::Context& context) {
        const auto& config = context.config;
        if (config.string("listen_address").empty())
            return {};
        const std::int64_t port = config.integer("listen_port");
        if (port < 0 || port > 65535)
            return make_error("config", "plugin.mdm-export.listen_port: 0 (any free port) to 65535");
        headend::http::ListenerOptions options;
        options.address = config.string("listen_address");
        options.port = static_cast<std::uint16_t>(port);
        const auto tls = context.data_dir / "tls";
        options.certificate_file = config.string("tls_certificate").empty() ? (tls / "headend.pem").string()
                                                                            : config.string("tls_certificate");
        options.key_file = config.string("tls_key").empty() ? (tls / "headend.key").string() : config.string("tls_key");
        options.client_ca_file = config.string("client_ca");
        options.require_client_certificate = config.boolean("require_client_certificate");
        if (const std::string& token_file = config.string("token_file"); !token_file.empty()) {
            const auto token = secrets::read_token_file(token_file);
            if (!token)
                return make_error("config", "plugin.mdm-export.token_file " + token_file + " cannot be read");
            options.bearer_token = *token;
            if (options.bearer_token.size() < 32)
                return make_error("config", "plugin.mdm-export.token_file: a token of at least 32 characters");
        }
        if (options.client_ca_file.empty() && options.bearer_token.empty())
            return make_error("config",
                              "plugin.mdm-export: the MDM listener needs client_ca (mutual TLS) or token_file");
        auto routes = context.listeners.open("mdm-export", options);
        if (!routes)
            return make_error("config", "plugin.mdm-export listener: " + routes.error().message);
        mdm::add_pull_routes(**routes, *exporter_);
        context.logger.info("MDM_LISTENING", "MDM pull on https://" + options.address + ":" +
                                                 std::to_string(context.listeners.port("mdm-export")) +
                                                 (options.client_ca_file.empty() ? "" : " (client certificates)") +
                                                 (options.bearer_token.empty() ? "" : " (bearer token)"));
        return {};
    }

    // A cycle at start and every cycle_s after; a failed one (full disk, busy database) is logged and tried again
    // at the next cycle, its claimed file first.
    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            if (auto files = exporter_->run_cycle(); !files)
                logger_->error("MDM_CYCLE_FAILED", files.error().message);
            if (auto removed = exporter_->remove_expired(); !removed)
                logger_->error("MDM_RETENTION_FAILED", removed.error().message);
            lock.lock();
            wake_.wait_for(lock, std::chrono::seconds(cycle_s_), [this] { return stopping_; });
        }
    }

    std::int64_t cycle_s_ = 3600;
    std::unique_ptr<calendar::LocalDays> days_;
    headend::plugin::Logger* logger_ = nullptr;
    std::unique_ptr<mdm::Exporter> exporter_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread worker_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {
        {"folder", std::string(), "where export files and manifest.json are written; empty: data_dir/mdm-export"},
        {"formats", std::string("cmep,espi"), "the formats written, each with its own numbering: cmep, espi"},
        {"cycle_s", std::int64_t{3600}, "seconds between export cycles (60 to 86400)"},
        {"intervals_per_file", std::int64_t{100000}, "a cycle with more changes writes several files"},
        {"cmep_time", std::string("utc"), "CMEP stamps in utc, or in the territory's local wall clock (local)"},
        {"cmep_values_per_record", std::int64_t{96}, "the receiver's cap on values in one CMEP record"},
        {"cmep_flags", std::string("A,E,N"), "the receiver's CMEP status words: actual,estimated,not-available"},
        {"cmep_correction_purpose", std::string("RESEND"), "CMEP Purpose of records replacing values sent before"},
        {"sender_id", std::string("PEVHEADEND"), "CMEP SenderID and manifest sender"},
        {"receiver_id", std::string("MDM"), "CMEP ReceiverID and manifest receiver"},
        {"retention_days", std::int64_t{30}, "acknowledged files are removed this many days after acknowledgement"},
        {"listen_address", std::string(), "the MDM's HTTPS listener (empty: none; \"::\" for all interfaces)"},
        {"listen_port", std::int64_t{8443}, "its port (0: any free one, logged)"},
        {"tls_certificate", std::string(), "its certificate chain (PEM); empty: the head-end's, data_dir/tls"},
        {"tls_key", std::string(), "its key (PEM); empty: the head-end's"},
        {"client_ca", std::string(), "CA of the MDM's client certificates (mutual TLS); empty: tokens only"},
        {"require_client_certificate", false, "refuse a TLS handshake without a client certificate"},
        {"token_file", std::string(), "a file holding the MDM's bearer token (32+ characters); empty: none"},
        {"espi_base_href", std::string("https://headend.invalid/espi/1_1/resource"),
         "prefix of the ESPI feed's self/up/related links"},
    };
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<ExportPlugin>();
}

const headend::plugin::Descriptor descriptor{headend::plugin::kApiVersion, "mdm-export", "1.0",
                                             &mdm::export_migrations,      &config_keys, &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
