// The AMI's CMEP file read into the readings a premises meter would post: local wall-clock stamps, the repeated
// fall-back hour kept in order across records, bad lines named.
#include "ami_import.hpp"

#include <gtest/gtest.h>

#include "cmep/cmep.hpp"

namespace intervals {
namespace {

const calendar::LocalDays kPacific("America/Los_Angeles");
constexpr std::int64_t kFallBack = 1793516400;  // 2026-11-01T00:00 PDT

// A record of quarter-hour values ending at the given wall-clock stamps (local seconds read as if UTC).
std::string record(const std::vector<std::int64_t>& local_ends, std::int64_t first_wh) {
    cmep::Record line;
    line.sender_id = "AMI";
    line.receiver_id = "HE";
    line.timestamp = local_ends.back();
    line.meter_id = "P1";
    line.purpose = "OK";
    line.interval_s = 900;
    for (std::size_t i = 0; i < local_ends.size(); ++i)
        line.values.push_back({local_ends[i], cmep::Flag::Actual, first_wh + static_cast<std::int64_t>(i)});
    return cmep::format_record(line) + "\r\n";
}

std::vector<std::int64_t> starts(const AmiFile& file) {
    std::vector<std::int64_t> found;
    for (const auto& parsed : file.records)
        for (const auto& set : parsed.reading.mirror_reading_sets)
            for (const auto& reading : set.readings)
                found.push_back(reading.time_period->start);
    return found;
}

TEST(AmiImport, TheRepeatedFallBackHourIsKeptInOrderWhenEachPassIsARecordOfItsOwn) {
    const std::int64_t wall = kPacific.local_seconds(kFallBack);
    // 01:15 ... 02:00 local twice: the PDT pass, then the PST pass, as the export writes them in local time.
    std::vector<std::int64_t> pass;
    for (int quarter = 5; quarter <= 8; ++quarter)
        pass.push_back(wall + quarter * 900);
    // The first pass ends at 02:00 PDT, which is 01:00 PST on the wall: its last value is the PST pass's first stamp.
    const std::vector<std::int64_t> first = {wall + 4 * 900, wall + 5 * 900, wall + 6 * 900, wall + 7 * 900};
    const std::vector<std::int64_t> second = {wall + 4 * 900, wall + 5 * 900, wall + 6 * 900, wall + 7 * 900,
                                              wall + 8 * 900};
    const auto file = parse_ami_file(record(first, 10) + record(second, 20), &kPacific);
    ASSERT_TRUE(file.errors.empty()) << file.errors.front().reason;
    std::vector<std::int64_t> expected;
    for (int quarter = 3; quarter <= 11; ++quarter)  // 00:45 PDT to 01:45 PST: nine quarters, none twice
        expected.push_back(kFallBack + quarter * 900);
    EXPECT_EQ(starts(file), expected);
}

TEST(AmiImport, ATimeTheClocksSkipAndTwoValuesForOneIntervalAreRefusedNamingTheLine) {
    const std::int64_t spring = 1772956800;  // 2026-03-08T00:00 PST
    const std::int64_t wall = kPacific.local_seconds(spring);
    const auto file = parse_ami_file(
        record({wall + 3600}, 1) + "\n" + record({wall + 2 * 3600 + 900}, 1) + record({wall + 3600}, 2), &kPacific);
    ASSERT_EQ(file.errors.size(), 2U);
    EXPECT_EQ(file.errors[0].line, 3U);
    EXPECT_NE(file.errors[0].reason.find("does not exist in local time"), std::string::npos);
    EXPECT_EQ(file.errors[1].line, 4U);
    EXPECT_NE(file.errors[1].reason.find("on line 1"), std::string::npos) << file.errors[1].reason;
}

TEST(AmiImport, MridsAreHexBinary128WithThePenAndStable) {
    const auto mrid = ami_mrid("P1", "usage-point", 0x0001E240);
    EXPECT_EQ(mrid.size(), 32U);
    EXPECT_EQ(mrid.substr(24), "0001E240");
    EXPECT_EQ(mrid.find_first_not_of("0123456789ABCDEF"), std::string::npos);
    EXPECT_EQ(mrid, ami_mrid("P1", "usage-point", 0x0001E240));
    EXPECT_NE(mrid, ami_mrid("P2", "usage-point", 0x0001E240));
}

}  // namespace
}  // namespace intervals
