#include "headend/core/plugin_host.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "headend/core/metrics.hpp"
#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "sep/plugin_codec.hpp"

namespace headend::core {
namespace {

class PluginHostTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        sep_ = sep::make_plugin_codec(*codec);
        host_ = std::make_unique<PluginHost>(HostServices{resources_, routes_, events_, *database_, clock_, timers_,
                                                          *sep_, devices_, "UTC", metrics_, listeners_, dir_.path()});
    }

    bool table_exists(const std::string& name) {
        bool exists = false;
        EXPECT_TRUE(database_->read([&](storage::Transaction& tx) -> Result<void> {
            const std::vector<storage::Value> params = {name};
            auto rows = tx.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", params);
            if (!rows)
                return rows.error();
            exists = !rows->empty();
            return {};
        }));
        return exists;
    }

    testing::TempDir dir_;
    boost::asio::io_context io_;
    testing::FakeResources resources_;
    testing::FakeRoutes routes_;
    testing::FakeListeners listeners_;
    AsioEventBus events_{io_};
    AsioTimers timers_{io_};
    testing::FixedClock clock_{0};
    std::unique_ptr<storage::SqliteDatabase> database_;
    std::unique_ptr<plugin::SepCodec> sep_;
    testing::FakeDevices devices_;
    MetricsRegistry metrics_;
    std::unique_ptr<PluginHost> host_;
};

TEST_F(PluginHostTest, LoadsMigratesConfiguresAndStartsAPlugin) {
    PluginConfig config{"test", TEST_PLUGIN_PATH, {{"greeting", std::string("hi there")}}};
    ASSERT_TRUE(host_->load(config));
    EXPECT_TRUE(table_exists("test_plugin_greetings"));
    ASSERT_TRUE(host_->start_all());
    ASSERT_TRUE(resources_.handlers.contains("/hello"));
    ASSERT_TRUE(routes_.handlers.contains("GET /api/v1/hello"));
    // Its own listener, with files under the daemon's data folder.
    ASSERT_TRUE(listeners_.opened.contains("test"));
    EXPECT_EQ(listeners_.opened["test"].certificate_file, (dir_.path() / "listener.pem").string());
    EXPECT_TRUE(listeners_.routes["test"].handlers.contains("GET /export"));
    std::string answer;
    resources_.handlers["/hello"](coap::Request{}, [&](coap::Response response) { answer = response.body; });
    EXPECT_EQ(answer, "hi there");
    // Its metrics collector is asked on each scrape.
    EXPECT_NE(metrics_.render().find("# TYPE headend_test_greetings_total counter\n"
                                     "headend_test_greetings_total{greeting=\"hi there\"} 1\n"),
              std::string::npos)
        << metrics_.render();
    host_->stop_all();
}

TEST_F(PluginHostTest, UnknownConfigKeyIsRefusedNamingIt) {
    PluginConfig config{"test", TEST_PLUGIN_PATH, {{"greting", std::string("x")}}};
    auto loaded = host_->load(config);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("plugin.test.greting"), std::string::npos) << loaded.error().message;
}

TEST_F(PluginHostTest, WrongConfigTypeIsRefusedNamingIt) {
    PluginConfig config{"test", TEST_PLUGIN_PATH, {{"repeat", std::string("twice")}}};
    auto loaded = host_->load(config);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("plugin.test.repeat: expected an integer"), std::string::npos)
        << loaded.error().message;
}

TEST_F(PluginHostTest, MissingLibraryIsAClearError) {
    auto loaded = host_->load(PluginConfig{"ghost", dir_.path() / "libghost.so", {}});
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("plugin 'ghost'"), std::string::npos);
    EXPECT_NE(loaded.error().message.find("cannot load"), std::string::npos);
}

TEST_F(PluginHostTest, ALibraryWithoutTheEntryPointIsRefused) {
    // The SQLite library is a shared object, not a plugin.
    auto loaded = host_->load(PluginConfig{"notaplugin", "libsqlite3.so.0", {}});
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("headend_plugin_entry_v1"), std::string::npos) << loaded.error().message;
}

TEST_F(PluginHostTest, APluginThatFailsToStartStopsTheStartWithItsReason) {
    ASSERT_TRUE(host_->load(PluginConfig{"broken", BROKEN_PLUGIN_PATH, {}}));
    auto started = host_->start_all();
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("plugin 'broken' failed to start: this plugin never starts"),
              std::string::npos)
        << started.error().message;
}

}  // namespace
}  // namespace headend::core
