#include "headend/core/metrics.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>  // mkstemp

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "headend/testing/fakes.hpp"

namespace headend::core {
namespace {

using plugin::MetricFamily;
using plugin::MetricType;

// promtool (Debian package prometheus) parses and lints the exposition; its output and exit code.
std::pair<int, std::string> promtool_check(const std::string& text) {
    testing::TempDir dir;
    const auto file = dir.path() / "metrics.txt";
    std::ofstream(file) << text;
    const std::string command = "promtool check metrics < " + file.string() + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr)
        return {-1, "popen failed"};
    std::string output;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr)
        output += buffer.data();
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Metrics, WritesTheTextFormatWithHelpTypeLabelsAndHistograms) {
    MetricsRegistry registry;
    registry.add_writer([](MetricsText& out) {
        out.counter("headend_things_total", "things done\nacross lines \\ really", 42);
        out.gauge("headend_level_bytes", "a level", 1.5);
        const std::array<double, 2> bounds{0.001, 0.5};
        const std::array<std::uint64_t, 3> counts{2, 1, 1};
        out.histogram("headend_wait_seconds", "waits", bounds, counts, 2.25);
    });
    registry.add_collector([] {
        return std::vector<MetricFamily>{{"headend_widgets",
                                          "widgets by state",
                                          MetricType::Gauge,
                                          {{{{"state", "on"}}, 3}, {{{"state", "say \"hi\"\\"}}, 0}}}};
    });
    const std::string text = registry.render();
    EXPECT_EQ(text,
              "# HELP headend_things_total things done\\nacross lines \\\\ really\n"
              "# TYPE headend_things_total counter\n"
              "headend_things_total 42\n"
              "# HELP headend_level_bytes a level\n"
              "# TYPE headend_level_bytes gauge\n"
              "headend_level_bytes 1.5\n"
              "# HELP headend_wait_seconds waits\n"
              "# TYPE headend_wait_seconds histogram\n"
              "headend_wait_seconds_bucket{le=\"0.001\"} 2\n"
              "headend_wait_seconds_bucket{le=\"0.5\"} 3\n"
              "headend_wait_seconds_bucket{le=\"+Inf\"} 4\n"
              "headend_wait_seconds_sum 2.25\n"
              "headend_wait_seconds_count 4\n"
              "# HELP headend_widgets widgets by state\n"
              "# TYPE headend_widgets gauge\n"
              "headend_widgets{state=\"on\"} 3\n"
              "headend_widgets{state=\"say \\\"hi\\\"\\\\\"} 0\n");
    const auto [code, output] = promtool_check(text);
    EXPECT_EQ(code, 0) << output << "\n" << text;
}

TEST(Metrics, FamiliesThatBreakTheRulesAreLeftOutAndTheRestIsServed) {
    MetricsRegistry registry;
    registry.add_collector([] {
        return std::vector<MetricFamily>{
            {"headend_good", "kept", MetricType::Gauge, {{{}, 1}}},
            {"headend_good", "a second family of the same name", MetricType::Gauge, {{{}, 2}}},
            {"other_prefix", "not ours", MetricType::Gauge, {{{}, 1}}},
            {"headend_CamelCase", "not snake_case", MetricType::Gauge, {{{}, 1}}},
            {"headend_events", "a counter without _total", MetricType::Counter, {{{}, 1}}},
            {"headend_level_total", "a gauge with _total", MetricType::Gauge, {{{}, 1}}},
            {"headend_requests_count", "a histogram's suffix", MetricType::Gauge, {{{}, 1}}},
            {"headend_back_total", "a negative counter", MetricType::Counter, {{{}, -1}}},
            {"headend_labelled", "bad label name", MetricType::Gauge, {{{{"__reserved", "x"}}, 1}}},
            {"headend_twice", "the same labels twice", MetricType::Gauge, {{{{"a", "1"}}, 1}, {{{"a", "1"}}, 2}}},
        };
    });
    registry.add_collector([]() -> std::vector<MetricFamily> { throw std::runtime_error("no"); });
    registry.add_collector(
        [] { return std::vector<MetricFamily>{plugin::Metrics::counter("headend_x_total", "x", 7)}; });
    const std::string text = registry.render();
    EXPECT_EQ(text,
              "# HELP headend_good kept\n# TYPE headend_good gauge\nheadend_good 1\n"
              "# HELP headend_x_total x\n# TYPE headend_x_total counter\nheadend_x_total 7\n");
    EXPECT_EQ(promtool_check(text).first, 0);
}

TEST(Metrics, TheRouteServesTheFormatWithItsContentType) {
    MetricsRegistry registry;
    registry.add_writer([](MetricsText& out) { out.gauge("headend_up_seconds", "up", 3); });
    testing::FakeRoutes routes;
    add_metrics_route(routes, registry);
    const http::Response response = routes.handlers.at("GET /metrics")(http::Request{});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(response.body.find("headend_up_seconds 3\n"), std::string::npos);
}

}  // namespace
}  // namespace headend::core
