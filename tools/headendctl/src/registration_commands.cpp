// Customer records and enrollment: import customers, premises list, enroll, enrollment show|list|change, unenroll.
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

constexpr const char* kCisColumns = "account_id,customer_id,customer_name,premises_id,service_address,default_rate";

headend::Error usage(std::string message) {
    return headend::make_error("usage", std::move(message));
}

std::string yes_no(const json& object, const std::string& key) {
    return object.contains(key) && object[key] == true ? "yes" : "no";
}

// ---- import customers FILE.csv

void show_import(const json& answer, std::ostream& out) {
    if (answer.contains("rows")) {
        out << text_of(answer["error"], "message") << '\n';
        for (const auto& row : answer["rows"])
            out << fmt::format("  line {}: {}\n", text_of(row, "line"), text_of(row, "reason"));
        return;
    }
    out << fmt::format("imported: {} added, {} updated, {} unchanged\n", text_of(answer, "added"),
                       text_of(answer, "updated"), text_of(answer, "unchanged"));
}

CallBuilder define_import(CLI::App& command) {
    auto file = std::make_shared<std::string>();
    command.add_option("FILE", *file, "CIS export (CSV) with the header " + std::string(kCisColumns))
        ->required()
        ->type_name("FILE.csv");
    command.footer(
        "A file with any bad row imports nothing; every bad row is listed with its line number and reason (exit 1).\n"
        "Importing the same file again changes nothing; changed rows update.");
    return [file]() -> headend::Result<ApiCall> {
        auto csv = read_file(*file);
        if (!csv)
            return usage(csv.error().message);
        ApiCall call{"POST", "/api/v1/customers/import"};
        call.body = std::move(*csv);
        call.content_type = "text/csv";
        call.timeout = std::chrono::seconds(300);
        // A refused file's row report is the answer to show, not a bare error.
        call.accepts = [](int status, const json& body) {
            return (status >= 200 && status < 300) || (status == 400 && body.is_object() && body.contains("rows"));
        };
        call.show = show_import;
        call.exit_code = [](const json& body) { return body.contains("rows") ? kExitRefused : kExitOk; };
        return call;
    };
}

// ---- premises list [--not-enrolled]

void show_premises(const json& answer, std::ostream& out) {
    const auto& premises = answer.at("premises");
    if (premises.empty()) {
        out << "no premises\n";
        return;
    }
    Table table({"PREMISES", "ACCOUNT", "CUSTOMER", "NAME", "RATE", "PEVS", "ADDRESS"});
    for (const auto& row : premises) {
        table.add_row({text_of(row, "premises_id"), text_of(row, "account_id"), text_of(row, "customer_id"),
                       text_of(row, "customer_name"), text_of(row, "default_rate"), text_of(row, "enrolled_pevs"),
                       text_of(row, "service_address")});
    }
    table.print(out);
}

CallBuilder define_premises_list(CLI::App& command) {
    auto not_enrolled = std::make_shared<bool>(false);
    command.add_flag("--not-enrolled", *not_enrolled, "Only premises (and their customers) with no PEV enrolled");
    return [not_enrolled]() -> headend::Result<ApiCall> {
        ApiCall call{"GET", *not_enrolled ? "/api/v1/premises?enrolled=false" : "/api/v1/premises"};
        call.show = show_premises;
        return call;
    };
}

// ---- enroll, enrollment show|list|change, unenroll

void show_enrollment(const json& enrollment, std::ostream& out) {
    print_fields({{"vin", text_of(enrollment, "vin")},
                  {"account", text_of(enrollment, "account_id")},
                  {"customer", text_of(enrollment, "customer_id")},
                  {"premises", text_of(enrollment, "premises_id")},
                  {"program", text_of(enrollment, "program_id")},
                  {"guest charging", yes_no(enrollment, "allow_guest_charging")},
                  {"guest charging paid by", text_of(enrollment, "guest_charging_payer")},
                  {"roaming", yes_no(enrollment, "allow_roaming")},
                  {"channel", text_of(enrollment, "channel")},
                  {"enrolled at", time_of(enrollment, "enrolled_at")},
                  {"updated at", time_of(enrollment, "updated_at")}},
                 out);
}

struct Preferences {
    std::string guest_payer;
    bool allow_guest = false;
    bool allow_roaming = false;
    CLI::Option* guest_payer_option = nullptr;
    CLI::Option* allow_guest_option = nullptr;
    CLI::Option* allow_roaming_option = nullptr;

    void define(CLI::App& command) {
        allow_guest_option = command.add_option("--allow-guest", allow_guest,
                                                "Allow charging at other customers' premises (true|false)");
        guest_payer_option = command.add_option("--guest-payer", guest_payer, "Who pays for guest charging")
                                 ->check(CLI::IsMember({"owner", "host"}));
        allow_roaming_option = command.add_option("--allow-roaming", allow_roaming,
                                                  "Allow charging in other utilities' territories (true|false)");
    }
    void add_given(json& body) const {
        if (allow_guest_option->count() > 0)
            body["allow_guest_charging"] = allow_guest;
        if (guest_payer_option->count() > 0)
            body["guest_charging_payer"] = guest_payer;
        if (allow_roaming_option->count() > 0)
            body["allow_roaming"] = allow_roaming;
    }
};

struct EnrollOptions {
    std::string account, customer, premises, vin, program;
    Preferences preferences;
};

CallBuilder define_enroll(CLI::App& command) {
    auto options = std::make_shared<EnrollOptions>();
    command.add_option("--account", options->account, "CIS account")->required()->type_name("ID");
    command.add_option("--customer", options->customer, "CIS customer holding the account")
        ->required()
        ->type_name("ID");
    command.add_option("--premises", options->premises, "The account's premises where the PEV charges at home")
        ->required()
        ->type_name("ID");
    command.add_option("--vin", options->vin, "Vehicle identification number (17 characters)")->required();
    command.add_option("--program", options->program, "Program id from the catalog, e.g. EV-TOU")->required();
    options->preferences.define(command);
    command.footer(
        "Guest charging and roaming are off unless allowed; guest charging is paid by the owner unless "
        "--guest-payer host.\nEnrolling the same VIN again with the same details changes nothing.");
    return [options]() -> headend::Result<ApiCall> {
        json body = {{"account_id", options->account},   {"customer_id", options->customer},
                     {"premises_id", options->premises}, {"vin", options->vin},
                     {"program_id", options->program},   {"channel", "operator"}};
        options->preferences.add_given(body);
        ApiCall call{"POST", "/api/v1/enrollments"};
        call.json_body(body);
        call.show = [](const json& answer, std::ostream& out) {
            out << (answer.value("created", false) ? "enrolled\n" : "already enrolled with these details\n");
            show_enrollment(answer.at("enrollment"), out);
        };
        return call;
    };
}

std::string vin_path(const std::string& vin) {
    return "/api/v1/enrollments/" + headend::http::percent_encode(vin);
}

CallBuilder define_show(CLI::App& command) {
    auto vin = std::make_shared<std::string>();
    command.add_option("VIN", *vin, "Vehicle identification number")->required();
    return [vin]() -> headend::Result<ApiCall> {
        ApiCall call{"GET", vin_path(*vin)};
        call.show = [](const json& answer, std::ostream& out) { show_enrollment(answer.at("enrollment"), out); };
        return call;
    };
}

CallBuilder define_list(CLI::App& command) {
    auto account = std::make_shared<std::string>();
    auto premises = std::make_shared<std::string>();
    auto* account_option = command.add_option("--account", *account, "Only this account's PEVs")->type_name("ID");
    auto* premises_option =
        command.add_option("--premises", *premises, "Only PEVs enrolled at this premises")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (account_option->count() > 0)
            query.emplace_back("account", *account);
        if (premises_option->count() > 0)
            query.emplace_back("premises", *premises);
        ApiCall call{"GET", "/api/v1/enrollments" + headend::http::build_query(query)};
        call.show = [](const json& answer, std::ostream& out) {
            const auto& enrollments = answer.at("enrollments");
            if (enrollments.empty()) {
                out << "no enrollments\n";
                return;
            }
            Table table({"VIN", "ACCOUNT", "PREMISES", "PROGRAM", "GUEST", "PAYER", "ROAMING"});
            for (const auto& row : enrollments) {
                table.add_row({text_of(row, "vin"), text_of(row, "account_id"), text_of(row, "premises_id"),
                               text_of(row, "program_id"), yes_no(row, "allow_guest_charging"),
                               text_of(row, "guest_charging_payer"), yes_no(row, "allow_roaming")});
            }
            table.print(out);
        };
        return call;
    };
}

struct ChangeOptions {
    std::string vin, program;
    CLI::Option* program_option = nullptr;
    Preferences preferences;
};

CallBuilder define_change(CLI::App& command) {
    auto options = std::make_shared<ChangeOptions>();
    command.add_option("VIN", options->vin, "Vehicle identification number")->required();
    options->program_option = command.add_option("--program", options->program, "Move to this program");
    options->preferences.define(command);
    return [options]() -> headend::Result<ApiCall> {
        json body = {{"channel", "operator"}};
        if (options->program_option->count() > 0)
            body["program_id"] = options->program;
        options->preferences.add_given(body);
        if (body.size() == 1)
            return usage("nothing to change: give --program, --allow-guest, --guest-payer or --allow-roaming");
        ApiCall call{"PATCH", vin_path(options->vin)};
        call.json_body(body);
        call.show = [](const json& answer, std::ostream& out) { show_enrollment(answer.at("enrollment"), out); };
        return call;
    };
}

CallBuilder define_unenroll(CLI::App& command) {
    auto vin = std::make_shared<std::string>();
    command.add_option("VIN", *vin, "Vehicle identification number")->required();
    command.footer("The enrollment's history is kept; the VIN can be enrolled again.");
    return [vin]() -> headend::Result<ApiCall> {
        ApiCall call{"DELETE", vin_path(*vin) + "?channel=operator"};
        call.show = [](const json& answer, std::ostream& out) {
            out << "unenrolled " << text_of(answer.at("unenrolled"), "vin") << '\n';
        };
        return call;
    };
}

}  // namespace

void register_registration_commands(Cli& cli) {
    cli.group("import", "Import records from the utility's systems");
    cli.add({"import", "customers"}, "Import accounts, customers and premises from a CIS export", define_import);
    cli.group("premises", "Premises from the customer records");
    cli.add({"premises", "list"}, "List premises, their customers and enrolled PEVs", define_premises_list);
    cli.add({"enroll"}, "Enroll a PEV by VIN in a program", define_enroll);
    cli.group("enrollment", "Show and change PEV enrollments");
    cli.add({"enrollment", "show"}, "Show a PEV's enrollment", define_show);
    cli.add({"enrollment", "list"}, "List enrollments", define_list);
    cli.add({"enrollment", "change"}, "Change a PEV's program or preferences", define_change);
    cli.add({"unenroll"}, "End a PEV's enrollment", define_unenroll);
}

}  // namespace headendctl
