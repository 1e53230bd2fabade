#include "program_daemon.hpp"

#include <fstream>
#include <random>

#include "headend/http/client.hpp"

namespace headend::testing {

namespace fs = std::filesystem;
using core::DeviceType;
using core::NewDevice;
using nlohmann::json;

std::int64_t ShiftedClock::now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
               .count() +
           offset_.load();
}

ProgramDaemon::ProgramDaemon(ProgramDaemonOptions options) {
    std::random_device random;
    root_ = fs::temp_directory_path() / ("headend-program-" + std::to_string(random()));
    auto manufacturer = pki::make_ca(root_ / "mfr", "Test Manufacturer CA");
    if (!manufacturer) {
        ADD_FAILURE() << manufacturer.error().message;
        return;
    }
    manufacturer_ = *manufacturer;

    core::Config config;
    config.listen_address = "127.0.0.1";
    config.coaps_port = 0;
    config.admin_port = 0;
    config.data_dir = root_ / "data";
    config.device_ca = {manufacturer_.cert};
    core::PluginConfig binding{"pev-binding", PEV_BINDING_PLUGIN, {{"binding_timeout_s", options.binding_timeout_s}}};
    if (!options.roaming_vins.empty()) {
        std::ofstream registry(root_ / "roaming.csv");
        registry << "vin,lfdi,home_utility\n";
        for (const auto& vin : options.roaming_vins) {
            roaming_[vin] = pev_certificate("visitor-" + vin, vin);
            registry << vin << "," << roaming_[vin].identity.lfdi << ",OTHER-UTILITY\n";
        }
        binding.settings["roaming_registry_file"] = (root_ / "roaming.csv").string();
    }
    config.plugins = {{"pev-registration", PEV_REGISTRATION_PLUGIN, {{"programs_file", std::string(PROGRAMS_FILE)}}},
                      binding,
                      {"interval-collection", INTERVAL_COLLECTION_PLUGIN, {}},
                      {"billing", BILLING_PLUGIN, options.billing}};
    auto started = core::Daemon::start(config, options.clock);
    if (!started) {
        ADD_FAILURE() << started.error().message;
        return;
    }
    daemon_ = std::move(*started);
    for (const auto& [type, premises, identity] :
         {std::tuple{DeviceType::Esci, "P1", "esci-1"}, std::tuple{DeviceType::Eumd, "P1", "eumd-1"},
          std::tuple{DeviceType::Esci, "P2", "esci-2"}, std::tuple{DeviceType::Eumd, "P2", "eumd-2"}}) {
        auto added = daemon_->devices().add_sync(
            NewDevice{type, premises, std::nullopt, std::nullopt, identity, kDeviceKey, std::nullopt});
        EXPECT_TRUE(added) << added.error().message;
        if (added)
            ids_[identity] = added->id;
    }
    const std::string csv =
        "account_id,customer_id,customer_name,premises_id,service_address,default_rate,email\n"
        "A1,C1,Jane Doe,P1,1 Main St,DOM-FLAT,jane@example.test\nA2,C2,John Roe,P2,2 Main St,DOM-FLAT,\n";
    EXPECT_EQ(admin("POST", "/api/v1/customers/import", csv).first, 200);
    for (const auto& [vin, account, customer, premises, guest] :
         {std::tuple{kGuestVin, "A1", "C1", "P1", true}, std::tuple{kHomeOnlyVin, "A1", "C1", "P1", false},
          std::tuple{kHostVin, "A2", "C2", "P2", true}}) {
        const json body = {{"account_id", account},   {"customer_id", customer},
                           {"premises_id", premises}, {"vin", vin},
                           {"program_id", "EV-TOU"},  {"allow_guest_charging", guest}};
        EXPECT_EQ(admin("POST", "/api/v1/enrollments", body.dump()).first, 201) << vin;
    }
}

ProgramDaemon::~ProgramDaemon() {
    daemon_.reset();
    fs::remove_all(root_);
}

std::pair<int, json> ProgramDaemon::admin(const std::string& method, const std::string& path, const std::string& body) {
    auto response = http::http_request("http://127.0.0.1:" + std::to_string(daemon_->admin_port()) + path, method, body,
                                       {{"Authorization", "Bearer " + daemon_->admin_token()}});
    EXPECT_TRUE(response) << path;
    if (!response)
        return {0, json()};
    return {response->status, json::parse(response->body, nullptr, false)};
}

pki::CertificateFiles ProgramDaemon::pev_certificate(const std::string& name, const std::string& vin) {
    auto made = pki::make_leaf(manufacturer_, root_ / "mfr", name, pki::LeafKind::device,
                               {.days = 30, .overwrite = true, .subject_serial = vin});
    EXPECT_TRUE(made) << made.error().message;
    return made ? *made : pki::CertificateFiles{};
}

pki::CertificateFiles ProgramDaemon::untrusted_certificate(const std::string& name, const std::string& vin) {
    auto rogue = pki::make_ca(root_ / "rogue", "Rogue CA", {.days = 30, .overwrite = true, .subject_serial = {}});
    EXPECT_TRUE(rogue);
    auto made = pki::make_leaf(*rogue, root_ / "rogue", name, pki::LeafKind::device,
                               {.days = 30, .overwrite = true, .subject_serial = vin});
    EXPECT_TRUE(made);
    return made ? *made : pki::CertificateFiles{};
}

json ProgramDaemon::bindings(const std::string& query) {
    return admin("GET", "/api/v1/bindings" + query).second["bindings"];
}

std::vector<std::string> ProgramDaemon::audit_steps(const std::string& pev) {
    std::vector<std::string> steps;
    const auto answer = admin("GET", "/api/v1/pevs/" + pev + "/audit");
    for (const auto& event : answer.second["events"])
        steps.push_back(event["step"]);
    return steps;
}

}  // namespace headend::testing
