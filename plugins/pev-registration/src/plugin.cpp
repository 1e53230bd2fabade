// The pev-registration plugin: customer records from the CIS, the program catalog served as /tp, and PEV enrollment.
#include <limits>
#include <memory>

#include "headend/plugin/plugin.hpp"
#include "pev/catalog_versions.hpp"
#include "pev/customer_records.hpp"
#include "pev/enrollment.hpp"
#include "pev/enrollment_routes.hpp"
#include "pev/tariff_resources.hpp"

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
            auto versions =
                pev::CatalogLoader::open(context.database, file, context.territory_time_zone, context.clock.now());
            if (!versions)
                return versions.error();
            catalog_ = std::make_unique<pev::CatalogVersions>(std::move(*versions));
            loader_ = std::make_unique<pev::CatalogLoader>(context.database, *catalog_, context.territory_time_zone);
            enrollments_ = std::make_unique<pev::Enrollments>(context.database, *catalog_, context.clock);
            pev::add_customer_routes(context.routes, context.database, context.clock, *catalog_);
            pev::add_enrollment_routes(context.routes, *enrollments_);
            pev::add_tariff_routes(context.routes, context.database, *loader_, *catalog_, context.clock);
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
            const tariff::Versions loaded = catalog_->snapshot();
            context.logger.info("REG_STARTED", "program catalog " + file + ": " + std::to_string(loaded.size()) +
                                                   " version(s), the latest with " +
                                                   std::to_string(loaded.latest().catalog().programs.size()) +
                                                   " programs");
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {}

private:
    std::unique_ptr<pev::CatalogVersions> catalog_;
    std::unique_ptr<pev::CatalogLoader> loader_;
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
