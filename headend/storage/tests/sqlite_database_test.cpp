#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace headend::storage::testing {
namespace {

// Lower-case suite names, so that `ctest -R storage` selects these tests.
using storage_sqlite_database = StorageTest;

using ::testing::HasSubstr;

// Holds the writer inside a unit so that everything submitted meanwhile queues up for the next batch. The unit
// keeps its own references to the shared states, as the gate may be gone before the writer wakes up.
class WriterGate {
public:
    explicit WriterGate(SqliteDatabase& db) {
        auto started = std::make_shared<std::promise<void>>();
        auto running = started->get_future();
        db.write(
            [started, release = release_.get_future().share()](Transaction&) -> Result<void> {
                started->set_value();
                release.wait();
                return {};
            },
            nullptr);
        running.wait();
    }
    ~WriterGate() { open(); }
    WriterGate(const WriterGate&) = delete;
    WriterGate& operator=(const WriterGate&) = delete;

    void open() {
        if (!opened_) {
            opened_ = true;
            release_.set_value();
        }
    }

private:
    std::promise<void> release_;
    bool opened_ = false;
};

// Collects done results of asynchronous writes. Notifies under the lock, so that the waiter cannot return (and
// destroy this) while the writer is still inside a callback.
class Outcomes {
public:
    explicit Outcomes(std::size_t expected) : results_(expected, make_error("test.pending", "not done")) {}

    WriteDone done_for(std::size_t slot) {
        return [this, slot](Result<void> result) {
            const std::lock_guard lock(mutex_);
            results_.at(slot) = std::move(result);
            ++finished_;
            finished_cv_.notify_all();
        };
    }
    const std::vector<Result<void>>& wait() {
        std::unique_lock lock(mutex_);
        finished_cv_.wait(lock, [this] { return finished_ == results_.size(); });
        return results_;
    }

private:
    std::mutex mutex_;
    std::condition_variable finished_cv_;
    std::vector<Result<void>> results_;
    std::size_t finished_ = 0;
};

std::int64_t pragma(Transaction& t, const std::string& name) {
    auto rows = t.query("PRAGMA " + name);
    EXPECT_TRUE(rows.ok()) << (rows ? "" : rows.error().message);
    return rows ? (*rows)[0].integer(0) : -1;
}

std::string text_pragma(Transaction& t, const std::string& name) {
    auto rows = t.query("PRAGMA " + name);
    EXPECT_TRUE(rows.ok()) << (rows ? "" : rows.error().message);
    return rows ? (*rows)[0].text(0) : "";
}

TEST_F(storage_sqlite_database, EveryConnectionRunsWalWithFullSyncAndForeignKeys) {
    auto db = open_db({.reader_connections = 2});
    ASSERT_TRUE(db);
    const auto check = [](Transaction& t) -> Result<void> {
        EXPECT_EQ(pragma(t, "synchronous"), 2);  // FULL
        EXPECT_EQ(pragma(t, "foreign_keys"), 1);
        return {};
    };
    // The journal mode belongs to the file; querying it counts as a write statement, so only the writer may.
    ASSERT_TRUE(db->write_sync([&](Transaction& t) {
        EXPECT_EQ(text_pragma(t, "journal_mode"), "wal");
        return check(t);
    }));
    // Two reads at once so both pooled readers are checked.
    std::latch both(2);
    const auto read_both = [&] {
        ASSERT_TRUE(db->read([&](Transaction& t) {
            both.arrive_and_wait();
            return check(t);
        }));
    };
    std::thread other(read_both);
    read_both();
    other.join();
}

TEST_F(storage_sqlite_database, DatabaseFilesAreOwnerOnly) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    for (const auto& file : {db_path_, std::filesystem::path(db_path_.string() + "-wal")}) {
        struct stat info {};
        ASSERT_EQ(::stat(file.c_str(), &info), 0) << file;
        EXPECT_EQ(info.st_mode & 0777, 0600) << file;
    }
}

TEST_F(storage_sqlite_database, MissingFolderFailsWithoutCreatingIt) {
    const auto missing = dir_.path() / "missing";
    auto db = SqliteDatabase::open(missing / "test.db");
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error().code, "storage.error");
    EXPECT_THAT(db.error().message, HasSubstr("does not exist"));
    EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(storage_sqlite_database, FileThatIsNotADatabaseFailsToOpen) {
    std::ofstream(db_path_) << std::string(8192, 'x');
    auto db = SqliteDatabase::open(db_path_);
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error().code, "storage.error");
}

TEST_F(storage_sqlite_database, WrittenValuesReadBackWithTheirTypes) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE v(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n TEXT)"));
    std::int64_t id = 0;
    ASSERT_TRUE(db->write_sync([&](Transaction& t) -> Result<void> {
        const std::array<Value, 5> params{std::int64_t{-42}, 2.5, std::string("h\0i", 3), Blob{{0, 1, 255}},
                                          std::monostate{}};
        auto inserted = t.execute("INSERT INTO v(i, r, t, b, n) VALUES (?, ?, ?, ?, ?)", params);
        if (!inserted) {
            return inserted.error();
        }
        EXPECT_EQ(*inserted, 1);
        id = t.last_insert_id();
        const std::array<Value, 5> empty{std::int64_t{0}, 0.0, std::string(), Blob{}, std::monostate{}};
        if (auto second = t.execute("INSERT INTO v(i, r, t, b, n) VALUES (?, ?, ?, ?, ?)", empty); !second) {
            return second.error();
        }
        return {};
    }));
    EXPECT_GT(id, 0);
    ASSERT_TRUE(db->read([&](Transaction& t) -> Result<void> {
        auto rows = t.query("SELECT i, r, t, b, n FROM v ORDER BY id");
        if (!rows) {
            return rows.error();
        }
        EXPECT_EQ(rows->size(), 2U);
        const Row& first = (*rows)[0];
        EXPECT_EQ(first.integer(0), -42);
        EXPECT_EQ(first.real(1), 2.5);
        EXPECT_EQ(first.text(2), std::string("h\0i", 3));
        EXPECT_EQ(first.blob(3), (Blob{{0, 1, 255}}));
        EXPECT_TRUE(first.is_null(4));
        const Row& second = (*rows)[1];
        EXPECT_EQ(second.text(2), "");
        EXPECT_EQ(second.blob(3), Blob{});  // empty, not NULL
        return {};
    }));
}

TEST_F(storage_sqlite_database, ExecuteReportsRowsChanged) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    ASSERT_TRUE(db->write_sync([](Transaction& t) -> Result<void> {
        EXPECT_EQ(*t.execute("INSERT INTO item(id) VALUES (1), (2), (3)"), 3);
        EXPECT_EQ(*t.execute("UPDATE item SET id = id + 10 WHERE id > 1"), 2);
        EXPECT_EQ(*t.execute("SELECT * FROM item"), 0);
        EXPECT_EQ(*t.execute("CREATE INDEX item_id ON item(id)"), 0);
        return {};
    }));
}

TEST_F(storage_sqlite_database, ConcurrentWritesQueuedTogetherCommitTogether) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    const auto before = db->stats();
    constexpr std::size_t writer_threads = 8;
    constexpr std::size_t per_thread = 50;
    Outcomes outcomes(writer_threads * per_thread);
    {
        WriterGate gate(*db);
        std::vector<std::thread> threads;
        threads.reserve(writer_threads);
        for (std::size_t t = 0; t < writer_threads; ++t) {
            threads.emplace_back([&, t] {
                for (std::size_t i = 0; i < per_thread; ++i) {
                    const std::size_t id = t * per_thread + i;
                    db->write(insert(static_cast<std::int64_t>(id)), outcomes.done_for(id));
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
    }
    for (const auto& result : outcomes.wait()) {
        EXPECT_TRUE(result.ok()) << result.error().message;
    }
    const auto after = db->stats();
    EXPECT_EQ(after.units - before.units, writer_threads * per_thread + 1U);
    EXPECT_EQ(after.commits - before.commits, 2U);  // the gate's own, then everything queued behind it
    EXPECT_EQ(count(*db, "item"), static_cast<std::int64_t>(writer_threads * per_thread));
}

TEST_F(storage_sqlite_database, FreeRunningWritersShareCommits) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    const auto before = db->stats();
    constexpr std::int64_t writer_threads = 8;
    constexpr std::int64_t per_thread = 40;
    std::vector<std::thread> threads;
    threads.reserve(writer_threads);
    std::atomic<int> failures{0};
    for (std::int64_t t = 0; t < writer_threads; ++t) {
        threads.emplace_back([&, t] {
            for (std::int64_t i = 0; i < per_thread; ++i) {
                if (!db->write_sync(insert(t * per_thread + i))) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures, 0);
    const auto after = db->stats();
    EXPECT_EQ(after.units - before.units, static_cast<std::uint64_t>(writer_threads * per_thread));
    EXPECT_LT(after.commits - before.commits, after.units - before.units);
    EXPECT_EQ(count(*db, "item"), writer_threads * per_thread);
}

TEST_F(storage_sqlite_database, BatchesAreCappedAtMaxUnitsPerCommit) {
    auto db = open_db({.max_units_per_commit = 10});
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    const auto before = db->stats();
    Outcomes outcomes(25);
    {
        WriterGate gate(*db);
        for (int i = 0; i < 25; ++i) {
            db->write(insert(i), outcomes.done_for(static_cast<std::size_t>(i)));
        }
    }
    outcomes.wait();
    EXPECT_EQ(db->stats().commits - before.commits, 1U + 3U);  // gate, then 10 + 10 + 5
    EXPECT_EQ(count(*db, "item"), 25);
}

TEST_F(storage_sqlite_database, FailingUnitRollsBackAloneAndOthersCommit) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    const auto before = db->stats();
    Outcomes outcomes(3);
    {
        WriterGate gate(*db);
        db->write(insert(1), outcomes.done_for(0));
        db->write(
            [](Transaction& t) -> Result<void> {
                EXPECT_TRUE(t.execute("INSERT INTO item(id) VALUES (2)"));  // undone with the unit
                auto duplicate = t.execute("INSERT INTO item(id) VALUES (1)");
                if (!duplicate) {
                    return duplicate.error();
                }
                return {};
            },
            outcomes.done_for(1));
        db->write(insert(3), outcomes.done_for(2));
    }
    const auto& results = outcomes.wait();
    EXPECT_TRUE(results[0].ok());
    ASSERT_FALSE(results[1].ok());
    EXPECT_EQ(results[1].error().code, "storage.constraint");
    EXPECT_TRUE(results[2].ok());
    const auto after = db->stats();
    EXPECT_EQ(after.commits - before.commits, 2U);
    EXPECT_EQ(after.failed_units - before.failed_units, 1U);
    std::vector<std::int64_t> ids;
    ASSERT_TRUE(db->read([&](Transaction& t) -> Result<void> {
        auto rows = t.query("SELECT id FROM item ORDER BY id");
        if (!rows) {
            return rows.error();
        }
        for (const auto& row : *rows) {
            ids.push_back(row.integer(0));
        }
        return {};
    }));
    EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 3}));
}

TEST_F(storage_sqlite_database, WorkReturningAnErrorRollsBackItsStatements) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    auto result = db->write_sync([](Transaction& t) -> Result<void> {
        EXPECT_TRUE(t.execute("INSERT INTO item(id) VALUES (1)"));
        return make_error("billing.rejected", "changed my mind");
    });
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, "billing.rejected");
    EXPECT_EQ(count(*db, "item"), 0);
}

TEST_F(storage_sqlite_database, AFailedAttemptUndoesOnlyItsOwnStatementsAndTheUnitGoesOn) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    std::vector<std::string> failures;
    auto result = db->write_sync([&](Transaction& t) -> Result<void> {
        for (std::int64_t id : {1, 2, 3, 4}) {
            auto tried = t.attempt([id](Transaction& inner) -> Result<void> {
                if (auto inserted = inner.execute("INSERT INTO item(id) VALUES (?)", std::vector<Value>{id * 10});
                    !inserted)
                    return inserted.error();
                // An attempt inside an attempt: its failure leaves the outer one's insert.
                (void)inner.attempt([id](Transaction& innermost) -> Result<void> {
                    EXPECT_TRUE(innermost.execute("INSERT INTO item(id) VALUES (?)", std::vector<Value>{id * 10 + 1}));
                    return make_error("test.inner", "undone");
                });
                if (id % 2 == 0)
                    return make_error("test.even", "refused " + std::to_string(id));
                if (id == 3)
                    throw std::runtime_error("thrown");
                return {};
            });
            if (!tried)
                failures.push_back(tried.error().message);
        }
        return {};
    });
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(failures, (std::vector<std::string>{"refused 2", "work threw: thrown", "refused 4"}));
    EXPECT_EQ(count(*db, "item"), 1);  // only 10: 11 was an inner failure, 20, 30 and 40 failed attempts
}

TEST_F(storage_sqlite_database, ExceptionInWorkBecomesAnErrorAndTheWriterSurvives) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    auto thrown = db->write_sync([](Transaction& t) -> Result<void> {
        EXPECT_TRUE(t.execute("INSERT INTO item(id) VALUES (1)"));
        throw std::runtime_error("boom");
    });
    ASSERT_FALSE(thrown);
    EXPECT_EQ(thrown.error().code, "storage.error");
    EXPECT_THAT(thrown.error().message, HasSubstr("boom"));
    auto odd = db->write_sync([](Transaction&) -> Result<void> { throw 7; });
    ASSERT_FALSE(odd);
    EXPECT_EQ(odd.error().code, "storage.error");
    auto read_throw = db->read([](Transaction&) -> Result<void> { throw std::logic_error("read boom"); });
    ASSERT_FALSE(read_throw);
    EXPECT_THAT(read_throw.error().message, HasSubstr("read boom"));

    EXPECT_TRUE(db->write_sync(insert(2)));
    EXPECT_EQ(count(*db, "item"), 1);
}

TEST_F(storage_sqlite_database, DoneThatThrowsDoesNotStopTheWriter) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    auto called = std::make_shared<std::promise<void>>();
    auto call = called->get_future();
    db->write(insert(1), [called](const Result<void>&) {
        called->set_value();
        throw std::runtime_error("done boom");
    });
    call.wait();
    EXPECT_TRUE(db->write_sync(insert(2)));
    EXPECT_EQ(count(*db, "item"), 2);
}

TEST_F(storage_sqlite_database, DoneRunsAfterTheCommitIsVisibleToOtherConnections) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    auto seen = std::make_shared<std::promise<int>>();
    auto count_seen = seen->get_future();
    db->write(insert(1), [seen, file = db_path_](const Result<void>& result) {
        EXPECT_TRUE(result.ok());
        // A connection of its own, outside the database object: only a committed row shows.
        sqlite3* raw = nullptr;
        int n = -1;
        if (sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
            sqlite3_stmt* stmt = nullptr;
            sqlite3_prepare_v2(raw, "SELECT COUNT(*) FROM item", -1, &stmt, nullptr);
            if (sqlite3_step(stmt) == SQLITE_ROW) {
                n = sqlite3_column_int(stmt, 0);
            }
            sqlite3_finalize(stmt);
        }
        sqlite3_close(raw);
        seen->set_value(n);
    });
    EXPECT_EQ(count_seen.get(), 1);
}

TEST_F(storage_sqlite_database, WritesSurviveCloseAndReopen) {
    {
        auto db = open_db();
        ASSERT_TRUE(db);
        ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
        ASSERT_TRUE(db->write_sync(insert(7)));
    }
    auto db = open_db();
    ASSERT_TRUE(db);
    EXPECT_EQ(count(*db, "item"), 1);
}

TEST_F(storage_sqlite_database, ReadIsOneSnapshot) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    ASSERT_TRUE(db->write_sync(insert(1)));
    ASSERT_TRUE(db->read([&](Transaction& t) -> Result<void> {
        EXPECT_EQ((*t.query("SELECT COUNT(*) FROM item"))[0].integer(0), 1);
        EXPECT_TRUE(db->write_sync(insert(2)));  // commits on the writer meanwhile
        EXPECT_EQ((*t.query("SELECT COUNT(*) FROM item"))[0].integer(0), 1);
        return {};
    }));
    EXPECT_EQ(count(*db, "item"), 2);
}

TEST_F(storage_sqlite_database, ReadsRefuseWrites) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    for (const char* sql : {"INSERT INTO item(id) VALUES (1)", "DELETE FROM item", "CREATE TABLE other(x)",
                            "CREATE TEMP TABLE scratch(x)"}) {
        auto result = db->read([&](Transaction& t) -> Result<void> {
            auto done = t.execute(sql);
            if (!done) {
                return done.error();
            }
            return {};
        });
        ASSERT_FALSE(result) << sql;
        EXPECT_EQ(result.error().code, "storage.error") << sql;
    }
    EXPECT_EQ(count(*db, "item"), 0);
}

TEST_F(storage_sqlite_database, WorkMayNotControlTheTransaction) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    for (const char* sql :
         {"COMMIT", "  -- sneaky\n rollback", "/* x */ SAVEPOINT s", "RELEASE unit", "END", "BEGIN"}) {
        auto write = db->write_sync([&](Transaction& t) -> Result<void> {
            EXPECT_TRUE(t.execute("INSERT INTO item(id) VALUES (1)"));
            auto done = t.execute(sql);
            if (!done) {
                return done.error();
            }
            return {};
        });
        ASSERT_FALSE(write) << sql;
        EXPECT_THAT(write.error().message, HasSubstr("may not control the transaction")) << sql;
        auto read = db->read([&](Transaction& t) -> Result<void> {
            auto done = t.query(sql);
            if (!done) {
                return done.error();
            }
            return {};
        });
        EXPECT_FALSE(read) << sql;
    }
    EXPECT_EQ(count(*db, "item"), 0);
}

TEST_F(storage_sqlite_database, ConstraintViolationsHaveTheirOwnCode) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE parent(id INTEGER PRIMARY KEY)"));
    ASSERT_TRUE(exec(*db, "CREATE TABLE child(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent(id))"));
    ASSERT_TRUE(exec(*db, "INSERT INTO parent(id) VALUES (1)"));

    auto unique = exec(*db, "INSERT INTO parent(id) VALUES (1)");
    ASSERT_FALSE(unique);
    EXPECT_EQ(unique.error().code, "storage.constraint");
    EXPECT_THAT(unique.error().message, HasSubstr("UNIQUE constraint failed"));
    EXPECT_THAT(unique.error().message, HasSubstr("INSERT INTO parent(id) VALUES (1)"));

    auto foreign = exec(*db, "INSERT INTO child(id, parent) VALUES (1, 99)");
    ASSERT_FALSE(foreign);
    EXPECT_EQ(foreign.error().code, "storage.constraint");
    EXPECT_THAT(foreign.error().message, HasSubstr("FOREIGN KEY"));
}

TEST_F(storage_sqlite_database, BadSqlIsAnErrorNotACrash) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    const std::string long_bad = "SELEKT " + std::string(200, 'x');
    auto syntax = exec(*db, long_bad);
    ASSERT_FALSE(syntax);
    EXPECT_EQ(syntax.error().code, "storage.error");
    EXPECT_THAT(syntax.error().message, HasSubstr("syntax error"));
    EXPECT_THAT(syntax.error().message, HasSubstr(long_bad.substr(0, 80)));
    EXPECT_THAT(syntax.error().message, ::testing::Not(HasSubstr(long_bad.substr(0, 81))));

    auto missing = exec(*db, "SELECT * FROM nowhere");
    ASSERT_FALSE(missing);
    EXPECT_THAT(missing.error().message, HasSubstr("no such table"));

    auto two = exec(*db, "INSERT INTO item(id) VALUES (1); INSERT INTO item(id) VALUES (2)");
    ASSERT_FALSE(two);
    EXPECT_THAT(two.error().message, HasSubstr("more than one statement"));

    EXPECT_TRUE(exec(*db, "INSERT INTO item(id) VALUES (3); -- trailing comment"));

    auto params = db->write_sync([](Transaction& t) -> Result<void> {
        const std::array<Value, 2> extra{std::int64_t{1}, std::int64_t{2}};
        auto done = t.execute("INSERT INTO item(id) VALUES (?)", extra);
        if (!done) {
            return done.error();
        }
        return {};
    });
    ASSERT_FALSE(params);
    EXPECT_THAT(params.error().message, HasSubstr("takes 1 parameters, got 2"));

    EXPECT_TRUE(db->write_sync(insert(4)));
    EXPECT_EQ(count(*db, "item"), 2);
}

TEST_F(storage_sqlite_database, ManyDistinctStatementsOutgrowTheCacheSafely) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    ASSERT_TRUE(db->write_sync([](Transaction& t) -> Result<void> {
        for (int i = 0; i < 300; ++i) {
            if (auto done = t.execute("INSERT INTO item(id) VALUES (" + std::to_string(i) + ")"); !done) {
                return done.error();
            }
        }
        return {};
    }));
    EXPECT_EQ(count(*db, "item"), 300);
}

TEST_F(storage_sqlite_database, CloseCommitsWhatIsQueued) {
    constexpr std::size_t writes = 100;
    Outcomes outcomes(writes);
    {
        auto db = open_db();
        ASSERT_TRUE(db);
        ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
        db->write(
            [](Transaction&) -> Result<void> {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                return {};
            },
            nullptr);
        for (std::size_t i = 0; i < writes; ++i) {
            db->write(insert(static_cast<std::int64_t>(i)), outcomes.done_for(i));
        }
        db->close();
        for (const auto& result : outcomes.wait()) {
            EXPECT_TRUE(result.ok());
        }
    }
    auto db = open_db();
    ASSERT_TRUE(db);
    EXPECT_EQ(count(*db, "item"), static_cast<std::int64_t>(writes));
}

TEST_F(storage_sqlite_database, UseAfterCloseIsAnError) {
    auto db = open_db();
    ASSERT_TRUE(db);
    db->close();
    db->close();  // idempotent
    std::optional<Result<void>> async;
    db->write([](Transaction&) -> Result<void> { return {}; }, [&](const Result<void>& result) { async = result; });
    ASSERT_TRUE(async.has_value());
    EXPECT_EQ(async->error().code, "storage.closed");
    auto sync = db->write_sync([](Transaction&) -> Result<void> { return {}; });
    ASSERT_FALSE(sync);
    EXPECT_EQ(sync.error().code, "storage.closed");
    auto read = db->read([](Transaction&) -> Result<void> { return {}; });
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, "storage.closed");
    const std::array<Migration, 1> migrations{{{1, "init", "CREATE TABLE a(x)"}}};
    EXPECT_FALSE(db->migrate("core", migrations));
    EXPECT_FALSE(db->check_integrity());
}

TEST_F(storage_sqlite_database, CloseWaitsForRunningReads) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    std::promise<void> reading;
    std::atomic<bool> read_finished{false};
    std::thread reader([&] {
        EXPECT_TRUE(db->read([&](Transaction& t) -> Result<void> {
            reading.set_value();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            EXPECT_TRUE(t.query("SELECT COUNT(*) FROM item"));
            read_finished = true;
            return {};
        }));
    });
    reading.get_future().wait();
    db->close();
    EXPECT_TRUE(read_finished);
    reader.join();
}

TEST_F(storage_sqlite_database, WriteSyncFromTheWriterThreadIsRefused) {
    auto db = open_db();
    ASSERT_TRUE(db);
    auto nested = std::make_shared<std::promise<Result<void>>>();
    auto nested_result = nested->get_future();
    db->write([](Transaction&) -> Result<void> { return {}; },
              [nested, &db](const Result<void>&) {
                  nested->set_value(db->write_sync([](Transaction&) -> Result<void> { return {}; }));
              });
    auto result = nested_result.get();
    ASSERT_FALSE(result);
    EXPECT_THAT(result.error().message, HasSubstr("writer thread"));
}

TEST_F(storage_sqlite_database, QuickCheckPassesOnAHealthyDatabase) {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(exec(*db, "CREATE TABLE item(id INTEGER PRIMARY KEY)"));
    EXPECT_TRUE(db->check_integrity());
}

TEST_F(storage_sqlite_database, QuickCheckReportsACorruptedFile) {
    {
        auto db = open_db();
        ASSERT_TRUE(db);
        ASSERT_TRUE(exec(*db, "CREATE TABLE reading(meter INTEGER, start INTEGER, wh INTEGER, note TEXT)"));
        ASSERT_TRUE(exec(*db, "CREATE INDEX reading_start ON reading(start)"));
        ASSERT_TRUE(db->write_sync([](Transaction& t) -> Result<void> {
            for (std::int64_t i = 0; i < 5000; ++i) {
                const std::array<Value, 4> row{i % 7, i * 900, i * 3, std::string(40, 'n')};
                if (auto done = t.execute("INSERT INTO reading VALUES (?, ?, ?, ?)", row); !done) {
                    return done.error();
                }
            }
            return {};
        }));
    }
    // Scribble over pages in the middle of the file, leaving the header and schema page intact.
    const auto size = std::filesystem::file_size(db_path_);
    ASSERT_GT(size, 40U * 4096U);
    {
        std::fstream file(db_path_, std::ios::in | std::ios::out | std::ios::binary);
        for (std::uintmax_t page = 10; page < 30; page += 3) {
            file.seekp(static_cast<std::streamoff>(page * 4096));
            const std::string junk(4096, '\x5a');
            file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
        }
    }
    auto db = open_db();
    ASSERT_TRUE(db);
    auto result = db->check_integrity();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, "storage.integrity");
    EXPECT_FALSE(result.error().message.empty());
}

TEST_F(storage_sqlite_database, InvalidOptionsAreRefused) {
    EXPECT_FALSE(SqliteDatabase::open(db_path_, {.reader_connections = 0}));
    EXPECT_FALSE(SqliteDatabase::open(db_path_, {.max_units_per_commit = 0}));
}

}  // namespace
}  // namespace headend::storage::testing
