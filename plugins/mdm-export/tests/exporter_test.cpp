// The export against a real SQLite file filled through interval-collection's own store: every interval value in the
// files exactly once, corrections marked, files split, claimed files written again after a failure with the same
// content, acknowledgement and retention, local-time CMEP on the fall-back day.
#include "mdm/exporter.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atomic_file.hpp"
#include "espi_feed.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "intervals/service.hpp"
#include "store.hpp"

namespace mdm {
namespace {

using headend::Result;
using headend::storage::Transaction;

constexpr std::int64_t kStart = 1'780'000'200;  // 2026-05-28T20:30:00Z, on the quarter-hour grid
constexpr std::uint32_t kQuarter = 900;
constexpr std::uint16_t kInterpolated = 1U << 3;

// One CMEP value as a receiver reads it.
struct Received {
    std::string meter;
    std::string purpose;
    std::int64_t end = 0;
    std::int64_t wh = 0;
    cmep::Flag flag = cmep::Flag::Actual;
};

class ExportTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto intervals = intervals::interval_migrations();
        ASSERT_TRUE(database_->migrate("interval-collection", intervals));
        const auto exports = export_migrations();
        ASSERT_TRUE(database_->migrate("mdm-export", exports));
        std::filesystem::create_directories(folder());
        add_channel("AAAA0000000000000000000000000001", "P1", true);
        add_channel("BBBB0000000000000000000000000002", "P2", false);
    }

    std::filesystem::path folder() const { return dir_.path() / "export"; }

    ExportSettings settings() const {
        ExportSettings settings;
        settings.folder = folder();
        settings.formats = {Format::Cmep};
        settings.time_zone = "America/Los_Angeles";
        return settings;
    }

    void add_channel(const std::string& mrid, const std::string& premises, bool pev) {
        auto& channel = channels_.emplace_back();
        channel.mirror.owner_device_id = static_cast<std::int64_t>(channels_.size());
        channel.mirror.premises_id = premises;
        channel.mirror.document.mrid = mrid;
        channel.mirror.document.device_lfdi = std::string(40, pev ? 'A' : 'B');
        channel.mirror.document.role_flags =
            pev ? sep::kRoleIsMirror | sep::kRoleIsPev | sep::kRoleIsSubmeter : sep::kRoleIsMirror;
        channel.reading.mrid = mrid.substr(0, 31) + "F";
        channel.reading.reading_type.accumulation_behaviour = 4;
        channel.reading.reading_type.interval_length = kQuarter;
        channel.reading.reading_type.kind = 12;
        channel.reading.reading_type.uom = 72;
        channel.reading.reading_type.power_of_ten_multiplier = 0;
        channel.reading.type = {kQuarter, 0};
        ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto mirror = intervals::store::insert_mirror(tx, channel.mirror);
            if (!mirror)
                return mirror.error();
            channel.mirror.id = *mirror;
            channel.reading.mirror_id = *mirror;
            auto reading = intervals::store::insert_meter_reading(tx, channel.reading, kStart);
            if (!reading)
                return reading.error();
            channel.reading.id = *reading;
            return {};
        }));
    }

    // Stores readings as the ingest does (the same store code), on channel `index`.
    void store(std::size_t index, const std::vector<intervals::IntervalReading>& readings) {
        const auto& channel = channels_.at(index);
        ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto applied = intervals::store::apply(tx, alarms_,
                                                   {channel.mirror, channel.reading, "device", ++at_, days_}, readings);
            if (!applied)
                return applied.error();
            return {};
        }));
    }
    // `count` consecutive quarter hours from `first`, value = base + i.
    void store_run(std::size_t index, std::int64_t first, int count, std::int64_t base, std::uint16_t flags = 0) {
        std::vector<intervals::IntervalReading> readings;
        for (int i = 0; i < count; ++i)
            readings.push_back({first + i * kQuarter, kQuarter, base + i, flags});
        store(index, readings);
    }

    std::string read_file(const std::string& name) const {
        std::ifstream in(folder() / name, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    std::vector<Received> parse_cmep(const std::string& name) const {
        std::vector<Received> values;
        std::istringstream lines(read_file(name));
        for (std::string line; std::getline(lines, line);) {
            EXPECT_TRUE(!line.empty() && line.back() == '\r') << "CMEP lines end in CRLF";
            line.pop_back();
            auto record = cmep::parse_record(line);
            EXPECT_TRUE(record) << record.error().message << ": " << line;
            if (!record)
                continue;
            EXPECT_LE(record->values.size(), 96U);
            for (const auto& value : record->values)
                values.push_back({record->meter_id, record->purpose, value.end, value.wh, value.flag});
        }
        return values;
    }

    nlohmann::json manifest() const { return nlohmann::json::parse(read_file("manifest.json")); }

    struct Channel {
        intervals::store::Mirror mirror;
        intervals::store::MeterReading reading;
    };
    headend::testing::TempDir dir_;
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    headend::testing::FakeAlarms alarms_;
    headend::testing::FixedClock clock_{kStart + 86400};
    headend::testing::RecordingLogger logger_;
    calendar::LocalDays days_{"America/Los_Angeles"};
    std::vector<Channel> channels_;
    std::int64_t at_ = kStart;
};

TEST_F(ExportTest, EveryIntervalGoesOutOnceAcrossCyclesAndTheManifestHoldsEachFilesChecksum) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 100, 1000);  // more than one record's 96 values
    store_run(1, kStart, 4, 5000);
    auto first = exporter.run_cycle();
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first->size(), 1U);
    EXPECT_EQ((*first)[0].name, "cmep-00000001.csv");
    EXPECT_EQ((*first)[0].intervals, 104);

    auto again = exporter.run_cycle();  // nothing new: no file
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->empty());

    store_run(0, kStart + 100 * kQuarter, 3, 2000);
    store_run(0, kStart, 2, 1000);  // repeats change nothing and are not sent again
    auto second = exporter.run_cycle();
    ASSERT_TRUE(second);
    ASSERT_EQ(second->size(), 1U);
    EXPECT_EQ((*second)[0].name, "cmep-00000002.csv");

    std::map<std::pair<std::string, std::int64_t>, int> seen;
    for (const char* name : {"cmep-00000001.csv", "cmep-00000002.csv"})
        for (const auto& value : parse_cmep(name)) {
            ++seen[{value.meter, value.end}];
            EXPECT_EQ(value.purpose, "OK");
        }
    EXPECT_EQ(seen.size(), 107U);
    for (const auto& [key, times] : seen)
        EXPECT_EQ(times, 1) << key.first << " " << key.second;
    // The PEV channel's first value: MeterID is the usage point's mRID, the interval stamped by its end, in UTC.
    const auto values = parse_cmep("cmep-00000001.csv");
    EXPECT_EQ(values.front().meter, "AAAA0000000000000000000000000001");
    EXPECT_EQ(values.front().end, kStart + kQuarter);
    EXPECT_EQ(values.front().wh, 1000);

    const auto listed = manifest()["files"];
    ASSERT_EQ(listed.size(), 2U);
    for (const auto& entry : listed) {
        EXPECT_EQ(entry["sha256"], *sha256_of_file(folder() / entry["name"].get<std::string>()));
        EXPECT_EQ(entry["bytes"], std::filesystem::file_size(folder() / entry["name"].get<std::string>()));
        EXPECT_EQ(entry["state"], "ready");
    }
    EXPECT_EQ(listed[1]["sequence"], 2);
}

TEST_F(ExportTest, AnEstimateSentBeforeGoesOutAgainAsACorrectionButNotWhenReplacedBeforeItWasSent) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 2, 700, kInterpolated);
    ASSERT_TRUE(exporter.run_cycle());
    store_run(0, kStart, 1, 750);                                 // the actual for a sent estimate
    store_run(0, kStart + 10 * kQuarter, 1, 300, kInterpolated);  // an estimate ...
    store_run(0, kStart + 10 * kQuarter, 1, 320);                 // ... replaced before any file held it
    auto second = exporter.run_cycle();
    ASSERT_TRUE(second);
    ASSERT_EQ(second->size(), 1U);
    EXPECT_EQ((*second)[0].intervals, 2);
    EXPECT_EQ((*second)[0].corrections, 1);

    const auto first_values = parse_cmep("cmep-00000001.csv");
    ASSERT_EQ(first_values.size(), 2U);
    EXPECT_EQ(first_values[0].flag, cmep::Flag::Estimated);
    const auto values = parse_cmep("cmep-00000002.csv");
    ASSERT_EQ(values.size(), 2U);
    // The ordinary value first, then the correction in a record of its own.
    EXPECT_EQ(values[0].purpose, "OK");
    EXPECT_EQ(values[0].end, kStart + 11 * kQuarter);
    EXPECT_EQ(values[0].wh, 320);
    EXPECT_EQ(values[0].flag, cmep::Flag::Actual);
    EXPECT_EQ(values[1].purpose, "RESEND");
    EXPECT_EQ(values[1].end, kStart + kQuarter);
    EXPECT_EQ(values[1].wh, 750);
    EXPECT_EQ(values[1].flag, cmep::Flag::Actual);
}

TEST_F(ExportTest, ABacklogIsSplitIntoFilesOfTheConfiguredSizeInOrder) {
    auto split = settings();
    split.intervals_per_file = 10;
    Exporter exporter(*database_, clock_, logger_, split);
    store_run(0, kStart, 25, 1);
    auto files = exporter.run_cycle();
    ASSERT_TRUE(files);
    ASSERT_EQ(files->size(), 3U);
    std::vector<std::int64_t> ends;
    for (const auto& file : *files)
        for (const auto& value : parse_cmep(file.name))
            ends.push_back(value.end);
    ASSERT_EQ(ends.size(), 25U);
    for (std::size_t i = 0; i < ends.size(); ++i)
        EXPECT_EQ(ends[i], kStart + static_cast<std::int64_t>(i + 1) * kQuarter);
    EXPECT_EQ((*files)[2].intervals, 5);
}

// A file that cannot be written (its folder gone, as a full disk or a lost mount would fail it): the cycle fails,
// nothing appears under the file's name, and the next cycle writes the same file (same number, same range) before
// anything newer, and lists it in the manifest even when nothing newer comes.
TEST_F(ExportTest, AFileThatCouldNotBeWrittenIsWrittenFirstNextTimeWithTheSameContent) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 4, 100);
    std::filesystem::rename(folder(), dir_.path() / "away");
    auto failed = exporter.run_cycle();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, "mdm.io");
    std::filesystem::rename(dir_.path() / "away", folder());
    EXPECT_FALSE(std::filesystem::exists(folder() / "cmep-00000001.csv"));
    auto pending = exporter.list();
    ASSERT_TRUE(pending);
    ASSERT_EQ(pending->size(), 1U);
    EXPECT_EQ(pending->front().state, FileState::Pending);

    auto recovered = exporter.run_cycle();
    ASSERT_TRUE(recovered) << recovered.error().message;
    ASSERT_EQ(recovered->size(), 1U);
    EXPECT_EQ(recovered->front().name, "cmep-00000001.csv");
    ASSERT_EQ(manifest()["files"].size(), 1U);
    EXPECT_EQ(parse_cmep("cmep-00000001.csv").size(), 4U);

    store_run(0, kStart + 4 * kQuarter, 2, 200);  // newer data goes in the next file
    auto written = exporter.run_cycle();
    ASSERT_TRUE(written);
    ASSERT_EQ(written->size(), 1U);
    EXPECT_EQ(parse_cmep("cmep-00000002.csv").size(), 2U);

    // Written again from its claim (as after a crash), the file is byte for byte the same.
    const std::string before = read_file("cmep-00000001.csv");
    ASSERT_TRUE(database_->write_sync([](Transaction& tx) -> Result<void> {
        auto reset = tx.execute("UPDATE export_files SET state = 'pending' WHERE sequence = 1");
        if (!reset)
            return reset.error();
        return {};
    }));
    std::filesystem::remove(folder() / "cmep-00000001.csv");
    clock_.set(clock_.now() + 3600);
    ASSERT_TRUE(exporter.recover());
    EXPECT_EQ(read_file("cmep-00000001.csv"), before);
}

// A symlink planted where a file is first written (by someone who can write the folder) is removed, not followed.
TEST_F(ExportTest, ASymlinkAtTheTemporaryNameIsNotFollowed) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 2, 100);
    std::ofstream(dir_.path() / "victim") << "keep me";
    std::filesystem::create_symlink(dir_.path() / "victim", folder() / ".cmep-00000001.csv.partial");
    std::filesystem::create_symlink(dir_.path() / "victim", folder() / ".manifest.json.partial");
    auto written = exporter.run_cycle();
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(read_file("../victim"), "keep me");
    EXPECT_EQ(parse_cmep("cmep-00000001.csv").size(), 2U);
    EXPECT_FALSE(std::filesystem::is_symlink(folder() / "manifest.json"));
}

TEST_F(ExportTest, AcknowledgedFilesAreRemovedAfterTheRetentionAndOthersStay) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 2, 10);
    ASSERT_TRUE(exporter.run_cycle());
    store_run(0, kStart + 2 * kQuarter, 2, 10);
    ASSERT_TRUE(exporter.run_cycle());

    auto unknown = exporter.acknowledge("cmep-00000009.csv");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, "mdm.not_found");
    auto acknowledged = exporter.acknowledge("cmep-00000001.csv");
    ASSERT_TRUE(acknowledged);
    EXPECT_EQ(acknowledged->state, FileState::Acknowledged);
    ASSERT_TRUE(exporter.acknowledge("cmep-00000001.csv"));  // twice is fine
    auto waiting = exporter.list(true);
    ASSERT_TRUE(waiting);
    ASSERT_EQ(waiting->size(), 1U);
    EXPECT_EQ(waiting->front().name, "cmep-00000002.csv");

    clock_.set(clock_.now() + settings().retention_s - 1);
    EXPECT_EQ(*exporter.remove_expired(), 0U);
    clock_.set(clock_.now() + 1);
    EXPECT_EQ(*exporter.remove_expired(), 1U);
    EXPECT_FALSE(std::filesystem::exists(folder() / "cmep-00000001.csv"));
    EXPECT_TRUE(std::filesystem::exists(folder() / "cmep-00000002.csv"));
    const auto listed = manifest()["files"];
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0]["name"], "cmep-00000002.csv");
    // The removed file's range stays claimed: nothing goes out again.
    EXPECT_TRUE(exporter.run_cycle()->empty());
}

// 2026-11-01 in Los Angeles: 01:00-02:00 happens twice. In local time its stamps repeat, in order, in records of
// their own; nothing is merged.
TEST_F(ExportTest, LocalTimeKeepsTheRepeatedFallBackHourInOrderAndNeverMergesIt) {
    auto local = settings();
    local.cmep_local_time = true;
    Exporter exporter(*database_, clock_, logger_, local);
    const std::int64_t midnight = 1793516400;  // 2026-11-01T00:00 PDT
    store_run(0, midnight, 100, 1);            // 25 hours of quarter hours
    clock_.set(midnight + 2 * 86400);
    auto files = exporter.run_cycle();
    ASSERT_TRUE(files);
    std::vector<std::string> lines;
    std::istringstream text(read_file("cmep-00000001.csv"));
    for (std::string line; std::getline(text, line);)
        lines.push_back(line);
    const auto values = parse_cmep("cmep-00000001.csv");
    ASSERT_EQ(values.size(), 100U);
    // Read as if UTC, the stamps are the wall clock: 00:15 ... 01:45 PDT, then 01:00 (PST) ... 01:45, 02:00 ...
    const std::int64_t wall = midnight - 7 * 3600;
    EXPECT_EQ(values[0].end - wall, 15 * 60);
    EXPECT_EQ(values[6].end - wall, 105 * 60);  // 01:45 PDT
    EXPECT_EQ(values[7].end - wall, 60 * 60);   // 01:00 PST: the end of 01:45-02:00 PDT
    EXPECT_EQ(values[10].end - wall, 105 * 60);
    EXPECT_EQ(values[11].end - wall, 120 * 60);
    for (std::size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(values[i].wh, static_cast<std::int64_t>(i + 1)) << i;
    // Records: 7 values in PDT, then the PST rest in records of at most 96.
    ASSERT_GE(lines.size(), 2U);
    EXPECT_NE(lines[0].find(",00000015,7,"), std::string::npos) << lines[0];
}

TEST_F(ExportTest, AResendHoldsTheCurrentValuesOfTheRangeUnderTheNextNumber) {
    Exporter exporter(*database_, clock_, logger_, settings());
    store_run(0, kStart, 8, 100, kInterpolated);
    store_run(0, kStart, 2, 500);  // actuals replace two estimates
    store_run(1, kStart, 8, 900);
    ASSERT_TRUE(exporter.run_cycle());
    auto bad = exporter.resend(Format::Cmep, kStart, kStart);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, "mdm.range");
    auto resent = exporter.resend(Format::Cmep, kStart, kStart + 4 * kQuarter);
    ASSERT_TRUE(resent) << resent.error().message;
    EXPECT_EQ(resent->name, "cmep-00000002.csv");
    EXPECT_EQ(resent->kind, "resend");
    const auto values = parse_cmep(resent->name);
    ASSERT_EQ(values.size(), 8U);  // 4 per channel
    EXPECT_EQ(values[0].purpose, "RESEND");
    EXPECT_EQ(values[0].wh, 500);
    EXPECT_EQ(values[2].flag, cmep::Flag::Estimated);
    EXPECT_EQ(values[4].meter, "BBBB0000000000000000000000000002");
    // The cycle after a resend still sends only what is new.
    EXPECT_TRUE(exporter.run_cycle()->empty());
}

TEST_F(ExportTest, EspiFilesValidateHoldEveryIntervalOnceAndMarkCorrections) {
    auto espi = settings();
    espi.formats = {Format::Espi};
    Exporter exporter(*database_, clock_, logger_, espi);
    store_run(0, kStart, 3, 700, kInterpolated);
    store_run(1, kStart, 2, 900);
    auto first = exporter.run_cycle();
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first->size(), 1U);
    EXPECT_EQ((*first)[0].name, "espi-00000001.xml");
    store_run(0, kStart + kQuarter, 1, 720);  // the actual for a sent estimate
    auto second = exporter.run_cycle();
    ASSERT_TRUE(second);
    ASSERT_EQ(second->size(), 1U);

    const std::string one = read_file("espi-00000001.xml");
    const std::string two = read_file("espi-00000002.xml");
    EXPECT_EQ(testing::schema_errors(one), "");
    EXPECT_EQ(testing::schema_errors(two), "");
    const testing::Feed feed(one);
    const auto sent = testing::readings(feed);
    ASSERT_EQ(sent.size(), 5U);
    EXPECT_EQ(sent[0], (testing::Reading{kStart, kQuarter, 700, {9}}));  // estimated by linear interpolation
    EXPECT_EQ(sent[3], (testing::Reading{kStart, kQuarter, 900, {0}}));
    EXPECT_EQ(feed.nodes("//a:entry[a:category/@term='correction']").size(), 0U);
    const testing::Feed corrected(two);
    EXPECT_EQ(testing::readings(corrected), (std::vector<testing::Reading>{{kStart + kQuarter, kQuarter, 720, {0}}}));
    ASSERT_EQ(corrected.nodes("//a:entry[a:category/@term='correction']").size(), 1U);
}

// 2026-11-01 in Los Angeles through the ESPI export: one IntervalBlock of 25 hours holding its 100 quarter hours.
TEST_F(ExportTest, TheFallBackDayIsOneIntervalBlockOf25HoursInEspi) {
    auto espi = settings();
    espi.formats = {Format::Espi};
    Exporter exporter(*database_, clock_, logger_, espi);
    const std::int64_t midnight = 1793516400;
    store_run(0, midnight, 100, 1);
    clock_.set(midnight + 2 * 86400);
    ASSERT_TRUE(exporter.run_cycle());
    const std::string xml = read_file("espi-00000001.xml");
    EXPECT_EQ(testing::schema_errors(xml), "");
    const testing::Feed feed(xml);
    const auto blocks = feed.nodes("//e:IntervalBlock");
    ASSERT_EQ(blocks.size(), 1U);
    EXPECT_EQ(feed.number("e:interval/e:duration", blocks[0]), 25 * 3600);
    EXPECT_EQ(feed.number("e:interval/e:start", blocks[0]), midnight);
    const auto values = testing::readings(feed);
    ASSERT_EQ(values.size(), 100U);
    for (std::size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(values[i].start, midnight + static_cast<std::int64_t>(i) * kQuarter);
}

}  // namespace
}  // namespace mdm
