// The pev-registration plugin: customer records from the CIS, the program catalog, and PEV enrollment.
#include <memory>

#include "headend/plugin/plugin.hpp"
#include "pev/customer_records.hpp"
#include "pev/enrollment.hpp"
#include "pev/enrollment_routes.hpp"
#include "tariff/catalog.hpp"

namespace {

using headend::Result;

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
            catalog_ = std::make_unique<tariff::Catalog>(std::move(*catalog));
            enrollments_ = std::make_unique<pev::Enrollments>(context.database, *catalog_, context.clock);
            pev::add_customer_routes(context.routes, context.database, context.clock, *catalog_);
            pev::add_enrollment_routes(context.routes, *enrollments_);
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
};

std::vector<headend::storage::Migration> migrations() {
    auto all = pev::customer_record_migrations();
    for (auto& migration : pev::enrollment_migrations())
        all.push_back(std::move(migration));
    return all;
}

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {{"programs_file", std::string(), "the program catalog (TOML, format in config/programs.toml)"}};
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<RegistrationPlugin>();
}

const headend::plugin::Descriptor descriptor{
    headend::plugin::kApiVersion, "pev-registration", "1.0", &migrations, &config_keys, &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
