// WAL upkeep (issue 8): a long reader lets the WAL grow; once it lets go, the writer's checkpoints catch up and
// truncate the WAL without any further write. The reader is a plain sqlite3 connection of its own, as an operator's
// `sqlite3` shell would be.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <numeric>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace headend::storage::testing {
namespace {

using storage_wal = StorageTest;

constexpr std::int64_t kLimit = 64 * 1024;

// A read transaction held open on a connection the engine knows nothing about.
class ForeignReader {
public:
    explicit ForeignReader(const std::filesystem::path& file) {
        EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    }
    ~ForeignReader() { sqlite3_close(db_); }
    ForeignReader(const ForeignReader&) = delete;
    ForeignReader& operator=(const ForeignReader&) = delete;

    // BEGIN and a first read: from here on the reader holds its snapshot, and the WAL frames after it.
    void hold() {
        ASSERT_EQ(sqlite3_exec(db_, "BEGIN; SELECT COUNT(*) FROM item;", nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(db_);
    }
    void release() { ASSERT_EQ(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK); }

private:
    sqlite3* db_ = nullptr;
};

std::uint64_t file_bytes(const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    return ec ? 0 : size;
}

SqliteOptions small_wal_options() {
    SqliteOptions options;
    options.journal_size_limit_bytes = kLimit;
    options.checkpoint_frames = 100;
    options.checkpoint_interval = std::chrono::milliseconds(50);
    return options;
}

// Many commits of a few pages each.
void write_rows(SqliteDatabase& db, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        auto done = db.write_sync([i](Transaction& t) -> Result<void> {
            const std::array<Value, 2> params{std::int64_t{i}, Blob{std::vector<std::uint8_t>(3000, 7)}};
            auto inserted = t.execute("INSERT INTO item(id, payload) VALUES (?, ?)", params);
            if (!inserted) {
                return inserted.error();
            }
            return {};
        });
        ASSERT_TRUE(done.ok()) << done.error().message;
    }
}

template <typename Predicate>
bool within(std::chrono::milliseconds limit, Predicate predicate) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

TEST_F(storage_wal, TheWalShrinksBackUnderTheLimitOnceALongReaderLetsGo) {
    auto db = open_db(small_wal_options());
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY, payload BLOB)").ok());
    const auto wal = std::filesystem::path(db_path_.string() + "-wal");

    ForeignReader reader(db_path_);
    reader.hold();
    write_rows(*db, 0, 400);

    // The reader pins every frame written since its snapshot: the WAL is far past the limit and stays there.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_GT(file_bytes(wal), std::uint64_t{1024 * 1024});
    const WriterStats held = db->stats();
    EXPECT_GT(held.checkpoint_lag_frames, 300U);
    EXPECT_GT(held.checkpoint_lag_seconds, 0.1);
    EXPECT_EQ(held.wal_bytes, file_bytes(wal));

    reader.release();
    // No further write: the writer's own checkpoints catch up and truncate.
    EXPECT_TRUE(within(std::chrono::seconds(10), [&] { return file_bytes(wal) <= static_cast<std::uint64_t>(kLimit); }))
        << file_bytes(wal) << " bytes";
    const WriterStats after = db->stats();
    EXPECT_EQ(after.checkpoint_lag_frames, 0U);
    EXPECT_EQ(after.checkpoint_lag_seconds, 0.0);
    EXPECT_LE(after.wal_bytes, static_cast<std::uint64_t>(kLimit));
    EXPECT_GE(after.checkpoints, 1U);
    EXPECT_EQ(count(*db, "item"), 400);
}

TEST_F(storage_wal, WithoutReadersTheWalNeverOutgrowsTheCheckpointCadenceByMuch) {
    auto db = open_db(small_wal_options());
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY, payload BLOB)").ok());
    write_rows(*db, 0, 400);
    // checkpoint_frames = 100 pages of 4 KiB: the WAL restarts after each checkpoint, truncated to the limit.
    EXPECT_LT(file_bytes(std::filesystem::path(db_path_.string() + "-wal")), std::uint64_t{1024 * 1024});
    EXPECT_TRUE(within(std::chrono::seconds(10), [&] { return db->stats().checkpoint_lag_frames == 0; }));
}

TEST_F(storage_wal, CommitsAreTimedIntoTheHistogram) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY, payload BLOB)").ok());
    write_rows(*db, 0, 20);
    const WriterStats stats = db->stats();
    const auto counted =
        std::accumulate(stats.commit_duration_counts.begin(), stats.commit_duration_counts.end(), std::uint64_t{0});
    EXPECT_EQ(counted, stats.commits);
    EXPECT_EQ(stats.commits, 21U);
    EXPECT_GT(stats.commit_duration_sum_seconds, 0.0);
    EXPECT_EQ(stats.queue_depth, 0U);
}

TEST_F(storage_wal, BadWalOptionsAreRefused) {
    SqliteOptions options;
    options.journal_size_limit_bytes = -1;
    EXPECT_FALSE(SqliteDatabase::open(db_path_, options));
    options = {};
    options.checkpoint_interval = std::chrono::milliseconds(0);
    EXPECT_FALSE(SqliteDatabase::open(db_path_, options));
}

}  // namespace
}  // namespace headend::storage::testing
