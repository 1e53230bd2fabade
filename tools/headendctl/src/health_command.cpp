// health: GET /api/v1/health; exits 0 only when the head-end reports "ok".
#include <fmt/format.h>

#include <ostream>

#include "commands.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

void show_health(const json& answer, std::ostream& out) {
    const auto uptime = answer.contains("uptime_s") && answer["uptime_s"].is_number_integer()
                            ? format_duration(answer["uptime_s"].get<std::int64_t>())
                            : "-";
    std::string database = "-";
    if (answer.contains("database") && answer["database"].is_object() && answer["database"].contains("ok")) {
        database = answer["database"]["ok"] == true ? "ok" : "not ok";
    }
    std::string coaps = "-";
    if (answer.contains("coaps") && answer["coaps"].is_object()) {
        coaps = fmt::format("port {}, {} sessions, {} observations", text_of(answer["coaps"], "port"),
                            text_of(answer["coaps"], "sessions"), text_of(answer["coaps"], "observations"));
    }
    print_fields({{"status", text_of(answer, "status")},
                  {"version", text_of(answer, "version")},
                  {"uptime", uptime},
                  {"database", database},
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
