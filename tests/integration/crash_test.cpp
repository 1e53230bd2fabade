// kill -9 of the daemon at random points while a premises meter posts interval readings and the operator runs export
// cycles (issue 10, faults): every reading the head-end acknowledged is stored, once, with its value; the meter
// resends what was not acknowledged, as a device does; the database stays whole; and every stored interval is in the
// export files exactly once per format, each file as its manifest entry says. CI runs 50 kills; HEADEND_CRASH_CYCLES
// sets more for a long run by hand (once the backfill window is full the meter goes on resending, each resend a
// write that changes nothing).
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "cmep/cmep.hpp"
#include "daemon_process.hpp"
#include "han/device_client.hpp"
#include "run_command.hpp"
#include "sep/encode.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::DaemonProcess;
using headend::testing::run;

// 50 in CI; HEADEND_CRASH_CYCLES=1000 for the long run.
int cycle_count() {
    const char* text = std::getenv("HEADEND_CRASH_CYCLES");
    return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : 50;
}
constexpr std::int64_t kQuarter = 900;
constexpr std::int64_t kPerBatch = 1;  // one reading per POST: the most commits, the most places to die
constexpr const char* kKeyHex = "6465766963652d6b65792d313233343536";  // "device-key-123456"
constexpr const char* kMirror = "0C0C0C0C0C0C00000000000000000001";
constexpr const char* kMeterReading = "0C0C0C0C0C0C00000000000000000002";

// What the meter measured in the interval starting at `start`: any value, as long as it is known.
std::int64_t value_at(std::int64_t start) {
    return 500 + (start / kQuarter) % 1000;
}

std::string batch_document(std::int64_t first_start) {
    sep::MirrorMeterReading document;
    document.mrid = kMeterReading;
    sep::MirrorReadingSet set;
    set.mrid = "0C0C0C0C0C0C00000000000000000003";
    set.time_period = {static_cast<std::uint32_t>(kPerBatch * kQuarter), first_start};
    for (std::int64_t i = 0; i < kPerBatch; ++i) {
        sep::Reading reading;
        reading.time_period = sep::DateTimeInterval{static_cast<std::uint32_t>(kQuarter), first_start + i * kQuarter};
        reading.value = value_at(first_start + i * kQuarter);
        set.readings.push_back(reading);
    }
    document.mirror_reading_sets.push_back(set);
    return sep::encode(document);
}

std::string mirror_document() {
    sep::MirrorUsagePoint mirror;
    mirror.mrid = kMirror;
    mirror.role_flags = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;
    mirror.status = 1;
    mirror.device_lfdi = std::string(40, 'D');
    sep::MirrorMeterReading reading;
    reading.mrid = kMeterReading;
    sep::ReadingType type;
    type.accumulation_behaviour = 4;
    type.flow_direction = 1;
    type.interval_length = static_cast<std::uint32_t>(kQuarter);
    type.kind = 12;
    type.uom = 72;
    reading.reading_type = type;
    mirror.mirror_meter_readings.push_back(reading);
    return sep::encode(mirror);
}

std::unique_ptr<han::DeviceClient> meter(int port) {
    han::ClientOptions options;
    options.connect_timeout = std::chrono::milliseconds(1000);
    options.request_timeout = std::chrono::milliseconds(400);
    options.ack_timeout = std::chrono::milliseconds(200);
    options.max_retransmit = 1;
    auto client = han::DeviceClient::connect(
        "127.0.0.1", static_cast<std::uint16_t>(port),
        han::ClientCredentials::psk("esci-1", std::string_view("device-key-123456")), options);
    return client ? std::move(*client) : nullptr;
}

TEST(Crash, EveryAcknowledgedReadingSurvivesKillNineOnceAndTheDatabaseStaysWhole) {
    const fs::path dir = fs::temp_directory_path() / ("headend-crash-" + std::to_string(std::random_device()()));
    fs::create_directories(dir);
    std::ofstream(dir / "headend.toml") << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \""
                                        << PEV_REGISTRATION_PLUGIN << "\"\n[[plugins]]\nname = \"pev-binding\"\n"
                                        << "library = \"" << PEV_BINDING_PLUGIN << "\"\n[[plugins]]\n"
                                        << "name = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
                                        << "\"\n[[plugins]]\nname = \"mdm-export\"\nlibrary = \"" << MDM_EXPORT_PLUGIN
                                        << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE
                                        << "\"\n[plugin.mdm-export]\nintervals_per_file = 40\n";
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::int64_t base = now - now % kQuarter - 59 * 86400;  // inside the 60-day backfill window
    const std::int64_t batches_available = (now - base) / (kPerBatch * kQuarter) - 1;
    std::mt19937 random(12345);
    std::set<std::int64_t> acknowledged;  // batch numbers answered 2.01
    std::int64_t next_batch = 0;
    std::string location;
    int cycles = 0;
    const int wanted = cycle_count();
    for (; cycles < wanted; ++cycles) {
        const int cycle = cycles;
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        if (cycle == 0) {
            ASSERT_EQ(run(daemon.ctl(std::string("device add --type esci --premises P1 --psk-identity esci-1 "
                                                 "--psk-key ") +
                                     kKeyHex))
                          .exit_code,
                      0);
        }
        auto client = meter(daemon.coaps_port());
        ASSERT_TRUE(client);
        if (location.empty()) {
            auto created = client->post("/mup", mirror_document());
            ASSERT_TRUE(created);
            ASSERT_EQ(created->code, 201);
            location = created->location_path;
        }
        // The meter posts batch after batch, resending from the first one not acknowledged (and, now and then, the
        // last acknowledged one again); the daemon is killed at a random moment.
        std::atomic<bool> stop{false};
        std::int64_t sent_from = std::max<std::int64_t>(0, next_batch - static_cast<std::int64_t>(random() % 2));
        std::thread writer([&] {
            for (std::int64_t batch = sent_from; !stop; ++batch) {
                const std::int64_t slot = batch % batches_available;
                auto answer = client->post(location, batch_document(base + slot * kPerBatch * kQuarter));
                if (!answer || answer->code != 201)
                    return;
                acknowledged.insert(slot);
                next_batch = std::max(next_batch, batch + 1);
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(2));  // a meter's pace, so 50 kills fit the window
            }
        });
        // The operator runs export cycles meanwhile, so some kills land while a file is written.
        std::thread exporter([&] {
            while (!stop)
                (void)run(daemon.ctl("export run"));
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 200));
        daemon.kill_hard();
        stop = true;
        writer.join();
        exporter.join();
    }
    ASSERT_FALSE(acknowledged.empty());
    {
        // A last start finishes what the kills interrupted; a last cycle exports what is left.
        DaemonProcess daemon(dir, dir / "headend.toml");
        ASSERT_NE(daemon.coaps_port(), 0) << daemon.stderr_text();
        auto last = run(daemon.ctl("export run"));
        ASSERT_EQ(last.exit_code, 0) << last.output;
        EXPECT_EQ(daemon.terminate(), 0);
    }

    // The database as the killed daemon left it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "data" / "headend.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
    sqlite3_finalize(stmt);
    std::map<std::int64_t, std::int64_t> stored;  // start -> value
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT start_at, value_wh, source FROM intervals", -1, &stmt, nullptr),
              SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const std::int64_t start = sqlite3_column_int64(stmt, 0);
        EXPECT_TRUE(stored.emplace(start, sqlite3_column_int64(stmt, 1)).second) << "twice: " << start;
        EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)), "device") << start;
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    for (const auto batch : acknowledged) {
        for (std::int64_t i = 0; i < kPerBatch; ++i) {
            const std::int64_t start = base + (batch * kPerBatch + i) * kQuarter;
            auto found = stored.find(start);
            ASSERT_NE(found, stored.end()) << "acknowledged but lost: batch " << batch << " start " << start;
            EXPECT_EQ(found->second, value_at(start));
        }
    }
    // Nothing stored that was never sent, and every value the one sent.
    for (const auto& [start, value] : stored) {
        EXPECT_LT(start, base + (std::min(next_batch, batches_available) + 1) * kPerBatch * kQuarter);
        EXPECT_EQ(value, value_at(start));
    }
    // The export files: each as its manifest entry says (size, SHA-256), every stored interval in them once per
    // format, with its value; a file claimed before a kill was written again whole, never twice.
    const auto export_dir = dir / "data" / "mdm-export";
    const auto manifest = nlohmann::json::parse(std::ifstream(export_dir / "manifest.json"));
    std::map<std::string, std::map<std::int64_t, int>> seen;  // format -> interval start -> times
    std::map<std::int64_t, std::int64_t> cmep_values;
    std::size_t files = 0;
    for (const auto& entry : manifest["files"]) {
        const auto path = export_dir / entry["name"].get<std::string>();
        ASSERT_TRUE(fs::exists(path)) << path;
        EXPECT_EQ(static_cast<std::int64_t>(fs::file_size(path)), entry["bytes"].get<std::int64_t>()) << path;
        auto digest = run("sha256sum " + path.string());
        EXPECT_EQ(digest.output.substr(0, 64), entry["sha256"].get<std::string>()) << path;
        std::ifstream in(path);
        const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        const std::string format = entry["format"];
        ++files;
        if (format == "cmep") {
            std::istringstream lines(text);
            for (std::string line; std::getline(lines, line);) {
                line.pop_back();  // CR
                auto record = cmep::parse_record(line);
                ASSERT_TRUE(record) << record.error().message;
                for (const auto& value : record->values) {
                    ++seen[format][value.end - kQuarter];
                    cmep_values[value.end - kQuarter] = value.wh;
                }
            }
        } else {
            // Each IntervalReading's timePeriod start, in document order.
            static const std::regex start(
                R"(<IntervalReading>.*?<timePeriod><duration>900</duration><start>(\d+)</start>)");
            for (auto it = std::sregex_iterator(text.begin(), text.end(), start); it != std::sregex_iterator(); ++it)
                ++seen[format][std::stoll((*it)[1].str())];
        }
    }
    for (const std::string format : {"cmep", "espi"}) {
        EXPECT_EQ(seen[format].size(), stored.size()) << format;
        for (const auto& [start, times] : seen[format]) {
            EXPECT_EQ(times, 1) << format << " interval " << start << " in the files " << times << " times";
            EXPECT_TRUE(stored.contains(start)) << format << " exported but not stored: " << start;
        }
    }
    for (const auto& [start, value] : cmep_values)
        EXPECT_EQ(value, value_at(start)) << start;
    EXPECT_EQ(cycles, wanted);
    std::cout << "[ INFO ] " << cycles << " kill -9 cycles, " << acknowledged.size() << " readings acknowledged, "
              << stored.size() << " stored (" << stored.size() - acknowledged.size()
              << " committed whose answer the kill took), " << files << " export files\n";
    fs::remove_all(dir);
}

}  // namespace
