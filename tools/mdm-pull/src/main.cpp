// mdm-pull: what an MDM runs against the head-end's export listener: fetch every waiting file, check its SHA-256,
// keep it, acknowledge it. Resumable: run it again after any failure.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "mdm_pull/pull.hpp"
#include "secrets/token_file.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFileFailed = 1;  // a file failed or its checksum did not match (it is fetched again next time)
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;  // no listing: nothing was done

// What a server sends back is echoed in errors; bytes that are not UTF-8 are shown replaced, not thrown on.
constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

nlohmann::json to_json(const mdm_pull::FileOutcome& file) {
    nlohmann::json entry = {{"name", file.name},     {"status", file.status},
                            {"bytes", file.bytes},   {"resumed_from", file.resumed_from},
                            {"sha256", file.sha256}, {"acknowledged", file.acknowledged}};
    if (!file.error.empty())
        entry["error"] = file.error;
    return entry;
}

}  // namespace

int main(int argc, char** argv) {
    mdm_pull::Options options;
    std::string token_file;
    bool json = false;
    bool no_ack = false;
    CLI::App app{
        "Fetches the head-end's waiting export files (CMEP, ESPI), checks each one's SHA-256, keeps it in "
        "--out and acknowledges it. A partial download is resumed on the next run."};
    app.add_option("--url", options.url, "The export listener, e.g. https://headend:8443")->required();
    app.add_option("--out", options.out, "Folder for the files")->required();
    app.add_option("--ca", options.ca_file, "CA of the head-end's certificate (PEM)")->check(CLI::ExistingFile);
    auto* cert =
        app.add_option("--cert", options.cert_file, "The MDM's client certificate (PEM)")->check(CLI::ExistingFile);
    app.add_option("--key", options.key_file, "Its key (PEM)")->check(CLI::ExistingFile)->needs(cert);
    cert->needs("--key");
    auto* token = app.add_option("--token-file", token_file, "File holding a bearer token (instead of a certificate)")
                      ->check(CLI::ExistingFile);
    token->excludes(cert);
    app.add_option("--timeout", options.timeout_s, "Seconds per request")->capture_default_str();
    app.add_flag("--no-ack", no_ack, "Fetch and check, but leave the files waiting");
    app.add_flag("--json", json, "One JSON document on stdout");
    app.footer(
        "One credential: --cert and --key, or --token-file.\n"
        "Exit: 0 every file fetched and acknowledged, 1 some file failed (run again), 2 usage, 3 no listing.\n");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? kExitOk : kExitUsage;
    }
    if (options.cert_file.empty() && token_file.empty()) {
        std::cerr << "mdm-pull: give --cert and --key (mutual TLS) or --token-file\n";
        return kExitUsage;
    }
    options.acknowledge = !no_ack;
    if (!token_file.empty()) {
        options.token = secrets::read_token_file(token_file).value_or("");
        if (options.token.empty()) {
            std::cerr << "mdm-pull: " << token_file << " holds no token\n";
            return kExitUsage;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    auto outcome = mdm_pull::pull(options, [json](const mdm_pull::FileOutcome& file) {
        if (json)
            return;
        std::cout << file.name << ": " << file.status;
        if (file.resumed_from > 0)
            std::cout << " (resumed at byte " << file.resumed_from << ")";
        if (file.acknowledged)
            std::cout << ", acknowledged";
        if (!file.error.empty())
            std::cout << ": " << file.error;
        std::cout << '\n';
    });
    curl_global_cleanup();
    if (!outcome) {
        if (json)
            std::cout << nlohmann::json{{"error", outcome.error().message}}.dump(-1, ' ', false, kReplace) << '\n';
        else
            std::cerr << "mdm-pull: " << outcome.error().message << '\n';
        return kExitUnreachable;
    }
    if (json) {
        nlohmann::json files = nlohmann::json::array();
        for (const auto& file : outcome->files)
            files.push_back(to_json(file));
        std::cout << nlohmann::json{{"files", files}, {"ok", outcome->ok()}}.dump(-1, ' ', false, kReplace) << '\n';
    } else if (outcome->files.empty()) {
        std::cout << "no files waiting\n";
    }
    return outcome->ok() ? kExitOk : kExitFileFailed;
}
