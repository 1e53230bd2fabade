// SQL of the binding plugin: rows, audit events and the few statements several entry points share.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "headend/plugin/storage.hpp"

namespace binding::store {

using headend::Result;
using headend::storage::Transaction;

// Bindings not yet ended, refused or fallen back.
inline constexpr const char* kOpen = "('requested', 'confirmed', 'acknowledged', 'active')";

// Every status a binding can have (the CHECK of the bindings table).
inline constexpr std::array<const char*, 7> kStatuses{"requested", "confirmed", "acknowledged", "active",
                                                      "ended",     "refused",   "fallback"};

struct Binding {
    std::int64_t id = 0;
    std::string mrid;
    std::string lfdi;
    std::optional<std::string> vin;
    std::string premises_id;
    std::string kind;
    bool rebind = false;
    std::string program_id;
    std::optional<std::string> payer_account;
    std::optional<std::string> home_utility;
    std::string status;
    std::optional<std::string> reason;
    std::int64_t esci_device_id = 0;
    std::int64_t requested_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::string> credential_identity;
    std::vector<std::uint8_t> credential_key;
    bool credential_installed = false;
    std::optional<std::int64_t> credential_expiry;
};

struct EumdSettings {
    std::string premises_id;
    std::uint32_t interval_length = 0;
    std::string config_mrid;
    std::optional<std::string> pev_lfdi;
    std::optional<std::int64_t> binding_id;
    std::optional<std::string> acknowledged_mrid;
    std::optional<std::string> read_mrid;
    bool reconfigured = false;
    std::optional<std::int64_t> acknowledged_binding_id;  // the binding current when the EUMD last acknowledged
};

std::vector<headend::storage::Migration> migrations();

Result<std::optional<Binding>> binding_where(Transaction& tx, const std::string& condition,
                                             std::vector<headend::storage::Value> params);
Result<std::optional<Binding>> open_binding(Transaction& tx, const std::string& lfdi);
Result<std::optional<Binding>> latest_binding(Transaction& tx, const std::string& lfdi);
Result<std::optional<Binding>> binding_by_id(Transaction& tx, std::int64_t id);

Result<std::optional<EumdSettings>> eumd_settings(Transaction& tx, const std::string& premises_id);

// One audit entry; binding, VIN and LFDI as far as they are known.
Result<void> record(Transaction& tx, const Binding* binding, std::int64_t at, const std::string& step,
                    const nlohmann::json& detail = nlohmann::json::object());
Result<void> record_unbound(Transaction& tx, const std::optional<std::string>& lfdi, const std::string& premises_id,
                            std::int64_t at, const std::string& step, const nlohmann::json& detail);

// Moves a binding to `status` (with its reason) and records "binding.<status>".
Result<void> set_status(Transaction& tx, Binding& binding, const std::string& status, std::int64_t at,
                        const std::optional<std::string>& reason = std::nullopt,
                        nlohmann::json detail = nlohmann::json::object());

// How many bindings have each status; statuses without one are absent.
Result<std::map<std::string, std::int64_t>> bindings_by_status(Transaction& tx);

// The fallback record billing uses: energy at the premises goes to its account at its default rate.
Result<void> record_fallback(Transaction& tx, const Binding& binding, std::int64_t at, const std::string& reason);

}  // namespace binding::store
