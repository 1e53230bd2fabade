// SQLite backend of the storage interface: one writer thread with group commit and a pool of read-only readers,
// all in WAL mode with synchronous=FULL so a unit's `done` means the change survives power loss.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "headend/plugin/result.hpp"
#include "headend/plugin/storage.hpp"

namespace headend::storage {

namespace detail {
class Connection;
}

struct SqliteOptions {
    int reader_connections = 4;
    std::chrono::milliseconds busy_timeout{5000};
    std::size_t max_units_per_commit = 512;

    // WAL upkeep, done by the writer instead of SQLite's automatic checkpoints: a PASSIVE checkpoint after a commit
    // that leaves at least checkpoint_frames frames in the WAL, and every checkpoint_interval while frames wait (so
    // the WAL catches up once a long reader lets go, even without further writes). Once everything is checkpointed
    // and the WAL file is larger than journal_size_limit_bytes, a TRUNCATE checkpoint empties it (tried without
    // waiting for readers, again at the next interval). SQLite's journal_size_limit is set to the same value.
    std::int64_t journal_size_limit_bytes = std::int64_t{16} * 1024 * 1024;
    int checkpoint_frames = 1000;
    std::chrono::milliseconds checkpoint_interval{1000};
    // A WAL file larger than this is logged ([STORAGE_WAL_LARGE], at most once a minute) until it shrinks.
    std::uint64_t wal_warn_bytes = std::uint64_t{64} * 1024 * 1024;
};

// Upper bounds (seconds) of the commit duration histogram's buckets; one more bucket counts the rest (+Inf).
inline constexpr std::array<double, 14> kCommitDurationBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

struct WriterStats {
    std::uint64_t commits = 0;       // transactions committed
    std::uint64_t units = 0;         // units run, including failed ones
    std::uint64_t failed_units = 0;  // units whose done got an error
    std::size_t queue_depth = 0;     // units waiting for the writer

    // Committed transactions by duration, BEGIN to durable COMMIT: counts per bucket of kCommitDurationBuckets
    // (not cumulative), the last one for longer commits; and the sum of all durations.
    std::array<std::uint64_t, kCommitDurationBuckets.size() + 1> commit_duration_counts{};
    double commit_duration_sum_seconds = 0;

    std::uint64_t wal_bytes = 0;              // size of the -wal file now
    std::uint64_t wal_frames = 0;             // frames in the WAL (since it was last restarted)
    std::uint64_t checkpoint_lag_frames = 0;  // frames in the WAL not yet checkpointed into the database
    double checkpoint_lag_seconds = 0;        // how long the oldest of those has waited; 0 when none waits
    std::uint64_t checkpoints = 0;            // checkpoints that left nothing behind
};

// Work may not run transaction control (BEGIN, COMMIT, SAVEPOINT, ...), and read work may not write; both are
// errors. Error codes besides those of Transaction: "storage.migration" (bad migration list, database newer than the
// code, or a migration that failed), "storage.integrity" (quick_check found damage), "storage.closed" (used after
// close).
class SqliteDatabase final : public Database {
public:
    // Opens or creates `file` (mode 0600 when created). The folder must exist.
    static Result<std::unique_ptr<SqliteDatabase>> open(const std::filesystem::path& file, SqliteOptions options = {});

    ~SqliteDatabase() override;
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    // After close(), `done` runs at once on the calling thread with "storage.closed".
    void write(WriteWork work, WriteDone done) override;
    Result<void> write_sync(WriteWork work) override;
    // Waits for a free reader when all are busy, so work must not nest another read.
    Result<void> read(const ReadWork& work) override;
    Result<void> migrate(const std::string& component, std::span<const Migration> migrations) override;

    // PRAGMA quick_check; the error message carries what SQLite reported.
    Result<void> check_integrity();

    // Stops accepting work, commits what is queued, waits for running reads and closes every connection.
    // Idempotent; the destructor calls it. From the writer thread (a `done` callback) it only stops accepting work,
    // and the database must then be destroyed on another thread.
    void close();

    WriterStats stats() const;

private:
    struct Unit {
        WriteWork work;
        WriteDone done;
        bool alone = false;  // runs in a transaction of its own (migrations)
    };

    SqliteDatabase(std::filesystem::path file, SqliteOptions options, std::unique_ptr<detail::Connection> writer,
                   std::vector<std::unique_ptr<detail::Connection>> readers);

    void enqueue(Unit unit);
    void note_wal_commit(int frames);
    void wal_upkeep();
    void note_checkpoint(int log_frames, int checkpointed_frames);
    void warn_about_wal_size(std::uint64_t wal_bytes);
    std::uint64_t wal_file_bytes() const;
    Result<void> enqueue_sync(WriteWork work, bool alone);
    void writer_loop();
    std::size_t run_transaction(std::vector<Unit>& batch, std::size_t first);
    Result<void> run_unit(Unit& unit);
    Result<void> apply_migration(const std::string& component, const Migration& migration);

    detail::Connection* checkout_reader();
    void return_reader(detail::Connection* reader);

    const std::filesystem::path wal_file_;
    const SqliteOptions options_;

    std::unique_ptr<detail::Connection> writer_connection_;
    mutable std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<Unit> queue_;
    bool closing_ = false;
    std::thread writer_thread_;
    std::thread::id writer_id_;
    std::mutex close_mutex_;

    std::vector<std::unique_ptr<detail::Connection>> readers_;
    std::mutex pool_mutex_;
    std::condition_variable pool_cv_;
    std::vector<detail::Connection*> free_readers_;
    bool pool_closed_ = false;

    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> units_{0};
    std::atomic<std::uint64_t> failed_units_{0};
    std::array<std::atomic<std::uint64_t>, kCommitDurationBuckets.size() + 1> commit_duration_counts_{};
    std::atomic<std::uint64_t> commit_duration_sum_ns_{0};

    // The WAL as the writer last saw it (commits through the WAL hook, and checkpoints).
    mutable std::mutex wal_mutex_;
    std::uint64_t wal_frames_ = 0;
    std::uint64_t backfilled_frames_ = 0;
    std::optional<std::chrono::steady_clock::time_point> behind_since_;
    std::uint64_t checkpoints_ = 0;
    // Writer thread only.
    bool wal_warned_ = false;
    std::chrono::steady_clock::time_point wal_warned_at_;
};

}  // namespace headend::storage
