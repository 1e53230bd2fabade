// tariff list, tariff show, tariff load: the versions of the program catalog (prices and time-of-use periods), each in
// force from its effective instant.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

std::string programs_of(const json& version) {
    std::string names;
    for (const auto& program : version.at("programs"))
        names +=
            (names.empty() ? "" : ", ") + (program.is_string() ? program.get<std::string>() : text_of(program, "id"));
    return names;
}

CallBuilder define_tariff_list(CLI::App&) {
    return []() -> headend::Result<ApiCall> {
        ApiCall call{"GET", "/api/v1/tariffs"};
        call.show = [](const json& answer, std::ostream& out) {
            Table table({"VERSION", "EFFECTIVE FROM", "IN FORCE", "LOADED", "ORIGIN", "PROGRAMS"});
            for (const auto& row : answer.at("versions"))
                table.add_row({text_of(row, "version"), time_of(row, "effective_from"),
                               row.value("in_force", false) ? "yes" : "", time_of(row, "loaded_at"),
                               text_of(row, "origin"), programs_of(row)});
            table.print(out);
        };
        return call;
    };
}

void show_version(const json& version, std::ostream& out) {
    print_fields({{"version", text_of(version, "version")},
                  {"effective from", time_of(version, "effective_from")},
                  {"in force", version.value("in_force", false) ? "yes" : "no"},
                  {"loaded at", time_of(version, "loaded_at")},
                  {"origin", text_of(version, "origin")},
                  {"time zone", text_of(version, "time_zone")}},
                 out);
    Table table({"PROGRAM", "SEASON", "DATES", "PERIOD", "DAYS", "HOURS", "PRICE/KWH"});
    for (const auto& program : version.at("programs"))
        for (const auto& season : program.at("seasons"))
            for (const auto& period : season.at("periods"))
                table.add_row({text_of(program, "id"), text_of(season, "name"),
                               text_of(season, "from") + " to " + text_of(season, "to"), text_of(period, "name"),
                               text_of(period, "days"), text_of(period, "from") + "-" + text_of(period, "to"),
                               text_of(period, "price")});
    out << '\n';
    table.print(out);
    for (const auto& program : version.at("programs"))
        if (text_of(program, "fixed_charge_per_day") != "0.00")
            out << fmt::format("{}: fixed charge {} per day\n", text_of(program, "id"),
                               text_of(program, "fixed_charge_per_day"));
}

CallBuilder define_tariff_show(CLI::App& command) {
    auto version = std::make_shared<std::string>();
    auto toml = std::make_shared<bool>(false);
    command.add_option("VERSION", *version, "The version's number (tariff list)")->required();
    command.add_flag("--toml", *toml, "Print the version's catalog file as it was loaded (to edit and load anew)");
    return [=]() -> headend::Result<ApiCall> {
        auto number = positive_id(*version, "VERSION");
        if (!number)
            return number.error();
        ApiCall call{"GET", "/api/v1/tariffs/" + std::to_string(*number)};
        if (*toml)
            call.show = [](const json& answer, std::ostream& out) { out << text_of(answer, "catalog"); };
        else
            call.show = show_version;
        return call;
    };
}

CallBuilder define_tariff_load(CLI::App& command) {
    auto file = std::make_shared<std::string>();
    command.add_option("FILE", *file, "A program catalog (format in config/programs.toml) with a later effective_from")
        ->required()
        ->type_name("FILE.toml");
    command.footer(
        "The file becomes the next version when it may follow the latest: a later effective_from (the territory's\n"
        "local time), the same time_zone, every program of the latest kept. Intervals from its effective instant\n"
        "are rated on it; bills already issued get any difference as an adjustment on the next bill. Loading the\n"
        "same file again changes nothing. Refused files (exit 1) change nothing.");
    return [file]() -> headend::Result<ApiCall> {
        auto text = read_file(*file);
        if (!text)
            return headend::make_error("usage", text.error().message);
        ApiCall call{"POST", "/api/v1/tariffs" + headend::http::build_query(
                                                     {{"origin", std::filesystem::path(*file).filename().string()}})};
        call.body = std::move(*text);
        call.content_type = "application/toml";
        call.show = [](const json& answer, std::ostream& out) {
            out << (answer.value("added", false) ? "loaded" : "already loaded") << " as version "
                << text_of(answer, "version") << '\n';
        };
        return call;
    };
}

}  // namespace

void register_tariff_commands(Cli& cli) {
    cli.group("tariff", "Versions of the program catalog (tariffs)");
    cli.add({"tariff", "list"}, "List the catalog's versions and which one is in force", define_tariff_list);
    cli.add({"tariff", "show"}, "Show one version's programs, periods and prices", define_tariff_show);
    cli.add({"tariff", "load"}, "Load a new version of the catalog", define_tariff_load);
}

}  // namespace headendctl
