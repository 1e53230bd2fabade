// portal invite: the one-time link with which a customer sets (or resets) the portal password of an account.
#include <fmt/format.h>

#include <memory>
#include <ostream>

#include "commands.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

CallBuilder define_portal_invite(CLI::App& command) {
    auto account = std::make_shared<std::string>();
    command.add_option("--account", *account, "The account in the customer records")->required()->type_name("ID");
    command.footer(
        "Prints a link the customer opens to set a password; it works once, until it expires (72 h by default).\n"
        "A new invitation replaces the account's unused ones; setting a password with it signs out every session.\n"
        "Exit 1 when the account is not in the customer records.");
    return [=]() -> headend::Result<ApiCall> {
        ApiCall call{"POST", "/api/v1/portal/invitations"};
        call.json_body(json{{"account", *account}});
        call.show = [](const json& answer, std::ostream& out) {
            out << fmt::format("invitation for account {}, valid until {}:\n{}\n", text_of(answer, "account"),
                               time_of(answer, "expires_at"), text_of(answer, "link"));
        };
        return call;
    };
}

}  // namespace

void register_portal_commands(Cli& cli) {
    cli.group("portal", "The customer portal: invitations to set a password");
    cli.add({"portal", "invite"}, "Make a one-time link for a customer to set the account's portal password",
            define_portal_invite);
}

}  // namespace headendctl
