// The interval-collection plugin's commands: session list (each binding with the energy its EUMD sent) and import
// intervals (the AMI's premises meter data as a CMEP file).
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <tuple>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

// "2026-11-01" as UTC midnight, or UTC seconds as given.
headend::Result<std::int64_t> utc_seconds(const std::string& text, const std::string& option) {
    std::int64_t seconds = 0;
    if (auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), seconds);
        !text.empty() && problem == std::errc() && end == text.data() + text.size())
        return seconds;
    int year = 0;
    unsigned month = 0, day = 0;
    char rest = 0;
    if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &year, &month, &day, &rest) == 3 &&
        month >= 1 && month <= 12 && day >= 1 && day <= 31) {
        // Days from civil (H. Hinnant's algorithm), proleptic Gregorian.
        const int y = year - (month <= 2 ? 1 : 0);
        const int era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = static_cast<unsigned>(y - era * 400);
        const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return (static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468) * 86400;
    }
    return headend::make_error("usage", option + ": a date (YYYY-MM-DD, UTC) or UTC seconds, not '" + text + "'");
}

std::string kwh(const json& row) {
    return format_kwh(row.value("energy_wh", std::int64_t{0}));
}

CallBuilder define_session_list(CLI::App& command) {
    auto vin = std::make_shared<std::string>();
    auto premises = std::make_shared<std::string>();
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto* vin_option = command.add_option("--vin", *vin, "Only this PEV's sessions");
    auto* premises_option =
        command.add_option("--premises", *premises, "Only sessions at this premises")->type_name("ID");
    auto* from_option =
        command.add_option("--from", *from, "Sessions still going at or after this (YYYY-MM-DD UTC, or UTC seconds)");
    auto* to_option = command.add_option("--to", *to, "Sessions begun before this (YYYY-MM-DD UTC, or UTC seconds)");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (vin_option->count() > 0)
            query.emplace_back("vin", *vin);
        if (premises_option->count() > 0)
            query.emplace_back("premises", *premises);
        for (const auto& [option, text, name] :
             {std::tuple{from_option, from, "from"}, std::tuple{to_option, to, "to"}}) {
            if (option->count() == 0)
                continue;
            auto seconds = utc_seconds(*text, std::string("--") + name);
            if (!seconds)
                return seconds.error();
            query.emplace_back(name, std::to_string(*seconds));
        }
        ApiCall call{"GET", "/api/v1/sessions" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& sessions = answer.at("sessions");
            if (sessions.empty()) {
                out << "no charging sessions\n";
                return;
            }
            Table table({"BINDING", "VIN", "PREMISES", "KIND", "STATUS", "FROM", "TO", "KWH", "INTERVALS", "QUALITY"});
            for (const auto& row : sessions) {
                table.add_row({text_of(row, "binding_id"), text_of(row, "vin"), text_of(row, "premises_id"),
                               text_of(row, "kind"), text_of(row, "binding_status"), time_of(row, "from"),
                               time_of(row, "to"), kwh(row), text_of(row, "intervals"), text_of(row, "quality")});
            }
            table.print(out);
        };
        return call;
    };
}

void show_interval_import(const json& answer, std::ostream& out) {
    if (answer.contains("rows")) {
        out << text_of(answer["error"], "message") << '\n';
        for (const auto& row : answer["rows"])
            out << fmt::format("  line {}: {}\n", text_of(row, "line"), text_of(row, "reason"));
        return;
    }
    out << fmt::format(
        "imported {} records: {} intervals stored, {} unchanged, {} estimates replaced, {} conflicts "
        "(kept aside, alarmed), {} gap intervals estimated\n",
        text_of(answer, "records"), text_of(answer, "stored"), text_of(answer, "unchanged"),
        text_of(answer, "replaced"), text_of(answer, "conflicts"), text_of(answer, "estimated"));
}

CallBuilder define_interval_import(CLI::App& command) {
    auto file = std::make_shared<std::string>();
    auto local = std::make_shared<bool>(false);
    command.add_option("FILE", *file, "CMEP MEPMD01 interval records (KWH) from the AMI; MeterID is the premises id")
        ->required()
        ->type_name("FILE");
    command.add_flag("--local-time", *local,
                     "Times are the territory's wall clock (a repeated fall-back hour is read in order), not UTC");
    command.footer(
        "A file with any bad line imports nothing; every bad line is listed with its number and reason "
        "(exit 1).\nImporting the same file again changes nothing.");
    return [file, local]() -> headend::Result<ApiCall> {
        auto text = read_file(*file);
        if (!text)
            return headend::make_error("usage", text.error().message);
        ApiCall call{"POST", std::string("/api/v1/intervals/import?time=") + (*local ? "local" : "utc")};
        call.body = std::move(*text);
        call.content_type = "text/csv";
        call.timeout = std::chrono::seconds(600);
        call.accepts = [](int status, const json& body) {
            return (status >= 200 && status < 300) || (status == 400 && body.is_object() && body.contains("rows"));
        };
        call.show = show_interval_import;
        call.exit_code = [](const json& body) { return body.contains("rows") ? kExitRefused : kExitOk; };
        return call;
    };
}

// "11.5" kW → 11500 W exactly (at most three decimals), or nothing.
std::optional<std::int64_t> kw_to_w(const std::string& text) {
    const auto dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    const std::string fraction = dot == std::string::npos ? std::string() : text.substr(dot + 1);
    const auto digits = [](const std::string& part) {
        return part.find_first_not_of("0123456789") == std::string::npos;
    };
    if (whole.empty() || whole.size() > 6 || fraction.size() > 3 || !digits(whole) || !digits(fraction) ||
        (dot != std::string::npos && fraction.empty()))
        return std::nullopt;
    return std::stoll(whole) * 1000 +
           (fraction.empty() ? 0 : std::stoll(fraction + std::string(3 - fraction.size(), '0')));
}

CallBuilder define_ev_limit(CLI::App& command) {
    auto premises = std::make_shared<std::string>();
    auto kw = std::make_shared<std::string>();
    auto reset = std::make_shared<bool>(false);
    command.add_option("--premises", *premises, "The premises")->required()->type_name("ID");
    auto* kw_option = command.add_option("--kw", *kw, "Set its EV circuit's limit, kW (1 to 100, e.g. 11.5)");
    command.add_flag("--default", *reset, "Back to the default limit (ev_max_power_w)")->excludes(kw_option);
    command.footer("Without --kw or --default, shows the limit that applies. VEE flags EV readings above it (spike).");
    return [=]() -> headend::Result<ApiCall> {
        const std::string path = "/api/v1/premises/" + headend::http::percent_encode(*premises) + "/ev-limit";
        ApiCall call{"GET", path};
        if (kw_option->count() > 0) {
            const auto watts = kw_to_w(*kw);
            if (!watts)
                return headend::make_error("usage",
                                           "--kw: a number of kW with at most three decimals, not '" + *kw + "'");
            call = ApiCall{"PUT", path};
            call.body = json{{"max_power_w", *watts}}.dump();
        } else if (*reset) {
            call = ApiCall{"DELETE", path};
        }
        call.show = [](const json& answer, std::ostream& out) {
            const std::int64_t watts = answer.value("max_power_w", std::int64_t{0});
            out << fmt::format("premises {}: EV circuit limit {}.{:03} kW ({})\n", text_of(answer, "premises_id"),
                               watts / 1000, watts % 1000,
                               answer.value("configured", false) ? "set for this premises" : "the default");
        };
        return call;
    };
}

}  // namespace

void register_session_commands(Cli& cli) {
    cli.group("session", "Charging sessions and their energy");
    cli.add({"session", "list"}, "List charging sessions, newest first", define_session_list);
    cli.add({"import", "intervals"}, "Import premises meter intervals from an AMI CMEP file", define_interval_import);
    cli.add({"premises", "ev-limit"}, "Show or set a premises' EV circuit limit for the spike check", define_ev_limit);
}

}  // namespace headendctl
