#include "headend/core/metrics.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <cmath>
#include <exception>

namespace headend::core {

namespace {

constexpr std::string_view kPrefix = "headend_";

bool is_lower_snake(std::string_view text) {
    for (const char c : text) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return !text.empty();
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::optional<std::string> check_name(std::string_view name, std::string_view type) {
    if (name.substr(0, kPrefix.size()) != kPrefix || name.size() == kPrefix.size() || !is_lower_snake(name) ||
        name.back() == '_')
        return "a metric name is \"headend_\" and lower-case snake_case";
    const bool counter = type == "counter";
    if (counter && !ends_with(name, "_total"))
        return "a counter's name ends in _total";
    if (!counter && ends_with(name, "_total"))
        return "only counters end in _total";
    if (type != "histogram") {
        for (const std::string_view reserved : {"_count", "_sum", "_bucket"}) {
            if (ends_with(name, reserved))
                return "names ending in _count, _sum or _bucket are a histogram's";
        }
    }
    return std::nullopt;
}

bool is_label_name(std::string_view name) {
    if (name.empty() || name.substr(0, 2) == "__" || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (const char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

// HELP text escapes backslash and line feed; label values also the double quote.
std::string escaped(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

std::string number(double value) {
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    std::array<char, 64> buffer{};
    const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    if (error != std::errc())
        return "NaN";
    return std::string(buffer.data(), end);
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
    if (labels.empty())
        return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [name, value] : labels) {
        out += (first ? "" : ",") + name + "=\"" + escaped(value, true) + "\"";
        first = false;
    }
    return out + "}";
}

}  // namespace

std::optional<std::string> MetricsText::begin(std::string_view name, std::string_view help, std::string_view type) {
    if (auto problem = check_name(name, type))
        return problem;
    if (names_.contains(name))
        return "a family of this name was already written";
    names_.emplace(name);
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escaped(help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
    return std::nullopt;
}

std::optional<std::string> MetricsText::family(const plugin::MetricFamily& family) {
    std::set<std::string> label_sets;
    std::string samples;
    for (const auto& sample : family.samples) {
        for (const auto& [label, value] : sample.labels) {
            if (!is_label_name(label))
                return "label name '" + label + "' is not a Prometheus label name";
        }
        if (family.type == plugin::MetricType::Counter && !(sample.value >= 0))
            return "a counter is never negative";
        std::string labels = labels_text(sample.labels);
        if (!label_sets.insert(labels).second)
            return "two samples with the same labels";
        samples += family.name + labels + ' ' + number(sample.value) + '\n';
    }
    if (auto problem =
            begin(family.name, family.help, family.type == plugin::MetricType::Counter ? "counter" : "gauge"))
        return problem;
    out_ += samples;
    return std::nullopt;
}

void MetricsText::counter(std::string_view name, std::string_view help, double value) {
    const auto problem = family(plugin::Metrics::counter(std::string(name), std::string(help), value));
    if (problem)
        spdlog::error("[METRICS_INVALID] {}: {}", name, *problem);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value) {
    const auto problem = family(plugin::Metrics::gauge(std::string(name), std::string(help), value));
    if (problem)
        spdlog::error("[METRICS_INVALID] {}: {}", name, *problem);
}

void MetricsText::histogram(std::string_view name, std::string_view help, std::span<const double> upper_bounds,
                            std::span<const std::uint64_t> counts, double sum) {
    if (counts.size() != upper_bounds.size() + 1) {
        spdlog::error("[METRICS_INVALID] {}: a histogram needs one count per bucket and one for +Inf", name);
        return;
    }
    if (auto problem = begin(name, help, "histogram")) {
        spdlog::error("[METRICS_INVALID] {}: {}", name, *problem);
        return;
    }
    const std::string base(name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        const std::string le = i < upper_bounds.size() ? number(upper_bounds[i]) : "+Inf";
        out_ += base + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + '\n';
    }
    out_ += base + "_sum " + number(sum) + '\n';
    out_ += base + "_count " + std::to_string(cumulative) + '\n';
}

void MetricsRegistry::add_collector(plugin::MetricsCollector collect) {
    const std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collect));
}

void MetricsRegistry::add_writer(MetricsWriter write) {
    const std::lock_guard lock(mutex_);
    writers_.push_back(std::move(write));
}

std::string MetricsRegistry::render() const {
    std::vector<MetricsWriter> writers;
    std::vector<plugin::MetricsCollector> collectors;
    {
        const std::lock_guard lock(mutex_);
        writers = writers_;
        collectors = collectors_;
    }
    MetricsText text;
    for (const auto& write : writers)
        write(text);
    const auto report = [this](const std::string& name, const std::string& problem) {
        const std::lock_guard lock(mutex_);
        if (reported_.insert(name).second)
            spdlog::warn("[METRICS_INVALID] {} left out of /metrics: {}", name, problem);
    };
    for (std::size_t i = 0; i < collectors.size(); ++i) {
        std::vector<plugin::MetricFamily> families;
        try {
            families = collectors[i]();
        } catch (const std::exception& error) {
            report("collector " + std::to_string(i), std::string("threw: ") + error.what());
            continue;
        } catch (...) {
            report("collector " + std::to_string(i), "threw");
            continue;
        }
        for (const auto& family : families) {
            if (auto problem = text.family(family))
                report(family.name, *problem);
        }
    }
    return text.text();
}

void add_metrics_route(http::RouteRegistry& routes, const MetricsRegistry& registry) {
    routes.add("GET", "/metrics", [&registry](const http::Request&) {
        http::Response response;
        response.body = registry.render();
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return response;
    });
}

}  // namespace headend::core
