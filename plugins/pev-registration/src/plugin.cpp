// The pev-registration plugin: customer records from the CIS, the program catalog served as /tp, and PEV enrollment.
#include <limits>
#include <memory>

#include "headend/plugin/plugin.hpp"
#include "pev/customer_records.hpp"
#include "pev/enrollment.hpp"
#include "pev/enrollment_routes.hpp"
#include "pev/tariff_resources.hpp"
#include "tariff/catalog.hpp"

namespace {

using headend::Result;

constexpr std::int64_t kMaxHorizonHours = 31 * 24;

class RegistrationPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            const std::string& file = context.config.string("programs_file");
            if (file.empty()) {
                return headend::make_error("config",
                                           "plugin.pev-registration.programs_file: must name the program "
                                           "catalog (see config/programs.toml)");
            }
            auto catalog = tariff::load_catalog(file);
            if (!catalog)
                return catalog.error();
            // Time-of-use periods are the territory's: a catalog written for another zone would bill every period
            // at the wrong hours.
            if (catalog->time_zone != context.territory_time_zone) {
                return headend::make_error("config", file + ": time_zone '" + catalog->time_zone +
                                                         "' is not the territory's ('" + context.territory_time_zone +
                                                         "', territory.time_zone)");
            }
            catalog_ = std::make_unique<tariff::Catalog>(std::move(*catalog));
            enrollments_ = std::make_unique<pev::Enrollments>(context.database, *catalog_, context.clock);
            pev::add_customer_routes(context.routes, context.database, context.clock, *catalog_);
            pev::add_enrollment_routes(context.routes, *enrollments_);
            const std::int64_t horizon_hours = context.config.integer("tariff_horizon_hours");
            const std::int64_t pen = context.config.integer("utility_pen");
            if (horizon_hours < 1 || horizon_hours > kMaxHorizonHours)
                return headend::make_error("config", "plugin.pev-registration.tariff_horizon_hours: 1 to 744");
            if (pen < 0 || pen > std::numeric_limits<std::uint32_t>::max())
                return headend::make_error("config", "plugin.pev-registration.utility_pen: 0 to 4294967295");
            tariffs_ = std::make_unique<pev::TariffResources>(
                *catalog_, context.sep, context.clock,
                pev::TariffResourceSettings{horizon_hours * 3600, static_cast<std::uint32_t>(pen)});
            tariffs_->add_to(context.resources);
            context.logger.info("REG_STARTED", "program catalog " + file + " with " +
                                                   std::to_string(catalog_->programs.size()) + " programs");
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {}

private:
    std::unique_ptr<tariff::Catalog> catalog_;
    std::unique_ptr<pev::Enrollments> enrollments_;
    std::unique_ptr<pev::TariffResources> tariffs_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {{"programs_file", std::string(), "the program catalog (TOML, format in config/programs.toml)"},
            {"tariff_horizon_hours", std::int64_t{48}, "how far ahead /tp lists time-of-use intervals (1..744)"},
            {"utility_pen", std::int64_t{0}, "the utility's IANA Private Enterprise Number, in the mRIDs it issues"}};
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<RegistrationPlugin>();
}

const headend::plugin::Descriptor descriptor{headend::plugin::kApiVersion,  "pev-registration", "1.0",
                                             &pev::registration_migrations, &config_keys,       &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
