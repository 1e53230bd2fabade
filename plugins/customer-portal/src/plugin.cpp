// The customer-portal plugin: the portal on its own HTTPS listener, and the operator's invitations on the admin
// API. Load it after pev-registration, pev-binding, interval-collection and billing, whose views it reads.
#include <memory>

#include "headend/plugin/plugin.hpp"
#include "logins.hpp"
#include "portal.hpp"
#include "web.hpp"

namespace {

using headend::make_error;
using headend::Result;

class PortalPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            const auto& config = context.config;
            portal::LoginPolicy policy;
            policy.scrypt = {static_cast<int>(config.integer("scrypt_log_n")),
                             static_cast<int>(config.integer("scrypt_r")),
                             static_cast<int>(config.integer("scrypt_p"))};
            if (auto checked = portal::check_parameters(policy.scrypt); !checked)
                return make_error("config", "plugin.customer-portal." + checked.error().message);
            policy.invitation_s = config.integer("invitation_hours") * 3600;
            policy.session_idle_s = config.integer("session_idle_minutes") * 60;
            policy.session_max_s = config.integer("session_max_hours") * 3600;
            policy.failures_before_throttle = static_cast<int>(config.integer("failures_before_throttle"));
            policy.throttle_s = config.integer("throttle_minutes") * 60;
            const std::int64_t threads = config.integer("threads");
            if (threads < 2 || threads > 64)
                return make_error("config", "plugin.customer-portal.threads: 2 to 64");
            // One thread always left for pages while passwords are hashed.
            policy.concurrent_hashes = static_cast<int>(threads) - 1;
            if (policy.invitation_s <= 0 || policy.session_idle_s <= 0 || policy.session_max_s <= 0 ||
                policy.failures_before_throttle < 1 || policy.throttle_s <= 0)
                return make_error("config", "plugin.customer-portal: durations and counts must be positive");

            const std::int64_t port = config.integer("listen_port");
            if (port < 0 || port > 65535)
                return make_error("config", "plugin.customer-portal.listen_port: 0 (any free port) to 65535");
            headend::http::ListenerOptions options;
            options.address = config.string("listen_address");
            options.port = static_cast<std::uint16_t>(port);
            const auto tls = context.data_dir / "tls";
            options.certificate_file = config.string("tls_certificate").empty() ? (tls / "headend.pem").string()
                                                                                : config.string("tls_certificate");
            options.key_file =
                config.string("tls_key").empty() ? (tls / "headend.key").string() : config.string("tls_key");
            options.threads = static_cast<int>(threads);
            options.response_headers = portal::security_headers();

            portal::PortalSettings settings;
            settings.time_zone = context.territory_time_zone;
            const std::string key_file = config.string("key_file").empty()
                                             ? (context.data_dir / "portal" / "form.key").string()
                                             : config.string("key_file");
            auto key = portal::load_or_create_key(key_file);
            if (!key)
                return make_error("config", "plugin.customer-portal.key_file: " + key.error().message);
            settings.key = std::move(*key);
            settings.address_failures = static_cast<int>(config.integer("address_failures"));
            settings.address_window_s = config.integer("address_window_minutes") * 60;
            const std::int64_t cached = config.integer("usage_cache_entries");
            if (cached < 0 || cached > 1'000'000)
                return make_error("config", "plugin.customer-portal.usage_cache_entries: 0 to 1000000");
            settings.usage_cache_entries = static_cast<std::size_t>(cached);

            logins_ = std::make_unique<portal::Logins>(context.database, context.clock, policy);
            auto routes = context.listeners.open("customer-portal", options);
            if (!routes)
                return make_error("config", "plugin.customer-portal listener: " + routes.error().message);
            const auto bound = context.listeners.port("customer-portal");
            settings.public_url =
                config.string("public_url").empty()
                    ? "https://" +
                          (options.address == "0.0.0.0" || options.address == "::" ? std::string("localhost")
                                                                                   : options.address) +
                          ":" + std::to_string(bound)
                    : config.string("public_url");
            portal_ = std::make_unique<portal::Portal>(context, *logins_, settings);
            portal_->add_routes(**routes);
            portal_->add_admin_routes(context.routes);
            context.logger.info("PORTAL_LISTENING", "customer portal on https://" + options.address + ":" +
                                                        std::to_string(bound) + " (links name " + settings.public_url +
                                                        ")");
            return {};
        } catch (const std::exception& error) {
            return make_error("plugin.start", error.what());
        }
    }

    void stop() override {}

private:
    std::unique_ptr<portal::Logins> logins_;
    std::unique_ptr<portal::Portal> portal_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {
        {"listen_address", std::string("0.0.0.0"), "the portal's HTTPS listener (\"::\" for all interfaces)"},
        {"listen_port", std::int64_t{9443}, "its port (0: any free one, logged)"},
        {"tls_certificate", std::string(), "its certificate chain (PEM); empty: the head-end's, data_dir/tls"},
        {"tls_key", std::string(), "its private key (PEM); empty: the head-end's, data_dir/tls"},
        {"threads", std::int64_t{4}, "threads serving the portal; all but one may hash passwords at once (2 to 64)"},
        {"public_url", std::string(), "how customers reach it, for invitation links; empty: https://<address>:<port>"},
        {"key_file", std::string(), "the key of form tokens (made on first start); empty: data_dir/portal/form.key"},
        {"scrypt_log_n", std::int64_t{15}, "password hashing cost: scrypt N = 2^log_n (10 to 20)"},
        {"scrypt_r", std::int64_t{8}, "scrypt block size r"},
        {"scrypt_p", std::int64_t{1}, "scrypt parallelism p"},
        {"invitation_hours", std::int64_t{72}, "how long an invitation link may be used"},
        {"session_idle_minutes", std::int64_t{30}, "a session ends after this long without a request"},
        {"session_max_hours", std::int64_t{12}, "and at the latest this long after sign-in"},
        {"failures_before_throttle", std::int64_t{10}, "wrong passwords in a row before an account is throttled"},
        {"throttle_minutes", std::int64_t{15}, "how long a throttled account waits"},
        {"address_failures", std::int64_t{50}, "wrong passwords from one address before it waits"},
        {"address_window_minutes", std::int64_t{15}, "the window those are counted in, and the wait"},
        {"usage_cache_entries", std::int64_t{1024}, "usage pages kept rendered until new intervals arrive (0: none)"},
    };
}

std::vector<headend::storage::Migration> migrations() {
    return portal::portal_migrations();
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<PortalPlugin>();
}

const headend::plugin::Descriptor descriptor{
    headend::plugin::kApiVersion, "customer-portal", "1.0", &migrations, &config_keys, &create};

}  // namespace

extern "C" __attribute__((visibility("default"))) const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
