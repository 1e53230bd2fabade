#include "headend/core/sep_resources.hpp"

#include <gtest/gtest.h>

#include "han/router.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "sep/codec.hpp"

namespace headend::core {
namespace {

// Timers that fire only when the test says so.
class ManualTimers final : public plugin::Timers {
public:
    plugin::TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override {
        pending.emplace_back(delay, std::move(callback));
        return pending.size();
    }
    void cancel(plugin::TimerId) override {}
    std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> pending;
};

// A core SEP resource set on a real database, its timers fired by hand; started by each test once it has set up
// what it needs (a device, say).
class SepResourcesTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto database = storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(database);
        database_ = std::move(*database);
        const auto migrations = DeviceRegistry::migrations();
        ASSERT_TRUE(database_->migrate("core", migrations));
        auto devices = DeviceRegistry::load(*database_, clock_);
        ASSERT_TRUE(devices);
        devices_ = std::move(*devices);
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        codec_ = *codec;
    }
    void start() {
        sep_ = std::make_unique<SepResources>(resources_, *devices_, *database_, codec_, clock_, timers_,
                                              SepSettings{"America/Los_Angeles", 4, 255});
        sep_->start();
    }

    testing::TempDir dir_;
    std::unique_ptr<storage::SqliteDatabase> database_;
    testing::FixedClock clock_{1768478400};  // 2026-01-15T12:00:00Z
    std::unique_ptr<DeviceRegistry> devices_;
    std::shared_ptr<const sep::Codec> codec_;
    testing::FakeResources resources_;
    ManualTimers timers_;
    std::unique_ptr<SepResources> sep_;
};

TEST_F(SepResourcesTest, TimeObserversAreNotifiedAtEachDstTransition) {
    start();

    ASSERT_EQ(timers_.pending.size(), 1U);
    EXPECT_EQ(timers_.pending[0].first, std::chrono::seconds(1772964000 - 1768478400 + 1));  // DST starts
    clock_.set(1772964001);
    timers_.pending[0].second();
    EXPECT_EQ(resources_.notified, std::vector<std::string>{"/tm"});
    ASSERT_EQ(timers_.pending.size(), 2U);
    EXPECT_EQ(timers_.pending[1].first, std::chrono::seconds(1793523600 - 1772964001 + 1));  // DST ends

    // What the observers then read carries the summer offsets.
    std::string body;
    resources_.handlers.at("/tm")(coap::Request{}, [&](coap::Response response) { body = response.body; });
    auto time = codec_->decode<sep::Time>(body);
    ASSERT_TRUE(time) << time.error().message;
    EXPECT_EQ(time->local_time, 1772964001 - 7 * 3600);

    // After DST ends the next change is local New Year (08:00Z), not UTC's midnight eight hours earlier.
    clock_.set(1793523601);
    timers_.pending[1].second();
    ASSERT_EQ(timers_.pending.size(), 3U);
    EXPECT_EQ(timers_.pending[2].first, std::chrono::seconds(1798790400 - 1793523601 + 1));
    const auto read_time = [&] {
        resources_.handlers.at("/tm")(coap::Request{}, [&](coap::Response response) { body = response.body; });
        return codec_->decode<sep::Time>(body);
    };
    clock_.set(1798776000);  // 2027-01-01T04:00:00Z: still 31 December in Los Angeles
    auto evening = read_time();
    ASSERT_TRUE(evening) << evening.error().message;
    EXPECT_EQ(evening->dst_start_time, 1772964000);
    EXPECT_EQ(evening->dst_end_time, 1793523600);
    clock_.set(1798790401);  // just after local midnight
    timers_.pending[2].second();
    EXPECT_EQ(resources_.notified.size(), 3U);
    auto new_year = read_time();
    ASSERT_TRUE(new_year) << new_year.error().message;
    EXPECT_EQ(new_year->dst_start_time, 1805018400);  // 2027-03-14T10:00:00Z
    EXPECT_EQ(new_year->dst_end_time, 1825578000);    // 2027-11-07T09:00:00Z
}

// /dcap and a device's FunctionSetAssignments link /tp and /upt exactly when a plugin serves them.
TEST_F(SepResourcesTest, FunctionSetAssignmentsLinkWhatDcapLinks) {
    auto esci = devices_->add_sync(NewDevice{DeviceType::Esci, "P1", std::nullopt, std::nullopt, "esci-1",
                                             std::vector<std::uint8_t>(16, 1), std::nullopt});
    ASSERT_TRUE(esci) << esci.error().message;
    start();

    coap::Request request;
    request.peer.device_id = esci->id;
    request.peer.device_type = DeviceType::Esci;
    request.peer.premises_id = "P1";
    const auto get = [&](const std::string& pattern, const std::string& path) {
        request.path = path;
        request.segments = han::split_path(path);
        coap::Response answer;
        resources_.handlers.at(pattern)(request, [&](coap::Response response) { answer = std::move(response); });
        return answer;
    };
    const std::string fsa = "/edev/" + std::to_string(esci->id) + "/fsa/1";
    const auto read_both = [&] {
        auto dcap = codec_->decode<sep::DeviceCapability>(get("/dcap", "/dcap").body);
        auto assignments = codec_->decode<sep::FunctionSetAssignments>(get("/edev/{n}/fsa/{m}", fsa).body);
        EXPECT_TRUE(dcap && assignments);
        return std::pair{*dcap, *assignments};
    };

    auto [bare_dcap, bare] = read_both();
    EXPECT_FALSE(bare_dcap.usage_point_list_link || bare_dcap.tariff_profile_list_link);
    EXPECT_FALSE(bare.usage_point_list_link || bare.tariff_profile_list_link);
    EXPECT_EQ(bare.time_link, bare_dcap.time_link);
    // "FSA1", the device id, and the PEN the core does not know (0).
    ASSERT_EQ(bare.mrid.size(), 32U);
    EXPECT_EQ(bare.mrid.substr(0, 8), "46534131");
    EXPECT_EQ(std::stoll(bare.mrid.substr(8, 16), nullptr, 16), esci->id);
    EXPECT_EQ(bare.mrid.substr(24), "00000000");

    resources_.add("/upt", [](const coap::Request&, const coap::Responder&) {}, {});
    resources_.add("/tp", [](const coap::Request&, const coap::Responder&) {}, {});
    auto [dcap, assignments] = read_both();
    ASSERT_TRUE(assignments.usage_point_list_link && assignments.tariff_profile_list_link);
    EXPECT_EQ(assignments.usage_point_list_link, dcap.usage_point_list_link);
    EXPECT_EQ(assignments.usage_point_list_link->href, "/upt");
    EXPECT_EQ(assignments.tariff_profile_list_link, dcap.tariff_profile_list_link);
    EXPECT_EQ(assignments.mrid, bare.mrid);
    EXPECT_EQ(get("/edev/{n}/fsa/{m}", "/edev/" + std::to_string(esci->id) + "/fsa/2").code, coap::Code::NotFound);
}

}  // namespace
}  // namespace headend::core
