// The interval-collection plugin: the metering mirror (/mup) through which EUMDs and ESCIs send interval energy,
// stored once per interval. Load it after pev-binding, whose views it reads.
#include <memory>

#include "headend/plugin/plugin.hpp"
#include "intervals/service.hpp"

namespace {

using headend::Result;

class IntervalPlugin final : public headend::plugin::Plugin {
public:
    Result<void> start(headend::plugin::Context& context) override {
        try {
            intervals::IntervalSettings settings;
            settings.future_skew_s = context.config.integer("future_skew_s");
            settings.backfill_days = context.config.integer("backfill_days");
            settings.utility_pen = static_cast<std::uint32_t>(context.config.integer("utility_pen"));
            settings.tolerance_percent = context.config.integer("correlation_tolerance_percent");
            settings.tolerance_wh = context.config.integer("correlation_tolerance_wh");
            settings.vee.max_power_w = context.config.integer("ev_max_power_w");
            settings.sum_tolerance_wh = context.config.integer("sum_tolerance_wh");
            if (settings.sum_tolerance_wh < 0 || settings.sum_tolerance_wh > 100000)
                return headend::make_error("config", "plugin.interval-collection.sum_tolerance_wh: 0 to 100000");
            if (settings.vee.max_power_w < 1000 || settings.vee.max_power_w > 100000)
                return headend::make_error("config", "plugin.interval-collection.ev_max_power_w: 1000 to 100000");
            if (settings.tolerance_percent < 0 || settings.tolerance_percent > 100)
                return headend::make_error("config",
                                           "plugin.interval-collection.correlation_tolerance_percent: 0 to 100");
            if (settings.tolerance_wh < 0 || settings.tolerance_wh > 100000)
                return headend::make_error("config",
                                           "plugin.interval-collection.correlation_tolerance_wh: 0 to 100000");
            if (settings.future_skew_s < 0 || settings.future_skew_s > 3600)
                return headend::make_error("config", "plugin.interval-collection.future_skew_s: 0 to 3600");
            if (settings.backfill_days < 1 || settings.backfill_days > 400)
                return headend::make_error("config", "plugin.interval-collection.backfill_days: 1 to 400");
            service_ = std::make_unique<intervals::MirrorService>(context, settings);
            if (auto started = service_->start(); !started)
                return started;
            context.logger.info("INTERVAL_STARTED", "backfill window " + std::to_string(settings.backfill_days) +
                                                        " days, future skew " + std::to_string(settings.future_skew_s) +
                                                        " s");
            return {};
        } catch (const std::exception& error) {
            return headend::make_error("plugin.start", error.what());
        }
    }
    void stop() override {}

private:
    std::unique_ptr<intervals::MirrorService> service_;
};

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {
        {"future_skew_s", std::int64_t{300}, "how far past now a reading may end (device clocks run fast)"},
        {"backfill_days", std::int64_t{60}, "how old a reading may be and still be accepted"},
        {"utility_pen", std::int64_t{0}, "the utility's IANA Private Enterprise Number, in the mRIDs it issues"},
        {"correlation_tolerance_percent", std::int64_t{2},
         "PEV energy may exceed the premises meter's in an interval by this percent of the meter's"},
        {"correlation_tolerance_wh", std::int64_t{10}, "or by this many Wh, whichever is larger"},
        {"ev_max_power_w", std::int64_t{7700}, "an EV circuit's limit: readings above it are flagged (spike)"},
        {"sum_tolerance_wh", std::int64_t{10},
         "sum check: intervals between two register readings may differ from the register's change by this many Wh "
         "besides the register's resolution"},
    };
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<IntervalPlugin>();
}

const headend::plugin::Descriptor descriptor{headend::plugin::kApiVersion,    "interval-collection", "1.0",
                                             &intervals::interval_migrations, &config_keys,          &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* HEADEND_PLUGIN_ENTRY() {
    return &descriptor;
}
