// clearinghouse: an OCPI 2.2.1 roaming hub's CDRs module for tests and the demo, the other side of the head-end's
// settlement. `serve` receives the CDRs the head-end pushes for visiting PEVs; `send` pushes CDRs of the utility's
// PEVs charged elsewhere to the head-end's OCPI listener; `report` lists what was received.
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "billing/ocpi.hpp"
#include "billing/ocpi_push.hpp"
#include "headend/http/server.hpp"
#include "secrets/token_file.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
namespace ocpi = billing::ocpi;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;  // send: a CDR was rejected; serve: could not start
constexpr int kExitUsage = 2;
constexpr int kExitRetry = 3;  // send: no usable answer (try again later)

std::atomic<bool> stopping{false};
// In the inbox: one line per CDR received, "<country>-<party>-<id> new|repeat|conflict".
constexpr const char* kReceiptsLog = "receipts.log";

std::optional<std::string> token_of(const std::string& file) {
    auto token = secrets::read_token_file(file);
    if (!token || token->empty()) {
        std::cerr << "clearinghouse: " << file << " holds no token\n";
        return std::nullopt;
    }
    return token;
}

std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ---- serve

struct ServeOptions {
    std::string listen = "127.0.0.1";
    std::uint16_t port = 0;
    std::string token_file;
    std::string inbox;
    std::string mode = "accept";
    std::string cert;
    std::string key;
    std::string port_file;
};

int serve(const ServeOptions& options) {
    const auto token = token_of(options.token_file);
    if (!token)
        return kExitUsage;
    std::error_code error;
    fs::create_directories(options.inbox, error);
    if (error) {
        std::cerr << "clearinghouse: " << options.inbox << ": " << error.message() << '\n';
        return kExitUsage;
    }
    headend::http::HttpServerOptions server_options;
    server_options.name = "clearinghouse";
    server_options.address = options.listen;
    server_options.port = options.port;
    if (!options.cert.empty())
        server_options.tls = headend::http::TlsOptions{options.cert, options.key, {}, false, std::chrono::seconds(10)};
    headend::http::HttpServer server(server_options);
    std::mutex inbox_mutex;
    const std::string expected = "Token " + ocpi::encode_token(*token);
    server.add(
        "POST", "/ocpi/2.2.1/cdrs",
        [&](const headend::http::Request& request) {
            const auto reply = [](int status, int code, const std::string& message) {
                return headend::http::Response{
                    status, ocpi::envelope(code, message, now()), "application/json", {}, {}};
            };
            const auto header = request.headers.find("authorization");
            const std::string presented = header == request.headers.end() ? "" : header->second;
            if (presented.size() != expected.size() ||
                CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) != 0)
                return reply(401, 2000, "unknown token");
            if (options.mode == "fail")
                return reply(503, 3000, "hub unavailable");
            auto cdr = ocpi::parse_cdr(request.body);
            if (!cdr)
                return reply(400, ocpi::kInvalidParameters, cdr.error().message);
            if (options.mode == "reject")
                return reply(400, ocpi::kInvalidParameters, "rejected by the hub");
            // A CDR is applied once by its id (country, party, id): the same CDR again is acknowledged (the
            // sender never saw our answer), another under a used id is refused. Every receipt is logged. The key
            // names the inbox file and a log line: an id this hub cannot keep so is refused.
            const bool storable =
                !cdr->id.empty() && cdr->id.front() != '.' && std::all_of(cdr->id.begin(), cdr->id.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
                });
            if (!storable)
                return reply(400, ocpi::kInvalidParameters,
                             "id: this hub keeps ids of letters, digits, '-', '_' and '.' only");
            const std::string key = cdr->country_code + "-" + cdr->party_id + "-" + cdr->id;
            const fs::path file = fs::path(options.inbox) / (key + ".json");
            const std::lock_guard lock(inbox_mutex);
            std::ofstream receipts(fs::path(options.inbox) / kReceiptsLog, std::ios::app);
            if (fs::exists(file)) {
                std::ifstream in(file, std::ios::binary);
                const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                const auto before = ocpi::parse_cdr(kept);
                // The same CDR, however its JSON is spaced or ordered.
                const bool same = before && ocpi::format_cdr(*before) == ocpi::format_cdr(*cdr);
                receipts << key << (same ? " repeat" : " conflict") << std::endl;
                if (!same)
                    return reply(400, ocpi::kInvalidParameters, "CDR " + cdr->id + " was received with other content");
                return reply(200, ocpi::kSuccess, "already received");
            }
            std::ofstream(file.string() + ".tmp", std::ios::binary) << request.body;
            fs::rename(file.string() + ".tmp", file);
            receipts << key << " new" << std::endl;
            std::cout << "received CDR " << cdr->id << " from " << cdr->country_code << "*" << cdr->party_id << ": "
                      << ocpi::format_decimal(cdr->total_energy_wh, 3) << " kWh, " << cdr->currency << " "
                      << ocpi::format_decimal(cdr->total_cost_excl_vat, 5) << (cdr->credit ? " (credit)" : "")
                      << std::endl;
            return reply(200, ocpi::kSuccess, "accepted");
        },
        headend::http::Access::Public);
    if (auto started = server.start(); !started) {
        std::cerr << "clearinghouse: " << started.error().message << '\n';
        return kExitRefused;
    }
    const std::string url = std::string(options.cert.empty() ? "http" : "https") + "://" + options.listen + ":" +
                            std::to_string(server.port()) + "/ocpi/2.2.1/cdrs";
    if (!options.port_file.empty()) {
        std::ofstream(options.port_file + ".tmp") << server.port();
        fs::rename(options.port_file + ".tmp", options.port_file);
    }
    std::cout << "clearinghouse: CDRs endpoint " << url << " (" << options.mode << ")" << std::endl;
    signal(SIGINT, [](int) { stopping = true; });
    signal(SIGTERM, [](int) { stopping = true; });
    while (!stopping)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
    return kExitOk;
}

// ---- send

int send(const std::string& url, const std::string& token_file, const std::string& ca,
         const std::vector<std::string>& files, bool as_json) {
    const auto token = token_of(token_file);
    if (!token)
        return kExitUsage;
    ocpi::Peer peer{url, *token, ca, std::chrono::seconds(30)};
    int exit_code = kExitOk;
    json results = json::array();
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::cerr << "clearinghouse: " << file << " cannot be read\n";
            return kExitUsage;
        }
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto cdr = ocpi::parse_cdr(text);
        if (!cdr) {
            std::cerr << "clearinghouse: " << file << ": " << cdr.error().message << '\n';
            return kExitUsage;
        }
        const auto pushed = ocpi::push_cdr(peer, *cdr);
        const char* outcome = pushed.outcome == ocpi::PushOutcome::Accepted   ? "accepted"
                              : pushed.outcome == ocpi::PushOutcome::Rejected ? "rejected"
                                                                              : "retry";
        if (pushed.outcome == ocpi::PushOutcome::Rejected)
            exit_code = std::max(exit_code, kExitRefused);
        if (pushed.outcome == ocpi::PushOutcome::RetryLater)
            exit_code = kExitRetry;
        results.push_back({{"file", file}, {"cdr_id", cdr->id}, {"outcome", outcome}, {"detail", pushed.detail}});
        if (!as_json)
            std::cout << cdr->id << ": " << outcome << " (" << pushed.detail << ")\n";
    }
    if (as_json)
        std::cout << results.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
    return exit_code;
}

// ---- report

int report(const std::string& inbox, bool as_json) {
    json cdrs = json::array();
    if (fs::exists(inbox)) {
        std::map<std::string, int> received;  // deliveries of each CDR, repeats included
        std::ifstream receipts(fs::path(inbox) / kReceiptsLog);
        for (std::string key, kind; receipts >> key >> kind;)
            if (kind != "conflict")
                ++received[key];
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(inbox))
            if (entry.path().extension() == ".json")
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            auto cdr = ocpi::parse_cdr(text);
            if (!cdr)
                continue;
            cdrs.push_back({{"party", cdr->country_code + "*" + cdr->party_id},
                            {"id", cdr->id},
                            {"token_uid", cdr->token.uid},
                            {"location", cdr->location.id},
                            {"start", ocpi::format_date_time(cdr->start)},
                            {"end", ocpi::format_date_time(cdr->end)},
                            {"kwh", ocpi::format_decimal(cdr->total_energy_wh, 3)},
                            {"cost", ocpi::format_decimal(cdr->total_cost_excl_vat, 5)},
                            {"currency", cdr->currency},
                            {"credit", cdr->credit},
                            {"received", received[file.stem().string()]}});
        }
    }
    if (as_json) {
        std::cout << json{{"cdrs", cdrs}}.dump(2) << '\n';
        return kExitOk;
    }
    if (cdrs.empty()) {
        std::cout << "no CDRs received\n";
        return kExitOk;
    }
    for (const auto& cdr : cdrs)
        std::cout << cdr["party"].get<std::string>() << " " << cdr["id"].get<std::string>() << "  "
                  << cdr["start"].get<std::string>() << "  " << cdr["kwh"].get<std::string>() << " kWh  "
                  << cdr["currency"].get<std::string>() << " " << cdr["cost"].get<std::string>()
                  << (cdr["credit"].get<bool>() ? "  credit" : "") << "  at " << cdr["location"].get<std::string>()
                  << "  PEV " << cdr["token_uid"].get<std::string>()
                  << (cdr["received"].get<int>() > 1 ? "  received " + cdr["received"].dump() + " times" : "") << '\n';
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"An OCPI 2.2.1 roaming hub's CDRs module, the head-end's clearinghouse in tests and the demo."};
    app.require_subcommand(1);
    bool as_json = false;
    app.add_flag("--json", as_json, "Machine-readable output (send, report)");

    ServeOptions serve_options;
    auto* serve_command = app.add_subcommand("serve", "Receive CDRs pushed to /ocpi/2.2.1/cdrs until stopped");
    serve_command->add_option("--listen", serve_options.listen, "Address to listen on")->capture_default_str();
    serve_command->add_option("--port", serve_options.port, "Port (0: any free one, printed)")->capture_default_str();
    serve_command->add_option("--token-file", serve_options.token_file, "The token peers must send")
        ->required()
        ->check(CLI::ExistingFile);
    serve_command->add_option("--inbox", serve_options.inbox, "Folder where each accepted CDR is kept")->required();
    serve_command->add_option("--mode", serve_options.mode, "accept, reject (2001) or fail (503)")
        ->check(CLI::IsMember({"accept", "reject", "fail"}))
        ->capture_default_str();
    auto* cert = serve_command->add_option("--cert", serve_options.cert, "TLS certificate (PEM); none: plain HTTP")
                     ->check(CLI::ExistingFile);
    serve_command->add_option("--key", serve_options.key, "TLS key (PEM)")->check(CLI::ExistingFile)->needs(cert);
    cert->needs("--key");
    serve_command->add_option("--port-file", serve_options.port_file, "Write the bound port here once listening");

    std::string url;
    std::string token_file;
    std::string ca;
    std::vector<std::string> files;
    auto* send_command = app.add_subcommand("send", "Push CDRs (JSON files) to a CDRs endpoint");
    send_command->add_option("--url", url, "The endpoint, e.g. https://headend:8444/ocpi/2.2.1/cdrs")->required();
    send_command->add_option("--token-file", token_file, "Our token at that peer")
        ->required()
        ->check(CLI::ExistingFile);
    send_command->add_option("--ca", ca, "CA of the peer's certificate (PEM)")->check(CLI::ExistingFile);
    send_command->add_option("CDR", files, "CDR files (OCPI 2.2.1 JSON)")->required()->check(CLI::ExistingFile);

    std::string inbox;
    auto* report_command = app.add_subcommand("report", "List the CDRs a serve received");
    report_command->add_option("--inbox", inbox, "The serve's inbox")->required();
    for (auto* command : {serve_command, send_command, report_command})
        command->fallthrough();  // lets --json follow the subcommand name too
    app.footer(
        "Exit: 0 done, 1 a CDR was rejected (send) or the server could not start (serve), 2 usage, 3 the peer "
        "gave no usable answer (send: try again).");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? kExitOk : kExitUsage;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int code = kExitOk;
    if (*serve_command)
        code = serve(serve_options);
    else if (*send_command)
        code = send(url, token_file, ca, files, as_json);
    else
        code = report(inbox, as_json);
    curl_global_cleanup();
    return code;
}
