// The pev-binding plugin: binds PEVs on every charge (scenarios 1 and 2), configures EUMDs, records fallbacks, pins
// LFDIs. Load it after pev-registration, whose views it reads.
#include <map>
#include <memory>

#include "binding/roaming.hpp"
#include "binding/service.hpp"
#include "headend/plugin/plugin.hpp"
#include "store.hpp"

namespace {

using headend::Result;

// For /metrics: headend_pev_bindings{state="..."}, every state present. Nothing when the database cannot be read.
std::vector<headend::plugin::MetricFamily> binding_metrics(headend::storage::Database& database) {
    std::map<std::string, std::int64_t> counts;
    auto read = database.read([&](headend::storage::Transaction& tx) -> Result<void> {
        auto found = binding::store::bindings_by_status(tx);
        if (!found)
            return found.error();
        counts = std::move(*found);
        return {};
    });
    if (!read)
        return {};
    headend::plugin::MetricFamily family{
        "headend_pev_bindings", "PEV bindings by state", headend::plugin::MetricType::Gauge, {}};
    for (const char* status : binding::store::kStatuses)
        family.samples.push_back({{{"state", status}}, static_cast<double>(counts[status])});
    return {std::move(family)};
}

class BindingPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            const auto& config = context.config;
            binding::BindingSettings settings;
            settings.timeout_seconds = config.integer("binding_timeout_s");
            settings.default_interval_seconds = static_cast<std::uint32_t>(config.integer("interval_seconds"));
            settings.credential_days = config.integer("rebind_credential_days");
            settings.roaming_program = config.string("roaming_program");
            settings.utility_pen = static_cast<std::uint32_t>(config.integer("utility_pen"));
            if (settings.timeout_seconds < 1 || settings.timeout_seconds > 3600)
                return headend::make_error("config", "plugin.pev-binding.binding_timeout_s: 1 to 3600");
            if (settings.default_interval_seconds < 60 || 3600 % settings.default_interval_seconds != 0)
                return headend::make_error("config",
                                           "plugin.pev-binding.interval_seconds: 60..3600 and dividing the hour");
            if (settings.credential_days < 1 || settings.credential_days > 3650)
                return headend::make_error("config", "plugin.pev-binding.rebind_credential_days: 1 to 3650");
            binding::RoamingRegistry roaming;
            if (const auto& file = config.string("roaming_registry_file"); !file.empty()) {
                auto loaded = binding::load_roaming_registry(file);
                if (!loaded)
                    return loaded.error();
                roaming = std::move(*loaded);
            }
            service_ = std::make_unique<binding::BindingService>(context, std::move(roaming), settings);
            if (auto started = service_->start(); !started)
                return started;
            context.metrics.add_collector([&database = context.database] { return binding_metrics(database); });
            context.logger.info("BIND_STARTED", "binding timeout " + std::to_string(settings.timeout_seconds) +
                                                    " s, EUMD interval " +
                                                    std::to_string(settings.default_interval_seconds) + " s");
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {}

private:
    std::unique_ptr<binding::BindingService> service_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {
        {"binding_timeout_s", std::int64_t{60}, "seconds from the binding request to active before fallback"},
        {"interval_seconds", std::int64_t{900}, "EUMD measurement interval until the operator sets another"},
        {"rebind_credential_days", std::int64_t{30}, "lifetime of a PEV's re-bind PSK credential"},
        {"roaming_registry_file", std::string(), "clearinghouse CSV of visiting PEVs (vin,lfdi,home_utility)"},
        {"roaming_program", std::string("EV-TOU"), "the program visiting PEVs are rated on"},
        {"utility_pen", std::int64_t{0}, "the utility's IANA Private Enterprise Number, in the mRIDs it issues"},
    };
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<BindingPlugin>();
}

const headend::plugin::Descriptor descriptor{headend::plugin::kApiVersion, "pev-binding", "1.0",
                                             &binding::binding_migrations, &config_keys,  &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
