// alarm list, alarm clear: the head-end's alarm log (cloned VINs, conflicting readings, load mismatches, ...).
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

CallBuilder define_alarm_list(CLI::App& command) {
    auto state = std::make_shared<std::string>("open");
    auto kind = std::make_shared<std::string>();
    auto premises = std::make_shared<std::string>();
    command.add_option("--state", *state, "open (default), cleared or all")
        ->check(CLI::IsMember({"open", "cleared", "all"}));
    auto* kind_option = command.add_option("--kind", *kind, "Only alarms of this kind (e.g. interval_conflict)");
    auto* premises_option =
        command.add_option("--premises", *premises, "Only alarms at this premises")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query{{"state", *state}};
        if (kind_option->count() > 0)
            query.emplace_back("kind", *kind);
        if (premises_option->count() > 0)
            query.emplace_back("premises", *premises);
        ApiCall call{"GET", "/api/v1/alarms" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& alarms = answer.at("alarms");
            if (alarms.empty()) {
                out << "no alarms\n";
                return;
            }
            Table table({"ID", "TIME", "SOURCE", "KIND", "VIN", "LFDI", "PREMISES", "CLEARED", "NOTE", "DETAIL"});
            for (const auto& row : alarms) {
                table.add_row({text_of(row, "alarm_id"), time_of(row, "at"), text_of(row, "source"),
                               text_of(row, "kind"), text_of(row, "vin"), short_lfdi(row), text_of(row, "premises_id"),
                               time_of(row, "cleared_at"), text_of(row, "cleared_note"), text_of(row, "detail")});
            }
            table.print(out);
        };
        return call;
    };
}

CallBuilder define_alarm_clear(CLI::App& command) {
    auto id = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    command.add_option("id", *id, "The alarm's ID (alarm list)")->required();
    command.add_option("--note", *note, "Why it is cleared, kept with the alarm");
    return [=]() -> headend::Result<ApiCall> {
        auto number = positive_id(*id, "id");
        if (!number)
            return number.error();
        ApiCall call{"POST", "/api/v1/alarms/" + std::to_string(*number) + "/clear"};
        call.json_body({{"note", *note}});
        call.show = [](const json& answer, std::ostream& out) {
            out << fmt::format("alarm {} cleared\n", text_of(answer, "alarm_id"));
        };
        return call;
    };
}

}  // namespace

void register_alarm_commands(Cli& cli) {
    cli.group("alarm", "Alarms for the operator");
    cli.add({"alarm", "list"}, "List alarms, newest first (open ones unless --state)", define_alarm_list);
    cli.add({"alarm", "clear"}, "Clear an alarm once it is dealt with", define_alarm_clear);
}

}  // namespace headendctl
