// The core's own figures in /metrics: the HAN server's counters and the storage writer's.
#pragma once

#include "han/coap_server.hpp"
#include "headend/core/metrics.hpp"
#include "headend/storage/sqlite_database.hpp"

namespace headend::core {

void write_coap_metrics(MetricsText& out, const han::ServerStats& stats);
void write_storage_metrics(MetricsText& out, const storage::WriterStats& stats);

}  // namespace headend::core
