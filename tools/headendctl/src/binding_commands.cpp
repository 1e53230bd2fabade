// binding list, pev audit, eumd set-interval, fallback list: the pev-binding plugin's admin routes.
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

CallBuilder define_binding_list(CLI::App& command) {
    auto status = std::make_shared<std::string>();
    auto premises = std::make_shared<std::string>();
    auto vin = std::make_shared<std::string>();
    auto* status_option = command.add_option("--status", *status, "Only bindings in this state")
                              ->check(CLI::IsMember({"requested", "confirmed", "acknowledged", "active", "ended",
                                                     "refused", "fallback"}));
    auto* premises_option =
        command.add_option("--premises", *premises, "Only bindings at this premises")->type_name("ID");
    auto* vin_option = command.add_option("--vin", *vin, "Only this PEV's bindings");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (status_option->count() > 0)
            query.emplace_back("status", *status);
        if (premises_option->count() > 0)
            query.emplace_back("premises", *premises);
        if (vin_option->count() > 0)
            query.emplace_back("vin", *vin);
        ApiCall call{"GET", "/api/v1/bindings" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& bindings = answer.at("bindings");
            if (bindings.empty()) {
                out << "no bindings\n";
                return;
            }
            Table table({"ID", "STATUS", "VIN", "LFDI", "PREMISES", "KIND", "PROGRAM", "PAYER", "REQUESTED", "REASON"});
            for (const auto& row : bindings) {
                std::string kind = text_of(row, "kind");
                if (row.value("rebind", false))
                    kind += " (rebind)";
                const std::string payer = text_of(row, "home_utility") != "-" ? "via " + text_of(row, "home_utility")
                                                                              : text_of(row, "payer_account");
                table.add_row({text_of(row, "binding_id"), text_of(row, "status"), text_of(row, "vin"), short_lfdi(row),
                               text_of(row, "premises_id"), kind, text_of(row, "program_id"), payer,
                               time_of(row, "requested_at"), text_of(row, "reason")});
            }
            table.print(out);
        };
        return call;
    };
}

CallBuilder define_audit(CLI::App& command) {
    auto pev = std::make_shared<std::string>();
    command.add_option("PEV", *pev, "VIN, or the LFDI of a PEV not identified yet")->required();
    command.footer("Every step of every binding of the PEV, with its UTC time, oldest first.");
    return [pev]() -> headend::Result<ApiCall> {
        ApiCall call{"GET", "/api/v1/pevs/" + headend::http::percent_encode(*pev) + "/audit"};
        call.show = [](const json& answer, std::ostream& out) {
            Table table({"TIME", "BINDING", "PREMISES", "STEP", "DETAIL"});
            for (const auto& event : answer.at("events")) {
                std::string detail;
                if (event.contains("detail") && event["detail"].is_object()) {
                    for (const auto& [key, value] : event["detail"].items())
                        detail += (detail.empty() ? "" : " ") + key + "=" +
                                  (value.is_string() ? value.get<std::string>() : value.dump());
                }
                table.add_row({time_of(event, "at"), text_of(event, "binding_id"), text_of(event, "premises_id"),
                               text_of(event, "step"), detail});
            }
            table.print(out);
        };
        return call;
    };
}

CallBuilder define_set_interval(CLI::App& command) {
    auto premises = std::make_shared<std::string>();
    auto seconds = std::make_shared<std::int64_t>(0);
    command.add_option("--premises", *premises, "Premises whose EUMD is reconfigured")->required()->type_name("ID");
    command.add_option("--seconds", *seconds, "Measurement interval; 60..3600 and dividing the hour")->required();
    command.footer(
        "The EUMD reads the new configuration at its /edev/{n}/bnd and acknowledges it; 'pev audit' shows "
        "eumd.reconfigured and eumd.interval_applied.");
    return [premises, seconds]() -> headend::Result<ApiCall> {
        ApiCall call{"PUT", "/api/v1/premises/" + headend::http::percent_encode(*premises) + "/eumd-interval"};
        call.json_body({{"seconds", *seconds}});
        call.show = [](const json& answer, std::ostream& out) {
            out << fmt::format("premises {}: EUMD interval {} s (configuration {}), waiting for the EUMD to apply it\n",
                               text_of(answer, "premises_id"), text_of(answer, "interval_length"),
                               text_of(answer, "config_mrid"));
        };
        return call;
    };
}

CallBuilder define_fallbacks(CLI::App& command) {
    auto premises = std::make_shared<std::string>();
    auto* premises_option = command.add_option("--premises", *premises, "Only this premises")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (premises_option->count() > 0)
            query.emplace_back("premises", *premises);
        ApiCall call{"GET", "/api/v1/fallbacks" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& fallbacks = answer.at("fallbacks");
            if (fallbacks.empty()) {
                out << "no fallbacks\n";
                return;
            }
            Table table({"ID", "TIME", "PREMISES", "BINDING", "VIN", "REASON"});
            for (const auto& row : fallbacks) {
                table.add_row({text_of(row, "fallback_id"), time_of(row, "at"), text_of(row, "premises_id"),
                               text_of(row, "binding_id"), text_of(row, "vin"), text_of(row, "reason")});
            }
            table.print(out);
        };
        return call;
    };
}

}  // namespace

void register_binding_commands(Cli& cli) {
    cli.group("binding", "PEV bindings");
    cli.add({"binding", "list"}, "List bindings, newest first", define_binding_list);
    cli.group("pev", "One PEV");
    cli.add({"pev", "audit"}, "Show every step of every binding of a PEV", define_audit);
    cli.group("eumd", "EUMD submeters");
    cli.add({"eumd", "set-interval"}, "Change the measurement interval of a premises' EUMD", define_set_interval);
    cli.group("fallback", "Fallback records billing uses");
    cli.add({"fallback", "list"}, "List fallback records", define_fallbacks);
}

}  // namespace headendctl
