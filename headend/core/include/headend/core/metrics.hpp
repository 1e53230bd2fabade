// /metrics on the admin listener: the Prometheus text exposition format 0.0.4, written from the core's own figures
// and from what plugins contribute through plugin::Metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/http.hpp"
#include "headend/plugin/metrics.hpp"

namespace headend::core {

// Writes metric families in the text format, refusing what breaks Prometheus's rules or conventions (see
// plugin::MetricFamily) with the reason, so that a scrape always parses.
class MetricsText {
public:
    std::optional<std::string> family(const plugin::MetricFamily& family);
    void counter(std::string_view name, std::string_view help, double value);
    void gauge(std::string_view name, std::string_view help, double value);
    // `counts` per bucket, not cumulative: one per upper bound and a last one for everything above (+Inf).
    void histogram(std::string_view name, std::string_view help, std::span<const double> upper_bounds,
                   std::span<const std::uint64_t> counts, double sum);

    const std::string& text() const { return out_; }

private:
    std::optional<std::string> begin(std::string_view name, std::string_view help, std::string_view type);

    std::set<std::string, std::less<>> names_;
    std::string out_;
};

// Writes the core's figures into a scrape.
using MetricsWriter = std::function<void(MetricsText&)>;

class MetricsRegistry final : public plugin::Metrics {
public:
    void add_collector(plugin::MetricsCollector collect) override;
    // The core's own figures, written before the plugins' families.
    void add_writer(MetricsWriter write);
    // One scrape: every writer, then every collector. A collector that throws or a family that breaks the rules is
    // left out and logged (METRICS_INVALID, once per family name).
    std::string render() const;

private:
    mutable std::mutex mutex_;
    std::vector<MetricsWriter> writers_;
    std::vector<plugin::MetricsCollector> collectors_;
    mutable std::set<std::string> reported_;
};

// GET /metrics with the admin token; text/plain; version=0.0.4.
void add_metrics_route(http::RouteRegistry& routes, const MetricsRegistry& registry);

}  // namespace headend::core
