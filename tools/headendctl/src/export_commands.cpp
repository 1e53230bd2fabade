// The mdm-export plugin's commands: export list, export run (a cycle now), export resend (a range of local days).
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

void show_files(const json& answer, std::ostream& out) {
    const auto& files = answer.at("files");
    if (files.empty()) {
        out << "no export files\n";
        return;
    }
    Table table({"NAME", "FORMAT", "SEQ", "KIND", "STATE", "INTERVALS", "CORRECTIONS", "BYTES", "CREATED", "SHA256"});
    for (const auto& file : files) {
        table.add_row({text_of(file, "name"), text_of(file, "format"), text_of(file, "sequence"), text_of(file, "kind"),
                       text_of(file, "state"), text_of(file, "intervals"), text_of(file, "corrections"),
                       text_of(file, "bytes"), time_of(file, "created_at"), text_of(file, "sha256")});
    }
    table.print(out);
}

CallBuilder define_list(CLI::App& command) {
    auto waiting = std::make_shared<bool>(false);
    command.add_flag("--waiting", *waiting, "Only files the MDM has not acknowledged");
    return [waiting]() -> headend::Result<ApiCall> {
        ApiCall call{"GET", std::string("/api/v1/mdm/files?state=") + (*waiting ? "waiting" : "all")};
        call.show = show_files;
        return call;
    };
}

CallBuilder define_run(CLI::App& command) {
    command.footer("Writes every interval value not yet exported, in each configured format; prints the new files.");
    return []() -> headend::Result<ApiCall> {
        ApiCall call{"POST", "/api/v1/mdm/cycle"};
        call.timeout = std::chrono::seconds(3600);
        call.show = show_files;
        return call;
    };
}

CallBuilder define_resend(CLI::App& command) {
    auto format = std::make_shared<std::string>();
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    command.add_option("--format", *format, "cmep or espi")->required()->check(CLI::IsMember({"cmep", "espi"}));
    command.add_option("--from", *from, "First local day (YYYY-MM-DD, the territory's time zone)")->required();
    command.add_option("--to", *to, "Last local day, included")->required();
    command.footer(
        "Writes the current value of every interval in the days into one file (CMEP purpose RESEND), "
        "numbered with the format's other files.");
    return [=]() -> headend::Result<ApiCall> {
        ApiCall call{"POST", "/api/v1/mdm/resend"};
        call.body = json{{"format", *format}, {"from", *from}, {"to", *to}}.dump();
        call.timeout = std::chrono::seconds(3600);
        call.show = [](const json& answer, std::ostream& out) { show_files({{"files", {answer.at("file")}}}, out); };
        return call;
    };
}

}  // namespace

void register_export_commands(Cli& cli) {
    cli.group("export", "Interval files for the MDM");
    cli.add({"export", "list"}, "List export files and whether the MDM acknowledged them", define_list);
    cli.add({"export", "run"}, "Run an export cycle now", define_run);
    cli.add({"export", "resend"}, "Export a range of days again", define_resend);
}

}  // namespace headendctl
