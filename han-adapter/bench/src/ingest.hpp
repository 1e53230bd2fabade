// Durable ingest (issue 10): premises meters post a day's worth of readings (96 per POST) over DTLS at once, against
// raw SQLite inserts of the same rows with synchronous=FULL, one transaction per POST, in the same run. Reports rows
// per second of each and their ratio (goal ≥ 0.7).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace bench {

struct IngestOptions {
    unsigned meters = 8;   // premises meters posting at once, one session and one thread each
    double seconds = 5.0;  // timed window of each side
};

nlohmann::json run_ingest(const std::filesystem::path& headend, const IngestOptions& options);

}  // namespace bench
