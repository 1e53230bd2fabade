// device add | list | remove: POST, GET and DELETE on /api/v1/devices.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <ostream>

#include "commands.hpp"
#include "headend/http/url.hpp"
#include "output.hpp"

namespace headendctl {
namespace {

using nlohmann::json;

std::vector<std::string> device_types() {
    return {"esci", "eumd", "pev", "display"};
}
constexpr std::size_t kLfdiDigits = 40;

bool is_hex(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

// A registration PIN as printed on a device label: six digits, leading zeros kept.
std::string pin_text(const json& device) {
    return device.contains("pin") && device["pin"].is_number_unsigned()
               ? fmt::format("{:06}", device["pin"].get<std::uint32_t>())
               : "-";
}

headend::Error usage(std::string message) {
    return headend::make_error("usage", std::move(message));
}

struct AddOptions {
    std::string type;
    std::string premises;
    std::string cert_file;
    std::string lfdi;
    std::string psk_identity;
    std::string psk_key;
    std::string pin;
    CLI::Option* premises_option = nullptr;
    CLI::Option* pin_option = nullptr;
    CLI::Option* cert_option = nullptr;
    CLI::Option* lfdi_option = nullptr;
    CLI::Option* psk_identity_option = nullptr;
    CLI::Option* psk_key_option = nullptr;
};

void show_added(const json& answer, std::ostream& out) {
    const auto& device = answer.at("device");
    std::string line = fmt::format("registered {} #{}", text_of(device, "type"), text_of(device, "id"));
    for (const auto& [key, label] : {std::pair{"premises_id", "premises"}, std::pair{"lfdi", "lfdi"},
                                     std::pair{"sfdi", "sfdi"}, std::pair{"psk_identity", "psk-identity"}}) {
        if (const auto value = text_of(device, key); value != "-") {
            line += fmt::format(" {}={}", label, value);
        }
    }
    if (const auto pin = pin_text(device); pin != "-") {
        line += " pin=" + pin;
    }
    out << line << " path=" << text_of(device, "edev_path") << '\n';
}

headend::Result<ApiCall> build_add(const AddOptions& options) {
    const bool psk = options.psk_identity_option->count() > 0 || options.psk_key_option->count() > 0;
    const int kinds = static_cast<int>(options.cert_option->count() > 0) +
                      static_cast<int>(options.lfdi_option->count() > 0) + static_cast<int>(psk);
    if (kinds != 1) {
        return usage("give exactly one credential: --cert FILE, --lfdi HEX, or --psk-identity ID with --psk-key HEX");
    }
    json body{{"type", options.type}};
    if (options.premises_option->count() > 0) {
        body["premises_id"] = options.premises;
    }
    if (options.pin_option->count() > 0) {
        if (options.pin.empty() || options.pin.size() > 6 ||
            !std::all_of(options.pin.begin(), options.pin.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return usage(fmt::format("--pin must be up to 6 digits, not '{}'", options.pin));
        }
        body["pin"] = std::stoul(options.pin);
    }
    if (options.cert_option->count() > 0) {
        auto pem = read_file(options.cert_file);
        if (!pem) {
            return usage(pem.error().message);
        }
        if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            return usage(
                fmt::format("'{}' is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)", options.cert_file));
        }
        body["cert_pem"] = std::move(*pem);
    } else if (options.lfdi_option->count() > 0) {
        if (options.lfdi.size() != kLfdiDigits || !is_hex(options.lfdi)) {
            return usage(fmt::format("--lfdi must be {} hex digits, not '{}'", kLfdiDigits, options.lfdi));
        }
        body["lfdi"] = options.lfdi;
    } else {
        if (options.psk_identity_option->count() == 0 || options.psk_key_option->count() == 0) {
            return usage("--psk-identity and --psk-key go together");
        }
        if (options.psk_identity.empty()) {
            return usage("--psk-identity must not be empty");
        }
        if (options.psk_key.size() % 2 != 0 || !is_hex(options.psk_key)) {
            return usage("--psk-key must be hex digits, two per byte");
        }
        body["psk_identity"] = options.psk_identity;
        body["psk_key"] = options.psk_key;
    }
    ApiCall call{"POST", "/api/v1/devices"};
    call.json_body(body);
    call.show = show_added;
    return call;
}

CallBuilder define_add(CLI::App& command) {
    auto options = std::make_shared<AddOptions>();
    command.add_option("--type", options->type, "Device role")->required()->check(CLI::IsMember(device_types()));
    options->premises_option =
        command.add_option("--premises", options->premises, "Premises the device belongs to")->type_name("ID");
    options->pin_option = command
                              .add_option("--pin", options->pin,
                                          "Registration PIN from the device's label (6 digits, the last a check "
                                          "digit); served to the device in its Registration. Default: random")
                              ->type_name("DIGITS");
    options->cert_option =
        command.add_option("--cert", options->cert_file, "Device certificate (PEM); the server derives LFDI and SFDI")
            ->type_name("FILE")
            ->group("Credential (exactly one)");
    options->lfdi_option = command.add_option("--lfdi", options->lfdi, "LFDI, 40 hex digits")
                               ->type_name("HEX")
                               ->group("Credential (exactly one)");
    options->psk_identity_option = command.add_option("--psk-identity", options->psk_identity, "PSK identity")
                                       ->type_name("ID")
                                       ->group("Credential (exactly one)");
    options->psk_key_option = command.add_option("--psk-key", options->psk_key, "PSK key, hex (with --psk-identity)")
                                  ->type_name("HEX")
                                  ->group("Credential (exactly one)");
    return [options] { return build_add(*options); };
}

void show_list(const json& answer, std::ostream& out) {
    const auto& devices = answer.at("devices");
    if (devices.empty()) {
        out << "no devices\n";
        return;
    }
    // A PSK device has both: the LFDI derived for it, and the identity the operator gave it.
    Table table({"ID", "TYPE", "PREMISES", "LFDI", "PSK-ID", "PIN", "PATH"});
    for (const auto& device : devices) {
        table.add_row({text_of(device, "id"), text_of(device, "type"), text_of(device, "premises_id"),
                       text_of(device, "lfdi"), text_of(device, "psk_identity"), pin_text(device),
                       text_of(device, "edev_path")});
    }
    table.print(out);
}

CallBuilder define_list(CLI::App& command) {
    auto type = std::make_shared<std::string>();
    auto premises = std::make_shared<std::string>();
    auto* type_option =
        command.add_option("--type", *type, "Only devices of this role")->check(CLI::IsMember(device_types()));
    auto* premises_option =
        command.add_option("--premises", *premises, "Only devices of this premises")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (type_option->count() > 0) {
            query.emplace_back("type", *type);
        }
        if (premises_option->count() > 0) {
            query.emplace_back("premises", *premises);
        }
        ApiCall call{"GET", "/api/v1/devices" + headend::http::build_query(query)};
        call.show = show_list;
        return call;
    };
}

CallBuilder define_remove(CLI::App& command) {
    auto id = std::make_shared<std::string>();
    command.add_option("ID", *id, "Device id, as shown by 'device list'")->required();
    return [id]() -> headend::Result<ApiCall> {
        auto number = positive_id(*id, "ID");
        if (!number)
            return number.error();
        ApiCall call{"DELETE", fmt::format("/api/v1/devices/{}", *number)};
        call.show = [](const json& answer, std::ostream& out) {
            out << "removed device #" << text_of(answer, "removed") << '\n';
        };
        return call;
    };
}

void show_sessions(const json& answer, std::ostream& out) {
    const auto& sessions = answer.at("sessions");
    if (sessions.empty()) {
        out << "no live sessions\n";
        return;
    }
    Table table({"PEER", "CREDENTIAL", "LFDI/PSK-ID", "SERIAL", "DEVICE", "TYPE", "CIPHER", "SINCE"});
    for (const auto& session : sessions) {
        const bool certificate = text_of(session, "credential") == "certificate";
        table.add_row(
            {text_of(session, "peer"), text_of(session, "credential"),
             text_of(session, certificate ? "lfdi" : "psk_identity"),
             certificate && text_of(session, "certificate_serial") != "" ? text_of(session, "certificate_serial") : "-",
             text_of(session, "device_id"), text_of(session, "device_type"), text_of(session, "cipher"),
             time_of(session, "established_at")});
    }
    table.print(out);
}

CallBuilder define_sessions(CLI::App& command) {
    auto id = std::make_shared<std::string>();
    auto* device_option = command.add_option("--device", *id, "Only this device's sessions")->type_name("ID");
    return [=]() -> headend::Result<ApiCall> {
        std::vector<std::pair<std::string, std::string>> query;
        if (device_option->count() > 0) {
            auto number = positive_id(*id, "--device");
            if (!number)
                return number.error();
            query.emplace_back("device", std::to_string(*number));
        }
        ApiCall call{"GET", "/api/v1/han/sessions" + headend::http::build_query(query)};
        call.show = show_sessions;
        return call;
    };
}

}  // namespace

void register_device_commands(Cli& cli) {
    cli.group("device", "Register, list and remove HAN devices");
    cli.add({"device", "add"}, "Register a HAN device with one credential", define_add);
    cli.add({"device", "list"}, "List registered devices", define_list);
    cli.add({"device", "remove"}, "Remove a registered device", define_remove);
    cli.add({"device", "sessions"}, "List the live DTLS sessions with HAN devices (who is connected, how)",
            define_sessions);
}

}  // namespace headendctl
