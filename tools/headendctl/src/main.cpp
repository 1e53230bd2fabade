// headendctl: the operator's command-line client for the head-end admin API.
#include <exception>
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
    try {
        headendctl::Cli cli;
        headendctl::register_device_commands(cli);
        headendctl::register_health_command(cli);
        headendctl::register_registration_commands(cli);
        headendctl::register_binding_commands(cli);
        headendctl::register_alarm_commands(cli);
        headendctl::register_session_commands(cli);
        headendctl::register_export_commands(cli);
        headendctl::register_tariff_commands(cli);
        headendctl::register_bill_commands(cli);
        headendctl::register_portal_commands(cli);
        return cli.run(argc, argv, std::cout, std::cerr);
    } catch (const std::exception& e) {
        std::cerr << "headendctl: internal error: " << e.what() << '\n';
        return headendctl::kExitUnavailable;
    }
}
