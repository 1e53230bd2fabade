// Storage as plugins and the core see it: SQL text with positional `?` parameters and plain C++ values.
// Nothing here names SQLite, so a PostgreSQL backend can implement the same interface.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "headend/plugin/result.hpp"

namespace headend::storage {

struct Blob {
    std::vector<std::uint8_t> bytes;
    bool operator==(const Blob&) const = default;
};

using Value = std::variant<std::monostate, std::int64_t, double, std::string, Blob>;

// One result row; typed accessors assert on type mismatch (a programming error, not input).
class Row {
public:
    explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
    std::size_t size() const { return values_.size(); }
    bool is_null(std::size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
    std::int64_t integer(std::size_t i) const { return std::get<std::int64_t>(values_.at(i)); }
    double real(std::size_t i) const { return std::get<double>(values_.at(i)); }
    const std::string& text(std::size_t i) const { return std::get<std::string>(values_.at(i)); }
    const Blob& blob(std::size_t i) const { return std::get<Blob>(values_.at(i)); }
    std::optional<std::int64_t> optional_integer(std::size_t i) const {
        return is_null(i) ? std::nullopt : std::optional(integer(i));
    }
    std::optional<std::string> optional_text(std::size_t i) const {
        return is_null(i) ? std::nullopt : std::optional(text(i));
    }
    const Value& operator[](std::size_t i) const { return values_.at(i); }

private:
    std::vector<Value> values_;
};

// Statements run inside a transaction owned by the storage engine. Errors carry codes:
// "storage.constraint" (unique/foreign key/check violated), "storage.busy", "storage.error".
class Transaction {
public:
    virtual ~Transaction() = default;
    // Runs a statement; returns the number of rows changed.
    virtual Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params = {}) = 0;
    virtual Result<std::vector<Row>> query(std::string_view sql, std::span<const Value> params = {}) = 0;
    // Row id of the last INSERT on this transaction's connection.
    virtual std::int64_t last_insert_id() const = 0;
    // Runs `work` in a nested savepoint: when it fails, what it did is undone, its error returned, and the
    // transaction goes on (to check every line of a file and report each bad one, say).
    virtual Result<void> attempt(const std::function<Result<void>(Transaction&)>& work) = 0;
};

// A numbered schema change of one component. Versions start at 1 and increase by one.
struct Migration {
    int version;
    std::string description;
    std::string sql;  // one or more statements
};

using WriteWork = std::function<Result<void>(Transaction&)>;
using WriteDone = std::function<void(Result<void>)>;
using ReadWork = std::function<Result<void>(Transaction&)>;

class Database {
public:
    virtual ~Database() = default;

    // Queues `work` for the single writer. Work queued together commits together (group commit); each unit
    // runs in its own savepoint, so a unit that fails rolls back alone. `done` runs on the writer thread after
    // the commit is durable (or with the unit's error) and must not block.
    virtual void write(WriteWork work, WriteDone done) = 0;

    // Submits and waits for the commit. Never call from the writer thread.
    virtual Result<void> write_sync(WriteWork work) = 0;

    // Runs read-only work on a reader connection, in one snapshot. Safe from any thread.
    virtual Result<void> read(const ReadWork& work) = 0;

    // Brings `component`'s schema up to its newest migration, in one transaction per migration, recording the
    // version in the schema_migrations table. Fails (changing nothing further) on gaps or a database newer than
    // the code.
    virtual Result<void> migrate(const std::string& component, std::span<const Migration> migrations) = 0;
};

}  // namespace headend::storage
