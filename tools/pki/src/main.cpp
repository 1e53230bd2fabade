// headend-pki: creates the lab PKI (CA, device and head-end certificates) and prints device identities.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <string>

#include "han/identity.hpp"
#include "pki/pki.hpp"

namespace {

namespace fs = std::filesystem;
using headend::Error;
using headend::Result;
using headend::pki::CertificateFiles;

// Exit codes: success, an operation failed, the command line was wrong.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Settings {
    bool json = false;
    bool force = false;
    fs::path out;
    fs::path ca_dir;
    fs::path cert;
    std::string name;
    std::string subject_serial;
    int days = headend::pki::IssueOptions{}.days;
};

int report_error(const Settings& settings, const Error& error) {
    std::cerr << "headend-pki: error: " << error.message << " (" << error.code << ")\n";
    if (settings.json) {
        std::cout << nlohmann::json{{"error", {{"code", error.code}, {"message", error.message}}}}.dump(2) << "\n";
    }
    return kExitFailure;
}

int report_files(const Settings& settings, const Result<CertificateFiles>& files) {
    if (!files) {
        return report_error(settings, files.error());
    }
    if (settings.json) {
        std::cout << nlohmann::json{{"name", files->common_name},   {"cert", files->cert.string()},
                                    {"key", files->key.string()},   {"der", files->der.string()},
                                    {"lfdi", files->identity.lfdi}, {"sfdi", files->identity.sfdi}}
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "name: " << files->common_name << "\ncert: " << files->cert.string()
                  << "\nkey:  " << files->key.string() << "\nder:  " << files->der.string()
                  << "\nLFDI: " << files->identity.lfdi << "\nSFDI: " << files->identity.sfdi << "\n";
    }
    return kExitOk;
}

int run_leaf(const Settings& settings, headend::pki::LeafKind kind) {
    auto ca = headend::pki::load_ca(settings.ca_dir);
    if (!ca) {
        return report_error(settings, ca.error());
    }
    return report_files(
        settings, headend::pki::make_leaf(
                      *ca, settings.out, settings.name, kind,
                      {.days = settings.days, .overwrite = settings.force, .subject_serial = settings.subject_serial}));
}

int run_identity(const Settings& settings) {
    auto identity = han::identity_from_pem_file(settings.cert);
    if (!identity) {
        return report_error(settings, identity.error());
    }
    if (settings.json) {
        std::cout << nlohmann::json{{"cert", settings.cert.string()},
                                    {"lfdi", identity->lfdi},
                                    {"sfdi", identity->sfdi}}
                         .dump(2)
                  << "\n";
    } else {
        std::cout << "LFDI: " << identity->lfdi << "\nSFDI: " << identity->sfdi << "\n";
    }
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    CLI::App app{"Lab PKI for the PEV head-end: ECDSA P-256 CA, device and server certificates, LFDI/SFDI."};
    app.require_subcommand(1);
    app.add_flag("--json", settings.json, "Print results (and errors) as JSON on stdout");

    const auto add_common = [&](CLI::App* sub) {
        sub->fallthrough();  // lets --json follow the subcommand name too
        sub->add_option("--days", settings.days, "Validity in days")->check(CLI::Range(1, 36500));
        sub->add_flag("--force", settings.force, "Replace existing files");
        sub->add_option("--out", settings.out, "Output directory (created if missing)")->required();
    };

    CLI::App* ca = app.add_subcommand("ca", "Create a CA: DIR/ca.pem, ca.key (0600), ca.der");
    add_common(ca);
    ca->add_option("--name", settings.name, "CA common name")->default_str(std::string(headend::pki::kDefaultCaName));

    const auto add_leaf = [&](const char* name, const char* help) {
        CLI::App* sub = app.add_subcommand(name, help);
        add_common(sub);
        sub->add_option("--ca", settings.ca_dir, "Directory holding ca.pem and ca.key")->required();
        sub->add_option("--name", settings.name, "Common name, also the file stem")->required();
        sub->add_option("--serial", settings.subject_serial,
                        "Subject serialNumber attribute; a PEV certificate names its VIN here");
        return sub;
    };
    CLI::App* device = add_leaf("device", "Issue a device certificate: DIR/CN.pem, CN.key (0600), CN.der");
    CLI::App* server = add_leaf("server", "Issue the head-end's server certificate (same files as device)");

    CLI::App* identity = app.add_subcommand("identity", "Print the LFDI and SFDI of a PEM certificate");
    identity->fallthrough();
    identity->add_option("--cert", settings.cert, "PEM certificate file")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }

    if (ca->parsed()) {
        const std::string name = settings.name.empty() ? std::string(headend::pki::kDefaultCaName) : settings.name;
        return report_files(settings, headend::pki::make_ca(
                                          settings.out, name,
                                          {.days = settings.days, .overwrite = settings.force, .subject_serial = {}}));
    }
    if (device->parsed()) {
        return run_leaf(settings, headend::pki::LeafKind::device);
    }
    if (server->parsed()) {
        return run_leaf(settings, headend::pki::LeafKind::server);
    }
    if (identity->parsed()) {
        return run_identity(settings);
    }
    return kExitUsage;
}
