#include "ami_import.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <map>
#include <tuple>

#include "cmep/cmep.hpp"
#include "intervals/readings.hpp"

namespace intervals {

namespace {

// CMEP stamps an interval by its end; the UTC instant of each end, resolving the repeated fall-back hour by order:
// `previous` is the meter's last end so far in the file, so the hour's second pass may come in a record of its own.
headend::Result<std::vector<std::int64_t>> utc_ends(const cmep::Record& record, const calendar::LocalDays* local,
                                                    std::int64_t& previous) {
    std::vector<std::int64_t> ends;
    for (std::size_t i = 0; i < record.values.size(); ++i) {
        const std::int64_t stamp = record.values[i].end;
        if (!local) {
            ends.push_back(stamp);
            continue;
        }
        const auto instants = local->utc_instants(stamp);
        if (instants.empty())
            return headend::make_error("cmep.invalid", "value " + std::to_string(i + 1) + ": " +
                                                           cmep::format_datetime(stamp) +
                                                           " does not exist in local time (the clocks skip it)");
        std::int64_t chosen = instants.back();
        for (const std::int64_t instant : instants) {
            if (instant > previous) {
                chosen = instant;
                break;
            }
        }
        ends.push_back(chosen);
        previous = chosen;
    }
    return ends;
}

sep::MirrorMeterReading reading_of(const cmep::Record& record, const std::vector<std::int64_t>& ends) {
    sep::MirrorMeterReading reading;
    reading.mrid = std::to_string(record.interval_s);  // replaced by the caller with the mirror's mRID
    sep::ReadingType type;
    type.accumulation_behaviour = kAccumulationDeltaData;
    type.commodity = 1;
    type.flow_direction = kFlowForward;
    type.interval_length = record.interval_s;
    type.kind = kKindEnergy;
    type.power_of_ten_multiplier = 0;
    type.uom = kUomWattHours;
    reading.reading_type = type;
    sep::MirrorReadingSet set;
    for (std::size_t i = 0; i < record.values.size(); ++i) {
        const auto& value = record.values[i];
        if (value.flag == cmep::Flag::NotAvailable)
            continue;
        sep::Reading one;
        one.time_period = sep::DateTimeInterval{record.interval_s, ends[i] - record.interval_s};
        one.value = value.wh;
        // The AMI's estimate, its method unknown: "estimated using a reference day" is the nearest 2030.5 flag.
        if (value.flag == cmep::Flag::Estimated)
            one.quality_flags = static_cast<std::uint16_t>(1U << 2);
        set.readings.push_back(one);
    }
    if (!set.readings.empty()) {
        const auto& first = *set.readings.front().time_period;
        const auto& last = *set.readings.back().time_period;
        set.time_period = {static_cast<std::uint32_t>(last.start + last.duration - first.start), first.start};
        reading.mirror_reading_sets.push_back(std::move(set));
    }
    return reading;
}

}  // namespace

AmiFile parse_ami_file(std::string_view text, const calendar::LocalDays* local) {
    AmiFile file;
    // (meter, interval start) → (value, line), to find one interval given two values.
    std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::size_t>> seen;
    std::map<std::string, std::int64_t> last_end;  // per meter, in local time: the latest end read so far
    std::size_t number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            continue;
        auto record = cmep::parse_record(line);
        if (!record) {
            file.errors.push_back({number, record.error().message});
            continue;
        }
        if (record->purpose != "OK" && record->purpose != "RESEND" && record->purpose != "HISTORY") {
            file.errors.push_back({number, "Purpose " + record->purpose + " is not meter data (OK, RESEND, HISTORY)"});
            continue;
        }
        auto& previous = last_end.try_emplace(record->meter_id, INT64_MIN).first->second;
        auto ends = utc_ends(*record, local, previous);
        if (!ends) {
            file.errors.push_back({number, ends.error().message});
            continue;
        }
        bool clashed = false;
        for (std::size_t i = 0; i < record->values.size() && !clashed; ++i) {
            if (record->values[i].flag == cmep::Flag::NotAvailable)
                continue;
            const std::int64_t start = (*ends)[i] - record->interval_s;
            const auto [at, inserted] = seen.try_emplace({record->meter_id, start}, record->values[i].wh, number);
            if (!inserted && at->second.first != record->values[i].wh) {
                file.errors.push_back({number, "MeterID " + record->meter_id + ": the interval ending " +
                                                   cmep::format_datetime(record->values[i].end) + " has " +
                                                   std::to_string(at->second.first) + " Wh on line " +
                                                   std::to_string(at->second.second) + " and " +
                                                   std::to_string(record->values[i].wh) + " Wh here"});
                clashed = true;
            }
        }
        if (clashed)
            continue;
        file.records.push_back({number, record->meter_id, reading_of(*record, *ends)});
    }
    return file;
}

std::string ami_mrid(std::string_view meter_id, std::string_view part, std::uint32_t pen) {
    const std::string input = "ami:" + std::string(meter_id) + ":" + std::string(part);
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned length = 0;
    EVP_Digest(input.data(), input.size(), hash.data(), &length, EVP_sha256(), nullptr);
    std::array<char, 33> mrid{};
    for (std::size_t i = 0; i < 12; ++i)
        std::snprintf(mrid.data() + 2 * i, 3, "%02X", hash[i]);
    std::snprintf(mrid.data() + 24, 9, "%08X", pen);
    return mrid.data();
}

}  // namespace intervals
