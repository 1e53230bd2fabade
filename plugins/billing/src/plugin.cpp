// The billing plugin (issue 11): the monthly bill cycle over the ledger, on the catalog versions pev-registration
// stores, the intervals interval-collection stores and the bindings pev-binding records (read through their views).
#include <memory>

#include "bill_cycle.hpp"
#include "bill_routes.hpp"
#include "headend/plugin/plugin.hpp"
#include "ledger.hpp"

namespace {

using headend::Result;
using headend::storage::Transaction;

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
            cycle_ = std::make_unique<billing::BillCycle>(context.database, context.territory_time_zone, context.clock,
                                                          context.logger);
            billing::add_bill_routes(context.routes, context.database, *cycle_, context.territory_time_zone);
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {}

private:
    std::unique_ptr<billing::BillCycle> cycle_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {};
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
