#include "headend/core/device_registry.hpp"

#include <gtest/gtest.h>

#include <future>

#include "han/identity.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"

namespace headend::core {
namespace {

using testing::FixedClock;
using testing::TempDir;

constexpr const char* kLfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5";

class DeviceRegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened) << opened.error().message;
        database_ = std::move(*opened);
        const auto migrations = DeviceRegistry::migrations();
        ASSERT_TRUE(database_->migrate("core", migrations));
        reload();
    }
    void reload() {
        auto loaded = DeviceRegistry::load(*database_, clock_);
        ASSERT_TRUE(loaded) << loaded.error().message;
        registry_ = std::move(*loaded);
    }
    std::int64_t stored_devices() {
        std::int64_t count = -1;
        EXPECT_TRUE(database_->read([&](storage::Transaction& tx) -> Result<void> {
            auto rows = tx.query("SELECT COUNT(*) FROM devices");
            if (!rows)
                return rows.error();
            count = rows->front().integer(0);
            return {};
        }));
        return count;
    }

    TempDir dir_;
    FixedClock clock_{1782907200};
    std::unique_ptr<storage::SqliteDatabase> database_;
    std::unique_ptr<DeviceRegistry> registry_;
};

TEST_F(DeviceRegistryTest, AddsACertificateDeviceWithItsSfdi) {
    NewDevice esci{DeviceType::Esci, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt};
    auto added = registry_->add_sync(esci);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->sfdi, 167261211391U);
    EXPECT_TRUE(han::sfdi_check_digit_ok(added->pin));
    EXPECT_EQ(registry_->find_by_lfdi(kLfdi)->device_id, added->id);
    reload();
    ASSERT_TRUE(registry_->find(added->id));
    EXPECT_EQ(registry_->find(added->id)->premises_id, "P1");
}

TEST_F(DeviceRegistryTest, PskDeviceGetsADerivedLfdiAndItsKeyIsServedToTheDtlsLayer) {
    NewDevice eumd{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "eumd-1", std::vector<std::uint8_t>(16, 7),
                   std::nullopt};
    auto added = registry_->add_sync(eumd);
    ASSERT_TRUE(added) << added.error().message;
    // SHA-256 of "psk-identity:eumd-1", its first 160 bits (computed with sha256sum, not by the code under test).
    EXPECT_EQ(added->lfdi, "07E7FCC0A4277D47261E2F925FCDA29A03F3EB1D");
    auto psk = registry_->find_psk("eumd-1");
    ASSERT_TRUE(psk);
    EXPECT_EQ(psk->key, std::vector<std::uint8_t>(16, 7));
    EXPECT_EQ(psk->device.type, DeviceType::Eumd);
    reload();
    EXPECT_TRUE(registry_->find_psk("eumd-1"));
    EXPECT_FALSE(registry_->find_psk("nobody"));
}

TEST_F(DeviceRegistryTest, ACertificateDeviceGetsAPskThatResolvesToTheSameDevice) {
    auto pev = registry_->add_sync({DeviceType::Pev, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt});
    ASSERT_TRUE(pev) << pev.error().message;
    auto other = registry_->add_sync(
        {DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "eumd-1", std::vector<std::uint8_t>(16, 7), std::nullopt});
    ASSERT_TRUE(other);
    auto set = [&](const std::string& identity, std::vector<std::uint8_t> key, std::int64_t id) {
        std::promise<Result<void>> done;
        registry_->set_psk(id, identity, std::move(key), std::nullopt,
                           [&](Result<void> result) { done.set_value(result); });
        return done.get_future().get();
    };
    ASSERT_TRUE(set("rebind-1", std::vector<std::uint8_t>(16, 1), pev->id));
    auto psk = registry_->find_psk("rebind-1");
    ASSERT_TRUE(psk);
    EXPECT_EQ(psk->device.device_id, pev->id);
    EXPECT_EQ(psk->device.lfdi, kLfdi);  // the certificate's identity, not one derived from the PSK
    // A new credential replaces the old one.
    ASSERT_TRUE(set("rebind-2", std::vector<std::uint8_t>(16, 2), pev->id));
    EXPECT_FALSE(registry_->find_psk("rebind-1"));
    EXPECT_EQ(registry_->find_psk("rebind-2")->key, std::vector<std::uint8_t>(16, 2));
    // Refusals change nothing.
    EXPECT_EQ(set("eumd-1", std::vector<std::uint8_t>(16, 3), pev->id).error().code, "device.duplicate");
    EXPECT_EQ(set("short-key", std::vector<std::uint8_t>(8, 3), pev->id).error().code, "device.invalid");
    EXPECT_EQ(set("rebind-3", std::vector<std::uint8_t>(16, 3), 999).error().code, "device.not_found");
    EXPECT_EQ(registry_->find_psk("eumd-1")->device.device_id, other->id);
    reload();
    EXPECT_EQ(registry_->find_psk("rebind-2")->device.device_id, pev->id);
}

TEST_F(DeviceRegistryTest, APskWithALifetimeIsUnknownToHandshakesFromItsExpiryOnAlsoAfterARestart) {
    auto pev = registry_->add_sync({DeviceType::Pev, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt});
    ASSERT_TRUE(pev) << pev.error().message;
    const std::int64_t expiry = clock_.now() + 30 * 86400;
    std::promise<Result<void>> done;
    registry_->set_psk(pev->id, "rebind-1", std::vector<std::uint8_t>(16, 1), expiry,
                       [&](Result<void> result) { done.set_value(result); });
    ASSERT_TRUE(done.get_future().get());
    EXPECT_EQ(registry_->find(pev->id)->psk_expires_at, expiry);
    for (const bool restarted : {false, true}) {
        if (restarted)
            reload();
        clock_.set(expiry - 1);
        EXPECT_TRUE(registry_->find_psk("rebind-1")) << "restarted " << restarted;
        clock_.set(expiry);
        EXPECT_FALSE(registry_->find_psk("rebind-1")) << "restarted " << restarted;
        // Still the device's credential on record (its binding tells it so); it only no longer opens a session.
        EXPECT_EQ(registry_->find(pev->id)->psk_identity, "rebind-1");
    }
}

TEST_F(DeviceRegistryTest, DuplicatesAreRefusedAndStoreNothing) {
    NewDevice esci{DeviceType::Esci, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt};
    ASSERT_TRUE(registry_->add_sync(esci));
    auto again = registry_->add_sync(esci);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, "device.duplicate");
    EXPECT_EQ(stored_devices(), 1);
}

TEST_F(DeviceRegistryTest, InvalidDevicesAreRefusedWithTheReasonAndStoreNothing) {
    const std::vector<std::pair<NewDevice, std::string>> cases = {
        {{DeviceType::Esci, std::nullopt, kLfdi, std::nullopt, std::nullopt, {}, std::nullopt}, "premises"},
        {{DeviceType::Esci, "P1", "XYZ", std::nullopt, std::nullopt, {}, std::nullopt}, "LFDI"},
        {{DeviceType::Esci, "P1", kLfdi, 167261211390U, std::nullopt, {}, std::nullopt}, "SFDI"},
        {{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "id", std::vector<std::uint8_t>(4, 1), std::nullopt},
         "PSK key"},
        {{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "has space", std::vector<std::uint8_t>(16, 1),
          std::nullopt},
         "PSK identity"},
        {{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, std::nullopt, {}, std::nullopt}, "certificate"},
    };
    for (const auto& [device, reason] : cases) {
        auto added = registry_->add_sync(device);
        ASSERT_FALSE(added) << reason;
        EXPECT_EQ(added.error().code, "device.invalid");
        EXPECT_NE(added.error().message.find(reason), std::string::npos) << added.error().message;
    }
    EXPECT_EQ(stored_devices(), 0);
}

TEST_F(DeviceRegistryTest, RemoveForgetsTheDeviceAndTellsListeners) {
    std::vector<std::pair<std::int64_t, bool>> changes;
    registry_->on_change([&](const Device& device, bool removed) { changes.emplace_back(device.id, removed); });
    NewDevice eumd{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "eumd-1", std::vector<std::uint8_t>(16, 7),
                   std::nullopt};
    auto added = registry_->add_sync(eumd);
    ASSERT_TRUE(added);
    ASSERT_TRUE(registry_->remove(added->id));
    EXPECT_FALSE(registry_->find(added->id));
    EXPECT_FALSE(registry_->find_psk("eumd-1"));
    EXPECT_EQ(stored_devices(), 0);
    EXPECT_EQ(changes, (std::vector<std::pair<std::int64_t, bool>>{{added->id, false}, {added->id, true}}));
    EXPECT_EQ(registry_->remove(added->id).error().code, "device.not_found");
}

// What plugins keep under a device's id (its mirrors, its readings) must never pass to a device added later.
TEST_F(DeviceRegistryTest, ARemovedDevicesIdIsNeverGivenToAnotherAlsoAfterARestart) {
    const auto psk = [](const char* identity) {
        return NewDevice{DeviceType::Esci, "P1", std::nullopt, std::nullopt, identity, std::vector<std::uint8_t>(16, 7),
                         std::nullopt};
    };
    auto first = registry_->add_sync(psk("esci-1"));
    ASSERT_TRUE(first);
    ASSERT_TRUE(registry_->remove(first->id));
    auto second = registry_->add_sync(psk("esci-2"));
    ASSERT_TRUE(second);
    EXPECT_GT(second->id, first->id);
    ASSERT_TRUE(registry_->remove(second->id));
    auto kept = registry_->add_sync(psk("esci-3"));
    ASSERT_TRUE(kept);
    ASSERT_TRUE(registry_->add_sync(psk("esci-3")).error().code == "device.duplicate");  // a failed add takes no id
    ASSERT_TRUE(registry_->remove(kept->id));
    reload();
    auto third = registry_->add_sync(psk("esci-4"));
    ASSERT_TRUE(third);
    EXPECT_EQ(third->id, kept->id + 1);
}

TEST_F(DeviceRegistryTest, ListFiltersByTypeAndPremises) {
    ASSERT_TRUE(registry_->add_sync({DeviceType::Esci, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt}));
    ASSERT_TRUE(registry_->add_sync(
        {DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "e1", std::vector<std::uint8_t>(16, 1), std::nullopt}));
    ASSERT_TRUE(registry_->add_sync(
        {DeviceType::Eumd, "P2", std::nullopt, std::nullopt, "e2", std::vector<std::uint8_t>(16, 1), std::nullopt}));
    EXPECT_EQ(registry_->list().size(), 3U);
    EXPECT_EQ(registry_->list({DeviceType::Eumd, std::nullopt}).size(), 2U);
    EXPECT_EQ(registry_->list({std::nullopt, "P1"}).size(), 2U);
    EXPECT_EQ(registry_->list({DeviceType::Eumd, "P2"}).size(), 1U);
}

TEST_F(DeviceRegistryTest, TheOperatorsPinIsKeptAndABadOneRefused) {
    NewDevice esci{DeviceType::Esci, "P1", kLfdi, std::nullopt, std::nullopt, {}, std::nullopt, 123455};
    auto added = registry_->add_sync(esci);
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->pin, 123455U);
    EXPECT_EQ(registry_->find(added->id)->pin, 123455U);
    for (const std::uint32_t bad : {123456U, 1234555U}) {  // a wrong check digit; seven digits
        NewDevice other{DeviceType::Eumd, "P1", std::nullopt, std::nullopt, "eumd-9", std::vector<std::uint8_t>(16, 7),
                        std::nullopt,     bad};
        auto refused = registry_->add_sync(other);
        ASSERT_FALSE(refused) << bad;
        EXPECT_EQ(refused.error().code, "device.invalid");
        EXPECT_NE(refused.error().message.find("PIN"), std::string::npos) << refused.error().message;
    }
    EXPECT_EQ(registry_->size(), 1U);
}

}  // namespace
}  // namespace headend::core
