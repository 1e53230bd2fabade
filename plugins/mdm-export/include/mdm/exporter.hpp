// The MDM export: every interval value the head-end stores goes out exactly once per format, in numbered files
// written atomically into the export folder and listed with their SHA-256 in a manifest. A replaced estimate goes
// out again as a correction. Works from the interval change log (interval-collection's views), so what a file
// holds is fixed when it is claimed: a file lost to a crash is written again with the same content.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cmep/cmep.hpp"
#include "headend/plugin/plugin.hpp"

namespace mdm {

using headend::Result;

enum class Format { Cmep, Espi };
std::string_view format_name(Format format);  // "cmep", "espi"
std::optional<Format> parse_format(std::string_view name);

struct ExportSettings {
    std::filesystem::path folder;
    std::vector<Format> formats{Format::Cmep, Format::Espi};
    std::string time_zone = "UTC";  // the territory's: local CMEP stamps and ESPI LocalTimeParameters
    bool cmep_local_time = false;   // CMEP stamps in the territory's wall clock instead of UTC
    std::string sender_id = "PEVHEADEND";
    std::string receiver_id = "MDM";
    std::string correction_purpose = "RESEND";  // CMEP Purpose of records that replace values sent before
    cmep::Vocabulary vocabulary;
    std::size_t values_per_record = 96;
    std::int64_t intervals_per_file = 100000;  // a cycle splits larger backlogs; bounds the memory of one file
    std::int64_t retention_s = 30 * 86400;     // acknowledged files are removed this long after the acknowledgement
    std::string espi_base_href = "https://headend.invalid/espi/1_1/resource";
};

enum class FileState { Pending, Ready, Acknowledged, Removed };
std::string_view state_name(FileState state);

struct ExportFile {
    std::int64_t id = 0;
    Format format = Format::Cmep;
    std::int64_t sequence = 0;  // per format, from 1, without gaps
    std::string kind;           // "cycle" or "resend"
    std::string name;
    FileState state = FileState::Pending;
    std::int64_t first_change = 0, last_change = 0;  // a cycle's change range, inclusive
    std::int64_t range_from = 0, range_to = 0;       // a resend's interval starts, [from, to)
    std::int64_t intervals = 0;
    std::int64_t corrections = 0;
    std::int64_t bytes = 0;
    std::string sha256;  // lower-case hex
    std::int64_t created_at = 0;
    std::optional<std::int64_t> ready_at, acknowledged_at;
};

// A file as the manifest, the admin API and the MDM see it.
nlohmann::json file_json(const ExportFile& file);

std::vector<headend::storage::Migration> export_migrations();

class Exporter {
public:
    Exporter(headend::storage::Database& database, const headend::plugin::Clock& clock, headend::plugin::Logger& logger,
             ExportSettings settings);

    // Finishes files claimed before a crash (same content as claimed), then rewrites the manifest.
    Result<void> recover();

    // Writes the files claimed before and not finished, then every change not yet exported, per format, in files of
    // at most intervals_per_file; returns them all. The manifest then lists every finished file, also on an error.
    Result<std::vector<ExportFile>> run_cycle();

    // Writes the current value of every interval starting in [from, to) into one file (CMEP purpose RESEND).
    Result<ExportFile> resend(Format format, std::int64_t from, std::int64_t to);

    // Files not removed, by format and sequence; `unacknowledged_only` for what a receiver still has to fetch.
    Result<std::vector<ExportFile>> list(bool unacknowledged_only = false);
    Result<std::optional<ExportFile>> find(const std::string& name);
    // Errors: "mdm.not_found" (no such file), "mdm.not_ready" (still being written). Acknowledging twice is fine.
    Result<ExportFile> acknowledge(const std::string& name);
    // Removes acknowledged files older than the retention; returns how many.
    Result<std::size_t> remove_expired();

    const std::filesystem::path& folder() const { return settings_.folder; }

private:
    Result<std::vector<ExportFile>> finish_pending();
    // Claims the file `draft` describes (it may say none is due) in one write, then writes it.
    using Draft = std::function<Result<std::optional<ExportFile>>(headend::storage::Transaction&)>;
    Result<std::optional<ExportFile>> claim_and_write(const Draft& draft);
    Result<std::vector<ExportFile>> cycle_format(Format format);
    Result<ExportFile> write(ExportFile file);
    Result<void> write_manifest();

    headend::storage::Database& database_;
    const headend::plugin::Clock& clock_;
    headend::plugin::Logger& logger_;
    ExportSettings settings_;
    std::mutex mutex_;  // one writer of files and the manifest at a time
};

}  // namespace mdm
