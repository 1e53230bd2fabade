// Shared fixtures: every test gets its own temporary folder, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp

#include <array>
#include <filesystem>
#include <memory>
#include <string>

#include "headend/storage/sqlite_database.hpp"

namespace headend::storage::testing {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "headend-storage-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class StorageTest : public ::testing::Test {
protected:
    std::unique_ptr<SqliteDatabase> open_db(SqliteOptions options = {}) {
        auto db = SqliteDatabase::open(db_path_, options);
        if (!db) {
            ADD_FAILURE() << db.error().code << ": " << db.error().message;
            return nullptr;
        }
        return std::move(*db);
    }

    // Runs one statement in its own write.
    static Result<void> exec(SqliteDatabase& db, const std::string& sql) {
        return db.write_sync([&](Transaction& t) -> Result<void> {
            auto done = t.execute(sql);
            if (!done) {
                return done.error();
            }
            return {};
        });
    }

    static std::int64_t count(SqliteDatabase& db, const std::string& table) {
        std::int64_t n = -1;
        auto done = db.read([&](Transaction& t) -> Result<void> {
            auto rows = t.query("SELECT COUNT(*) FROM " + table);
            if (!rows) {
                return rows.error();
            }
            n = (*rows)[0].integer(0);
            return {};
        });
        EXPECT_TRUE(done.ok()) << (done ? "" : done.error().message);
        return n;
    }

    static WriteWork insert(std::int64_t id) {
        return [id](Transaction& t) -> Result<void> {
            const std::array<Value, 1> params{id};
            auto done = t.execute("INSERT INTO item(id) VALUES (?)", params);
            if (!done) {
                return done.error();
            }
            return {};
        };
    }

    TempDir dir_;
    std::filesystem::path db_path_ = dir_.path() / "test.db";
};

}  // namespace headend::storage::testing
