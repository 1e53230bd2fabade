#include "daemon_metrics.hpp"

#include <array>

namespace headend::core {

namespace {

enum class Kind { counter, gauge };

// One line per figure of han::ServerStats: name, help, kind and how to read it.
struct CoapFigure {
    const char* name;
    const char* help;
    Kind kind;
    double (*read)(const han::ServerStats&);
};

template <typename T>
constexpr double value(T figure) {
    return static_cast<double>(figure);
}

using S = han::ServerStats;
constexpr auto counter = Kind::counter;
constexpr auto gauge = Kind::gauge;

constexpr std::array kCoapFigures{
    CoapFigure{"headend_coaps_sessions", "DTLS sessions open", gauge, [](const S& s) { return value(s.sessions); }},
    CoapFigure{"headend_coaps_handshake_failures_total", "DTLS handshakes that failed", counter,
               [](const S& s) { return value(s.handshake_failures); }},
    CoapFigure{"headend_coaps_requests_total", "CoAP requests handled", counter,
               [](const S& s) { return value(s.requests); }},
    CoapFigure{"headend_coaps_separate_responses_total", "answers sent as separate responses (after a commit)", counter,
               [](const S& s) { return value(s.separate_responses); }},
    CoapFigure{"headend_coaps_retransmissions_answered_from_cache_total",
               "retransmitted requests answered from the response cache", counter,
               [](const S& s) { return value(s.retransmissions_answered_from_cache); }},
    CoapFigure{"headend_coaps_exchanges_remembered", "confirmable writes remembered for retransmissions", gauge,
               [](const S& s) { return value(s.exchanges_remembered); }},
    CoapFigure{"headend_coaps_observations", "RFC 7641 observations in force", gauge,
               [](const S& s) { return value(s.observations); }},
    CoapFigure{"headend_coaps_notifications_total", "notifications sent to observers", counter,
               [](const S& s) { return value(s.notifications); }},
    CoapFigure{"headend_coaps_handshakes_completed_total", "DTLS handshakes completed", counter,
               [](const S& s) { return value(s.handshakes_completed); }},
    CoapFigure{"headend_coaps_hello_verify_requests_total",
               "ClientHellos answered statelessly with a cookie request (a flood of spoofed ones shows here)", counter,
               [](const S& s) { return value(s.hello_verify_requests); }},
    CoapFigure{"headend_coaps_handshakes_in_progress", "DTLS handshakes past the cookie exchange, not finished", gauge,
               [](const S& s) { return value(s.handshakes_in_progress); }},
    CoapFigure{"headend_coaps_handshakes_refused_busy_total",
               "handshakes with a valid cookie turned away because max_handshakes were in progress", counter,
               [](const S& s) { return value(s.handshakes_refused_busy); }},
    CoapFigure{"headend_coaps_handshakes_evicted_total",
               "stalled handshakes dropped to make room when max_handshakes were in progress", counter,
               [](const S& s) { return value(s.handshakes_evicted); }},
    CoapFigure{"headend_coaps_sessions_replaced_total",
               "sessions replaced by a new handshake from the same address and port (a device rebooted)", counter,
               [](const S& s) { return value(s.sessions_replaced); }},
    CoapFigure{"headend_coaps_sessions_credential_lapsed_total",
               "PSK sessions closed because their credential expired or was replaced", counter,
               [](const S& s) { return value(s.sessions_credential_lapsed); }},
    CoapFigure{"headend_coaps_block1_transfers", "Block1 uploads in progress", gauge,
               [](const S& s) { return value(s.block1_in_progress); }},
    CoapFigure{"headend_coaps_receive_buffer_drops_total",
               "datagrams the kernel dropped because the HAN socket's receive buffer was full", counter,
               [](const S& s) { return value(s.receive_buffer_drops); }},
    CoapFigure{"headend_coaps_receive_buffer_bytes", "the HAN socket's receive buffer as the kernel granted it", gauge,
               [](const S& s) { return value(s.receive_buffer_bytes); }},
};

}  // namespace

void write_coap_metrics(MetricsText& out, const han::ServerStats& stats) {
    for (const auto& figure : kCoapFigures) {
        if (figure.kind == Kind::counter)
            out.counter(figure.name, figure.help, figure.read(stats));
        else
            out.gauge(figure.name, figure.help, figure.read(stats));
    }
    using plugin::MetricFamily;
    using plugin::MetricSample;
    using plugin::MetricType;
    MetricFamily sessions{"headend_coaps_sessions_by_kind", "DTLS sessions open by credential", MetricType::Gauge, {}};
    sessions.samples = {MetricSample{{{"kind", "psk"}}, value(stats.sessions_psk)},
                        MetricSample{{{"kind", "certificate"}}, value(stats.sessions_certificate)}};
    out.family(sessions);
    MetricFamily refusals{"headend_coaps_handshake_refusals_total",
                          "DTLS handshakes the server refused, by reason",
                          MetricType::Counter,
                          {}};
    for (const char* reason : {"certificate_refused", "unknown_psk_identity"}) {
        const auto found = stats.handshake_refusals.find(reason);
        refusals.samples.push_back(
            MetricSample{{{"reason", reason}}, found == stats.handshake_refusals.end() ? 0.0 : value(found->second)});
    }
    out.family(refusals);
    MetricFamily answers{
        "headend_coaps_answers_total", "CoAP requests answered, by method and response code", MetricType::Counter, {}};
    for (const auto& [key, count] : stats.answers) {
        const std::string code = std::to_string(key.second / 100) + "." + (key.second % 100 < 10 ? "0" : "") +
                                 std::to_string(key.second % 100);
        answers.samples.push_back(MetricSample{{{"method", key.first}, {"code", code}}, value(count)});
    }
    out.family(answers);
}

void write_storage_metrics(MetricsText& out, const storage::WriterStats& stats) {
    out.gauge("headend_storage_write_queue_depth", "write units waiting for the storage writer",
              value(stats.queue_depth));
    out.counter("headend_storage_commits_total", "transactions committed by the storage writer", value(stats.commits));
    out.counter("headend_storage_write_units_total", "write units run, failed ones included", value(stats.units));
    out.counter("headend_storage_failed_write_units_total", "write units that ended in an error",
                value(stats.failed_units));
    out.histogram("headend_storage_commit_duration_seconds",
                  "duration of the storage writer's transactions, BEGIN to durable COMMIT",
                  storage::kCommitDurationBuckets, stats.commit_duration_counts, stats.commit_duration_sum_seconds);
    out.gauge("headend_storage_wal_bytes", "size of the SQLite write-ahead log file", value(stats.wal_bytes));
    out.gauge("headend_storage_wal_checkpoint_lag_frames", "frames in the write-ahead log not yet checkpointed",
              value(stats.checkpoint_lag_frames));
    out.gauge("headend_storage_wal_checkpoint_lag_seconds",
              "how long the oldest frame not yet checkpointed has waited (0 when none waits)",
              stats.checkpoint_lag_seconds);
    out.counter("headend_storage_wal_checkpoints_total", "checkpoints that left no frame behind",
                value(stats.checkpoints));
}

}  // namespace headend::core
