// SQLite backend of the storage interface: one writer thread with group commit and a pool of read-only readers,
// all in WAL mode with synchronous=FULL so a unit's `done` means the change survives power loss.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
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
};

struct WriterStats {
    std::uint64_t commits = 0;       // transactions committed
    std::uint64_t units = 0;         // units run, including failed ones
    std::uint64_t failed_units = 0;  // units whose done got an error
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

    SqliteDatabase(SqliteOptions options, std::unique_ptr<detail::Connection> writer,
                   std::vector<std::unique_ptr<detail::Connection>> readers);

    void enqueue(Unit unit);
    Result<void> enqueue_sync(WriteWork work, bool alone);
    void writer_loop();
    std::size_t run_transaction(std::vector<Unit>& batch, std::size_t first);
    Result<void> run_unit(Unit& unit);
    Result<void> apply_migration(const std::string& component, const Migration& migration);

    detail::Connection* checkout_reader();
    void return_reader(detail::Connection* reader);

    const SqliteOptions options_;

    std::unique_ptr<detail::Connection> writer_connection_;
    std::mutex queue_mutex_;
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
};

}  // namespace headend::storage
