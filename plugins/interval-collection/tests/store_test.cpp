// Intervals in a real SQLite file: stored once per (mirror meter reading, start), repeats are no-ops, conflicting
// values are kept aside with one alarm and never overwrite, an actual replaces an estimate and the estimate is kept;
// register readings and the sum check of the intervals between them.
#include "store.hpp"

#include "correlation.hpp"
#include "sum_check.hpp"

#include <gtest/gtest.h>

#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"

namespace intervals {
namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kStart = 1'764'547'200;
constexpr std::uint32_t kQuarter = 900;

class IntervalStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto migrations = store::migrations();
        ASSERT_TRUE(database_->migrate("interval-collection", migrations));
        mirror_.owner_device_id = 7;
        mirror_.premises_id = "P1";
        mirror_.document.mrid = "0123456789ABCDEF0123456789ABCDEF";
        mirror_.document.device_lfdi = std::string(40, 'A');
        mirror_.document.role_flags = sep::kRoleIsMirror | sep::kRoleIsPev | sep::kRoleIsSubmeter;
        meter_reading_.mrid = "0123456789ABCDEF0123456789ABCDE0";
        meter_reading_.reading_type.accumulation_behaviour = kAccumulationDeltaData;
        meter_reading_.reading_type.interval_length = kQuarter;
        meter_reading_.reading_type.kind = kKindEnergy;
        meter_reading_.reading_type.uom = kUomWattHours;
        meter_reading_.reading_type.power_of_ten_multiplier = 0;
        meter_reading_.type = {kQuarter, 0};
        ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto mirror = store::insert_mirror(tx, mirror_);
            if (!mirror)
                return mirror.error();
            mirror_.id = *mirror;
            meter_reading_.mirror_id = *mirror;
            auto reading = store::insert_meter_reading(tx, meter_reading_, kStart);
            if (!reading)
                return reading.error();
            meter_reading_.id = *reading;
            return {};
        }));
    }

    store::Applied apply(const std::vector<IntervalReading>& readings) {
        store::Applied applied;
        auto written = database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto result = store::apply(tx, alarms_, {mirror_, meter_reading_, "device", ++at_, days_}, readings);
            if (!result)
                return result.error();
            applied = *result;
            return {};
        });
        EXPECT_TRUE(written) << written.error().message;
        return applied;
    }

    // (start, value, quality, version) of every stored interval, and how many old versions and conflicts are kept.
    std::vector<std::vector<std::int64_t>> rows(const std::string& sql) {
        std::vector<std::vector<std::int64_t>> found;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> Result<void> {
            auto result = tx.query(sql);
            if (!result)
                return result.error();
            for (const auto& row : *result) {
                std::vector<std::int64_t> values;
                for (std::size_t i = 0; i < row.size(); ++i)
                    values.push_back(row.integer(i));
                found.push_back(values);
            }
            return {};
        }));
        return found;
    }
    std::vector<std::vector<std::int64_t>> intervals() {
        return rows("SELECT start_at, value_wh, quality_flags, version FROM intervals ORDER BY start_at");
    }

    headend::testing::TempDir dir_;
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    headend::testing::FakeAlarms alarms_;
    calendar::LocalDays days_{"America/Los_Angeles"};
    store::Mirror mirror_;
    store::MeterReading meter_reading_;
    std::int64_t at_ = kStart;
};

IntervalReading actual(std::int64_t start, std::int64_t wh) {
    return {start, kQuarter, wh, 0};
}
IntervalReading estimate(std::int64_t start, std::int64_t wh) {
    return {start, kQuarter, wh, kQualityInterpolated};
}

TEST_F(IntervalStoreTest, NewIntervalsAreStoredAndTheSameAgainChangesNothing) {
    const std::vector<IntervalReading> batch = {actual(kStart, 1800), actual(kStart + 900, 1750)};
    auto first = apply(batch);
    EXPECT_EQ(first.stored, 2U);
    const auto before = intervals();
    auto again = apply(batch);
    EXPECT_EQ(again.stored, 0U);
    EXPECT_EQ(again.unchanged, 2U);
    EXPECT_EQ(intervals(), before);
    EXPECT_EQ(before, (std::vector<std::vector<std::int64_t>>{{kStart, 1800, 0, 1}, {kStart + 900, 1750, 0, 1}}));
    EXPECT_TRUE(alarms_.raised.empty());
}

TEST_F(IntervalStoreTest, AConflictingValueIsKeptAsideWithOneAlarmAndNeverOverwrites) {
    apply({actual(kStart, 1800)});
    auto conflict = apply({actual(kStart, 1900)});
    EXPECT_EQ(conflict.conflicts, 1U);
    apply({actual(kStart, 1900)});  // the same conflicting resend: no second alarm
    EXPECT_EQ(intervals(), (std::vector<std::vector<std::int64_t>>{{kStart, 1800, 0, 1}}));
    ASSERT_EQ(alarms_.raised.size(), 1U);
    EXPECT_EQ(alarms_.raised[0].kind, "interval_conflict");
    EXPECT_EQ(alarms_.raised[0].premises_id, "P1");
    EXPECT_EQ(alarms_.raised[0].lfdi, mirror_.document.device_lfdi);
    EXPECT_NE(alarms_.raised[0].detail.find("1900 Wh received, 1800 Wh stored"), std::string::npos);
    EXPECT_EQ(rows("SELECT start_at, value_wh FROM interval_conflicts"),
              (std::vector<std::vector<std::int64_t>>{{kStart, 1900}}));
    apply({actual(kStart, 2000)});  // another value: another alarm
    EXPECT_EQ(alarms_.raised.size(), 2U);
}

TEST_F(IntervalStoreTest, AnActualReplacesAnEstimateWhichIsKeptAsAVersion) {
    apply({estimate(kStart, 1000)});
    auto replaced = apply({actual(kStart, 1200)});
    EXPECT_EQ(replaced.replaced, 1U);
    EXPECT_EQ(intervals(), (std::vector<std::vector<std::int64_t>>{{kStart, 1200, 0, 2}}));
    EXPECT_EQ(rows("SELECT start_at, version, value_wh, quality_flags FROM interval_versions"),
              (std::vector<std::vector<std::int64_t>>{{kStart, 1, 1000, kQualityInterpolated}}));
    // Once the actual stands, an estimate changes nothing and an equal actual is a no-op.
    EXPECT_EQ(apply({estimate(kStart, 900)}).unchanged, 1U);
    EXPECT_EQ(apply({actual(kStart, 1200)}).unchanged, 1U);
    EXPECT_EQ(intervals(), (std::vector<std::vector<std::int64_t>>{{kStart, 1200, 0, 2}}));
    EXPECT_TRUE(alarms_.raised.empty());
}

TEST_F(IntervalStoreTest, AnotherMeterReadingsIntervalAtTheSameStartDoesNotCollide) {
    apply({actual(kStart, 1800)});
    store::MeterReading other = meter_reading_;
    other.mrid = "0123456789ABCDEF0123456789ABCDE1";
    ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
        auto id = store::insert_meter_reading(tx, other, kStart);
        if (!id)
            return id.error();
        other.id = *id;
        auto applied = store::apply(tx, alarms_, {mirror_, other, "device", kStart, days_}, {actual(kStart, 500)});
        if (!applied)
            return applied.error();
        EXPECT_EQ(applied->stored, 1U);
        return {};
    }));
    EXPECT_EQ(rows("SELECT mmr_id, value_wh FROM intervals ORDER BY mmr_id"),
              (std::vector<std::vector<std::int64_t>>{{meter_reading_.id, 1800}, {other.id, 500}}));
}

TEST_F(IntervalStoreTest, TheMirrorAndItsReadingTypeReadBackAsStored) {
    ASSERT_TRUE(database_->read([&](Transaction& tx) -> Result<void> {
        auto mirror = store::mirror_by_mrid(tx, mirror_.owner_device_id, mirror_.document.mrid);
        auto others = store::mirror_by_mrid(tx, mirror_.owner_device_id + 1, mirror_.document.mrid);
        EXPECT_TRUE(others && !*others);
        EXPECT_TRUE(mirror && *mirror);
        EXPECT_EQ((*mirror)->id, mirror_.id);
        EXPECT_EQ((*mirror)->document.href, "/mup/" + std::to_string(mirror_.id));
        EXPECT_EQ((*mirror)->document.role_flags, mirror_.document.role_flags);
        auto reading = store::meter_reading(tx, mirror_.id, meter_reading_.mrid);
        EXPECT_TRUE(reading && *reading);
        EXPECT_EQ((*reading)->reading_type, meter_reading_.reading_type);
        EXPECT_EQ((*reading)->type, meter_reading_.type);
        auto none = store::meter_reading(tx, mirror_.id, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        EXPECT_TRUE(none && !*none);
        return {};
    }));
}

TEST_F(IntervalStoreTest, EveryValueAnIntervalTakesIsLoggedOnceInCommitOrderWithItsValueThen) {
    apply({estimate(kStart, 1000), actual(kStart + 900, 1750)});
    apply({estimate(kStart, 1000), actual(kStart + 900, 1750)});  // repeats: no change
    apply({actual(kStart + 900, 1900)});                          // a conflict: not a change
    apply({actual(kStart, 1800)});                                // the actual replaces the estimate
    // (change, start, value then, quality then, version): the estimate's value stays readable under its change.
    // The first and the next change of the same interval (0: none) tell a correction and a superseded value.
    EXPECT_EQ(rows("SELECT change_id, start_at, value_wh, quality_flags, version, first_change, "
                   "COALESCE(next_change, 0) FROM interval_changes_v1 ORDER BY change_id"),
              (std::vector<std::vector<std::int64_t>>{{1, kStart, 1000, kQualityInterpolated, 1, 1, 3},
                                                      {2, kStart + 900, 1750, 0, 1, 2, 0},
                                                      {3, kStart, 1800, 0, 2, 1, 0}}));
    EXPECT_EQ(rows("SELECT last_change FROM interval_changes_head_v1"), (std::vector<std::vector<std::int64_t>>{{3}}));
}

// A database from before the change log: its intervals (and kept versions) enter the log in the order received.
TEST(IntervalChangeLog, ExistingIntervalsAndVersionsAreLoggedByTheMigration) {
    headend::testing::TempDir dir;
    auto opened = headend::storage::SqliteDatabase::open(dir.path() / "db.sqlite");
    ASSERT_TRUE(opened);
    auto& database = **opened;
    const auto migrations = store::migrations();
    ASSERT_TRUE(database.migrate("interval-collection", std::span(migrations).first(1)));
    ASSERT_TRUE(database.write_sync([](Transaction& tx) -> Result<void> {
        for (const char* sql :
             {"INSERT INTO mirror_usage_points VALUES (1, 'M', 7, 'P1', 'L', 13, 0, 0, NULL, NULL, NULL, 0)",
              "INSERT INTO mirror_meter_readings VALUES (1, 1, 'R', NULL, 4, NULL, NULL, NULL, 900, 12, NULL, 0, 72, "
              "0)",
              "INSERT INTO intervals VALUES (1, 900, 900, 0, 5, 0, 2, 'device', 30, 0)",
              "INSERT INTO intervals VALUES (1, 1800, 900, 0, 6, 0, 1, 'device', 20, 0)",
              "INSERT INTO interval_versions VALUES (1, 900, 1, 4, 8, 'vee', 10, 30)"}) {
            if (auto done = tx.execute(sql); !done)
                return done.error();
        }
        return {};
    }));
    ASSERT_TRUE(database.migrate("interval-collection", migrations));
    std::vector<std::vector<std::int64_t>> logged;
    ASSERT_TRUE(database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT change_id, start_at, value_wh, version FROM interval_changes_v1 ORDER BY 1");
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            logged.push_back({row.integer(0), row.integer(1), row.integer(2), row.integer(3)});
        return {};
    }));
    EXPECT_EQ(logged, (std::vector<std::vector<std::int64_t>>{{1, 900, 4, 1}, {2, 1800, 6, 1}, {3, 900, 5, 2}}));
}

// Load correlation against the stored mismatches: one found while the premises meter's interval was an estimate is
// cleared once the meter's actual makes the interval consistent, and only then.
TEST_F(IntervalStoreTest, ALoadMismatchIsClearedWhenTheMetersActualMakesItConsistent) {
    store::Mirror meter = mirror_;
    meter.document.mrid = "0123456789ABCDEF0123456789ABCD00";
    meter.document.role_flags = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;
    store::MeterReading meter_reading = meter_reading_;
    meter_reading.mrid = "0123456789ABCDEF0123456789ABCD01";
    const auto store_and_correlate = [&](const store::Mirror& mirror, const store::MeterReading& reading,
                                         const IntervalReading& interval) {
        std::size_t found = 0;
        EXPECT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto applied = store::apply(tx, alarms_, {mirror, reading, "device", ++at_, days_}, {interval});
            if (!applied)
                return applied.error();
            auto correlated = correlate(tx, alarms_, "P1", {{interval.start, interval.duration}}, {}, at_);
            if (!correlated)
                return correlated.error();
            found = *correlated;
            return {};
        }));
        return found;
    };
    ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
        auto id = store::insert_mirror(tx, meter);
        if (!id)
            return id.error();
        meter.id = *id;
        meter_reading.mirror_id = *id;
        auto reading = store::insert_meter_reading(tx, meter_reading, kStart);
        if (!reading)
            return reading.error();
        meter_reading.id = *reading;
        return {};
    }));
    const auto mismatches = [&] { return rows("SELECT start_at, pev_wh, premises_wh FROM load_mismatches"); };
    EXPECT_EQ(store_and_correlate(meter, meter_reading, estimate(kStart, 500)), 0U);
    EXPECT_EQ(store_and_correlate(mirror_, meter_reading_, actual(kStart, 1800)), 1U);
    EXPECT_EQ(mismatches(), (std::vector<std::vector<std::int64_t>>{{kStart, 1800, 500}}));
    // The PEV's interval again: still a mismatch, still one record.
    EXPECT_EQ(store_and_correlate(mirror_, meter_reading_, actual(kStart, 1800)), 1U);
    EXPECT_EQ(mismatches().size(), 1U);
    // The meter's actual, 2000 Wh, replaces its estimate: consistent, the record goes.
    EXPECT_EQ(store_and_correlate(meter, meter_reading, actual(kStart, 2000)), 0U);
    EXPECT_TRUE(mismatches().empty());
}

// A register (the meter's running total) beside the interval series of the same mirror.
class SumCheckTest : public IntervalStoreTest {
protected:
    void add_register(std::int8_t power) {
        register_.mirror_id = mirror_.id;
        register_.mrid = "0123456789ABCDEF0123456789ABCDE1";
        register_.reading_type.accumulation_behaviour = kAccumulationSummation;
        register_.reading_type.kind = kKindEnergy;
        register_.reading_type.uom = kUomWattHours;
        register_.reading_type.power_of_ten_multiplier = power;
        register_.type = {0, power};
        ASSERT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto id = store::insert_meter_reading(tx, register_, kStart);
            if (!id)
                return id.error();
            register_.id = *id;
            return {};
        }));
    }

    // Stores register readings (values already in Wh), then checks the spans they touch, as ingest does.
    Result<std::size_t> post_registers(const std::vector<RegisterReading>& readings) {
        std::size_t failures = 0;
        auto written = database_->write_sync([&](Transaction& tx) -> Result<void> {
            const store::Origin origin{mirror_, register_, "device", ++at_, days_};
            if (auto grid = check_register_grid(tx, mirror_.id, readings); !grid)
                return grid;
            auto applied = apply_registers(tx, alarms_, origin, readings);
            if (!applied)
                return applied.error();
            last_registers_ = *applied;
            auto failed = check_sums(tx, alarms_, mirror_, readings.front().at, readings.back().at, {10}, at_);
            if (!failed)
                return failed.error();
            failures = *failed;
            return {};
        });
        if (!written)
            return written.error();
        return failures;
    }

    // Stores intervals, then checks the spans they touch, as ingest does.
    std::size_t post_intervals(const std::vector<IntervalReading>& readings) {
        apply(readings);
        std::size_t failures = 0;
        EXPECT_TRUE(database_->write_sync([&](Transaction& tx) -> Result<void> {
            auto failed = check_sums(tx, alarms_, mirror_, readings.front().start,
                                     readings.back().start + readings.back().duration, {10}, at_);
            if (!failed)
                return failed.error();
            failures = *failed;
            return {};
        }));
        return failures;
    }

    std::vector<std::vector<std::int64_t>> checks() {
        return rows("SELECT from_at, to_at, register_wh, interval_wh, passed FROM sum_checks ORDER BY from_at");
    }
    std::vector<std::vector<std::int64_t>> flagged() {
        return rows("SELECT start_at FROM intervals WHERE (vee_flags & 4) <> 0 ORDER BY start_at");
    }

    store::MeterReading register_;
    RegistersApplied last_registers_;
};

TEST_F(SumCheckTest, IntervalsThatAddUpToTheRegistersChangePassAndFlagNothing) {
    add_register(0);
    post_intervals({actual(kStart, 1800), actual(kStart + 900, 1750), actual(kStart + 1800, 1700)});
    // One register reading at a time, as a meter sends them: the second closes the span.
    ASSERT_TRUE(post_registers({{kStart, 100'000}}));
    auto failed = post_registers({{kStart + 2700, 105'250}});
    ASSERT_TRUE(failed) << failed.error().message;
    EXPECT_EQ(*failed, 0U);
    EXPECT_EQ(last_registers_.stored, 1U);
    EXPECT_EQ(checks(), (std::vector<std::vector<std::int64_t>>{{kStart, kStart + 2700, 5250, 5250, 1}}));
    EXPECT_TRUE(flagged().empty());
    EXPECT_TRUE(alarms_.raised.empty());
}

TEST_F(SumCheckTest, AMismatchFlagsTheSpansIntervalsWithOneAlarmAndIsCheckedOnce) {
    add_register(0);
    post_intervals({actual(kStart, 1800), actual(kStart + 900, 1750), actual(kStart + 1800, 1700)});
    // 5250 Wh in the intervals, 5300 by the register: 50 Wh off, beyond 1 Wh resolution + 10 Wh tolerance.
    auto failed = post_registers({{kStart, 100'000}, {kStart + 2700, 105'300}});
    ASSERT_TRUE(failed);
    EXPECT_EQ(*failed, 1U);
    EXPECT_EQ(checks(), (std::vector<std::vector<std::int64_t>>{{kStart, kStart + 2700, 5300, 5250, 0}}));
    EXPECT_EQ(flagged(), (std::vector<std::vector<std::int64_t>>{{kStart}, {kStart + 900}, {kStart + 1800}}));
    ASSERT_EQ(alarms_.raised.size(), 1U);
    EXPECT_EQ(alarms_.raised[0].kind, "sum_check");
    EXPECT_NE(alarms_.raised[0].detail.find("5300 Wh"), std::string::npos) << alarms_.raised[0].detail;
    EXPECT_NE(alarms_.raised[0].detail.find("5250 Wh"), std::string::npos);
    // The same registers and intervals again: nothing checked twice, no second alarm.
    auto again = post_registers({{kStart, 100'000}, {kStart + 2700, 105'300}});
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0U);
    EXPECT_EQ(last_registers_.unchanged, 2U);
    EXPECT_EQ(post_intervals({actual(kStart + 900, 1750)}), 0U);
    EXPECT_EQ(checks().size(), 1U);
    EXPECT_EQ(alarms_.raised.size(), 1U);
}

TEST_F(SumCheckTest, ASpanWithAGapOrAnEstimateWaitsForItsActualReadings) {
    add_register(0);
    post_intervals({actual(kStart, 1800), estimate(kStart + 900, 1750)});
    auto failed = post_registers({{kStart, 0}, {kStart + 2700, 5300}});
    ASSERT_TRUE(failed);
    EXPECT_EQ(*failed, 0U);
    EXPECT_TRUE(checks().empty()) << "the last interval is missing, the second an estimate";
    EXPECT_EQ(post_intervals({actual(kStart + 1800, 1700)}), 0U);
    EXPECT_TRUE(checks().empty()) << "still an estimate in the span";
    // The actual replaces the estimate: 1800 + 1800 + 1700 = 5300, the register's change.
    EXPECT_EQ(post_intervals({actual(kStart + 900, 1800)}), 0U);
    EXPECT_EQ(checks(), (std::vector<std::vector<std::int64_t>>{{kStart, kStart + 2700, 5300, 5300, 1}}));
}

TEST_F(SumCheckTest, AKwhRegisterIsHeldOnlyToItsResolution) {
    add_register(3);
    post_intervals({actual(kStart, 1800), actual(kStart + 900, 1750), actual(kStart + 1800, 1700),
                    actual(kStart + 2700, 1700), actual(kStart + 3600, 1700)});
    // Register 10 kWh → 12 kWh → 16 kWh: 2000 Wh against 5250 Wh (off by 3250 Wh, beyond 1000 + 10) fails; then 4000
    // against 3400 (600 Wh off, within a 1 kWh register's resolution) passes.
    auto failed = post_registers({{kStart, 10'000}, {kStart + 2700, 12'000}, {kStart + 4500, 16'000}});
    ASSERT_TRUE(failed);
    EXPECT_EQ(*failed, 1U);
    EXPECT_EQ(checks(), (std::vector<std::vector<std::int64_t>>{{kStart, kStart + 2700, 2000, 5250, 0},
                                                                {kStart + 2700, kStart + 4500, 4000, 3400, 1}}));
}

TEST_F(SumCheckTest, AConflictingTotalKeepsTheFirstWithOneAlarm) {
    add_register(0);
    ASSERT_TRUE(post_registers({{kStart, 100}}));
    ASSERT_TRUE(post_registers({{kStart, 200}}));
    EXPECT_EQ(last_registers_.conflicts, 1U);
    ASSERT_TRUE(post_registers({{kStart, 200}}));
    EXPECT_EQ(rows("SELECT read_at, value_wh FROM register_readings"),
              (std::vector<std::vector<std::int64_t>>{{kStart, 100}}));
    ASSERT_EQ(alarms_.raised.size(), 1U);
    EXPECT_EQ(alarms_.raised[0].kind, "register_conflict");
}

TEST_F(SumCheckTest, AMirrorHasOneRegisterAndANewSeriesMustFitItsStoredInstants) {
    add_register(0);
    ASSERT_TRUE(post_registers({{kStart, 100}, {kStart + 900, 200}}));
    const auto check = [&](const IntervalType& type) {
        Result<void> fits;
        EXPECT_TRUE(database_->read([&](Transaction& tx) -> Result<void> {
            fits = check_new_meter_reading(tx, mirror_.id, type);
            return {};
        }));
        return fits;
    };
    auto second_register = check({0, 3});
    ASSERT_FALSE(second_register);
    EXPECT_NE(second_register.error().message.find("one register per mirror"), std::string::npos);
    auto hourly = check({3600, 0});  // kStart + 900 is not on an hourly grid
    ASSERT_FALSE(hourly);
    EXPECT_EQ(hourly.error().code, "reading.refused");
    EXPECT_NE(hourly.error().message.find("not on the 3600 s grid of the new interval series"), std::string::npos);
    EXPECT_TRUE(check({300, 0}));
}

TEST_F(SumCheckTest, ARegisterOffTheIntervalGridIsRefusedAndNothingStored) {
    add_register(0);
    auto refused = post_registers({{kStart, 100}, {kStart + 1000, 200}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "reading.refused");
    EXPECT_NE(refused.error().message.find("900 s grid"), std::string::npos) << refused.error().message;
    EXPECT_TRUE(rows("SELECT read_at FROM register_readings").empty());
}

}  // namespace
}  // namespace intervals
