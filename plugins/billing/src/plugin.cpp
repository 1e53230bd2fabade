// The billing plugin (issue 11): the monthly bill cycle over the ledger, on the catalog versions pev-registration
// stores, the intervals interval-collection stores and the bindings pev-binding records (read through their views).
#include <fstream>
#include <iterator>
#include <memory>

#include "bill_cycle.hpp"
#include "bill_resources.hpp"
#include "bill_routes.hpp"
#include "clearinghouse.hpp"
#include "delivery.hpp"
#include "headend/plugin/plugin.hpp"
#include "ledger.hpp"
#include "mail/address.hpp"
#include "secrets/token_file.hpp"
#include "worker.hpp"

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;

// Where our CDRs go and who may send us theirs.
Result<billing::ClearinghouseSettings> clearinghouse_of(const headend::plugin::Config& config) {
    billing::ClearinghouseSettings settings;
    settings.country_code = config.string("ocpi_country_code");
    settings.party_id = config.string("ocpi_party_id");
    if (settings.country_code.size() != 2 || settings.party_id.size() != 3)
        return make_error("config", "plugin.billing.ocpi_country_code (2 letters) and ocpi_party_id (3 characters)");
    if (const std::string& url = config.string("ocpi_hub_cdrs_url"); !url.empty()) {
        billing::ocpi::Peer hub;
        hub.cdrs_url = url;
        hub.token = secrets::read_token_file(config.string("ocpi_hub_token_file")).value_or("");
        if (hub.token.empty())
            return make_error("config",
                              "plugin.billing.ocpi_hub_token_file: a readable file holding the token the "
                              "clearinghouse gave us");
        hub.ca_file = config.string("ocpi_hub_ca_file");
        settings.hub = hub;
    }
    const std::string& hub_party = config.string("ocpi_hub_party");
    if (hub_party.size() != 6 || hub_party[2] != '*')
        return make_error("config", "plugin.billing.ocpi_hub_party: CC*PID, like US*HUB");
    settings.hub_country_code = hub_party.substr(0, 2);
    settings.hub_party_id = hub_party.substr(3);
    settings.settle_s = config.integer("ocpi_settle_s");
    if (settings.settle_s < 0 || settings.settle_s > 7 * 86400)
        return make_error("config", "plugin.billing.ocpi_settle_s: 0 to 604800");
    settings.city = config.string("ocpi_location_city");
    settings.country = config.string("ocpi_location_country");
    settings.latitude = config.string("ocpi_location_latitude");
    settings.longitude = config.string("ocpi_location_longitude");
    if (const std::string& file = config.string("ocpi_peers_file"); !file.empty()) {
        std::ifstream in(file);
        if (!in)
            return make_error("config", "plugin.billing.ocpi_peers_file " + file + " cannot be read");
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto peers = billing::load_peers(text, file);
        if (!peers)
            return peers.error();
        settings.peers = std::move(*peers);
    }
    return settings;
}

// The SMTP relay from the config; none when smtp_url is empty (bills are filed, nobody is told).
Result<std::optional<billing::SmtpSettings>> smtp_of(const headend::plugin::Config& config) {
    const std::string& url = config.string("smtp_url");
    if (url.empty())
        return std::optional<billing::SmtpSettings>();
    if (!url.starts_with("smtp://") && !url.starts_with("smtps://"))
        return make_error("config",
                          "plugin.billing.smtp_url: smtp://host:port or smtps://host:port, not '" + url + "'");
    billing::SmtpSettings smtp;
    smtp.url = url;
    smtp.from = config.string("smtp_from");
    if (!mail::is_plain_address(smtp.from))
        return make_error("config", "plugin.billing.smtp_from: the sender's address, like billing@utility.example");
    if (!config.string("smtp_username").empty()) {
        smtp.username = config.string("smtp_username");
        const std::string& file = config.string("smtp_password_file");
        std::ifstream in(file);
        std::string password;
        if (file.empty() || !std::getline(in, password))
            return make_error("config",
                              "plugin.billing.smtp_password_file: a readable file holding the password "
                              "for smtp_username");
        smtp.password = password;
    }
    smtp.require_tls = config.boolean("smtp_require_tls");
    smtp.ca_file = config.string("smtp_ca_file");
    const std::int64_t timeout = config.integer("smtp_timeout_s");
    if (timeout < 1 || timeout > 600)
        return make_error("config", "plugin.billing.smtp_timeout_s: 1 to 600");
    smtp.timeout = std::chrono::seconds(timeout);
    return std::optional(smtp);
}

// The views billing reads, with the plugin that makes each.
constexpr std::pair<const char*, const char*> kViews[] = {
    {"pev_accounts_v1", "pev-registration"},
    {"pev_billing_premises_v1", "pev-registration"},
    {"pev_enrollment_history_v1", "pev-registration"},
    {"pev_tariff_versions_v1", "pev-registration"},
    {"pev_bindings_v1", "pev-binding"},
    {"pev_binding_validations_v1", "pev-binding"},
    {"pev_eumd_intervals_v1", "pev-binding"},
    {"interval_channels_v1", "interval-collection"},
    {"intervals_v1", "interval-collection"},
    {"interval_changes_v1", "interval-collection"},
    {"interval_load_holds_v1", "interval-collection"},
};

class BillingPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            auto views = context.database.read([](Transaction& tx) -> Result<void> {
                for (const auto& [view, owner] : kViews)
                    if (auto probe = tx.query(std::string("SELECT 1 FROM ") + view + " LIMIT 0"); !probe)
                        return headend::make_error("config", std::string("billing reads ") + view + ", which the " +
                                                                 owner + " plugin makes: load " + owner +
                                                                 " before billing");
                return {};
            });
            if (!views)
                return views.error();
            const auto& config = context.config;
            billing::DeliverySettings delivery;
            delivery.folder = config.string("delivery_dir").empty()
                                  ? std::filesystem::path(context.data_dir) / "bills"
                                  : std::filesystem::path(config.string("delivery_dir"));
            std::error_code error;
            std::filesystem::create_directories(delivery.folder, error);
            if (error)
                return make_error("config",
                                  "plugin.billing.delivery_dir " + delivery.folder.string() + ": " + error.message());
            auto smtp = smtp_of(config);
            if (!smtp)
                return smtp.error();
            delivery.smtp = *smtp;
            const std::int64_t initial = config.integer("mail_retry_initial_s");
            const std::int64_t longest = config.integer("mail_retry_max_s");
            const std::int64_t poll = config.integer("delivery_poll_s");
            if (initial < 1 || longest < initial || longest > 7 * 86400)
                return make_error("config",
                                  "plugin.billing.mail_retry_initial_s and mail_retry_max_s: 1 <= initial "
                                  "<= max <= 604800");
            if (poll < 1 || poll > 3600)
                return make_error("config", "plugin.billing.delivery_poll_s: 1 to 3600");
            delivery.retry_initial = std::chrono::seconds(initial);
            delivery.retry_max = std::chrono::seconds(longest);
            const std::filesystem::path folder = delivery.folder;
            const bool mails = delivery.smtp.has_value();
            delivery_ = std::make_unique<billing::Delivery>(context.database, std::move(delivery),
                                                            context.territory_time_zone, context.clock, context.logger);
            cycle_ = std::make_unique<billing::BillCycle>(context.database, context.territory_time_zone, context.clock,
                                                          context.logger);
            auto settlement = clearinghouse_of(config);
            if (!settlement)
                return settlement.error();
            clearinghouse_ =
                std::make_unique<billing::Clearinghouse>(context.database, *settlement, context.clock, context.logger);
            if (auto listening = open_ocpi_listener(context); !listening)
                return listening;
            billing::add_cdr_routes(context.routes, context.database);
            billing::add_bill_resources(context);
            worker_ = std::make_unique<billing::Worker>(
                std::vector<billing::Worker::Pass>{{"BILL_DELIVERY_FAILED",
                                                    [queue = delivery_.get()]() -> Result<void> {
                                                        auto pass = queue->deliver_due();
                                                        if (!pass)
                                                            return pass.error();
                                                        return {};
                                                    }},
                                                   {"CDR_OUTBOX_FAILED",
                                                    [outbox = clearinghouse_.get()]() -> Result<void> {
                                                        auto pass = outbox->run_due();
                                                        if (!pass)
                                                            return pass.error();
                                                        return {};
                                                    }}},
                std::chrono::seconds(poll), context.logger);
            cycle_->on_issued([worker = worker_.get(), &resources = context.resources] {
                worker->wake();
                billing::notify_bills_issued(resources);
            });
            billing::add_bill_routes(context.routes, context.database, *cycle_, *worker_, folder,
                                     context.territory_time_zone, context.clock);
            worker_->start();
            context.logger.info("BILLING_STARTED", "bills filed in " + folder.string() +
                                                       (mails ? ", mailed through " + config.string("smtp_url")
                                                              : ", not mailed (no smtp_url)"));
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {
        if (worker_)
            worker_->stop();
    }

private:
    // The OCPI listener where peers push our customers' CDRs (off without ocpi_listen_address).
    Result<void> open_ocpi_listener(headend::plugin::Context& context) {
        const auto& config = context.config;
        if (config.string("ocpi_listen_address").empty())
            return {};
        const std::int64_t port = config.integer("ocpi_listen_port");
        if (port < 0 || port > 65535)
            return make_error("config", "plugin.billing.ocpi_listen_port: 0 (any free port) to 65535");
        if (config.string("ocpi_peers_file").empty())
            return make_error("config", "plugin.billing: the OCPI listener needs ocpi_peers_file (the peers' tokens)");
        headend::http::ListenerOptions options;
        options.address = config.string("ocpi_listen_address");
        options.port = static_cast<std::uint16_t>(port);
        const auto tls = context.data_dir / "tls";
        options.certificate_file = config.string("ocpi_tls_certificate").empty()
                                       ? (tls / "headend.pem").string()
                                       : config.string("ocpi_tls_certificate");
        options.key_file =
            config.string("ocpi_tls_key").empty() ? (tls / "headend.key").string() : config.string("ocpi_tls_key");
        auto routes = context.listeners.open("ocpi", options);
        if (!routes)
            return make_error("config", "plugin.billing OCPI listener: " + routes.error().message);
        // Public to the listener: each request carries its peer's OCPI token, checked by the handler.
        (*routes)->add(
            "POST", "/ocpi/2.2.1/cdrs",
            [clearinghouse = clearinghouse_.get()](const headend::http::Request& request) {
                return clearinghouse->receive(request);
            },
            headend::http::Access::Public);
        context.logger.info("OCPI_LISTENING", "OCPI CDRs on https://" + options.address + ":" +
                                                  std::to_string(context.listeners.port("ocpi")) + "/ocpi/2.2.1/cdrs");
        return {};
    }

    std::unique_ptr<billing::Clearinghouse> clearinghouse_;
    std::unique_ptr<billing::Delivery> delivery_;
    std::unique_ptr<billing::Worker> worker_;
    std::unique_ptr<billing::BillCycle> cycle_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {
        {"delivery_dir", std::string(), "where bills are filed as JSON, HTML and PDF; empty: <data_dir>/bills"},
        {"smtp_url", std::string(),
         "the SMTP relay, smtp://host:port (STARTTLS where offered) or smtps://; empty: "
         "bills are not mailed"},
        {"smtp_from", std::string(), "the sender of bill e-mails, like billing@utility.example"},
        {"smtp_username", std::string(), "AUTH user name at the relay; empty: no AUTH"},
        {"smtp_password_file", std::string(), "a file holding the relay password for smtp_username"},
        {"smtp_require_tls", false, "refuse to send without TLS"},
        {"smtp_ca_file", std::string(), "the relay's CA (PEM); empty: the system's"},
        {"smtp_timeout_s", std::int64_t{30}, "the longest one message may take (1..600)"},
        {"mail_retry_initial_s", std::int64_t{60}, "first delay after a relay refused for now or was down"},
        {"mail_retry_max_s", std::int64_t{21600}, "the delay doubles up to this"},
        {"delivery_poll_s", std::int64_t{30}, "how often due mail and CDRs are looked for (1..3600)"},
        {"ocpi_country_code", std::string("US"), "our OCPI country code, as charge point operator"},
        {"ocpi_party_id", std::string("UTL"), "our OCPI party id (3 characters)"},
        {"ocpi_hub_cdrs_url", std::string(), "the clearinghouse's CDRs endpoint; empty: CDRs wait in the outbox"},
        {"ocpi_hub_token_file", std::string(), "a file holding the token the clearinghouse gave us"},
        {"ocpi_hub_ca_file", std::string(), "the clearinghouse's CA (PEM); empty: the system's"},
        {"ocpi_hub_party", std::string("US*HUB"),
         "the token party of visiting PEVs whose home utility the roaming "
         "registry names without an OCPI party"},
        {"ocpi_settle_s", std::int64_t{3600}, "a visiting session's CDR is made this long after it ended"},
        {"ocpi_location_city", std::string(), "cdr_location.city of our premises"},
        {"ocpi_location_country", std::string("USA"), "cdr_location.country (ISO 3166 alpha-3)"},
        {"ocpi_location_latitude", std::string("0.000000"), "cdr_location coordinates: the territory's"},
        {"ocpi_location_longitude", std::string("0.000000"), "cdr_location coordinates: the territory's"},
        {"ocpi_listen_address", std::string(), "the OCPI listener for CDRs of our PEVs (empty: none)"},
        {"ocpi_listen_port", std::int64_t{8444}, "its port (0: any free one, logged)"},
        {"ocpi_tls_certificate", std::string(), "its certificate chain (PEM); empty: the head-end's"},
        {"ocpi_tls_key", std::string(), "its key (PEM); empty: the head-end's"},
        {"ocpi_peers_file", std::string(), "CSV country_code,party_id,token of the peers that may push CDRs"},
    };
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<BillingPlugin>();
}

const headend::plugin::Descriptor descriptor{headend::plugin::kApiVersion, "billing",    "1.0",
                                             &billing::billing_migrations, &config_keys, &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
