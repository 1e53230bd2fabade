// What an export file holds, format by format: channels (mirror meter readings) in order, each with its intervals
// in ascending start, a channel's corrections in a group of their own after its other values.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "mdm/exporter.hpp"

namespace mdm {

struct ChannelInfo {
    std::int64_t meter_reading_id = 0;
    std::string usage_point_mrid;
    std::string meter_reading_mrid;
    std::string premises_id;
    std::string device_lfdi;
    std::uint16_t role_flags = 0;
    std::uint32_t interval_length = 0;
};

struct ExportInterval {
    std::int64_t meter_reading_id = 0;
    std::int64_t start = 0;
    std::uint32_t duration = 0;
    std::int64_t value_wh = 0;
    std::uint16_t quality_flags = 0;
    bool correction = false;  // replaces a value an earlier file held
};

// 2030.5 qualityFlags bits 2 and 3: estimated using a reference day, by linear interpolation.
inline bool estimated(std::uint16_t quality_flags) {
    return (quality_flags & ((1U << 2) | (1U << 3))) != 0;
}

class Body {
public:
    virtual ~Body() = default;
    virtual void begin_channel(const ChannelInfo& channel) = 0;
    virtual void begin_group(bool correction) = 0;
    virtual void add(const ExportInterval& interval) = 0;
    virtual void end_group() = 0;
    virtual void end_channel() = 0;
    virtual void finish() = 0;
};

std::unique_ptr<Body> make_cmep_body(std::ostream& out, const ExportSettings& settings, const ExportFile& file);
std::unique_ptr<Body> make_espi_body(std::ostream& out, const ExportSettings& settings, const ExportFile& file);

// Feeds one channel's run of intervals (sorted by correction, then start) to a body, opening and closing groups.
class ChannelWriter {
public:
    explicit ChannelWriter(Body& body) : body_(body) {}
    void add(const ChannelInfo& channel, const ExportInterval& interval);
    void finish();

private:
    Body& body_;
    std::int64_t channel_ = -1;
    bool correction_ = false;
};

}  // namespace mdm
