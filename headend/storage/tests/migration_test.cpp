#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "test_support.hpp"

namespace headend::storage::testing {
namespace {

// Lower-case suite names, so that `ctest -R storage` selects these tests.
using storage_migration = StorageTest;

using ::testing::HasSubstr;

struct Applied {
    std::int64_t version;
    std::string description;
    std::int64_t applied_at;
};

std::vector<Applied> applied(SqliteDatabase& db, const std::string& component) {
    std::vector<Applied> out;
    auto done = db.read([&](Transaction& t) -> Result<void> {
        const std::array<Value, 1> params{component};
        auto rows = t.query(
            "SELECT version, description, applied_at FROM schema_migrations WHERE component = ? ORDER BY version",
            params);
        if (!rows) {
            return rows.error();
        }
        for (const auto& row : *rows) {
            out.push_back({row.integer(0), row.text(1), row.integer(2)});
        }
        return {};
    });
    EXPECT_TRUE(done.ok()) << (done ? "" : done.error().message);
    return out;
}

bool table_exists(SqliteDatabase& db, const std::string& table) {
    bool exists = false;
    EXPECT_TRUE(db.read([&](Transaction& t) -> Result<void> {
        const std::array<Value, 1> params{table};
        auto rows = t.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", params);
        if (!rows) {
            return rows.error();
        }
        exists = !rows->empty();
        return {};
    }));
    return exists;
}

std::vector<Migration> meter_migrations() {
    return {
        {1, "meters", "CREATE TABLE meter(id INTEGER PRIMARY KEY, lfdi TEXT NOT NULL UNIQUE);"},
        {2, "readings",
         "CREATE TABLE reading(meter INTEGER NOT NULL REFERENCES meter(id), start INTEGER NOT NULL, wh INTEGER NOT "
         "NULL,\n"
         "                     PRIMARY KEY(meter, start));\n"
         "-- lookups by time\n"
         "CREATE INDEX reading_start ON reading(start);"},
    };
}

TEST_F(storage_migration, MigrateAppliesEveryVersionOnAFreshDatabase) {
    const auto all = meter_migrations();
    auto db = open_db();
    ASSERT_TRUE(db);
    auto result = db->migrate("metering", all);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_TRUE(table_exists(*db, "meter"));
    EXPECT_TRUE(table_exists(*db, "reading"));
    const auto versions = applied(*db, "metering");
    ASSERT_EQ(versions.size(), 2U);
    EXPECT_EQ(versions[0].version, 1);
    EXPECT_EQ(versions[0].description, "meters");
    EXPECT_EQ(versions[1].version, 2);
    EXPECT_GT(versions[1].applied_at, 1'600'000'000);
}

TEST_F(storage_migration, MigrateAgainChangesNothing) {
    const auto all = meter_migrations();
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("metering", all));
    const auto first = applied(*db, "metering");
    const auto before = db->stats();
    ASSERT_TRUE(db->migrate("metering", all));
    EXPECT_EQ(db->stats().units - before.units, 1U);  // only the version check
    const auto second = applied(*db, "metering");
    ASSERT_EQ(second.size(), first.size());
    EXPECT_EQ(second[1].applied_at, first[1].applied_at);
}

TEST_F(storage_migration, MigrateAppliesOnlyNewVersionsAfterAnUpgrade) {
    const auto all = meter_migrations();
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("metering", std::span(all).first(1)));
    EXPECT_FALSE(table_exists(*db, "reading"));
    ASSERT_TRUE(db->migrate("metering", all));
    EXPECT_TRUE(table_exists(*db, "reading"));
    EXPECT_EQ(applied(*db, "metering").size(), 2U);
}

TEST_F(storage_migration, ComponentsKeepTheirOwnVersions) {
    const auto all = meter_migrations();
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("metering", all));
    const std::vector<Migration> billing{{1, "ledger", "CREATE TABLE ledger(id INTEGER PRIMARY KEY)"}};
    ASSERT_TRUE(db->migrate("billing", billing));
    EXPECT_EQ(applied(*db, "billing").size(), 1U);
    EXPECT_EQ(applied(*db, "metering").size(), 2U);
}

TEST_F(storage_migration, MigrationListsWithGapsOrRepeatsAreRefused) {
    auto db = open_db();
    ASSERT_TRUE(db);
    const std::vector<std::vector<Migration>> bad{
        {{1, "a", "CREATE TABLE a(x)"}, {3, "c", "CREATE TABLE c(x)"}},
        {{1, "a", "CREATE TABLE a(x)"}, {1, "again", "CREATE TABLE b(x)"}},
        {{2, "b", "CREATE TABLE b(x)"}},
    };
    for (const auto& migrations : bad) {
        auto result = db->migrate("plugin-x", migrations);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, "storage.migration");
        EXPECT_THAT(result.error().message, HasSubstr("plugin-x"));
        EXPECT_THAT(result.error().message, HasSubstr("has version"));
    }
    EXPECT_FALSE(table_exists(*db, "a"));
    EXPECT_FALSE(table_exists(*db, "b"));
}

TEST_F(storage_migration, DatabaseNewerThanTheCodeIsRefused) {
    const auto all = meter_migrations();
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("metering", all));
    auto result = db->migrate("metering", std::span(all).first(1));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, "storage.migration");
    EXPECT_THAT(result.error().message, HasSubstr("metering"));
    EXPECT_THAT(result.error().message, HasSubstr("version 2"));
    EXPECT_THAT(result.error().message, HasSubstr("(1)"));
}

TEST_F(storage_migration, FailingMigrationLeavesNothingHalfApplied) {
    auto db = open_db();
    ASSERT_TRUE(db);
    std::vector<Migration> migrations{
        {1, "meters", "CREATE TABLE meter(id INTEGER PRIMARY KEY)"},
        {2, "broken", "CREATE TABLE half(x); INSERT INTO nowhere VALUES (1);"},
        {3, "never", "CREATE TABLE never(x)"},
    };
    auto result = db->migrate("metering", migrations);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, "storage.migration");
    EXPECT_THAT(result.error().message, HasSubstr("migration 2 (broken)"));
    EXPECT_THAT(result.error().message, HasSubstr("no such table: nowhere"));
    EXPECT_EQ(applied(*db, "metering").size(), 1U);
    EXPECT_TRUE(table_exists(*db, "meter"));
    EXPECT_FALSE(table_exists(*db, "half"));
    EXPECT_FALSE(table_exists(*db, "never"));

    migrations[1].sql = "CREATE TABLE half(x)";
    ASSERT_TRUE(db->migrate("metering", migrations));
    EXPECT_EQ(applied(*db, "metering").size(), 3U);
}

TEST_F(storage_migration, MigrationMayNotControlTheTransaction) {
    auto db = open_db();
    ASSERT_TRUE(db);
    const std::vector<Migration> migrations{{1, "sneaky", "CREATE TABLE a(x); COMMIT; CREATE TABLE b(x);"}};
    auto result = db->migrate("metering", migrations);
    ASSERT_FALSE(result);
    EXPECT_THAT(result.error().message, HasSubstr("may not control the transaction"));
    EXPECT_FALSE(table_exists(*db, "a"));
    EXPECT_TRUE(applied(*db, "metering").empty());
}

TEST_F(storage_migration, MigrationsSurviveReopen) {
    const auto all = meter_migrations();
    {
        auto db = open_db();
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->migrate("metering", all));
    }
    auto db = open_db();
    ASSERT_TRUE(db);
    const auto before = db->stats();
    ASSERT_TRUE(db->migrate("metering", all));
    EXPECT_EQ(db->stats().units - before.units, 1U);
}

}  // namespace
}  // namespace headend::storage::testing
