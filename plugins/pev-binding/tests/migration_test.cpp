// Schema changes keep what was stored: the clone alarms of pev-binding's own table move to the head-end's alarm log
// (migration 4) with their time, kind, VIN, LFDI, premises and detail.
#include <gtest/gtest.h>

#include "binding/service.hpp"
#include "headend/core/alarm_store.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"

namespace binding {
namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

TEST(BindingMigrations, CloneAlarmsMoveToTheAlarmLogAndTheOldTableGoes) {
    headend::testing::TempDir dir;
    auto opened = headend::storage::SqliteDatabase::open(dir.path() / "db.sqlite");
    ASSERT_TRUE(opened);
    auto& database = **opened;
    ASSERT_TRUE(database.migrate("alarms", headend::core::alarm_migrations()));
    const auto all = binding_migrations();
    ASSERT_GE(all.size(), 4U);
    // The schema as it was before the move, with an alarm in it.
    ASSERT_TRUE(database.migrate("pev-binding", std::span(all).first(3)));
    ASSERT_TRUE(database.write_sync([](Transaction& tx) -> Result<void> {
        auto inserted = tx.execute(
            "INSERT INTO alarms(at, kind, vin, lfdi, premises_id, detail) VALUES (?, 'clone_vin', ?, ?, 'P1', ?)",
            std::vector<Value>{std::int64_t{1700000000}, std::string("1HGCM82633A004352"), std::string(40, 'C'),
                               std::string("another LFDI claims the VIN")});
        if (!inserted)
            return inserted.error();
        return {};
    }));
    ASSERT_TRUE(database.migrate("pev-binding", std::span(all).first(4)));
    ASSERT_TRUE(database.read([](Transaction& tx) -> Result<void> {
        auto rows =
            tx.query("SELECT raised_at, source, kind, vin, lfdi, premises_id, detail, cleared_at FROM alarms_log");
        EXPECT_TRUE(rows);
        EXPECT_EQ(rows->size(), 1U);
        const auto& row = rows->front();
        EXPECT_EQ(row.integer(0), 1700000000);
        EXPECT_EQ(row.text(1), "pev-binding");
        EXPECT_EQ(row.text(2), "clone_vin");
        EXPECT_EQ(row.text(3), "1HGCM82633A004352");
        EXPECT_EQ(row.text(4), std::string(40, 'C'));
        EXPECT_EQ(row.text(5), "P1");
        EXPECT_EQ(row.text(6), "another LFDI claims the VIN");
        EXPECT_TRUE(row.is_null(7));
        EXPECT_FALSE(tx.query("SELECT 1 FROM alarms"));  // the plugin's own table is gone
        return {};
    }));
}

}  // namespace
}  // namespace binding
