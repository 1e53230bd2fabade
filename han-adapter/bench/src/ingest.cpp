#include "ingest.hpp"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "han/device_client.hpp"
#include "headend_fixture.hpp"
#include "sep/encode.hpp"

namespace bench {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kPerPost = 96;
constexpr std::int64_t kInterval = 60;  // one-minute intervals: 96 per POST, many POSTs inside the backfill window
constexpr const char* kKeyHex = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

std::string mrid(unsigned meter, unsigned kind) {
    std::ostringstream text;
    text << std::hex << std::uppercase;
    text.width(24);
    text.fill('0');
    text << meter;
    text.width(8);
    text << kind;
    return text.str();
}

std::string mirror_document(unsigned meter) {
    sep::MirrorUsagePoint mirror;
    mirror.mrid = mrid(meter, 1);
    mirror.role_flags = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;
    mirror.status = 1;
    mirror.device_lfdi = mrid(meter, 9) + "00000000";
    sep::MirrorMeterReading reading;
    reading.mrid = mrid(meter, 2);
    sep::ReadingType type;
    type.accumulation_behaviour = 4;
    type.flow_direction = 1;
    type.interval_length = kInterval;
    type.kind = 12;
    type.uom = 72;
    reading.reading_type = type;
    mirror.mirror_meter_readings.push_back(reading);
    return sep::encode(mirror);
}

std::string readings_document(unsigned meter, std::int64_t first) {
    sep::MirrorMeterReading document;
    document.mrid = mrid(meter, 2);
    sep::MirrorReadingSet set;
    set.mrid = mrid(meter, 3);
    set.time_period = {static_cast<std::uint32_t>(kPerPost * kInterval), first};
    for (std::int64_t i = 0; i < kPerPost; ++i) {
        sep::Reading reading;
        reading.time_period = sep::DateTimeInterval{static_cast<std::uint32_t>(kInterval), first + i * kInterval};
        reading.value = 10 + (first / kInterval + i) % 40;
        set.readings.push_back(reading);
    }
    document.mirror_reading_sets.push_back(set);
    return sep::encode(document);
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The head-end: each meter posts consecutive blocks of 96 minutes, oldest first from 59 days ago.
json measure_headend(const fs::path& headend, const fs::path& work, const IngestOptions& options) {
    std::ostringstream extra;
    extra << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \"" << PEV_REGISTRATION_PLUGIN << "\"\n"
          << "[[plugins]]\nname = \"pev-binding\"\nlibrary = \"" << PEV_BINDING_PLUGIN << "\"\n"
          << "[[plugins]]\nname = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN << "\"\n"
          << "[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE << "\"\n";
    HeadendFixture daemon(headend, work, {}, extra.str());
    std::vector<std::unique_ptr<han::DeviceClient>> clients;
    std::vector<std::string> locations;
    for (unsigned m = 0; m < options.meters; ++m) {
        const json device = {{"type", "esci"},
                             {"premises_id", "P" + std::to_string(m)},
                             {"psk_identity", "meter-" + std::to_string(m)},
                             {"psk_key", kKeyHex}};
        if (daemon.admin_post("/api/v1/devices", device.dump()) != 201)
            throw std::runtime_error("registering meter " + std::to_string(m) + " failed");
        auto client = han::DeviceClient::connect(
            "127.0.0.1", daemon.coaps_port(),
            han::ClientCredentials::psk("meter-" + std::to_string(m), std::vector<std::uint8_t>(16, 0x5A)));
        if (!client)
            throw std::runtime_error("meter " + std::to_string(m) + ": " + client.error().message);
        auto created = (*client)->post("/mup", mirror_document(m));
        if (!created || created->code != 201)
            throw std::runtime_error("meter " + std::to_string(m) + " could not create its mirror");
        clients.push_back(std::move(*client));
        locations.push_back(created->location_path);
    }
    const std::int64_t now = now_seconds();
    const std::int64_t first = now - now % 86400 - 59 * 86400;
    std::atomic<std::uint64_t> rows{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<bool> stop{false};
    std::atomic<unsigned> done{0};
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned m = 0; m < options.meters; ++m) {
        threads.emplace_back([&, m] {
            for (std::int64_t post = 0; !stop; ++post) {
                const std::int64_t start = first + post * kPerPost * kInterval;
                if (start + kPerPost * kInterval > now)
                    break;
                auto answer = clients[m]->post_blockwise(locations[m], readings_document(m, start), 1024, true);
                if (answer && answer->code == 201)
                    rows += kPerPost;
                else
                    ++failed;
            }
            ++done;
        });
    }
    // The window, or less when every meter has posted all its days (the backfill window bounds them): time without
    // posts is not the head-end's.
    const auto deadline = started + std::chrono::duration<double>(options.seconds);
    while (done < options.meters && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
    for (auto& thread : threads)
        thread.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    return {{"rows", rows.load()},
            {"failed_posts", failed.load()},
            {"seconds", elapsed},
            {"rows_per_s", static_cast<double>(rows.load()) / elapsed}};
}

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string message = error != nullptr ? error : "?";
        sqlite3_free(error);
        throw std::runtime_error(std::string("sqlite: ") + message);
    }
}

// The baseline: the same rows into a table of the same shape, WAL and synchronous=FULL, one transaction per 96 rows,
// one writer (the head-end has one writer too).
json measure_sqlite(const fs::path& work, const IngestOptions& options) {
    sqlite3* db = nullptr;
    if (sqlite3_open((work / "raw.db").c_str(), &db) != SQLITE_OK)
        throw std::runtime_error("sqlite: cannot open the baseline database");
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    exec(db,
         "CREATE TABLE intervals(mmr_id INTEGER NOT NULL, start_at INTEGER NOT NULL, duration INTEGER NOT NULL, "
         "local_day INTEGER NOT NULL, value_wh INTEGER NOT NULL, quality_flags INTEGER NOT NULL, version INTEGER NOT "
         "NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL, vee_flags INTEGER NOT NULL DEFAULT 0, "
         "PRIMARY KEY (mmr_id, start_at))");
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, "
                       "source, received_at) VALUES (?, ?, ?, ?, ?, 0, 1, 'device', ?)",
                       -1, &insert, nullptr);
    const std::int64_t now = now_seconds();
    const std::int64_t first = now - now % 86400 - 59 * 86400;
    std::uint64_t rows = 0;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration<double>(options.seconds);
    for (std::int64_t post = 0; Clock::now() < deadline; ++post) {
        const unsigned meter = static_cast<unsigned>(post % options.meters);
        const std::int64_t start = first + (post / options.meters) * kPerPost * kInterval;
        exec(db, "BEGIN");
        for (std::int64_t i = 0; i < kPerPost; ++i) {
            const std::int64_t at = start + i * kInterval;
            sqlite3_bind_int64(insert, 1, meter + 1);
            sqlite3_bind_int64(insert, 2, at);
            sqlite3_bind_int64(insert, 3, kInterval);
            sqlite3_bind_int64(insert, 4, at / 86400);
            sqlite3_bind_int64(insert, 5, 10 + (at / kInterval) % 40);
            sqlite3_bind_int64(insert, 6, now);
            if (sqlite3_step(insert) != SQLITE_DONE)
                throw std::runtime_error("sqlite: insert failed");
            sqlite3_reset(insert);
        }
        exec(db, "COMMIT");
        rows += kPerPost;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return {{"rows", rows}, {"seconds", elapsed}, {"rows_per_s", static_cast<double>(rows) / elapsed}};
}

}  // namespace

json run_ingest(const fs::path& headend, const IngestOptions& options) {
    std::random_device random;
    const fs::path work = fs::temp_directory_path() / ("headend-ingest-" + std::to_string(random()));
    fs::create_directories(work / "raw");
    json report;
    report["benchmark"] = "ingest";
    report["meters"] = options.meters;
    report["readings_per_post"] = kPerPost;
    report["sqlite_baseline"] = measure_sqlite(work / "raw", options);
    report["headend"] = measure_headend(headend, work, options);
    const double baseline = report["sqlite_baseline"]["rows_per_s"].get<double>();
    report["ratio"] = baseline > 0 ? report["headend"]["rows_per_s"].get<double>() / baseline : 0.0;
    report["goal"] = 0.7;
    fs::remove_all(work);
    return report;
}

}  // namespace bench
