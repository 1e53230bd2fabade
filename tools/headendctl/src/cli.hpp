// headendctl's plumbing: global options, the command table, and the one place that talks to the admin API and turns
// its answer into output and an exit code. Commands only describe their request and how to show the result.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "headend/plugin/result.hpp"

namespace headendctl {

enum ExitCode : int {
    kExitOk = 0,
    kExitRefused = 1,      // the server refused (4xx), or health is not ok
    kExitUsage = 2,        // bad command line or unusable local input (token file, certificate file)
    kExitUnavailable = 3,  // cannot connect, server error (5xx), or an answer we cannot read
};

// One request to the admin API and how its answer is shown.
struct ApiCall {
    ApiCall(std::string call_method, std::string call_path)
        : method(std::move(call_method)), path(std::move(call_path)) {}

    std::string method;
    std::string path;  // below the admin URL, query included: "/api/v1/devices?type=esci"
    std::string body;
    std::string content_type;
    std::chrono::seconds timeout{30};
    // Health answers without the token; every other command needs it.
    bool token_optional = false;
    // Which answers carry a result document rather than an error; default: 2xx.
    std::function<bool(int status, const nlohmann::json& body)> accepts;
    // Text for people; --json prints the document itself instead.
    std::function<void(const nlohmann::json& body, std::ostream& out)> show;
    // Exit code for an accepted answer; default kExitOk.
    std::function<int(const nlohmann::json& body)> exit_code;

    void json_body(const nlohmann::json& document);
};

// Turns the parsed options of one command into its call; an error is a usage error (exit 2).
using CallBuilder = std::function<headend::Result<ApiCall>()>;
// Adds a command's own options to its CLI11 subcommand and returns the builder that reads them after parsing.
using CommandDefinition = std::function<CallBuilder(CLI::App& command)>;

class Cli {
public:
    Cli();

    // A command group such as "device"; its commands are added with add({"device", "add"}, ...).
    void group(const std::string& name, const std::string& description);
    void add(const std::vector<std::string>& words, const std::string& description, const CommandDefinition& define);

    int run(int argc, char** argv, std::ostream& out, std::ostream& err);

private:
    struct Globals {
        std::string admin_url;
        std::string token_file;
        bool json = false;
    };
    struct Command {
        CLI::App* app;
        CallBuilder build;
    };

    void add_global_options(CLI::App& app);
    int execute(const ApiCall& call, std::ostream& out, std::ostream& err) const;
    int fail(const headend::Error& error, int exit_code, std::ostream& out, std::ostream& err) const;

    CLI::App app_;
    Globals globals_;
    std::vector<CLI::Option*> admin_options_;
    std::vector<CLI::Option*> token_options_;
    std::map<std::string, CLI::App*> groups_;
    std::vector<Command> commands_;
    bool token_file_explicit_ = false;
};

// Reads a whole file; the error names the file and the reason.
headend::Result<std::string> read_file(const std::string& path);

// An id given on the command line: a positive decimal number read whole (no hex, no clamping of what overflows), or
// a usage error naming `what`.
headend::Result<std::int64_t> positive_id(const std::string& text, const std::string& what);

}  // namespace headendctl
