// Metrics a plugin contributes to the head-end's /metrics (Prometheus text format 0.0.4, on the admin listener).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace headend::plugin {

enum class MetricType { Counter, Gauge };

struct MetricSample {
    std::map<std::string, std::string> labels;  // label name to value; names like Prometheus's, not "__..."
    double value = 0;
};

// One metric family. Names follow Prometheus conventions: "headend_" prefix, snake_case, base units (seconds,
// bytes), counters end in "_total". A family that breaks these rules, or repeats a name already written, is left out
// of the scrape and logged (METRICS_INVALID) instead.
struct MetricFamily {
    std::string name;
    std::string help;
    MetricType type = MetricType::Gauge;
    std::vector<MetricSample> samples;
};

using MetricsCollector = std::function<std::vector<MetricFamily>()>;

class Metrics {
public:
    virtual ~Metrics() = default;
    // `collect` runs on every scrape, on an HTTP thread (never the HAN thread), so it may read storage; it should
    // be quick and must not throw (a throw drops its families from that scrape and is logged). Add collectors from
    // Plugin::start(); they are called until the admin listener stops, before Plugin::stop().
    virtual void add_collector(MetricsCollector collect) = 0;

    // Conveniences for the common case of one value per family.
    static MetricFamily gauge(std::string name, std::string help, double value) {
        return MetricFamily{std::move(name), std::move(help), MetricType::Gauge, {MetricSample{{}, value}}};
    }
    static MetricFamily counter(std::string name, std::string help, double value) {
        return MetricFamily{std::move(name), std::move(help), MetricType::Counter, {MetricSample{{}, value}}};
    }
};

}  // namespace headend::plugin
