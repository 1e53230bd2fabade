// mdm-export-bench: the export goal, measured side by side in one run. `generate` fills a database with N
// intervals through interval-collection's own schema (channels of 15-minute intervals, each logged as a change);
// `run` exports every change to CMEP with the plugin's Exporter, then dumps the same rows with the sqlite3 CLI
// (`sqlite3 -csv`), and reports both rates, their ratio (goal ≥ 0.5) and the exporter's peak memory (goal: flat in
// the number of intervals; compare runs of two sizes).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "headend/storage/sqlite_database.hpp"
#include "intervals/service.hpp"
#include "mdm/exporter.hpp"

namespace {

namespace fs = std::filesystem;
using headend::Result;
using headend::storage::Transaction;

class SystemClock final : public headend::plugin::Clock {
public:
    std::int64_t now() const override { return std::time(nullptr); }
};

class QuietLogger final : public headend::plugin::Logger {
public:
    void log(headend::plugin::LogLevel, std::string_view, std::string_view) override {}
};

constexpr std::int64_t kFirstStart = 1'767'225'600;  // 2026-01-01T00:00Z
constexpr std::int64_t kIntervalsPerChannel = 10'000;

int generate(const fs::path& db_path, std::int64_t intervals) {
    fs::remove(db_path);
    auto opened = headend::storage::SqliteDatabase::open(db_path);
    if (!opened) {
        std::cerr << opened.error().message << '\n';
        return 1;
    }
    auto& database = **opened;
    const auto migrations = intervals::interval_migrations();
    const auto exports = mdm::export_migrations();
    if (!database.migrate("interval-collection", migrations) || !database.migrate("mdm-export", exports))
        return 1;
    const std::int64_t channels = (intervals + kIntervalsPerChannel - 1) / kIntervalsPerChannel;
    // Channels, then their intervals and change log in key order, each set in one statement.
    auto filled = database.write_sync([&](Transaction& tx) -> Result<void> {
        auto mirrors = tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, role_flags, "
            "service_category_kind, status, created_at) SELECT i, printf('%032X', i), i, 'P' || i, "
            "printf('%040X', i), 13, 0, 1, 0 FROM n",
            std::vector<headend::storage::Value>{channels});
        if (!mirrors)
            return mirrors.error();
        auto readings = tx.execute(
            "INSERT INTO mirror_meter_readings(mmr_id, mup_id, mrid, accumulation_behaviour, interval_length, kind, "
            "power_of_ten_multiplier, uom, created_at) SELECT mup_id, mup_id, printf('%031XF', mup_id), 4, 900, 12, "
            "0, 72, 0 FROM mirror_usage_points");
        if (!readings)
            return readings.error();
        const std::vector<headend::storage::Value> params = {kIntervalsPerChannel, kFirstStart, intervals};
        auto inserted = tx.execute(
            "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < ?1 - 1) "
            "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, source, "
            "received_at) SELECT m.mmr_id, ?2 + j * 900, 900, (?2 + j * 900) / 86400, (j * 37 + m.mmr_id * 11) % 1900, "
            "0, 1, 'bench', 0 FROM mirror_meter_readings m, k WHERE (m.mmr_id - 1) * ?1 + j < ?3 "
            "ORDER BY m.mmr_id, j",
            params);
        if (!inserted)
            return inserted.error();
        auto logged = tx.execute(
            "INSERT INTO interval_changes(mmr_id, start_at, version) SELECT mmr_id, start_at, 1 FROM intervals "
            "ORDER BY mmr_id, start_at");
        if (!logged)
            return logged.error();
        return {};
    });
    if (!filled) {
        std::cerr << filled.error().message << '\n';
        return 1;
    }
    std::cout << nlohmann::json{{"database", db_path.string()}, {"intervals", intervals}, {"channels", channels}}.dump()
              << '\n';
    return 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::int64_t peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

int run(const fs::path& db_path, const fs::path& out, std::int64_t per_file) {
    fs::remove_all(out);
    fs::create_directories(out / "export");
    const std::int64_t rss_before = peak_rss_kib();
    std::int64_t exported = 0;
    double export_s = 0;
    std::size_t files = 0;
    {
        auto opened = headend::storage::SqliteDatabase::open(db_path);
        if (!opened) {
            std::cerr << opened.error().message << '\n';
            return 1;
        }
        SystemClock clock;
        QuietLogger logger;
        mdm::ExportSettings settings;
        settings.folder = out / "export";
        settings.formats = {mdm::Format::Cmep};
        settings.intervals_per_file = per_file;
        mdm::Exporter exporter(**opened, clock, logger, settings);
        // Every run exports everything: the files of an earlier run are forgotten.
        (void)(*opened)->write_sync([](Transaction& tx) -> Result<void> {
            auto cleared = tx.execute("DELETE FROM export_files");
            if (!cleared)
                return cleared.error();
            return {};
        });
        const auto started = std::chrono::steady_clock::now();
        auto written = exporter.run_cycle();
        export_s = seconds_since(started);
        if (!written) {
            std::cerr << written.error().message << '\n';
            return 1;
        }
        for (const auto& file : *written)
            exported += file.intervals;
        files = written->size();
    }
    const std::int64_t rss_after = peak_rss_kib();
    const auto started = std::chrono::steady_clock::now();
    // The same rows with the same fields the CMEP file carries: meter, premises, interval, value, quality.
    const std::string dump = "sqlite3 -csv '" + db_path.string() +
                             "' 'SELECT c.usage_point_mrid, c.premises_id, i.start_at, i.duration, i.value_wh, "
                             "i.quality_flags FROM intervals_v1 i JOIN interval_channels_v1 c USING (mmr_id) "
                             "ORDER BY i.mmr_id, i.start_at' > '" +
                             (out / "sqlite3.csv").string() + "'";
    if (std::system(dump.c_str()) != 0) {
        std::cerr << "sqlite3 failed: " << dump << '\n';
        return 1;
    }
    const double dump_s = seconds_since(started);
    const double export_rate = static_cast<double>(exported) / export_s;
    const double dump_rate = static_cast<double>(exported) / dump_s;
    std::cout << nlohmann::json{{"intervals", exported},
                                {"files", files},
                                {"export_s", export_s},
                                {"export_rows_per_s", export_rate},
                                {"sqlite3_csv_s", dump_s},
                                {"sqlite3_csv_rows_per_s", dump_rate},
                                {"ratio", export_rate / dump_rate},
                                {"goal", 0.5},
                                {"peak_rss_kib_before_export", rss_before},
                                {"peak_rss_kib_after_export", rss_after}}
                     .dump()
              << '\n';
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The MDM export against sqlite3 -csv dumping the same rows, in one run."};
    app.require_subcommand(1);
    fs::path db_path = "export-bench.sqlite";
    std::int64_t intervals = 1'000'000;
    auto* make = app.add_subcommand("generate", "Fill a database with N intervals and their change log");
    make->add_option("--db", db_path, "Database file (replaced)")->capture_default_str();
    make->add_option("--intervals", intervals, "How many")->check(CLI::Range(1, 100'000'000))->capture_default_str();
    fs::path out = "export-bench-out";
    std::int64_t per_file = 100000;
    auto* measure = app.add_subcommand("run", "Export everything, then dump it with sqlite3 -csv; print the ratio");
    measure->add_option("--db", db_path, "Database file made by generate")->capture_default_str();
    measure->add_option("--out", out, "Folder for the files (replaced)")->capture_default_str();
    measure->add_option("--per-file", per_file, "The exporter's intervals_per_file")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : 2;  // --help, or a usage error (exit 2 as every tool here)
    }
    return make->parsed() ? generate(db_path, intervals) : run(db_path, out, per_file);
}
