#include "headend/core/config.hpp"

#include <gtest/gtest.h>

namespace headend::core {
namespace {

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
    auto config = parse_config("", "test.toml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->coaps_port, 5684);
    EXPECT_EQ(config->admin_address, "127.0.0.1");
    EXPECT_EQ(config->time_zone, "America/Los_Angeles");
    EXPECT_EQ(config->max_body_bytes, 16384U);
    EXPECT_EQ(config->journal_size_limit_bytes, 16 * 1024 * 1024);
    EXPECT_EQ(config->wal_warn_bytes, 64 * 1024 * 1024);
}

TEST(Config, TheDefaultFileParsesToTheDefaults) {
    auto config = parse_config(default_config_text(), "default");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->coaps_port, 5684);
    EXPECT_TRUE(config->device_ca.empty());
    EXPECT_EQ(config->journal_size_limit_bytes, Config{}.journal_size_limit_bytes);
    EXPECT_EQ(config->wal_warn_bytes, Config{}.wal_warn_bytes);
}

TEST(Config, ReadsEverySection) {
    auto config = parse_config(R"(
[server]
listen = "127.0.0.1"
coaps_port = 0
admin_port = 9090
data_dir = "/tmp/x"
[tls]
device_ca = ["a.pem", "b.pem"]
psk_hint = "hint"
[territory]
time_zone = "Europe/Berlin"
[limits]
max_sessions = 7
max_handshakes = 3
max_body_bytes = 2048
idle_timeout_s = 30
handshake_timeout_s = 9
max_sessions_per_identity = 3
ack_timeout_ms = 1500
max_retransmit = 2
receive_buffer_bytes = 1048576
[storage]
journal_size_limit_bytes = 1048576
wal_warn_bytes = 4194304
)",
                               "t.toml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->coaps_port, 0);
    EXPECT_EQ(config->admin_port, 9090);
    EXPECT_EQ(config->device_ca.size(), 2U);
    EXPECT_EQ(config->psk_hint, "hint");
    EXPECT_EQ(config->time_zone, "Europe/Berlin");
    EXPECT_EQ(config->max_body_bytes, 2048U);
    EXPECT_EQ(config->max_sessions, 7U);
    EXPECT_EQ(config->max_handshakes, 3U);
    EXPECT_EQ(config->idle_timeout, std::chrono::seconds(30));
    EXPECT_EQ(config->handshake_timeout, std::chrono::seconds(9));
    EXPECT_EQ(config->max_sessions_per_identity, 3U);
    EXPECT_EQ(config->ack_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(config->max_retransmit, 2U);
    EXPECT_EQ(config->receive_buffer_bytes, 1048576U);
    EXPECT_EQ(config->journal_size_limit_bytes, 1048576);
    EXPECT_EQ(config->wal_warn_bytes, 4194304);
}

struct BadConfig {
    const char* text;
    const char* named;
};

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, NameTheOffendingKey) {
    auto config = parse_config(GetParam().text, "bad.toml");
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(GetParam().named), std::string::npos) << config.error().message;
    EXPECT_NE(config.error().message.find("bad.toml"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ConfigErrors,
    ::testing::Values(BadConfig{"[server]\ncoaps_prot = 5684\n", "server.coaps_prot"},
                      BadConfig{"[server]\ncoaps_port = 70000\n", "server.coaps_port"},
                      BadConfig{"[server]\ncoaps_port = \"x\"\n", "server.coaps_port"},
                      BadConfig{"[server]\nlog_level = \"loud\"\n", "server.log_level"},
                      BadConfig{"[territory]\ntime_zone = \"Mars/Olympus\"\n", "territory.time_zone"},
                      BadConfig{"[limits]\nmax_sessions = 0\n", "limits.max_sessions"},
                      BadConfig{"[limits]\nmax_sesions = 5\n", "limits.max_sesions"},
                      BadConfig{"[tls]\ndevice_ca = \"one.pem\"\n", "tls.device_ca"},
                      BadConfig{"[limits]\nack_timeout_ms = 500\n", "limits.ack_timeout_ms"},
                      BadConfig{"[limits]\nmax_retransmit = 0\n", "limits.max_retransmit"},
                      BadConfig{"[limits]\nreceive_buffer_bytes = 100\n", "limits.receive_buffer_bytes"},
                      BadConfig{"[storage]\nwal_warn_bytes = 0\n", "storage.wal_warn_bytes"},
                      BadConfig{"[storage]\njournal_size_limit_bytes = -1\n", "storage.journal_size_limit_bytes"},
                      BadConfig{"[storage]\nwal_limit = 1\n", "storage.wal_limit"},
                      BadConfig{"[tls]\nserver_certificate = \"a.pem\"\n", "tls.server_key"},
                      BadConfig{"[bogus]\nx = 1\n", "bogus"}, BadConfig{"[plugin.nothing]\nx = 1\n", "plugin.nothing"},
                      BadConfig{"[[plugins]]\nname = \"p\"\n", "plugins[0].library"},
                      BadConfig{"[server\n", "bad.toml:"}));

}  // namespace
}  // namespace headend::core
