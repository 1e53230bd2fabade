#include "headend/core/alarm_store.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "headend/http/json.hpp"
#include "headend/http/server.hpp"

namespace headend::core {

namespace {

using nlohmann::json;
using storage::Value;

Value optional_text(const std::optional<std::string>& text) {
    return text ? Value(*text) : Value();
}

json optional_json(const storage::Row& row, std::size_t i) {
    return row.is_null(i) ? json(nullptr) : json(row[i].index() == 1 ? json(row.integer(i)) : json(row.text(i)));
}

constexpr std::size_t kListLimit = 1000;

}  // namespace

std::vector<storage::Migration> alarm_migrations() {
    return {{1, "alarms of every component, cleared by operators",
             R"(CREATE TABLE alarms_log(
                  alarm_id INTEGER PRIMARY KEY,
                  raised_at INTEGER NOT NULL,
                  source TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  alarm_key TEXT,
                  vin TEXT,
                  lfdi TEXT,
                  premises_id TEXT,
                  detail TEXT NOT NULL,
                  cleared_at INTEGER,
                  cleared_note TEXT);
                CREATE UNIQUE INDEX alarms_log_by_key ON alarms_log(source, alarm_key);
                CREATE INDEX alarms_log_open ON alarms_log(cleared_at, alarm_id);)"}};
}

Result<bool> PluginAlarms::raise(storage::Transaction& tx, const plugin::Alarm& alarm) {
    auto inserted = tx.execute(
        "INSERT INTO alarms_log(raised_at, source, kind, alarm_key, vin, lfdi, premises_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, alarm_key) DO NOTHING",
        std::vector<Value>{alarm.at, source_, alarm.kind, optional_text(alarm.key), optional_text(alarm.vin),
                           optional_text(alarm.lfdi), optional_text(alarm.premises_id), alarm.detail});
    if (!inserted)
        return inserted.error();
    return *inserted > 0;
}

void add_alarm_routes(http::RouteRegistry& routes, storage::Database& database, const plugin::Clock& clock) {
    routes.add("GET", "/api/v1/alarms", [&database](const http::Request& request) {
        std::string state = "open";
        std::optional<std::string> kind, premises;
        for (const auto& [key, value] : request.query) {
            if (key == "state" && (value == "open" || value == "cleared" || value == "all"))
                state = value;
            else if (key == "kind")
                kind = value;
            else if (key == "premises")
                premises = value;
            else
                return http::json_error(400, "request.invalid",
                                        "unknown query parameter or value '" + key + "=" + value +
                                            "' (state=open|cleared|all, kind, premises)");
        }
        json list = json::array();
        auto read = database.read([&](storage::Transaction& tx) -> Result<void> {
            auto rows = tx.query(
                "SELECT alarm_id, raised_at, source, kind, vin, lfdi, premises_id, detail, cleared_at, cleared_note "
                "FROM alarms_log WHERE (?1 = 'all' OR (?1 = 'open') = (cleared_at IS NULL)) "
                "AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR premises_id = ?3) "
                "ORDER BY alarm_id DESC LIMIT " +
                    std::to_string(kListLimit),
                std::vector<Value>{state, optional_text(kind), optional_text(premises)});
            if (!rows)
                return rows.error();
            for (const auto& row : *rows) {
                list.push_back({{"alarm_id", row.integer(0)},
                                {"at", row.integer(1)},
                                {"source", row.text(2)},
                                {"kind", row.text(3)},
                                {"vin", optional_json(row, 4)},
                                {"lfdi", optional_json(row, 5)},
                                {"premises_id", optional_json(row, 6)},
                                {"detail", row.text(7)},
                                {"cleared_at", optional_json(row, 8)},
                                {"cleared_note", optional_json(row, 9)}});
            }
            return {};
        });
        if (!read)
            return http::json_error(500, read.error().code, read.error().message);
        return http::json_response(200, json{{"alarms", list}});
    });

    routes.add("POST", "/api/v1/alarms/{id}/clear", [&database, &clock](const http::Request& request) {
        const std::string& text = request.params.at("id");
        std::int64_t id = 0;
        const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (problem != std::errc() || end != text.data() + text.size() || id <= 0)
            return http::json_error(400, "request.invalid", "an alarm id is a positive number, not '" + text + "'");
        const json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
        if (!body.is_object() || (body.contains("note") && !body["note"].is_string()) ||
            body.size() > (body.contains("note") ? 1U : 0U))
            return http::json_error(400, "request.invalid", "the body must be {} or {\"note\": \"...\"}");
        const std::string note = body.value("note", std::string());
        int status = 200;
        auto written = database.write_sync([&](storage::Transaction& tx) -> Result<void> {
            auto found = tx.query("SELECT cleared_at FROM alarms_log WHERE alarm_id = ?", std::vector<Value>{id});
            if (!found)
                return found.error();
            if (found->empty()) {
                status = 404;
                return {};
            }
            if (!found->front().is_null(0)) {
                status = 409;
                return {};
            }
            auto cleared = tx.execute("UPDATE alarms_log SET cleared_at = ?, cleared_note = ? WHERE alarm_id = ?",
                                      std::vector<Value>{clock.now(), note, id});
            if (!cleared)
                return cleared.error();
            return {};
        });
        if (!written)
            return http::json_error(500, written.error().code, written.error().message);
        if (status == 404)
            return http::json_error(404, "alarm.not_found", "no alarm #" + text);
        if (status == 409)
            return http::json_error(409, "alarm.cleared", "alarm #" + text + " is cleared already");
        return http::json_response(200, json{{"alarm_id", id}, {"cleared", true}});
    });
}

}  // namespace headend::core
