#include "cli.hpp"

#include <fmt/format.h>
#include <charconv>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <sstream>
#include <system_error>

#include "headend/http/client.hpp"

namespace headendctl {
namespace {

constexpr const char* kDefaultAdmin = "http://127.0.0.1:8080";
constexpr const char* kDefaultTokenFile = "./data/admin.token";
constexpr const char* kAdminEnv = "HEADEND_ADMIN";
constexpr const char* kTokenFileEnv = "HEADEND_TOKEN_FILE";
constexpr const char* kGlobalGroup = "Global options";

std::string env(const char* name) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread exists
    return value == nullptr ? std::string() : std::string(value);
}

bool given(const std::vector<CLI::Option*>& options) {
    return std::any_of(options.begin(), options.end(), [](const CLI::Option* option) { return option->count() > 0; });
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// "headendctl device add" for the subcommand the user was typing, for the usage hint.
std::string command_path(const CLI::App* app) {
    std::string path = app->get_name();
    for (auto subcommands = app->get_subcommands(); !subcommands.empty();
         subcommands = subcommands.front()->get_subcommands()) {
        path += " " + subcommands.front()->get_name();
    }
    return path;
}

std::string join_url(std::string base, const std::string& path) {
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base + path;
}

std::string dump(const nlohmann::json& document) {
    return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void ApiCall::json_body(const nlohmann::json& document) {
    body = document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    content_type = "application/json";
}

headend::Result<std::int64_t> positive_id(const std::string& text, const std::string& what) {
    std::int64_t number = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || problem != std::errc() || end != text.data() + text.size() || number <= 0)
        return headend::make_error("usage", what + ": an id is a positive decimal number, not '" + text + "'");
    return number;
}

headend::Result<std::string> read_file(const std::string& path) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    const auto failure = [&path] {
        return headend::make_error("file.read", fmt::format("cannot read '{}': {}", path,
                                                            std::error_code(errno, std::generic_category()).message()));
    };
    if (!file) {
        return failure();
    }
    std::string content;
    std::array<char, 8192> chunk{};
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0) {
        content.append(chunk.data(), n);
    }
    if (std::ferror(file.get()) != 0) {
        return failure();
    }
    return content;
}

Cli::Cli() : app_("Operate the PEV head-end through its admin API.", "headendctl") {
    app_.set_version_flag("--version", HEADENDCTL_VERSION);
    app_.require_subcommand(1);
    app_.footer(
        fmt::format("Environment:\n"
                    "  {}         admin API base URL (default {})\n"
                    "  {}    admin token file (default {})\n"
                    "Exit codes:\n"
                    "  0  success\n"
                    "  1  refused by the server (4xx), or health not ok\n"
                    "  2  usage error, or an unreadable token or input file\n"
                    "  3  cannot connect, server error (5xx), or an unreadable answer",
                    kAdminEnv, kDefaultAdmin, kTokenFileEnv, kDefaultTokenFile));
    app_.failure_message([](const CLI::App* app, const CLI::Error& e) {
        return fmt::format("headendctl: {}\nRun '{} --help' for usage.\n", e.what(), command_path(app));
    });
    add_global_options(app_);
}

void Cli::add_global_options(CLI::App& app) {
    admin_options_.push_back(
        app.add_option("--admin", globals_.admin_url,
                       fmt::format("Admin API base URL (env {}, default {})", kAdminEnv, kDefaultAdmin))
            ->type_name("URL")
            ->group(kGlobalGroup));
    token_options_.push_back(app.add_option("--token-file", globals_.token_file,
                                            fmt::format("File holding the admin token (env {}, default {})",
                                                        kTokenFileEnv, kDefaultTokenFile))
                                 ->type_name("FILE")
                                 ->group(kGlobalGroup));
    app.add_flag("--json", globals_.json, "Print the server's JSON answer, for scripts")->group(kGlobalGroup);
}

void Cli::group(const std::string& name, const std::string& description) {
    auto* sub = app_.add_subcommand(name, description);
    sub->require_subcommand(1);
    groups_[name] = sub;
}

void Cli::add(const std::vector<std::string>& words, const std::string& description, const CommandDefinition& define) {
    CLI::App* parent = &app_;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        parent = groups_.at(words[i]);  // groups are declared first; a missing one is a programming error
    }
    auto* command = parent->add_subcommand(words.back(), description);
    auto build = define(*command);
    add_global_options(*command);
    commands_.push_back(Command{command, std::move(build)});
}

int Cli::run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    try {
        app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app_.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
    }
    // Flags win over the environment, which wins over the defaults.
    if (!given(admin_options_)) {
        globals_.admin_url = env(kAdminEnv).empty() ? kDefaultAdmin : env(kAdminEnv);
    }
    token_file_explicit_ = given(token_options_) || !env(kTokenFileEnv).empty();
    if (!given(token_options_)) {
        globals_.token_file = env(kTokenFileEnv).empty() ? kDefaultTokenFile : env(kTokenFileEnv);
    }
    for (const auto& command : commands_) {
        if (!command.app->parsed()) {
            continue;
        }
        auto call = command.build();
        if (!call) {
            err << "headendctl: " << call.error().message << "\nRun '" << command_path(&app_)
                << " --help' for usage.\n";
            return kExitUsage;
        }
        return execute(*call, out, err);
    }
    return kExitUsage;  // not reached: CLI11 requires a command
}

int Cli::fail(const headend::Error& error, int exit_code, std::ostream& out, std::ostream& err) const {
    err << "headendctl: " << error.message << '\n';
    if (globals_.json) {
        out << dump({{"error", {{"code", error.code}, {"message", error.message}}}}) << '\n';
    }
    return exit_code;
}

int Cli::execute(const ApiCall& call, std::ostream& out, std::ostream& err) const {
    std::map<std::string, std::string> headers{{"Accept", "application/json"},
                                               {"User-Agent", std::string("headendctl/") + HEADENDCTL_VERSION}};
    auto token = read_file(globals_.token_file);
    if (token) {
        const auto value = trim(*token);
        if (value.empty()) {
            return fail(
                headend::make_error("token.empty", fmt::format("token file '{}' is empty", globals_.token_file)),
                kExitUsage, out, err);
        }
        headers["Authorization"] = "Bearer " + value;
    } else if (!call.token_optional || token_file_explicit_) {
        return fail(headend::make_error("token.unreadable", fmt::format("admin token: {} (set --token-file or {})",
                                                                        token.error().message, kTokenFileEnv)),
                    kExitUsage, out, err);
    }
    if (!call.body.empty()) {
        headers["Content-Type"] = call.content_type;
    }

    auto response = headend::http::http_request(join_url(globals_.admin_url, call.path), call.method, call.body,
                                                headers, call.timeout);
    if (!response) {
        auto error = response.error();
        if (error.code == "http.url") {
            return fail(headend::make_error(error.code, "bad --admin URL: " + error.message), kExitUsage, out, err);
        }
        if (error.code == "http.connect" || error.code == "http.resolve") {
            error.message += " (is the head-end running, and is --admin right?)";
        }
        return fail(error, kExitUnavailable, out, err);
    }

    const int status = response->status;
    const auto document = nlohmann::json::parse(response->body, nullptr, false);
    const bool accepted = call.accepts ? call.accepts(status, document) : status >= 200 && status < 300;
    if (accepted) {
        if (document.is_discarded()) {
            return fail(
                headend::make_error("response.invalid",
                                    fmt::format("the server answered {} with something that is not JSON", status)),
                kExitUnavailable, out, err);
        }
        // Rendered completely before printing, so an answer of the wrong shape prints nothing half-way.
        std::ostringstream text;
        try {
            if (globals_.json) {
                text << dump(document) << '\n';
            } else if (call.show) {
                call.show(document, text);
            }
            const int exit_code = call.exit_code ? call.exit_code(document) : kExitOk;
            out << text.str();
            return exit_code;
        } catch (const nlohmann::json::exception& e) {
            return fail(headend::make_error("response.unexpected",
                                            fmt::format("unexpected answer from the server: {}", e.what())),
                        kExitUnavailable, out, err);
        }
    }

    std::string code = "http." + std::to_string(status);
    std::string message = fmt::format("the server answered HTTP {}", status);
    const bool error_shape = document.is_object() && document.contains("error") && document["error"].is_object();
    if (error_shape) {
        const auto& error = document["error"];
        if (error.contains("code") && error["code"].is_string()) {
            code = error["code"].get<std::string>();
        }
        if (error.contains("message") && error["message"].is_string()) {
            message = error["message"].get<std::string>();
        }
    }
    const bool refused = status >= 400 && status < 500;
    err << "headendctl: " << (refused ? "" : "server error: ") << message << " (HTTP " << status << ", " << code
        << ")\n";
    if (status == 401) {
        err << "headendctl: check the admin token in '" << globals_.token_file << "'\n";
    }
    if (globals_.json) {
        out << (error_shape ? dump(document) : dump({{"error", {{"code", code}, {"message", message}}}})) << '\n';
    }
    return refused ? kExitRefused : kExitUnavailable;
}

}  // namespace headendctl
