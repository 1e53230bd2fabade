// bill run, bill list, bill show: the monthly bill cycle and the issued bills with the postings behind their lines.
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

CallBuilder define_bill_run(CLI::App& command) {
    auto month = std::make_shared<std::string>();
    auto account = std::make_shared<std::string>();
    command.add_option("--month", *month, "The territory's calendar month to bill")->required()->type_name("YYYY-MM");
    auto* account_option = command.add_option("--account", *account, "Only this account")->type_name("ID");
    command.footer(
        "Issues each account's bill for the month once: running it again issues only bills still missing. Energy or\n"
        "prices that changed in an earlier, billed month since the account's last bill are adjusted on this one.\n"
        "Exit 1 when an account was refused (listed with the reason).");
    return [=]() -> headend::Result<ApiCall> {
        json body{{"month", *month}};
        if (account_option->count() > 0)
            body["account"] = *account;
        ApiCall call{"POST", "/api/v1/bills/run"};
        call.json_body(body);
        call.timeout = std::chrono::seconds(3600);
        call.show = [](const json& answer, std::ostream& out) {
            out << fmt::format("{}: {} bill(s) issued, {} issued before, {} adjustment(s)\n", text_of(answer, "month"),
                               text_of(answer, "issued"), text_of(answer, "already_issued"),
                               text_of(answer, "adjustments"));
            for (const auto& refused : answer.at("refused"))
                out << fmt::format("  refused {}: {}\n", text_of(refused, "account_id"), text_of(refused, "reason"));
        };
        call.exit_code = [](const json& answer) { return answer.at("refused").empty() ? kExitOk : kExitRefused; };
        return call;
    };
}

CallBuilder define_bill_list(CLI::App& command) {
    auto month = std::make_shared<std::string>();
    auto account = std::make_shared<std::string>();
    auto* month_option = command.add_option("--month", *month, "Only this month")->type_name("YYYY-MM");
    auto* account_option = command.add_option("--account", *account, "Only this account")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (month_option->count() > 0)
            query.emplace_back("month", *month);
        if (account_option->count() > 0)
            query.emplace_back("account", *account);
        ApiCall call{"GET", "/api/v1/bills" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& bills = answer.at("bills");
            if (bills.empty()) {
                out << "no bills\n";
                return;
            }
            Table table({"ID", "MONTH", "ACCOUNT", "CUSTOMER", "TOTAL", "ISSUED", "E-MAIL"});
            for (const auto& row : bills)
                table.add_row({text_of(row, "bill_id"), text_of(row, "month"), text_of(row, "account_id"),
                               text_of(row, "customer_name"), text_of(row, "currency") + " " + text_of(row, "total"),
                               time_of(row, "issued_at"), text_of(row, "email")});
            table.print(out);
        };
        return call;
    };
}

void show_bill(const json& answer, std::ostream& out) {
    const json& document = answer.at("document");
    print_fields({{"bill", text_of(answer, "bill_id") + " (" + text_of(document, "bill_id") + ")"},
                  {"account", text_of(document, "account_id")},
                  {"customer", text_of(document, "customer_name")},
                  {"service address", text_of(document, "service_address")},
                  {"month", text_of(document, "month") + " (" + text_of(document, "time_zone") + ")"},
                  {"issued at", time_of(answer, "issued_at")}},
                 out);
    out << '\n';
    Table table({"WHAT", "WHERE", "FROM", "TO", "KWH", "AMOUNT", "SOURCE"});
    const auto& lines = document.at("lines");
    const auto& postings = answer.at("postings");
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const json& line = lines[i];
        table.add_row({text_of(line, "description"), text_of(line, "place"), text_of(line, "start"),
                       text_of(line, "end"), fmt::format("{:.3f}", line.value("wh", 0) / 1000.0),
                       text_of(line, "amount"), i < postings.size() ? text_of(postings[i], "source") : ""});
        for (const auto& period : line.at("periods"))
            table.add_row({"  " + text_of(period, "period"), "", "", "",
                           fmt::format("{:.3f}", period.value("wh", 0) / 1000.0), "", ""});
    }
    table.print(out);
    out << fmt::format("\ntotal: {} {}\n", text_of(document, "currency"), text_of(document, "total"));
}

CallBuilder define_bill_show(CLI::App& command) {
    auto id = std::make_shared<std::string>();
    command.add_option("ID", *id, "The bill's ID (bill list)")->required();
    return [=]() -> headend::Result<ApiCall> {
        auto number = positive_id(*id, "ID");
        if (!number)
            return number.error();
        ApiCall call{"GET", "/api/v1/bills/" + std::to_string(*number)};
        call.show = show_bill;
        return call;
    };
}

}  // namespace

void register_bill_commands(Cli& cli) {
    cli.group("bill", "Monthly bills: the bill cycle and the issued bills");
    cli.add({"bill", "run"}, "Issue the month's bills", define_bill_run);
    cli.add({"bill", "list"}, "List issued bills, newest month first", define_bill_list);
    cli.add({"bill", "show"}, "Show a bill's lines and the posting behind each", define_bill_show);
}

}  // namespace headendctl
