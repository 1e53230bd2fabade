// Interval inserts, 96 rows (one meter-day of 15-minute intervals) per transaction with synchronous=FULL:
// SqliteDatabase::write_sync against the raw sqlite3 C API doing the same, in one run. Database files go in a
// temporary folder under the current directory, so run it from the disk you want to measure. Wall-clock time,
// since write_sync spends its time waiting for the writer thread and fsync.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "headend/storage/sqlite_database.hpp"

namespace {

using headend::Result;
using headend::storage::SqliteDatabase;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr int rows_per_transaction = 96;
constexpr std::int64_t interval_seconds = 900;
constexpr std::int64_t day_start = 1'700'000'000;

constexpr const char* create_table_sql =
    "CREATE TABLE interval(meter INTEGER NOT NULL, channel INTEGER NOT NULL, start INTEGER NOT NULL, "
    "wh INTEGER NOT NULL, PRIMARY KEY(meter, channel, start))";
constexpr const char* insert_sql = "INSERT INTO interval(meter, channel, start, wh) VALUES (?, ?, ?, ?)";

class BenchDir {
public:
    BenchDir() {
        std::string pattern = (std::filesystem::current_path() / "headend-storage-bench-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed in the current directory");
        }
        path_ = pattern;
    }
    ~BenchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    BenchDir(const BenchDir&) = delete;
    BenchDir& operator=(const BenchDir&) = delete;

    std::filesystem::path fresh_file(const std::string& name) const {
        auto file = path_ / name;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(file.string() + suffix);
        }
        return file;
    }

private:
    std::filesystem::path path_;
};

const BenchDir& bench_dir() {
    static const BenchDir dir;
    return dir;
}

void check(sqlite3* db, int rc, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
    }
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), sql);
    return stmt;
}

void step_once(sqlite3* db, sqlite3_stmt* stmt) {
    check(db, sqlite3_step(stmt), "step");
    sqlite3_reset(stmt);
}

void raw_sqlite_96_rows_per_txn(benchmark::State& state) {
    const auto file = bench_dir().fresh_file("raw.db");
    sqlite3* db = nullptr;
    check(db, sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), "open");
    for (const char* sql :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", create_table_sql}) {
        check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
    }
    sqlite3_stmt* begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt* commit = prepare(db, "COMMIT");
    sqlite3_stmt* insert = prepare(db, insert_sql);
    std::int64_t meter = 0;
    while (state.KeepRunning()) {
        step_once(db, begin);
        for (int i = 0; i < rows_per_transaction; ++i) {
            sqlite3_bind_int64(insert, 1, meter);
            sqlite3_bind_int64(insert, 2, 1);
            sqlite3_bind_int64(insert, 3, day_start + i * interval_seconds);
            sqlite3_bind_int64(insert, 4, (meter * 31 + i) % 5000);
            step_once(db, insert);
        }
        step_once(db, commit);
        ++meter;
    }
    sqlite3_finalize(insert);
    sqlite3_finalize(commit);
    sqlite3_finalize(begin);
    sqlite3_close(db);
    state.SetItemsProcessed(state.iterations() * rows_per_transaction);
}
BENCHMARK(raw_sqlite_96_rows_per_txn)->UseRealTime()->Unit(benchmark::kMillisecond);

std::unique_ptr<SqliteDatabase> open_interval_db(const std::string& name) {
    auto db = SqliteDatabase::open(bench_dir().fresh_file(name));
    if (!db) {
        throw std::runtime_error(db.error().message);
    }
    auto created = (*db)->write_sync([](Transaction& t) -> Result<void> {
        if (auto done = t.execute(create_table_sql); !done) {
            return done.error();
        }
        return {};
    });
    if (!created) {
        throw std::runtime_error(created.error().message);
    }
    return std::move(*db);
}

void sqlite_database_96_rows_per_txn(benchmark::State& state) {
    auto db = open_interval_db("wrapped.db");
    std::int64_t meter = 0;
    while (state.KeepRunning()) {
        auto written = db->write_sync([meter](Transaction& t) -> Result<void> {
            for (int i = 0; i < rows_per_transaction; ++i) {
                const std::array<Value, 4> row{meter, std::int64_t{1}, day_start + i * interval_seconds,
                                               std::int64_t{(meter * 31 + i) % 5000}};
                if (auto done = t.execute(insert_sql, row); !done) {
                    return done.error();
                }
            }
            return {};
        });
        if (!written) {
            state.SkipWithError(written.error().message.c_str());
            break;
        }
        ++meter;
    }
    state.SetItemsProcessed(state.iterations() * rows_per_transaction);
}
BENCHMARK(sqlite_database_96_rows_per_txn)->UseRealTime()->Unit(benchmark::kMillisecond);

// Many callers writing one row each: what group commit buys over a transaction per caller.
std::unique_ptr<SqliteDatabase> shared_db;

void sqlite_database_one_row_per_caller(benchmark::State& state) {
    if (state.thread_index() == 0) {
        shared_db = open_interval_db("shared.db");
    }
    const std::int64_t meter = state.thread_index();
    std::int64_t start = day_start;
    while (state.KeepRunning()) {
        auto written = shared_db->write_sync([meter, start](Transaction& t) -> Result<void> {
            const std::array<Value, 4> row{meter, std::int64_t{1}, start, std::int64_t{42}};
            if (auto done = t.execute(insert_sql, row); !done) {
                return done.error();
            }
            return {};
        });
        if (!written) {
            state.SkipWithError(written.error().message.c_str());
            break;
        }
        start += interval_seconds;
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) {
        const auto stats = shared_db->stats();
        state.counters["rows_per_commit"] =
            static_cast<double>(stats.units) / static_cast<double>(stats.commits == 0 ? 1 : stats.commits);
        shared_db.reset();
    }
}
BENCHMARK(sqlite_database_one_row_per_caller)->Threads(1)->Threads(16)->Threads(96)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
