#include "headend/storage/sqlite_database.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <exception>
#include <future>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "connection.hpp"

namespace headend::storage {
namespace {

using detail::Access;
using detail::Connection;

constexpr std::size_t integrity_lines_reported = 10;

Error closed_error() {
    return make_error("storage.closed", "the database is closed");
}

template <typename Work>
Result<void> run_guarded(const Work& work, Transaction& transaction) {
    try {
        return work(transaction);
    } catch (const std::exception& e) {
        return make_error("storage.error", std::string("work threw: ") + e.what());
    } catch (...) {
        return make_error("storage.error", "work threw a non-standard exception");
    }
}

// SQLite creates files 0644; billing data is for the daemon's user only, so create the file first ourselves.
Result<void> create_private_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        if (errno == EEXIST) {
            return {};
        }
        return make_error("storage.error", "cannot create " + file.string() + ": " +
                                               std::error_code(errno, std::generic_category()).message());
    }
    const int chmod_rc = ::fchmod(fd, S_IRUSR | S_IWUSR);  // the umask may have taken bits away
    const int chmod_errno = errno;
    ::close(fd);
    if (chmod_rc != 0) {
        return make_error("storage.error", "cannot set the mode of " + file.string() + ": " +
                                               std::error_code(chmod_errno, std::generic_category()).message());
    }
    return {};
}

class ReaderLease {
public:
    ReaderLease(Connection* reader, std::function<void(Connection*)> give_back)
        : reader_(reader), give_back_(std::move(give_back)) {}
    ~ReaderLease() {
        if (reader_ != nullptr) {
            give_back_(reader_);
        }
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;

private:
    Connection* reader_;
    std::function<void(Connection*)> give_back_;
};

}  // namespace

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::open(const std::filesystem::path& file, SqliteOptions options) {
    if (options.reader_connections < 1 || options.max_units_per_commit < 1 || options.busy_timeout.count() < 0 ||
        options.journal_size_limit_bytes < 0 || options.checkpoint_frames < 1 ||
        options.checkpoint_interval.count() < 1) {
        return make_error("storage.error",
                          "invalid options: need at least one reader, one unit per commit, a non-negative busy "
                          "timeout and journal size limit, and positive checkpoint frames and interval");
    }
    const auto folder = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) {
        return make_error("storage.error", "database folder " + folder.string() + " does not exist");
    }
    if (auto created = create_private_file(file); !created) {
        return created.error();
    }
    auto writer = Connection::open(file, Access::read_write, options.busy_timeout);
    if (!writer) {
        return writer.error();
    }
    if (auto taken = (*writer)->take_over_checkpoints(options.journal_size_limit_bytes); !taken) {
        return taken.error();
    }
    std::vector<std::unique_ptr<Connection>> readers;
    for (int i = 0; i < options.reader_connections; ++i) {
        auto reader = Connection::open(file, Access::read_only, options.busy_timeout);
        if (!reader) {
            return reader.error();
        }
        readers.push_back(std::move(*reader));
    }
    return std::unique_ptr<SqliteDatabase>(new SqliteDatabase(file, options, std::move(*writer), std::move(readers)));
}

SqliteDatabase::SqliteDatabase(std::filesystem::path file, SqliteOptions options, std::unique_ptr<Connection> writer,
                               std::vector<std::unique_ptr<Connection>> readers)
    : wal_file_(file.string() + "-wal"),
      options_(options),
      writer_connection_(std::move(writer)),
      readers_(std::move(readers)) {
    for (const auto& reader : readers_) {
        free_readers_.push_back(reader.get());
    }
    writer_connection_->on_commit([this](int frames) { note_wal_commit(frames); });
    writer_thread_ = std::thread([this] { writer_loop(); });
    writer_id_ = writer_thread_.get_id();
}

SqliteDatabase::~SqliteDatabase() {
    close();
}

void SqliteDatabase::write(WriteWork work, WriteDone done) {
    enqueue(Unit{std::move(work), std::move(done)});
}

Result<void> SqliteDatabase::write_sync(WriteWork work) {
    return enqueue_sync(std::move(work), false);
}

void SqliteDatabase::enqueue(Unit unit) {
    {
        const std::lock_guard lock(queue_mutex_);
        if (!closing_) {
            queue_.push_back(std::move(unit));
            queue_cv_.notify_one();
            return;
        }
    }
    if (unit.done) {
        unit.done(closed_error());
    }
}

Result<void> SqliteDatabase::enqueue_sync(WriteWork work, bool alone) {
    if (std::this_thread::get_id() == writer_id_) {
        return make_error("storage.error", "write_sync called on the writer thread would wait for itself");
    }
    // Shared so the promise outlives the writer's set_value even after this thread has woken up and returned.
    auto promise = std::make_shared<std::promise<Result<void>>>();
    auto future = promise->get_future();
    enqueue(Unit{std::move(work), [promise](Result<void> result) { promise->set_value(std::move(result)); }, alone});
    return future.get();
}

void SqliteDatabase::writer_loop() {
    using SteadyClock = std::chrono::steady_clock;
    std::vector<Unit> batch;
    auto next_upkeep = SteadyClock::now() + options_.checkpoint_interval;
    for (;;) {
        batch.clear();
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait_until(lock, next_upkeep, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty() && closing_) {
                return;  // closing, and everything queued has been committed
            }
            if (!queue_.empty()) {
                const bool alone = queue_.front().alone;
                do {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                } while (!alone && !queue_.empty() && !queue_.front().alone &&
                         batch.size() < options_.max_units_per_commit);
            }
        }
        std::size_t next = 0;
        while (next < batch.size()) {
            next = run_transaction(batch, next);
        }
        bool due = SteadyClock::now() >= next_upkeep;
        if (!due) {
            const std::lock_guard lock(wal_mutex_);
            due = wal_frames_ >= static_cast<std::uint64_t>(options_.checkpoint_frames) &&
                  backfilled_frames_ < wal_frames_;
        }
        if (due) {
            wal_upkeep();
            next_upkeep = SteadyClock::now() + options_.checkpoint_interval;
        }
    }
}

// Called by SQLite inside each COMMIT on the writer thread with the frames now in the WAL.
void SqliteDatabase::note_wal_commit(int frames) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(wal_mutex_);
    const auto count = static_cast<std::uint64_t>(std::max(frames, 0));
    if (count < wal_frames_) {
        backfilled_frames_ = 0;  // the WAL was restarted from its beginning
    }
    wal_frames_ = count;
    if (wal_frames_ > backfilled_frames_ && !behind_since_) {
        behind_since_ = now;
    }
}

void SqliteDatabase::note_checkpoint(int log_frames, int checkpointed_frames) {
    const std::lock_guard lock(wal_mutex_);
    wal_frames_ = static_cast<std::uint64_t>(log_frames);
    backfilled_frames_ = static_cast<std::uint64_t>(checkpointed_frames);
    if (backfilled_frames_ >= wal_frames_) {
        behind_since_.reset();
        ++checkpoints_;
    }
}

// A PASSIVE checkpoint while frames wait; once nothing waits and the file is over the limit, a TRUNCATE.
void SqliteDatabase::wal_upkeep() {
    Connection& connection = *writer_connection_;
    bool behind = false;
    {
        const std::lock_guard lock(wal_mutex_);
        behind = backfilled_frames_ < wal_frames_;
    }
    bool caught_up = !behind;
    if (behind) {
        auto passive = connection.checkpoint(Connection::CheckpointMode::passive);
        if (!passive) {
            spdlog::warn("[STORAGE_CHECKPOINT_FAILED] {}", passive.error().message);
        } else if (passive->ran) {
            note_checkpoint(passive->log_frames, passive->checkpointed_frames);
            caught_up = passive->complete;
        }
    }
    std::uint64_t wal_bytes = wal_file_bytes();
    if (caught_up && wal_bytes > static_cast<std::uint64_t>(options_.journal_size_limit_bytes)) {
        auto truncate = connection.checkpoint(Connection::CheckpointMode::truncate);
        if (!truncate) {
            spdlog::warn("[STORAGE_CHECKPOINT_FAILED] {}", truncate.error().message);
        } else if (truncate->ran) {
            note_checkpoint(truncate->log_frames, truncate->checkpointed_frames);
            wal_bytes = wal_file_bytes();
        }
    }
    warn_about_wal_size(wal_bytes);
}

void SqliteDatabase::warn_about_wal_size(std::uint64_t wal_bytes) {
    constexpr auto repeat_after = std::chrono::minutes(1);
    const auto now = std::chrono::steady_clock::now();
    if (wal_bytes > options_.wal_warn_bytes) {
        if (wal_warned_ && now - wal_warned_at_ < repeat_after) {
            return;
        }
        const WriterStats current = stats();
        spdlog::warn(
            "[STORAGE_WAL_LARGE] the write-ahead log {} has {} bytes, over storage.wal_warn_bytes ({}): {} frames "
            "have waited {:.0f} s for a checkpoint (a long read transaction keeps them?)",
            wal_file_.string(), wal_bytes, options_.wal_warn_bytes, current.checkpoint_lag_frames,
            current.checkpoint_lag_seconds);
        wal_warned_ = true;
        wal_warned_at_ = now;
    } else if (wal_warned_) {
        spdlog::info("[STORAGE_WAL_SHRUNK] the write-ahead log {} is back to {} bytes", wal_file_.string(), wal_bytes);
        wal_warned_ = false;
    }
}

std::uint64_t SqliteDatabase::wal_file_bytes() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(wal_file_, ec);
    return ec ? 0 : static_cast<std::uint64_t>(size);
}

// Runs batch[first..] in one transaction and calls their done callbacks; returns the index of the first unit it
// did not handle (when SQLite abandoned the transaction midway, the rest get a fresh one).
std::size_t SqliteDatabase::run_transaction(std::vector<Unit>& batch, std::size_t first) {
    Connection& connection = *writer_connection_;
    const auto finish = [this](Unit& unit, Result<void> result) {
        units_.fetch_add(1, std::memory_order_relaxed);
        if (!result) {
            failed_units_.fetch_add(1, std::memory_order_relaxed);
        }
        if (!unit.done) {
            return;
        }
        try {
            unit.done(std::move(result));
        } catch (const std::exception& e) {
            spdlog::error("storage: a write's done callback threw: {}", e.what());
        } catch (...) {
            spdlog::error("storage: a write's done callback threw a non-standard exception");
        }
    };

    const auto began = std::chrono::steady_clock::now();
    if (auto begin = connection.control("BEGIN IMMEDIATE"); !begin) {
        for (std::size_t i = first; i < batch.size(); ++i) {
            finish(batch[i], begin.error());
        }
        return batch.size();
    }
    std::vector<Result<void>> results;
    results.reserve(batch.size() - first);
    for (std::size_t i = first; i < batch.size(); ++i) {
        auto result = run_unit(batch[i]);
        if (!connection.in_transaction()) {
            // SQLite rolled everything back (I/O error, full disk): the units run so far are lost with it.
            const std::string why = result ? std::string("SQLite abandoned it") : result.error().message;
            const Error lost =
                make_error(result ? "storage.error" : result.error().code, "transaction rolled back: " + why);
            for (std::size_t j = first; j <= i; ++j) {
                finish(batch[j], lost);
            }
            return i + 1;
        }
        results.push_back(std::move(result));
    }
    if (auto commit = connection.control("COMMIT"); !commit) {
        if (connection.in_transaction()) {
            (void)connection.control("ROLLBACK");
        }
        for (std::size_t i = first; i < batch.size(); ++i) {
            auto& result = results[i - first];
            finish(batch[i], result ? commit.error() : result.error());
        }
        return batch.size();
    }
    commits_.fetch_add(1, std::memory_order_relaxed);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(kCommitDurationBuckets.begin(), kCommitDurationBuckets.end(), took.count()) -
        kCommitDurationBuckets.begin());
    commit_duration_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    commit_duration_sum_ns_.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
        std::memory_order_relaxed);
    for (std::size_t i = first; i < batch.size(); ++i) {
        finish(batch[i], std::move(results[i - first]));
    }
    return batch.size();
}

Result<void> SqliteDatabase::run_unit(Unit& unit) {
    Connection& connection = *writer_connection_;
    if (auto savepoint = connection.control("SAVEPOINT unit"); !savepoint) {
        return savepoint;
    }
    auto result = run_guarded(unit.work, connection);
    if (result) {
        auto release = connection.control("RELEASE unit");
        if (release) {
            return result;
        }
        result = release;
    }
    // Undo this unit only; if even that fails, abandon the whole transaction rather than commit half a unit.
    if (connection.in_transaction() &&
        (!connection.control("ROLLBACK TO unit") || !connection.control("RELEASE unit"))) {
        (void)connection.control("ROLLBACK");
    }
    return result;
}

Result<void> SqliteDatabase::read(const ReadWork& work) {
    Connection* reader = checkout_reader();
    if (reader == nullptr) {
        return closed_error();
    }
    const ReaderLease lease(reader, [this](Connection* r) { return_reader(r); });
    if (auto begin = reader->control("BEGIN DEFERRED"); !begin) {
        return begin;
    }
    auto result = run_guarded(work, *reader);
    auto end = reader->control(result ? "COMMIT" : "ROLLBACK");
    if (!end && reader->in_transaction()) {
        (void)reader->control("ROLLBACK");
    }
    if (!result) {
        return result;
    }
    return end;
}

Connection* SqliteDatabase::checkout_reader() {
    std::unique_lock lock(pool_mutex_);
    pool_cv_.wait(lock, [this] { return pool_closed_ || !free_readers_.empty(); });
    if (pool_closed_) {
        return nullptr;
    }
    Connection* reader = free_readers_.back();
    free_readers_.pop_back();
    return reader;
}

void SqliteDatabase::return_reader(Connection* reader) {
    const std::lock_guard lock(pool_mutex_);
    free_readers_.push_back(reader);
    pool_cv_.notify_all();  // both readers waiting for a connection and close() waiting for all of them
}

Result<void> SqliteDatabase::migrate(const std::string& component, std::span<const Migration> migrations) {
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version != static_cast<int>(i + 1)) {
            return make_error("storage.migration", "component " + component +
                                                       ": migration versions must run 1, 2, 3, ... without gaps or "
                                                       "repeats, but position " +
                                                       std::to_string(i + 1) + " has version " +
                                                       std::to_string(migrations[i].version));
        }
    }
    std::int64_t current = 0;
    auto checked = enqueue_sync(
        [&](Transaction& transaction) -> Result<void> {
            auto created = transaction.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations(component TEXT NOT NULL, version INTEGER NOT NULL, "
                "description TEXT NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY(component, version))");
            if (!created) {
                return created.error();
            }
            const std::array<Value, 1> params{component};
            auto rows = transaction.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?",
                                          params);
            if (!rows) {
                return rows.error();
            }
            current = (*rows)[0].integer(0);
            return {};
        },
        true);
    if (!checked) {
        return checked;
    }
    const auto known = static_cast<std::int64_t>(migrations.size());
    if (current > known) {
        return make_error("storage.migration",
                          "component " + component + ": the database is at version " + std::to_string(current) +
                              ", newer than the newest this code knows (" + std::to_string(known) + ")");
    }
    for (const auto& migration : migrations) {
        if (migration.version <= current) {
            continue;
        }
        if (auto applied = apply_migration(component, migration); !applied) {
            return applied;
        }
    }
    return {};
}

Result<void> SqliteDatabase::apply_migration(const std::string& component, const Migration& migration) {
    const std::string name = "component " + component + " migration " + std::to_string(migration.version) + " (" +
                             migration.description + ")";
    return enqueue_sync(
        [&](Transaction& transaction) -> Result<void> {
            // Re-checked inside the transaction: another migrate() of the same component may have run meanwhile.
            const std::array<Value, 1> component_param{component};
            auto rows = transaction.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?",
                                          component_param);
            if (!rows) {
                return rows.error();
            }
            const std::int64_t current = (*rows)[0].integer(0);
            if (current >= migration.version) {
                return {};
            }
            if (current != migration.version - 1) {
                return make_error("storage.migration",
                                  name + ": the database is at version " + std::to_string(current));
            }
            if (auto script = writer_connection_->execute_script(migration.sql); !script) {
                return make_error("storage.migration",
                                  name + " failed: " + script.error().code + ": " + script.error().message);
            }
            const auto applied_at =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            const std::array<Value, 4> params{component, std::int64_t{migration.version}, migration.description,
                                              static_cast<std::int64_t>(applied_at)};
            auto recorded = transaction.execute(
                "INSERT INTO schema_migrations(component, version, description, applied_at) VALUES (?, ?, ?, ?)",
                params);
            if (!recorded) {
                return recorded.error();
            }
            return {};
        },
        true);
}

Result<void> SqliteDatabase::check_integrity() {
    Connection* reader = checkout_reader();
    if (reader == nullptr) {
        return closed_error();
    }
    const ReaderLease lease(reader, [this](Connection* r) { return_reader(r); });
    auto rows = reader->control_query("PRAGMA quick_check");
    if (!rows) {
        return make_error("storage.integrity", "quick_check could not run: " + rows.error().message);
    }
    if (rows->size() == 1 && (*rows)[0].optional_text(0) == "ok") {
        return {};
    }
    std::string report;
    for (std::size_t i = 0; i < rows->size() && i < integrity_lines_reported; ++i) {
        report += (i == 0 ? "" : "; ") + (*rows)[i].optional_text(0).value_or("?");
    }
    if (rows->size() > integrity_lines_reported) {
        report += "; ... (" + std::to_string(rows->size()) + " problems in all)";
    }
    return make_error("storage.integrity", "quick_check reported: " + report);
}

void SqliteDatabase::close() {
    if (std::this_thread::get_id() == writer_id_) {
        // From a done callback: only stop accepting; whoever destroys the database joins the writer.
        const std::lock_guard lock(queue_mutex_);
        closing_ = true;
        return;
    }
    const std::lock_guard close_lock(close_mutex_);
    {
        const std::lock_guard lock(queue_mutex_);
        closing_ = true;
        queue_cv_.notify_all();
    }
    if (writer_thread_.joinable()) {
        writer_thread_.join();
    }
    {
        std::unique_lock lock(pool_mutex_);
        pool_closed_ = true;
        pool_cv_.notify_all();
        pool_cv_.wait(lock, [this] { return free_readers_.size() == readers_.size(); });
        free_readers_.clear();
        readers_.clear();
    }
    writer_connection_.reset();
}

WriterStats SqliteDatabase::stats() const {
    WriterStats stats;
    stats.commits = commits_.load(std::memory_order_relaxed);
    stats.units = units_.load(std::memory_order_relaxed);
    stats.failed_units = failed_units_.load(std::memory_order_relaxed);
    {
        const std::lock_guard lock(queue_mutex_);
        stats.queue_depth = queue_.size();
    }
    for (std::size_t i = 0; i < commit_duration_counts_.size(); ++i) {
        stats.commit_duration_counts[i] = commit_duration_counts_[i].load(std::memory_order_relaxed);
    }
    stats.commit_duration_sum_seconds =
        static_cast<double>(commit_duration_sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    stats.wal_bytes = wal_file_bytes();
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(wal_mutex_);
    stats.wal_frames = wal_frames_;
    stats.checkpoint_lag_frames = wal_frames_ > backfilled_frames_ ? wal_frames_ - backfilled_frames_ : 0;
    stats.checkpoint_lag_seconds = behind_since_ ? std::chrono::duration<double>(now - *behind_since_).count() : 0.0;
    stats.checkpoints = checkpoints_;
    return stats;
}

}  // namespace headend::storage
