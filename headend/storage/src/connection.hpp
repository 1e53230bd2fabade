// One SQLite connection with its prepared-statement cache. Used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "headend/plugin/result.hpp"
#include "headend/plugin/storage.hpp"

namespace headend::storage::detail {

enum class Access { read_write, read_only };

// Maps an SQLite result code to the storage error codes, naming the statement that failed.
Error sqlite_error(sqlite3* db, int rc, std::string_view sql);

// The connection is itself the Transaction handed to work: the engine owns BEGIN/COMMIT around it, so statements
// from work may not control transactions, and on a read-only connection they may not write.
class Connection final : public Transaction {
public:
    // Opens with WAL, synchronous=FULL and foreign_keys=ON; a read-write connection switches the file to WAL.
    static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& file, Access access,
                                                    std::chrono::milliseconds busy_timeout);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params = {}) override;
    Result<std::vector<Row>> query(std::string_view sql, std::span<const Value> params = {}) override;
    std::int64_t last_insert_id() const override;
    Result<void> attempt(const std::function<Result<void>(Transaction&)>& work) override;

    // The engine's own statements (BEGIN, SAVEPOINT, PRAGMA): no checks.
    Result<void> control(std::string_view sql);
    Result<std::vector<Row>> control_query(std::string_view sql);
    // Runs every statement of `sql` in turn, uncached (migrations); transaction control is refused.
    Result<void> execute_script(std::string_view sql);

    bool in_transaction() const;

    // WAL upkeep on the writer: sets journal_size_limit and turns SQLite's automatic checkpoints off (the engine
    // runs them); `on_commit` is then called after every commit with the number of frames in the WAL, on the
    // committing thread.
    Result<void> take_over_checkpoints(std::int64_t journal_size_limit_bytes);
    void on_commit(std::function<void(int)> callback);

    struct CheckpointResult {
        bool ran = false;       // false: busy (another checkpoint), nothing known
        bool complete = false;  // every frame of the WAL is in the database (and, for TRUNCATE, the WAL is empty)
        int log_frames = 0;     // frames in the WAL afterwards
        int checkpointed_frames = 0;
    };
    // PASSIVE never waits; TRUNCATE checkpoints and truncates the WAL to zero bytes only when no reader uses it,
    // without waiting for one (busy is not an error: complete stays false).
    enum class CheckpointMode { passive, truncate };
    Result<CheckpointResult> checkpoint(CheckpointMode mode);

private:
    struct CachedStatement {
        sqlite3_stmt* stmt;
        bool controls_transaction;
    };
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
    };

    Connection(sqlite3* db, Access access, std::chrono::milliseconds busy_timeout)
        : db_(db), access_(access), busy_timeout_(busy_timeout) {}
    static int on_wal_commit(void* self, sqlite3* db, const char* schema, int frames) noexcept;

    Result<std::int64_t> run(std::string_view sql, std::span<const Value> params, bool from_work,
                             std::vector<Row>* rows);
    Result<CachedStatement> prepare(std::string_view sql);
    Result<void> check_allowed(sqlite3_stmt* stmt, bool controls_transaction, std::string_view sql) const;
    Result<std::int64_t> step_all(sqlite3_stmt* stmt, std::string_view sql, std::vector<Row>* rows);

    sqlite3* db_;
    Access access_;
    std::chrono::milliseconds busy_timeout_;
    std::function<void(int)> on_commit_;
    std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> cache_;
};

}  // namespace headend::storage::detail
