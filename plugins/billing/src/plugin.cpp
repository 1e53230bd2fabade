// The billing plugin (issue 11): the monthly bill cycle over the ledger, on the catalog versions pev-registration
// stores, the intervals interval-collection stores and the bindings pev-binding records (read through their views).
#include <fstream>
#include <memory>

#include "bill_cycle.hpp"
#include "bill_routes.hpp"
#include "delivery.hpp"
#include "headend/plugin/plugin.hpp"
#include "ledger.hpp"
#include "mail/address.hpp"

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;

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
            delivery.poll = std::chrono::seconds(poll);
            const std::filesystem::path folder = delivery.folder;
            const bool mails = delivery.smtp.has_value();
            delivery_ = std::make_unique<billing::Delivery>(context.database, std::move(delivery),
                                                            context.territory_time_zone, context.clock, context.logger);
            cycle_ = std::make_unique<billing::BillCycle>(context.database, context.territory_time_zone, context.clock,
                                                          context.logger);
            cycle_->on_issued([queue = delivery_.get()] { queue->wake(); });
            billing::add_bill_routes(context.routes, context.database, *cycle_, *delivery_, folder,
                                     context.territory_time_zone, context.clock);
            delivery_->start();
            context.logger.info("BILLING_STARTED", "bills filed in " + folder.string() +
                                                       (mails ? ", mailed through " + config.string("smtp_url")
                                                              : ", not mailed (no smtp_url)"));
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {
        if (delivery_)
            delivery_->stop();
    }

private:
    std::unique_ptr<billing::Delivery> delivery_;
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
        {"delivery_poll_s", std::int64_t{30}, "how often due mail is looked for (1..3600)"},
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
