// The commands; each register_* adds its commands to the CLI.
#pragma once

#include "cli.hpp"

namespace headendctl {

void register_device_commands(Cli& cli);
void register_health_command(Cli& cli);
void register_registration_commands(Cli& cli);
void register_binding_commands(Cli& cli);
void register_alarm_commands(Cli& cli);
void register_session_commands(Cli& cli);
void register_export_commands(Cli& cli);
void register_tariff_commands(Cli& cli);
void register_bill_commands(Cli& cli);
void register_portal_commands(Cli& cli);

}  // namespace headendctl
