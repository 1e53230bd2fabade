// ESPI: one feed per file; per channel a UsagePoint (the mirror), its MeterReading and ReadingType, and one
// IntervalBlock per local day of the territory (23 or 25 hours on DST change days); corrections in blocks marked so.
#include "bodies.hpp"
#include "calendar/local_days.hpp"
#include "mdm/espi.hpp"
#include "sep/types.hpp"

namespace mdm {

namespace {

std::string padded(std::int64_t sequence) {
    std::string digits = std::to_string(sequence);
    return std::string(digits.size() < 8 ? 8 - digits.size() : 0, '0') + digits;
}

class EspiBody final : public Body {
public:
    EspiBody(std::ostream& out, const ExportSettings& settings, const ExportFile& file)
        : days_(settings.time_zone),
          writer_(out, EspiFeedInfo{.id = "urn:pev-headend:mdm-export:espi:" + padded(file.sequence),
                                    .title = "PEV head-end interval export " + std::to_string(file.sequence) +
                                             (file.kind == "resend" ? " (resend)" : ""),
                                    .updated = file.created_at,
                                    .base_href = settings.espi_base_href,
                                    .time_zone = settings.time_zone}) {}

    void begin_channel(const ChannelInfo& channel) override {
        const bool pev = (channel.role_flags & sep::kRoleIsPev) != 0;
        writer_.begin_channel(
            EspiChannel{.usage_point_id = channel.usage_point_mrid,
                        .meter_reading_id = channel.meter_reading_mrid,
                        .title = (pev ? "PEV " + channel.device_lfdi : std::string("Premises meter")) +
                                 " at premises " + channel.premises_id,
                        .interval_length = channel.interval_length,
                        .currency = std::nullopt});
    }
    void begin_group(bool correction) override {
        correction_ = correction;
        day_.reset();
    }
    void add(const ExportInterval& interval) override {
        const std::int32_t day = days_.day_of(interval.start);
        if (day_ != day) {
            if (day_)
                writer_.end_block();
            writer_.begin_block(correction_);
            day_ = day;
        }
        writer_.add(EspiInterval{.start = interval.start,
                                 .duration = interval.duration,
                                 .value_wh = interval.value_wh,
                                 .qualities = espi_qualities(interval.quality_flags),
                                 .cost = std::nullopt});
    }
    void end_group() override {
        if (day_)
            writer_.end_block();
        day_.reset();
    }
    void end_channel() override { writer_.end_channel(); }
    void finish() override { writer_.finish(); }

private:
    calendar::LocalDays days_;
    EspiWriter writer_;
    bool correction_ = false;
    std::optional<std::int32_t> day_;
};

}  // namespace

std::unique_ptr<Body> make_espi_body(std::ostream& out, const ExportSettings& settings, const ExportFile& file) {
    return std::make_unique<EspiBody>(out, settings, file);
}

}  // namespace mdm
