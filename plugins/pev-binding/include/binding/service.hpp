// The pev-binding plugin's service: the binding request hook (scenario 1 steps 9-10, scenario 2 step 4), the
// confirmation at /edev/{n}/bnd, acknowledgements at /rsps/bnd, PowerStatus at /edev/{n}/ps, the EUMD's
// configuration, the fallback timer, LFDI pinning with its clone alarm, and the audit trail. State lives in storage
// only, so every entry point may run on its own thread.
//
// States: requested → confirmed (checks passed; credentials issued) → acknowledged (the PEV's Response, or its
// plugged-in PowerStatus over the re-bind PSK) → active (and the EUMD acknowledged a configuration naming the PEV);
// ended on unplug or when bound elsewhere; refused (checks failed) and fallback (not active within the timeout) each
// leave a fallback record for billing.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "binding/judge.hpp"
#include "binding/roaming.hpp"
#include "headend/plugin/plugin.hpp"

namespace binding {

struct BindingSettings {
    std::int64_t timeout_seconds = 60;             // from the request to active, else fallback
    std::uint32_t default_interval_seconds = 900;  // EUMD measurement interval until the operator changes it
    std::int64_t credential_days = 30;             // lifetime of a re-bind PSK credential
    std::string roaming_program = "EV-TOU";
    std::uint32_t utility_pen = 0;
};

std::vector<headend::storage::Migration> binding_migrations();

class BindingService {
public:
    BindingService(headend::plugin::Context& context, RoamingRegistry roaming, BindingSettings settings);

    // Checks that pev-registration's views exist, falls back bindings whose timeout passed while the daemon was
    // down, then registers the hook, the CoAP resources and the admin routes.
    headend::Result<void> start();

    headend::Result<nlohmann::json> list_bindings(const std::map<std::string, std::string>& query) const;
    headend::Result<nlohmann::json> audit(const std::string& vin_or_lfdi) const;
    headend::Result<nlohmann::json> fallbacks(const std::map<std::string, std::string>& query) const;
    headend::Result<nlohmann::json> set_interval(const std::string& premises_id, std::int64_t seconds);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace binding
