// health: GET /api/v1/health; exits 0 only when the head-end reports "ok".
#include <fmt/format.h>

#include <ostream>

#include "commands.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

// 1536 -> "1.5 KiB"; bytes below 1 KiB as they are.
std::string format_bytes(std::uint64_t bytes) {
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024)
        return fmt::format("{} B", bytes);
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units[unit]);
}

// The write-ahead log and the write queue: "WAL 1.2 MiB, 340 frames not checkpointed for 12.5 s, write queue 0".
std::string storage_text(const json& database) {
    const auto number = [&](const char* key) {
        return database.contains(key) && database[key].is_number_unsigned() ? database[key].get<std::uint64_t>()
                                                                            : std::uint64_t{0};
    };
    if (!database.contains("wal_bytes"))
        return "-";
    std::string text = "WAL " + format_bytes(number("wal_bytes"));
    if (number("wal_warn_bytes") > 0 && number("wal_bytes") > number("wal_warn_bytes"))
        text += " (over the warning size, " + format_bytes(number("wal_warn_bytes")) + ")";
    const std::uint64_t lag = number("checkpoint_lag_frames");
    if (lag == 0) {
        text += ", all checkpointed";
    } else {
        const double seconds = database.contains("checkpoint_lag_s") && database["checkpoint_lag_s"].is_number()
                                   ? database["checkpoint_lag_s"].get<double>()
                                   : 0.0;
        text += fmt::format(", {} frames not checkpointed for {:.1f} s", lag, seconds);
    }
    return text + fmt::format(", write queue {}", number("write_queue"));
}

void show_health(const json& answer, std::ostream& out) {
    const auto uptime = answer.contains("uptime_s") && answer["uptime_s"].is_number_integer()
                            ? format_duration(answer["uptime_s"].get<std::int64_t>())
                            : "-";
    std::string database = "-";
    if (answer.contains("database") && answer["database"].is_object() && answer["database"].contains("ok")) {
        database = answer["database"]["ok"] == true ? "ok" : "not ok";
    }
    std::string storage = "-";
    if (answer.contains("database") && answer["database"].is_object())
        storage = storage_text(answer["database"]);
    std::string coaps = "-";
    if (answer.contains("coaps") && answer["coaps"].is_object()) {
        coaps = fmt::format("port {}, {} sessions, {} observations", text_of(answer["coaps"], "port"),
                            text_of(answer["coaps"], "sessions"), text_of(answer["coaps"], "observations"));
    }
    print_fields({{"status", text_of(answer, "status")},
                  {"version", text_of(answer, "version")},
                  {"uptime", uptime},
                  {"database", database},
                  {"storage", storage},
                  {"coaps", coaps},
                  {"devices", text_of(answer, "devices")}},
                 out);
}

CallBuilder define_health(CLI::App& command) {
    command.footer("Exits 0 when the status is ok, 1 when it is degraded.");
    return []() -> headend::Result<ApiCall> {
        ApiCall call{"GET", "/api/v1/health"};
        call.token_optional = true;
        // A degraded head-end may answer 503 with the health document; that is a result, not a failure.
        call.accepts = [](int status, const json& body) {
            return (status >= 200 && status < 300) || (status == 503 && body.is_object() && body.contains("status"));
        };
        call.show = show_health;
        call.exit_code = [](const json& body) {
            return body.is_object() && body.value("status", std::string()) == "ok" ? kExitOk : kExitRefused;
        };
        return call;
    };
}

}  // namespace

void register_health_command(Cli& cli) {
    cli.add({"health"}, "Show the head-end's health", define_health);
}

}  // namespace headendctl
