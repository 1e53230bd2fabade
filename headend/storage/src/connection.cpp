#include "connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <type_traits>
#include <utility>
#include <variant>

namespace headend::storage::detail {
namespace {

// Dynamic SQL must not grow the cache without bound; hot paths use a handful of statements.
constexpr std::size_t statement_cache_capacity = 128;
constexpr std::size_t sql_excerpt_length = 80;

// Parameters are bound without copying: they outlive the step and bindings are cleared afterwards.
const sqlite3_destructor_type no_copy = nullptr;

std::string excerpt(std::string_view sql) {
    std::string out(sql.substr(0, sql_excerpt_length));
    for (char& c : out) {
        if (c == '\n' || c == '\r' || c == '\t') {
            c = ' ';
        }
    }
    if (sql.size() > sql_excerpt_length) {
        out += "...";
    }
    return out;
}

// The first keyword of a statement, past whitespace and comments, upper-cased.
std::string first_keyword(std::string_view sql) {
    std::size_t i = 0;
    while (i < sql.size()) {
        if (std::isspace(static_cast<unsigned char>(sql[i])) != 0) {
            ++i;
        } else if (sql.substr(i, 2) == "--") {
            const auto end = sql.find('\n', i);
            i = end == std::string_view::npos ? sql.size() : end + 1;
        } else if (sql.substr(i, 2) == "/*") {
            const auto end = sql.find("*/", i + 2);
            i = end == std::string_view::npos ? sql.size() : end + 2;
        } else {
            break;
        }
    }
    std::string word;
    while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])) != 0) {
        word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
        ++i;
    }
    return word;
}

bool controls_transaction(std::string_view sql) {
    static constexpr std::array<std::string_view, 6> keywords{"BEGIN",    "COMMIT",    "END",
                                                              "ROLLBACK", "SAVEPOINT", "RELEASE"};
    const std::string word = first_keyword(sql);
    for (const auto keyword : keywords) {
        if (word == keyword) {
            return true;
        }
    }
    return false;
}

int bind(sqlite3_stmt* stmt, int index, const Value& value) {
    return std::visit(
        [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                return sqlite3_bind_null(stmt, index);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                return sqlite3_bind_int64(stmt, index, v);
            } else if constexpr (std::is_same_v<T, double>) {
                return sqlite3_bind_double(stmt, index, v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                return sqlite3_bind_text64(stmt, index, v.data(), v.size(), no_copy, SQLITE_UTF8);
            } else {
                // A null pointer would bind SQL NULL, so an empty blob needs its own call.
                if (v.bytes.empty()) {
                    return sqlite3_bind_zeroblob(stmt, index, 0);
                }
                return sqlite3_bind_blob64(stmt, index, v.bytes.data(), v.bytes.size(), no_copy);
            }
        },
        value);
}

Row read_row(sqlite3_stmt* stmt) {
    const int columns = sqlite3_column_count(stmt);
    std::vector<Value> values;
    values.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
            case SQLITE_INTEGER:
                values.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
                break;
            case SQLITE_FLOAT:
                values.emplace_back(sqlite3_column_double(stmt, c));
                break;
            case SQLITE_TEXT: {
                const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
                const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
                values.emplace_back(text == nullptr ? std::string() : std::string(text, size));
                break;
            }
            case SQLITE_BLOB: {
                const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, c));
                const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
                values.emplace_back(
                    Blob{size == 0 ? std::vector<std::uint8_t>{} : std::vector<std::uint8_t>(data, data + size)});
                break;
            }
            default:
                values.emplace_back(std::monostate{});
                break;
        }
    }
    return Row(std::move(values));
}

// Leaves a cached statement ready for its next use, dropping references to the caller's parameters.
class ResetOnExit {
public:
    explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~ResetOnExit() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

private:
    sqlite3_stmt* stmt_;
};

class FinalizeOnExit {
public:
    explicit FinalizeOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~FinalizeOnExit() { sqlite3_finalize(stmt_); }
    FinalizeOnExit(const FinalizeOnExit&) = delete;
    FinalizeOnExit& operator=(const FinalizeOnExit&) = delete;

private:
    sqlite3_stmt* stmt_;
};

}  // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view sql) {
    const int primary = rc & 0xff;
    std::string code = "storage.error";
    if (primary == SQLITE_CONSTRAINT) {
        code = "storage.constraint";
    } else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        code = "storage.busy";
    }
    const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return make_error(std::move(code),
                      std::string(message) + " (sqlite " + std::to_string(rc) + ") in: " + excerpt(sql));
}

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& file, Access access,
                                                     std::chrono::milliseconds busy_timeout) {
    const int flags = (access == Access::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        Error error = sqlite_error(db, rc, "open " + file.string());
        sqlite3_close(db);
        return error;
    }
    std::unique_ptr<Connection> connection(new Connection(db, access, busy_timeout));
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));

    // Only a writer may change the journal mode; readers check that the writer did.
    auto mode =
        connection->control_query(access == Access::read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL");
    if (!mode) {
        return mode.error();
    }
    if (mode->size() != 1 || (*mode)[0].size() != 1 || (*mode)[0].optional_text(0) != "wal") {
        return make_error("storage.error", "could not put " + file.string() + " in WAL mode");
    }
    // temp_store=MEMORY: statement journals and sort b-trees stay in memory instead of files created and unlinked
    // inside a transaction (a create and an unlink per such statement on the writer).
    for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
        if (auto set = connection->control(pragma); !set) {
            return set.error();
        }
    }
    return connection;
}

Connection::~Connection() {
    for (auto& [sql, cached] : cache_) {
        sqlite3_finalize(cached.stmt);
    }
    sqlite3_close(db_);
}

Result<std::int64_t> Connection::execute(std::string_view sql, std::span<const Value> params) {
    return run(sql, params, true, nullptr);
}

Result<std::vector<Row>> Connection::query(std::string_view sql, std::span<const Value> params) {
    std::vector<Row> rows;
    if (auto done = run(sql, params, true, &rows); !done) {
        return done.error();
    }
    return rows;
}

std::int64_t Connection::last_insert_id() const {
    return sqlite3_last_insert_rowid(db_);
}

Result<void> Connection::attempt(const std::function<Result<void>(Transaction&)>& work) {
    // Savepoints of the same name nest: ROLLBACK TO and RELEASE act on the innermost one.
    if (auto savepoint = control("SAVEPOINT attempt"); !savepoint)
        return savepoint;
    Result<void> result = make_error("storage.error", "work threw");
    try {
        result = work(*this);
    } catch (const std::exception& e) {
        result = make_error("storage.error", std::string("work threw: ") + e.what());
    }
    if (result) {
        if (auto release = control("RELEASE attempt"); !release)
            return release;
        return result;
    }
    if (auto undone = control("ROLLBACK TO attempt"); !undone)
        return undone;
    if (auto release = control("RELEASE attempt"); !release)
        return release;
    return result;
}

Result<void> Connection::control(std::string_view sql) {
    if (auto done = run(sql, {}, false, nullptr); !done) {
        return done.error();
    }
    return {};
}

Result<std::vector<Row>> Connection::control_query(std::string_view sql) {
    std::vector<Row> rows;
    if (auto done = run(sql, {}, false, &rows); !done) {
        return done.error();
    }
    return rows;
}

Result<void> Connection::execute_script(std::string_view sql) {
    while (!sql.empty()) {
        if (sql.size() > INT_MAX) {
            return make_error("storage.error", "SQL text too long: " + excerpt(sql));
        }
        sqlite3_stmt* stmt = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
        if (rc != SQLITE_OK) {
            return sqlite_error(db_, rc, sql);
        }
        const auto statement = sql.substr(0, static_cast<std::size_t>(tail - sql.data()));
        sql.remove_prefix(statement.size());
        if (stmt == nullptr) {  // only whitespace or comments were left
            continue;
        }
        FinalizeOnExit finalize(stmt);
        if (auto allowed = check_allowed(stmt, controls_transaction(statement), statement); !allowed) {
            return allowed;
        }
        if (auto done = step_all(stmt, statement, nullptr); !done) {
            return done.error();
        }
    }
    return {};
}

bool Connection::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

Result<void> Connection::take_over_checkpoints(std::int64_t journal_size_limit_bytes) {
    if (auto set = control("PRAGMA journal_size_limit=" + std::to_string(journal_size_limit_bytes)); !set) {
        return set;
    }
    // The WAL hook is what runs SQLite's automatic checkpoints (sqlite3_wal_autocheckpoint): ours replaces it.
    sqlite3_wal_hook(db_, &Connection::on_wal_commit, this);
    return {};
}

void Connection::on_commit(std::function<void(int)> callback) {
    on_commit_ = std::move(callback);
}

int Connection::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*schema*/, int frames) noexcept {
    auto* connection = static_cast<Connection*>(self);
    try {
        if (connection->on_commit_) {
            connection->on_commit_(frames);
        }
    } catch (...) {
        // Only bookkeeping runs here; the commit itself has succeeded.
    }
    return SQLITE_OK;
}

Result<Connection::CheckpointResult> Connection::checkpoint(CheckpointMode mode) {
    int log_frames = -1;
    int checkpointed_frames = -1;
    int rc = SQLITE_OK;
    if (mode == CheckpointMode::passive) {
        rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames, &checkpointed_frames);
    } else {
        // TRUNCATE would wait (busy handler) for readers to leave the WAL: try once instead, and again later.
        sqlite3_busy_timeout(db_, 0);
        rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed_frames);
        sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout_.count()));
    }
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
        return sqlite_error(db_, rc,
                            mode == CheckpointMode::passive ? "checkpoint (PASSIVE)" : "checkpoint (TRUNCATE)");
    }
    CheckpointResult result;
    result.ran = log_frames >= 0;
    result.log_frames = std::max(log_frames, 0);
    result.checkpointed_frames = std::max(checkpointed_frames, 0);
    result.complete = rc == SQLITE_OK && log_frames >= 0 && log_frames == checkpointed_frames;
    return result;
}

Result<std::int64_t> Connection::run(std::string_view sql, std::span<const Value> params, bool from_work,
                                     std::vector<Row>* rows) {
    auto prepared = prepare(sql);
    if (!prepared) {
        return prepared.error();
    }
    sqlite3_stmt* stmt = prepared->stmt;
    if (from_work) {
        if (auto allowed = check_allowed(stmt, prepared->controls_transaction, sql); !allowed) {
            return allowed.error();
        }
    }
    ResetOnExit reset(stmt);
    const auto expected = static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt));
    if (params.size() != expected) {
        return make_error("storage.error", "statement takes " + std::to_string(expected) + " parameters, got " +
                                               std::to_string(params.size()) + ": " + excerpt(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (const int rc = bind(stmt, static_cast<int>(i + 1), params[i]); rc != SQLITE_OK) {
            return sqlite_error(db_, rc, sql);
        }
    }
    return step_all(stmt, sql, rows);
}

Result<Connection::CachedStatement> Connection::prepare(std::string_view sql) {
    if (const auto found = cache_.find(sql); found != cache_.end()) {
        return found->second;
    }
    if (sql.size() > INT_MAX) {
        return make_error("storage.error", "SQL text too long: " + excerpt(sql));
    }
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
        return sqlite_error(db_, rc, sql);
    }
    if (stmt == nullptr) {
        return make_error("storage.error", "no statement in: " + excerpt(sql));
    }
    // A second statement would be silently ignored; refuse it unless the rest is only whitespace or comments.
    const auto rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
    if (!rest.empty()) {
        sqlite3_stmt* next = nullptr;
        const int next_rc = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
        sqlite3_finalize(next);
        if (next_rc != SQLITE_OK || next != nullptr) {
            sqlite3_finalize(stmt);
            return make_error("storage.error", "more than one statement in: " + excerpt(sql));
        }
    }
    if (cache_.size() >= statement_cache_capacity) {
        // Nothing is mid-step here (every run resets its statement), so all cached statements can go.
        for (auto& [cached_sql, cached] : cache_) {
            sqlite3_finalize(cached.stmt);
        }
        cache_.clear();
    }
    const CachedStatement cached{stmt, controls_transaction(sql)};
    cache_.emplace(std::string(sql), cached);
    return cached;
}

Result<void> Connection::check_allowed(sqlite3_stmt* stmt, bool controls_transaction, std::string_view sql) const {
    if (controls_transaction) {
        return make_error("storage.error", "work may not control the transaction: " + excerpt(sql));
    }
    if (access_ == Access::read_only && sqlite3_stmt_readonly(stmt) == 0) {
        return make_error("storage.error", "write statement in a read transaction: " + excerpt(sql));
    }
    return {};
}

Result<std::int64_t> Connection::step_all(sqlite3_stmt* stmt, std::string_view sql, std::vector<Row>* rows) {
    // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE; a SELECT or DDL changed nothing.
    const auto total_before = sqlite3_total_changes64(db_);
    for (;;) {
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            return sqlite3_total_changes64(db_) == total_before ? 0 : static_cast<std::int64_t>(sqlite3_changes64(db_));
        }
        if (rc != SQLITE_ROW) {
            return sqlite_error(db_, rc, sql);
        }
        if (rows != nullptr) {
            rows->push_back(read_row(stmt));
        }
    }
}

}  // namespace headend::storage::detail
