#include "mdm/exporter.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "bodies.hpp"

namespace mdm {

namespace {

using headend::make_error;
using headend::storage::Row;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kPage = 10000;

constexpr const char* kFileColumns =
    "file_id, format, sequence, kind, name, state, first_change, last_change, range_from, range_to, intervals, "
    "corrections, bytes, sha256, created_at, ready_at, acknowledged_at";

ExportFile file_from(const Row& row) {
    ExportFile file;
    file.id = row.integer(0);
    file.format = *parse_format(row.text(1));
    file.sequence = row.integer(2);
    file.kind = row.text(3);
    file.name = row.text(4);
    const std::string& state = row.text(5);
    file.state = state == "pending"        ? FileState::Pending
                 : state == "ready"        ? FileState::Ready
                 : state == "acknowledged" ? FileState::Acknowledged
                                           : FileState::Removed;
    file.first_change = row.integer(6);
    file.last_change = row.integer(7);
    file.range_from = row.integer(8);
    file.range_to = row.integer(9);
    file.intervals = row.integer(10);
    file.corrections = row.integer(11);
    file.bytes = row.integer(12);
    file.sha256 = row.text(13);
    file.created_at = row.integer(14);
    file.ready_at = row.optional_integer(15);
    file.acknowledged_at = row.optional_integer(16);
    return file;
}

Result<std::vector<ExportFile>> files_where(Transaction& tx, const std::string& condition, std::vector<Value> params) {
    auto rows = tx.query(
        std::string("SELECT ") + kFileColumns + " FROM export_files WHERE " + condition + " ORDER BY format, sequence",
        params);
    if (!rows)
        return rows.error();
    std::vector<ExportFile> files;
    for (const auto& row : *rows)
        files.push_back(file_from(row));
    return files;
}

std::string file_name(Format format, std::int64_t sequence) {
    std::string digits = std::to_string(sequence);
    digits.insert(0, digits.size() < 8 ? 8 - digits.size() : 0, '0');
    return std::string(format_name(format)) + "-" + digits + (format == Format::Cmep ? ".csv" : ".xml");
}

Result<std::int64_t> single_integer(Transaction& tx, std::string_view sql, std::vector<Value> params) {
    auto rows = tx.query(sql, params);
    if (!rows)
        return rows.error();
    return rows->front().integer(0);
}

// Claims the next file number of a format and records what the file will hold.
Result<ExportFile> claim(Transaction& tx, ExportFile file) {
    auto sequence = single_integer(tx, "SELECT COALESCE(MAX(sequence), 0) + 1 FROM export_files WHERE format = ?",
                                   {std::string(format_name(file.format))});
    if (!sequence)
        return sequence.error();
    file.sequence = *sequence;
    file.name = file_name(file.format, file.sequence);
    auto rows = tx.query(
        "INSERT INTO export_files(format, sequence, kind, name, state, first_change, last_change, range_from, "
        "range_to, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING file_id",
        std::vector<Value>{std::string(format_name(file.format)), file.sequence, file.kind, file.name,
                           file.first_change, file.last_change, file.range_from, file.range_to, file.created_at});
    if (!rows)
        return rows.error();
    file.id = rows->front().integer(0);
    return file;
}

// A channel's identity (interval-collection's interval_channels_v1), read once per channel a file holds.
Result<ChannelInfo> channel_info(Transaction& tx, std::int64_t meter_reading_id) {
    auto rows = tx.query(
        "SELECT usage_point_mrid, meter_reading_mrid, premises_id, device_lfdi, role_flags, interval_length "
        "FROM interval_channels_v1 WHERE mmr_id = ?",
        std::vector<Value>{meter_reading_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return make_error("storage.error", "no channel " + std::to_string(meter_reading_id));
    const Row& row = rows->front();
    return ChannelInfo{meter_reading_id,
                       row.text(0),
                       row.text(1),
                       row.text(2),
                       row.text(3),
                       static_cast<std::uint16_t>(row.integer(4)),
                       static_cast<std::uint32_t>(row.integer(5))};
}

// What a cycle file holds: the last value each interval took within the file's change range, a correction when an
// earlier file held one of its values. Read by change number a page at a time and sorted by channel here, so the
// memory is one file's worth (intervals_per_file), whatever the backlog.
Result<void> write_cycle(headend::storage::Database& database, const ExportFile& file, Body& body,
                         std::int64_t& intervals, std::int64_t& corrections) {
    std::map<std::int64_t, ChannelInfo> channels;
    std::vector<ExportInterval> values;
    for (std::int64_t after = file.first_change - 1; after < file.last_change;) {
        auto page = database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query(
                "SELECT change_id, start_at, duration, value_wh, quality_flags, first_change, mmr_id "
                "FROM interval_changes_v1 WHERE change_id > ? AND change_id <= ? "
                "AND (next_change IS NULL OR next_change > ?) ORDER BY change_id LIMIT ?",
                std::vector<Value>{after, file.last_change, file.last_change, kPage});
            if (!rows)
                return rows.error();
            after = rows->size() < static_cast<std::size_t>(kPage) ? file.last_change : rows->back().integer(0);
            for (const auto& row : *rows) {
                const std::int64_t channel = row.integer(6);
                if (!channels.contains(channel)) {
                    auto info = channel_info(tx, channel);
                    if (!info)
                        return info.error();
                    channels.emplace(channel, std::move(*info));
                }
                values.push_back({channel, row.integer(1), static_cast<std::uint32_t>(row.integer(2)), row.integer(3),
                                  static_cast<std::uint16_t>(row.integer(4)), row.integer(5) < file.first_change});
            }
            return {};
        });
        if (!page)
            return page.error();
    }
    std::sort(values.begin(), values.end(), [](const ExportInterval& a, const ExportInterval& b) {
        return std::tie(a.meter_reading_id, a.correction, a.start) <
               std::tie(b.meter_reading_id, b.correction, b.start);
    });
    ChannelWriter writer(body);
    for (const auto& value : values) {
        writer.add(channels.at(value.meter_reading_id), value);
        corrections += value.correction ? 1 : 0;
    }
    writer.finish();
    intervals = static_cast<std::int64_t>(values.size());
    return {};
}

// What a resend holds: the current value of every interval starting in the range, streamed in key order.
Result<void> write_resend(headend::storage::Database& database, const ExportFile& file, Body& body,
                          std::int64_t& intervals) {
    ChannelWriter writer(body);
    ChannelInfo channel;
    std::int64_t last_channel = 0;
    std::int64_t last_start = 0;
    for (bool more = true; more;) {
        auto page = database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query(
                "SELECT start_at, duration, value_wh, quality_flags, mmr_id FROM intervals_v1 "
                "WHERE (mmr_id, start_at) > (?, ?) AND start_at >= ? AND start_at < ? ORDER BY mmr_id, start_at LIMIT "
                "?",
                std::vector<Value>{last_channel, last_start, file.range_from, file.range_to, kPage});
            if (!rows)
                return rows.error();
            more = rows->size() == static_cast<std::size_t>(kPage);
            for (const auto& row : *rows) {
                if (row.integer(4) != channel.meter_reading_id) {
                    auto info = channel_info(tx, row.integer(4));
                    if (!info)
                        return info.error();
                    channel = std::move(*info);
                }
                writer.add(channel,
                           {channel.meter_reading_id, row.integer(0), static_cast<std::uint32_t>(row.integer(1)),
                            row.integer(2), static_cast<std::uint16_t>(row.integer(3)), false});
                last_channel = channel.meter_reading_id;
                last_start = row.integer(0);
                ++intervals;
            }
            return {};
        });
        if (!page)
            return page.error();
    }
    writer.finish();
    return {};
}

}  // namespace

nlohmann::json file_json(const ExportFile& file) {
    nlohmann::json entry = {{"name", file.name},
                            {"format", format_name(file.format)},
                            {"sequence", file.sequence},
                            {"kind", file.kind},
                            {"state", state_name(file.state)},
                            {"intervals", file.intervals},
                            {"corrections", file.corrections},
                            {"bytes", file.bytes},
                            {"sha256", file.sha256},
                            {"created_at", file.created_at}};
    if (file.kind == "cycle") {
        entry["first_change"] = file.first_change;
        entry["last_change"] = file.last_change;
    } else {
        entry["from"] = file.range_from;
        entry["to"] = file.range_to;
    }
    if (file.acknowledged_at)
        entry["acknowledged_at"] = *file.acknowledged_at;
    return entry;
}

std::string_view format_name(Format format) {
    return format == Format::Cmep ? "cmep" : "espi";
}

std::optional<Format> parse_format(std::string_view name) {
    if (name == "cmep")
        return Format::Cmep;
    if (name == "espi")
        return Format::Espi;
    return std::nullopt;
}

std::string_view state_name(FileState state) {
    switch (state) {
        case FileState::Pending:
            return "pending";
        case FileState::Ready:
            return "ready";
        case FileState::Acknowledged:
            return "acknowledged";
        case FileState::Removed:
            break;
    }
    return "removed";
}

std::vector<headend::storage::Migration> export_migrations() {
    return {{1, "export files: what each holds, its checksum and whether the MDM acknowledged it",
             R"(CREATE TABLE export_files(
                  file_id INTEGER PRIMARY KEY,
                  format TEXT NOT NULL CHECK (format IN ('cmep', 'espi')),
                  sequence INTEGER NOT NULL,
                  kind TEXT NOT NULL CHECK (kind IN ('cycle', 'resend')),
                  name TEXT NOT NULL UNIQUE,
                  state TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'acknowledged', 'removed')),
                  first_change INTEGER NOT NULL,
                  last_change INTEGER NOT NULL,
                  range_from INTEGER NOT NULL,
                  range_to INTEGER NOT NULL,
                  intervals INTEGER NOT NULL DEFAULT 0,
                  corrections INTEGER NOT NULL DEFAULT 0,
                  bytes INTEGER NOT NULL DEFAULT 0,
                  sha256 TEXT NOT NULL DEFAULT '',
                  created_at INTEGER NOT NULL,
                  ready_at INTEGER,
                  acknowledged_at INTEGER,
                  removed_at INTEGER,
                  UNIQUE (format, sequence));
                CREATE INDEX export_files_by_state ON export_files(state, format, sequence);)"}};
}

Exporter::Exporter(headend::storage::Database& database, const headend::plugin::Clock& clock,
                   headend::plugin::Logger& logger, ExportSettings settings)
    : database_(database), clock_(clock), logger_(logger), settings_(std::move(settings)) {}

Result<void> Exporter::recover() {
    std::lock_guard lock(mutex_);
    if (auto finished = finish_pending(); !finished)
        return finished.error();
    return write_manifest();
}

Result<std::vector<ExportFile>> Exporter::finish_pending() {
    std::vector<ExportFile> pending;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto files = files_where(tx, "state = 'pending'", {});
        if (!files)
            return files.error();
        pending = std::move(*files);
        return {};
    });
    if (!read)
        return read.error();
    std::vector<ExportFile> written;
    for (auto& file : pending) {
        logger_.info("MDM_FILE_RECOVERED", "writing " + file.name + " again, as claimed before");
        auto done = write(std::move(file));
        if (!done)
            return done.error();
        written.push_back(std::move(*done));
    }
    return written;
}

Result<std::vector<ExportFile>> Exporter::run_cycle() {
    std::lock_guard lock(mutex_);
    // A file claimed by a cycle that failed (a full disk) comes first, so the files stay in order.
    auto written = finish_pending();
    Result<void> outcome;
    if (written) {
        for (const Format format : settings_.formats) {
            auto files = cycle_format(format);
            if (!files) {
                outcome = files.error();
                break;
            }
            written->insert(written->end(), files->begin(), files->end());
        }
    }
    // The manifest lists whatever was finished, also when a later file failed.
    if (auto manifest = write_manifest(); !manifest && outcome)
        outcome = manifest.error();
    if (!written)
        return written.error();
    if (!outcome)
        return outcome.error();
    return written;
}

Result<std::optional<ExportFile>> Exporter::claim_and_write(const Draft& draft) {
    std::optional<ExportFile> claimed;
    auto committed = database_.write_sync([&](Transaction& tx) -> Result<void> {
        claimed.reset();
        auto file = draft(tx);
        if (!file)
            return file.error();
        if (!*file)
            return {};
        auto inserted = claim(tx, std::move(**file));
        if (!inserted)
            return inserted.error();
        claimed = std::move(*inserted);
        return {};
    });
    if (!committed)
        return committed.error();
    if (!claimed)
        return std::optional<ExportFile>();
    auto file = write(std::move(*claimed));
    if (!file)
        return file.error();
    return std::optional(std::move(*file));
}

Result<std::vector<ExportFile>> Exporter::cycle_format(Format format) {
    std::vector<ExportFile> written;
    for (;;) {
        // The next changes after the format's cursor (the last change its cycle files hold), if any.
        auto file = claim_and_write([&](Transaction& tx) -> Result<std::optional<ExportFile>> {
            auto cursor = single_integer(
                tx, "SELECT COALESCE(MAX(last_change), 0) FROM export_files WHERE format = ? AND kind = 'cycle'",
                {std::string(format_name(format))});
            if (!cursor)
                return cursor.error();
            auto head = single_integer(tx, "SELECT last_change FROM interval_changes_head_v1", {});
            if (!head)
                return head.error();
            if (*head <= *cursor)
                return std::optional<ExportFile>();
            ExportFile next;
            next.format = format;
            next.kind = "cycle";
            next.first_change = *cursor + 1;
            next.last_change = std::min(*head, *cursor + settings_.intervals_per_file);
            next.created_at = clock_.now();
            return std::optional(std::move(next));
        });
        if (!file)
            return file.error();
        if (!*file)
            return written;
        written.push_back(std::move(**file));
    }
}

Result<ExportFile> Exporter::resend(Format format, std::int64_t from, std::int64_t to) {
    if (from >= to)
        return make_error("mdm.range", "the range's end must come after its start");
    std::lock_guard lock(mutex_);
    auto file = claim_and_write([&](Transaction&) -> Result<std::optional<ExportFile>> {
        ExportFile next;
        next.format = format;
        next.kind = "resend";
        next.range_from = from;
        next.range_to = to;
        next.created_at = clock_.now();
        return std::optional(std::move(next));
    });
    if (!file)
        return file.error();
    if (auto manifest = write_manifest(); !manifest)
        return manifest.error();
    return std::move(**file);
}

Result<ExportFile> Exporter::write(ExportFile file) {
    auto output = AtomicFile::create(settings_.folder / file.name);
    if (!output)
        return output.error();
    auto body = file.format == Format::Cmep ? make_cmep_body((*output)->stream(), settings_, file)
                                            : make_espi_body((*output)->stream(), settings_, file);
    file.intervals = 0;
    file.corrections = 0;
    auto filled = file.kind == "cycle" ? write_cycle(database_, file, *body, file.intervals, file.corrections)
                                       : write_resend(database_, file, *body, file.intervals);
    if (!filled)
        return filled.error();
    body->finish();
    auto written = (*output)->commit();
    if (!written)
        return written.error();
    file.bytes = written->bytes;
    file.sha256 = written->sha256;
    file.state = FileState::Ready;
    file.ready_at = clock_.now();
    auto recorded = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto updated = tx.execute(
            "UPDATE export_files SET state = 'ready', intervals = ?, corrections = ?, bytes = ?, sha256 = ?, "
            "ready_at = ? WHERE file_id = ? AND state = 'pending'",
            std::vector<Value>{file.intervals, file.corrections, file.bytes, file.sha256, *file.ready_at, file.id});
        if (!updated)
            return updated.error();
        return {};
    });
    if (!recorded)
        return recorded.error();
    logger_.info("MDM_FILE_WRITTEN", file.name + ": " + std::to_string(file.intervals) + " intervals (" +
                                         std::to_string(file.corrections) + " corrections), " +
                                         std::to_string(file.bytes) + " bytes, sha256 " + file.sha256);
    return file;
}

Result<void> Exporter::write_manifest() {
    auto files = list();
    if (!files)
        return files.error();
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& file : *files)
        if (file.state != FileState::Pending)
            entries.push_back(file_json(file));
    const nlohmann::json manifest = {
        {"sender", settings_.sender_id}, {"receiver", settings_.receiver_id}, {"files", std::move(entries)}};
    return write_file_atomically(settings_.folder / "manifest.json", manifest.dump(2) + "\n");
}

Result<std::vector<ExportFile>> Exporter::list(bool unacknowledged_only) {
    std::vector<ExportFile> files;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto found = files_where(tx, unacknowledged_only ? "state = 'ready'" : "state <> 'removed'", {});
        if (!found)
            return found.error();
        files = std::move(*found);
        return {};
    });
    if (!read)
        return read.error();
    return files;
}

Result<std::optional<ExportFile>> Exporter::find(const std::string& name) {
    std::optional<ExportFile> file;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto found = files_where(tx, "name = ? AND state <> 'removed'", {name});
        if (!found)
            return found.error();
        if (!found->empty())
            file = found->front();
        return {};
    });
    if (!read)
        return read.error();
    return file;
}

Result<ExportFile> Exporter::acknowledge(const std::string& name) {
    std::lock_guard lock(mutex_);
    std::optional<ExportFile> file;
    auto committed = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto found = files_where(tx, "name = ? AND state <> 'removed'", {name});
        if (!found)
            return found.error();
        if (found->empty())
            return make_error("mdm.not_found", "no export file " + name);
        file = found->front();
        if (file->state == FileState::Pending)
            return make_error("mdm.not_ready", name + " is still being written");
        if (file->state == FileState::Acknowledged)
            return {};
        file->state = FileState::Acknowledged;
        file->acknowledged_at = clock_.now();
        auto updated =
            tx.execute("UPDATE export_files SET state = 'acknowledged', acknowledged_at = ? WHERE file_id = ?",
                       std::vector<Value>{*file->acknowledged_at, file->id});
        if (!updated)
            return updated.error();
        return {};
    });
    if (!committed)
        return committed.error();
    if (auto manifest = write_manifest(); !manifest)
        return manifest.error();
    logger_.info("MDM_FILE_ACKNOWLEDGED", name);
    return *file;
}

Result<std::size_t> Exporter::remove_expired() {
    std::lock_guard lock(mutex_);
    const std::int64_t now = clock_.now();
    std::vector<ExportFile> expired;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto found = files_where(tx, "state = 'acknowledged' AND acknowledged_at <= ?", {now - settings_.retention_s});
        if (!found)
            return found.error();
        expired = std::move(*found);
        return {};
    });
    if (!read)
        return read.error();
    for (const auto& file : expired) {
        std::error_code error;
        std::filesystem::remove(settings_.folder / file.name, error);
        if (error)
            return make_error("mdm.io", "removing " + file.name + ": " + error.message());
        auto recorded = database_.write_sync([&](Transaction& tx) -> Result<void> {
            auto updated = tx.execute("UPDATE export_files SET state = 'removed', removed_at = ? WHERE file_id = ?",
                                      std::vector<Value>{now, file.id});
            if (!updated)
                return updated.error();
            return {};
        });
        if (!recorded)
            return recorded.error();
        logger_.info("MDM_FILE_REMOVED", file.name + " (acknowledged, past the retention)");
    }
    if (!expired.empty())
        if (auto manifest = write_manifest(); !manifest)
            return manifest.error();
    return expired.size();
}

void ChannelWriter::add(const ChannelInfo& channel, const ExportInterval& interval) {
    if (channel_ != interval.meter_reading_id) {
        finish();
        body_.begin_channel(channel);
        body_.begin_group(interval.correction);
        channel_ = interval.meter_reading_id;
        correction_ = interval.correction;
    } else if (correction_ != interval.correction) {
        body_.end_group();
        body_.begin_group(interval.correction);
        correction_ = interval.correction;
    }
    body_.add(interval);
}

void ChannelWriter::finish() {
    if (channel_ < 0)
        return;
    body_.end_group();
    body_.end_channel();
    channel_ = -1;
}

}  // namespace mdm
