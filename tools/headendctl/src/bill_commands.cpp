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
            Table table({"ID", "MONTH", "ACCOUNT", "CUSTOMER", "TOTAL", "ISSUED", "MAIL"});
            for (const auto& row : bills)
                table.add_row({text_of(row, "bill_id"), text_of(row, "month"), text_of(row, "account_id"),
                               text_of(row, "customer_name"), text_of(row, "currency") + " " + text_of(row, "total"),
                               time_of(row, "issued_at"),
                               row.contains("mail") && row["mail"].is_object()
                                   ? text_of(row["mail"], "state") + " " + text_of(row["mail"], "to")
                                   : ""});
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
                       text_of(line, "end"), format_kwh(line.value("wh", std::int64_t{0})), text_of(line, "amount"),
                       i < postings.size() ? text_of(postings[i], "source") : ""});
        for (const auto& period : line.at("periods"))
            table.add_row({"  " + text_of(period, "period"), "", "", "",
                           format_kwh(period.value("wh", std::int64_t{0})), "", ""});
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

CallBuilder define_cdr_list(CLI::App& command) {
    auto direction = std::make_shared<std::string>("out");
    command
        .add_option("--direction", *direction,
                    "out: CDRs we push for visiting PEVs (default); in: CDRs received "
                    "for ours; rejected: those refused, with the reason")
        ->check(CLI::IsMember({"out", "in", "rejected"}));
    return [=]() -> headend::Result<ApiCall> {
        ApiCall call{"GET", "/api/v1/cdrs" + headend::http::build_query({{"direction", *direction}})};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& cdrs = answer.at("cdrs");
            if (cdrs.empty()) {
                out << "no CDRs\n";
                return;
            }
            const std::string listed = answer.at("direction");
            const auto money = [](const json& row) { return format_e5(row.value("cost_e5", std::int64_t{0})); };
            const auto energy = [](const json& row) { return format_kwh(row.value("energy_wh", std::int64_t{0})); };
            if (listed == "out") {
                Table table({"CDR", "BINDING", "KWH", "COST", "STATE", "ATTEMPTS", "CREATED", "ERROR"});
                for (const auto& row : cdrs)
                    table.add_row({text_of(row, "cdr_id"), text_of(row, "binding_id"), energy(row), money(row),
                                   text_of(row, "state"), text_of(row, "attempts"), time_of(row, "created_at"),
                                   text_of(row, "last_error")});
                table.print(out);
            } else if (listed == "in") {
                Table table({"PARTY", "CDR", "ACCOUNT", "VIN", "END", "KWH", "COST", "CREDIT OF", "RECEIVED"});
                for (const auto& row : cdrs)
                    table.add_row({text_of(row, "party"), text_of(row, "cdr_id"), text_of(row, "account_id"),
                                   text_of(row, "vin"), time_of(row, "end"), energy(row), money(row),
                                   text_of(row, "credit_of"), time_of(row, "received_at")});
                table.print(out);
            } else {
                Table table({"PEER", "CDR", "STATUS", "RECEIVED", "REASON"});
                for (const auto& row : cdrs)
                    table.add_row({text_of(row, "peer"), text_of(row, "cdr_id"), text_of(row, "status_code"),
                                   time_of(row, "received_at"), text_of(row, "reason")});
                table.print(out);
            }
        };
        return call;
    };
}

CallBuilder define_bill_resend(CLI::App& command) {
    auto id = std::make_shared<std::string>();
    command.add_option("ID", *id, "The bill's ID (bill list)")->required();
    return [=]() -> headend::Result<ApiCall> {
        auto number = positive_id(*id, "ID");
        if (!number)
            return number.error();
        ApiCall call{"POST", "/api/v1/bills/" + std::to_string(*number) + "/resend"};
        call.show = [](const json& answer, std::ostream& out) {
            out << fmt::format("bill {} queued to {}\n", text_of(answer, "bill_id"), text_of(answer, "mail_to"));
        };
        return call;
    };
}

}  // namespace

void register_bill_commands(Cli& cli) {
    cli.group("bill", "Monthly bills: the bill cycle and the issued bills");
    cli.add({"bill", "run"}, "Issue the month's bills", define_bill_run);
    cli.add({"bill", "list"}, "List issued bills, newest month first", define_bill_list);
    cli.add({"bill", "show"}, "Show a bill's lines and the posting behind each", define_bill_show);
    cli.add({"bill", "resend"}, "E-mail a bill again, to the account's address in the customer records now",
            define_bill_resend);
    cli.group("cdr", "Clearinghouse CDRs (OCPI): pushed for visiting PEVs, received for ours");
    cli.add({"cdr", "list"}, "List CDRs, newest first", define_cdr_list);
}

}  // namespace headendctl
