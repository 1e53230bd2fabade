// CMEP MEPMD01: one record per channel and run of at most values_per_record values, MeterID the usage point's mRID,
// SenderCustomerID the premises. Corrections go in records of their own whose Purpose says so. In local time, a
// record never spans a change of UTC offset, so the repeated fall-back hour comes as its own records, in order.
#include <optional>

#include "bodies.hpp"
#include "calendar/local_days.hpp"

namespace mdm {

namespace {

class CmepBody final : public Body {
public:
    CmepBody(std::ostream& out, const ExportSettings& settings, const ExportFile& file)
        : out_(out), settings_(settings), file_(file) {
        if (settings.cmep_local_time)
            days_.emplace(settings.time_zone);
    }

    void begin_channel(const ChannelInfo& channel) override { channel_ = &channel; }

    void begin_group(bool correction) override {
        record_.sender_id = settings_.sender_id;
        record_.sender_customer_id = channel_->premises_id;
        record_.receiver_id = settings_.receiver_id;
        record_.timestamp = stamp(file_.created_at);
        record_.meter_id = channel_->usage_point_mrid;
        record_.purpose = file_.kind == "resend" ? "RESEND" : correction ? settings_.correction_purpose : "OK";
        record_.values.clear();
    }

    void add(const ExportInterval& interval) override {
        const std::int64_t end = interval.start + interval.duration;
        const std::int64_t stamped = stamp(end);
        const bool offset_changed = !record_.values.empty() && stamped - end != offset_;
        if (record_.values.size() >= settings_.values_per_record || offset_changed ||
            (!record_.values.empty() && interval.duration != record_.interval_s))
            flush();
        offset_ = stamped - end;
        record_.interval_s = interval.duration;
        record_.values.push_back({stamped,
                                  estimated(interval.quality_flags) ? cmep::Flag::Estimated : cmep::Flag::Actual,
                                  interval.value_wh});
    }

    void end_group() override { flush(); }
    void end_channel() override { channel_ = nullptr; }
    void finish() override { out_.flush(); }

private:
    std::int64_t stamp(std::int64_t utc) const { return days_ ? days_->local_seconds(utc) : utc; }

    void flush() {
        if (record_.values.empty())
            return;
        out_ << cmep::format_record(record_, settings_.vocabulary) << "\r\n";
        record_.values.clear();
    }

    std::ostream& out_;
    const ExportSettings& settings_;
    const ExportFile& file_;
    std::optional<calendar::LocalDays> days_;
    const ChannelInfo* channel_ = nullptr;
    cmep::Record record_;
    std::int64_t offset_ = 0;
};

}  // namespace

std::unique_ptr<Body> make_cmep_body(std::ostream& out, const ExportSettings& settings, const ExportFile& file) {
    return std::make_unique<CmepBody>(out, settings, file);
}

}  // namespace mdm
