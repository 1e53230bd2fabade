#include "binding/service.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>

#include "admin/json_reply.hpp"
#include "coap/replies.hpp"
#include "headend/plugin/list_query.hpp"
#include "pev/vin.hpp"
#include "store.hpp"

namespace binding {

namespace {

using coap_replies::forbidden;
using coap_replies::xml_body;
using headend::make_error;
using headend::Result;
using headend::coap::Code;
using headend::coap::DeviceType;
using headend::coap::Request;
using headend::coap::Responder;
using headend::coap::Response;
using headend::storage::Transaction;
using headend::storage::Value;
using nlohmann::json;
using store::Binding;

constexpr std::size_t kKeyBytes = 16;
constexpr std::uint8_t kMainsPower = 1;              // PowerSourceType: a PEV on mains is plugged in
constexpr std::uint32_t kPowerStatusPollRate = 900;  // seconds; readers are also told of changes by observing
constexpr std::int64_t kSecondsPerDay = 86400;

std::vector<std::uint8_t> random_bytes(std::size_t count) {
    std::vector<std::uint8_t> bytes(count);
    std::size_t filled = 0;
    while (filled < count) {
        const ssize_t got = getrandom(bytes.data() + filled, count - filled, 0);
        if (got < 0 && errno == EINTR)
            continue;
        // getrandom only fails on EINTR (above), EFAULT or ENOSYS: neither can happen on a supported kernel.
        if (got < 0)
            std::abort();
        filled += static_cast<std::size_t>(got);
    }
    return bytes;
}

std::string hex(const std::vector<std::uint8_t>& bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string text;
    for (const auto byte : bytes) {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 0x0F];
    }
    return text;
}

std::string pen_hex(std::uint32_t pen) {
    std::array<char, 9> text{};
    std::snprintf(text.data(), text.size(), "%08X", pen);
    return std::string(text.data(), 8);
}

// A fresh mRID: 96 random bits, then the utility's PEN in the low 32 bits.
std::string new_mrid(std::uint32_t pen) {
    return hex(random_bytes(12)) + pen_hex(pen);
}

std::string binding_path(std::int64_t device_id) {
    return "/edev/" + std::to_string(device_id) + "/bnd";
}

std::optional<std::int64_t> device_param(const Request& request) {
    return coap_replies::id_segment(request, 1);
}

std::optional<sep::BindingStatus> wire_status(const std::string& status) {
    return sep::parse_binding_status(status);
}

json binding_json(const Binding& binding) {
    return {{"binding_id", binding.id},
            {"mrid", binding.mrid},
            {"vin", binding.vin ? json(*binding.vin) : json(nullptr)},
            {"lfdi", binding.lfdi},
            {"premises_id", binding.premises_id},
            {"kind", binding.kind},
            {"rebind", binding.rebind},
            {"program_id", binding.program_id},
            {"payer_account", binding.payer_account ? json(*binding.payer_account) : json(nullptr)},
            {"home_utility", binding.home_utility ? json(*binding.home_utility) : json(nullptr)},
            {"status", binding.status},
            {"reason", binding.reason ? json(*binding.reason) : json(nullptr)},
            {"requested_at", binding.requested_at},
            {"updated_at", binding.updated_at}};
}

}  // namespace

struct BindingService::Impl : std::enable_shared_from_this<BindingService::Impl> {
    Impl(headend::plugin::Context& context_in, RoamingRegistry roaming_in, BindingSettings settings_in)
        : context(context_in), roaming(std::move(roaming_in)), settings(std::move(settings_in)) {}

    headend::plugin::Context& context;
    RoamingRegistry roaming;
    BindingSettings settings;

    std::int64_t now() const { return context.clock.now(); }

    // The EUMD configuration's mRID names what it configures: premises, PEV and interval. The same configuration
    // again (a re-binding) has the same mRID, so an EUMD that acknowledged it once is known to meter the PEV.
    std::string config_mrid(const std::string& premises, const std::string& lfdi, std::uint32_t interval) const {
        std::uint64_t hash = 0xcbf29ce484222325ULL;
        for (const char c : premises + "|" + lfdi + "|" + std::to_string(interval)) {
            hash ^= static_cast<unsigned char>(c);
            hash *= 0x100000001b3ULL;
        }
        std::array<char, 17> text{};
        std::snprintf(text.data(), text.size(), "%016llX", static_cast<unsigned long long>(hash));
        return std::string(text.data(), 16) + "00000000" + pen_hex(settings.utility_pen);
    }

    // A premises' EUMD configuration: the stored one, or until there is one the default every EUMD starts with (no
    // PEV, the configured interval), with its own mRID so the EUMD can acknowledge it like any other.
    Result<store::EumdSettings> eumd_configuration(Transaction& tx, const std::string& premises_id) const {
        auto stored = store::eumd_settings(tx, premises_id);
        if (!stored)
            return stored.error();
        if (*stored)
            return std::move(**stored);
        store::EumdSettings defaults;
        defaults.premises_id = premises_id;
        defaults.interval_length = settings.default_interval_seconds;
        defaults.config_mrid = config_mrid(premises_id, "", defaults.interval_length);
        return defaults;
    }

    void notify_premises_eumds(const std::string& premises_id) {
        for (const auto& eumd : context.devices.list(DeviceType::Eumd, premises_id)) {
            context.resources.notify(binding_path(eumd.id));
        }
    }
    void notify_pev(const std::string& lfdi) {
        if (auto device = context.devices.find_lfdi(lfdi))
            context.resources.notify(binding_path(device->id));
    }
    void schedule_expiry(std::int64_t binding_id, std::int64_t delay_seconds) {
        context.timers.after(std::chrono::seconds(std::max<std::int64_t>(delay_seconds, 0)),
                             [weak = weak_from_this(), binding_id] {
                                 if (auto self = weak.lock())
                                     self->expire(binding_id);
                             });
    }

    // ---- the binding request (the ESCI's POST /edev of a PEV)

    Result<BindingFacts> gather(Transaction& tx, const std::string& lfdi, const std::string& premises_id,
                                const std::optional<std::string>& certificate_vin,
                                const std::optional<headend::plugin::DeviceRecord>& existing) const {
        BindingFacts facts;
        facts.lfdi = lfdi;
        facts.certificate_vin = certificate_vin;
        facts.roaming_program = settings.roaming_program;
        auto premises = tx.query(
            "SELECT premises_id, account_id, default_rate, hosts_guests FROM pev_premises_v1 WHERE premises_id = ?",
            std::vector<Value>{premises_id});
        if (!premises)
            return premises.error();
        if (!premises->empty()) {
            const auto& row = premises->front();
            facts.premises = PremisesFacts{row.text(0), row.text(1), row.text(2), row.integer(3) != 0};
        }
        auto pinned = tx.query("SELECT vin FROM pev_pins WHERE lfdi = ?", std::vector<Value>{lfdi});
        if (!pinned)
            return pinned.error();
        if (!pinned->empty())
            facts.pinned_vin = pinned->front().text(0);
        // Neither pinned nor named by a certificate: a visitor back with the re-bind credential we issued it, but only
        // while a session opened with that credential is live and unexpired (a stored credential proves nothing: any
        // ESCI can name any LFDI). Asked only here, as it walks the live sessions.
        if (!facts.pinned_vin && !facts.certificate_vin && existing && existing->psk_identity &&
            (!existing->psk_expires_at || now() < *existing->psk_expires_at) &&
            context.devices.live_psk_session(*existing->psk_identity)) {
            const auto entry = std::find_if(roaming.begin(), roaming.end(),
                                            [&](const auto& registered) { return registered.second.lfdi == lfdi; });
            if (entry != roaming.end())
                facts.registry_vin = entry->first;
        }
        const auto claimed = facts.claimed_vin();
        if (!claimed)
            return facts;
        auto holder =
            tx.query("SELECT lfdi FROM pev_pins WHERE vin = ? AND lfdi != ?", std::vector<Value>{*claimed, lfdi});
        if (!holder)
            return holder.error();
        if (!holder->empty())
            facts.vin_pinned_to = holder->front().text(0);
        auto enrollment = tx.query(
            "SELECT vin, account_id, premises_id, program_id, allow_guest_charging, guest_charging_payer, "
            "allow_roaming FROM pev_enrollments_v1 WHERE vin = ?",
            std::vector<Value>{*claimed});
        if (!enrollment)
            return enrollment.error();
        if (!enrollment->empty()) {
            const auto& row = enrollment->front();
            facts.enrollment =
                EnrollmentFacts{row.text(0),         row.text(1),           row.text(2),        row.text(3),
                                row.integer(4) != 0, row.text(5) == "host", row.integer(6) != 0};
        }
        if (auto found = roaming.find(*claimed); found != roaming.end())
            facts.roaming = found->second;
        return facts;
    }

    // Copies the installed credential `identity` (issued by an earlier binding of the PEV) into a re-binding.
    Result<void> carry_credential(Transaction& tx, Binding& binding, const std::string& identity) {
        auto issued = tx.query(
            "SELECT credential_key, credential_expiry FROM bindings WHERE lfdi = ? AND credential_identity = ? "
            "ORDER BY binding_id LIMIT 1",
            std::vector<Value>{binding.lfdi, identity});
        if (!issued)
            return issued.error();
        if (issued->empty())
            return {};  // installed by other means (an operator): nothing to carry
        binding.credential_identity = identity;
        binding.credential_key = issued->front().blob(0).bytes;
        binding.credential_expiry = issued->front().optional_integer(1);
        binding.credential_installed = true;
        auto stored = tx.execute(
            "UPDATE bindings SET credential_identity = ?, credential_key = ?, credential_expiry = ?, "
            "credential_installed = 1 WHERE binding_id = ?",
            std::vector<Value>{identity, headend::storage::Blob{binding.credential_key},
                               binding.credential_expiry ? Value(*binding.credential_expiry) : Value(), binding.id});
        if (!stored)
            return stored.error();
        return {};
    }

    // Points the premises' EUMD configuration at this binding's PEV, keeping the interval the operator set.
    Result<void> configure_eumd(Transaction& tx, Binding& binding, std::int64_t at) {
        auto existing = store::eumd_settings(tx, binding.premises_id);
        if (!existing)
            return existing.error();
        const std::uint32_t interval = *existing ? (*existing)->interval_length : settings.default_interval_seconds;
        const std::string mrid = config_mrid(binding.premises_id, binding.lfdi, interval);
        auto written = tx.execute(
            "INSERT INTO eumd_settings(premises_id, interval_length, config_mrid, pev_lfdi, binding_id, configured_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(premises_id) DO UPDATE SET config_mrid = excluded.config_mrid, "
            "pev_lfdi = excluded.pev_lfdi, binding_id = excluded.binding_id, configured_at = excluded.configured_at",
            std::vector<Value>{binding.premises_id, std::int64_t{interval}, mrid, binding.lfdi, binding.id, at});
        if (!written)
            return written.error();
        json eumds = json::array();
        for (const auto& eumd : context.devices.list(DeviceType::Eumd, binding.premises_id))
            eumds.push_back(eumd.id);
        return store::record(tx, &binding, at, eumds.empty() ? "eumd.missing" : "eumd.configured",
                             {{"interval_length", interval}, {"config_mrid", mrid}, {"eumds", eumds}});
    }

    // acknowledged + the premises' EUMD has acknowledged the configuration naming this PEV (now or at an earlier
    // charge: a configuration's mRID names premises, PEV and interval) → active.
    Result<void> try_activate(Transaction& tx, Binding& binding, std::int64_t at) {
        if (binding.status != "acknowledged")
            return {};
        auto eumd = store::eumd_settings(tx, binding.premises_id);
        if (!eumd)
            return eumd.error();
        if (!*eumd || (*eumd)->pev_lfdi != binding.lfdi)
            return {};
        auto known = tx.query("SELECT 1 FROM eumd_acknowledgements WHERE premises_id = ? AND config_mrid = ?",
                              std::vector<Value>{binding.premises_id, (*eumd)->config_mrid});
        if (!known)
            return known.error();
        if (known->empty())
            return {};
        return store::set_status(tx, binding, "active", at);
    }

    // Another LFDI claims a pinned VIN: the alarm, and its audit entry (on the refused binding if there is one).
    Result<void> raise_clone_alarm(Transaction& tx, const Verdict& verdict, const std::string& lfdi,
                                   const std::string& premises_id, std::int64_t at, const Binding* binding) {
        auto alarm = context.alarms.raise(tx, {.kind = "clone_vin",
                                               .detail = verdict.reason,
                                               .key = std::nullopt,
                                               .vin = *verdict.vin,
                                               .lfdi = lfdi,
                                               .premises_id = premises_id,
                                               .at = at});
        if (!alarm)
            return alarm.error();
        const json detail = {{"detail", verdict.reason}};
        auto recorded = binding ? store::record(tx, binding, at, "alarm.clone_vin", detail)
                                : store::record_unbound(tx, lfdi, premises_id, at, "alarm.clone_vin", detail);
        if (!recorded)
            return recorded;
        context.logger.warn("BIND_CLONE_ALARM", verdict.reason);
        return {};
    }

    struct RequestOutcome {
        headend::plugin::PevRegistrationDecision decision;
        std::optional<Binding> binding;
        bool repeated = false;
        std::optional<std::string> ended_at_premises;  // the premises of the binding this one ended
    };

    Result<RequestOutcome> request(Transaction& tx, const headend::plugin::PevRegistrationRequest& asked,
                                   const std::optional<std::string>& certificate_vin) {
        const std::int64_t at = now();
        const std::string& premises_id = *asked.esci.premises_id;
        auto facts = gather(tx, asked.lfdi, premises_id, certificate_vin, asked.existing);
        if (!facts)
            return facts.error();
        const Verdict verdict = judge(*facts);

        auto open = store::open_binding(tx, asked.lfdi);
        if (!open)
            return open.error();
        if (*open && (*open)->premises_id == premises_id && verdict.accept) {
            // The same request again (or the ESCI confirming presence): one binding.
            Binding& current = **open;
            if (auto recorded = store::record(tx, &current, at, "esci.presence_confirmed"); !recorded)
                return recorded.error();
            return RequestOutcome{{true, {}}, current, true, std::nullopt};
        }
        if (*open && !verdict.accept) {
            // Refused while the PEV is bound (here or elsewhere): nothing changes, not its binding and no fallback
            // (any ESCI could otherwise end a binding it has no part in). Only the attempt goes to the audit trail.
            if (verdict.clone_alarm) {
                if (auto alarm = raise_clone_alarm(tx, verdict, asked.lfdi, premises_id, at, nullptr); !alarm)
                    return alarm.error();
            }
            if (auto recorded = store::record_unbound(tx, asked.lfdi, premises_id, at, "esci.refused",
                                                      {{"esci", *asked.esci.device_id},
                                                       {"sfdi", asked.sfdi},
                                                       {"reason", verdict.reason},
                                                       {"bound_at", (*open)->premises_id}});
                !recorded)
                return recorded.error();
            return RequestOutcome{{false, verdict.reason}, std::nullopt, false, std::nullopt};
        }
        std::optional<std::string> ended_at_premises;
        if (*open) {
            // Accepted here: the PEV has moved, so its binding elsewhere ends.
            if (auto ended = store::set_status(tx, **open, "ended", at, "bound again at premises " + premises_id);
                !ended)
                return ended.error();
            ended_at_premises = (*open)->premises_id;
        }

        Binding binding;
        binding.mrid = new_mrid(settings.utility_pen);
        binding.lfdi = asked.lfdi;
        binding.vin = verdict.vin;
        binding.premises_id = premises_id;
        binding.kind = std::string(to_string(verdict.kind));
        // A re-binding rests on the PEV's re-bind credential: one that has expired cannot be used (the PEV comes with
        // its certificate, as the first time) and a new one is issued.
        binding.rebind = verdict.accept && asked.existing && asked.existing->psk_identity.has_value() &&
                         (!asked.existing->psk_expires_at || at < *asked.existing->psk_expires_at);
        binding.program_id = verdict.program_id.empty() ? "-" : verdict.program_id;
        binding.payer_account = verdict.payer_account;
        binding.home_utility = verdict.home_utility;
        binding.status = "requested";
        binding.esci_device_id = *asked.esci.device_id;
        binding.requested_at = binding.updated_at = at;
        auto inserted = tx.execute(
            "INSERT INTO bindings(mrid, lfdi, vin, premises_id, kind, rebind, program_id, payer_account, "
            "home_utility, status, esci_device_id, requested_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            std::vector<Value>{binding.mrid, binding.lfdi, binding.vin ? Value(*binding.vin) : Value(),
                               binding.premises_id, binding.kind, std::int64_t{binding.rebind}, binding.program_id,
                               binding.payer_account ? Value(*binding.payer_account) : Value(),
                               binding.home_utility ? Value(*binding.home_utility) : Value(), binding.status,
                               binding.esci_device_id, at, at});
        if (!inserted)
            return inserted.error();
        binding.id = tx.last_insert_id();
        if (auto recorded = store::record(tx, &binding, at, "esci.requested",
                                          {{"esci", binding.esci_device_id}, {"sfdi", asked.sfdi}});
            !recorded)
            return recorded.error();

        if (!verdict.accept) {
            if (verdict.clone_alarm) {
                if (auto alarm = raise_clone_alarm(tx, verdict, asked.lfdi, premises_id, at, &binding); !alarm)
                    return alarm.error();
            }
            if (auto refused = store::set_status(tx, binding, "refused", at, verdict.reason); !refused)
                return refused.error();
            if (auto fallback = store::record_fallback(tx, binding, at, verdict.reason); !fallback)
                return fallback.error();
            return RequestOutcome{{false, verdict.reason}, binding, false, ended_at_premises};
        }

        if (verdict.pin) {
            auto pinned = tx.execute("INSERT INTO pev_pins(vin, lfdi, premises_id, pinned_at) VALUES (?, ?, ?, ?)",
                                     std::vector<Value>{*verdict.vin, asked.lfdi, premises_id, at});
            if (!pinned)
                return pinned.error();
            if (auto recorded = store::record(tx, &binding, at, "pev.pinned"); !recorded)
                return recorded.error();
        }
        json confirmed = {{"kind", binding.kind}, {"program_id", binding.program_id}, {"rebind", binding.rebind}};
        if (binding.payer_account)
            confirmed["payer_account"] = *binding.payer_account;
        if (binding.home_utility)
            confirmed["home_utility"] = *binding.home_utility;
        if (auto set = store::set_status(tx, binding, "confirmed", at, std::nullopt, confirmed); !set)
            return set.error();
        if (binding.rebind) {
            // The credential the PEV re-binds with goes on in this binding, so a PEV that reads it (one that lost its
            // cached copy, or wants the expiry) is told the credential it has, never a new one.
            if (auto carried = carry_credential(tx, binding, *asked.existing->psk_identity); !carried)
                return carried.error();
        } else {
            binding.credential_identity = "rb-" + hex(random_bytes(8));
            binding.credential_key = random_bytes(kKeyBytes);
            binding.credential_expiry = at + settings.credential_days * kSecondsPerDay;
            auto stored = tx.execute(
                "UPDATE bindings SET credential_identity = ?, credential_key = ?, credential_expiry = ? "
                "WHERE binding_id = ?",
                std::vector<Value>{*binding.credential_identity, headend::storage::Blob{binding.credential_key},
                                   *binding.credential_expiry, binding.id});
            if (!stored)
                return stored.error();
            if (auto recorded = store::record(
                    tx, &binding, at, "credential.issued",
                    {{"psk_identity", *binding.credential_identity}, {"expiry", *binding.credential_expiry}});
                !recorded)
                return recorded.error();
        }
        if (auto configured = configure_eumd(tx, binding, at); !configured)
            return configured.error();
        if (binding.rebind) {
            // Scenario 2: the PEV's plugged-in PowerStatus over its re-bind PSK is its acknowledgement.
            auto presence = tx.query("SELECT plugged_in, changed_at FROM pev_presence WHERE lfdi = ?",
                                     std::vector<Value>{asked.lfdi});
            if (!presence)
                return presence.error();
            if (!presence->empty() && presence->front().integer(0) != 0 &&
                presence->front().integer(1) >= at - settings.timeout_seconds) {
                if (auto set = store::set_status(tx, binding, "acknowledged", at, std::nullopt,
                                                 {{"by", "plugged-in PowerStatus"}});
                    !set)
                    return set.error();
            }
        }
        if (auto activated = try_activate(tx, binding, at); !activated)
            return activated.error();
        return RequestOutcome{{true, {}}, binding, false, ended_at_premises};
    }

    void on_registration(const headend::plugin::PevRegistrationRequest& asked,
                         const std::function<void(headend::plugin::PevRegistrationDecision)>& decide) {
        // The VIN the PEV's certificate names, read now: live sessions are known only on the HAN thread.
        std::optional<std::string> certificate_vin;
        if (auto serial = context.devices.live_certificate_serial(asked.lfdi); serial && !serial->empty()) {
            if (auto vin = pev::validate_vin(*serial))
                certificate_vin = *vin;
        }
        auto outcome = std::make_shared<RequestOutcome>();
        context.database.write(
            [self = shared_from_this(), asked, certificate_vin, outcome](Transaction& tx) -> Result<void> {
                auto result = self->request(tx, asked, certificate_vin);
                if (!result)
                    return result.error();
                *outcome = std::move(*result);
                return {};
            },
            [self = shared_from_this(), decide, outcome, lfdi = asked.lfdi,
             premises = *asked.esci.premises_id](Result<void> committed) {
                if (!committed) {
                    self->context.logger.error("BIND_STORAGE", committed.error().message);
                    decide({false, "the head-end could not record the binding; retry"});
                    return;
                }
                decide(outcome->decision);
                if (!outcome->binding && !outcome->decision.accept)
                    self->context.logger.info("BIND_REFUSED",
                                              "PEV " + lfdi + " at premises " + premises +
                                                  ", its open binding kept: " + outcome->decision.reason);
                // The EUMDs metering the PEV where its binding just ended are told it ended.
                if (outcome->ended_at_premises)
                    self->notify_premises_eumds(*outcome->ended_at_premises);
                if (!outcome->binding || outcome->repeated)
                    return;
                const Binding& binding = *outcome->binding;
                self->context.logger.info("BIND_" + std::string(binding.status == "refused" ? "REFUSED" : "CONFIRMED"),
                                          "PEV " + binding.lfdi + " at premises " + binding.premises_id + ": " +
                                              binding.status + (binding.reason ? " (" + *binding.reason + ")" : ""));
                if (binding.status == "refused")
                    return;
                self->notify_premises_eumds(binding.premises_id);
                self->notify_pev(binding.lfdi);
                if (binding.status != "active")
                    self->schedule_expiry(binding.id, self->settings.timeout_seconds);
            });
    }

    // ---- the fallback timer

    void expire(std::int64_t binding_id) {
        auto fallen = std::make_shared<std::optional<Binding>>();
        context.database.write(
            [self = shared_from_this(), binding_id, fallen](Transaction& tx) -> Result<void> {
                auto found = store::binding_by_id(tx, binding_id);
                if (!found)
                    return found.error();
                if (!*found)
                    return {};
                Binding& binding = **found;
                if (binding.status != "requested" && binding.status != "confirmed" && binding.status != "acknowledged")
                    return {};
                const std::string reason =
                    "not active within " + std::to_string(self->settings.timeout_seconds) + " s: " +
                    (binding.status == "acknowledged" ? "no EUMD acknowledged its configuration"
                                                      : "the PEV did not acknowledge the binding");
                const std::int64_t at = self->now();
                if (auto set = store::set_status(tx, binding, "fallback", at, reason); !set)
                    return set;
                *fallen = binding;
                return store::record_fallback(tx, binding, at, reason);
            },
            [self = shared_from_this(), fallen](Result<void> committed) {
                if (!committed) {
                    self->context.logger.error("BIND_STORAGE", committed.error().message);
                } else if (*fallen) {
                    self->notify_pev((*fallen)->lfdi);
                    self->notify_premises_eumds((*fallen)->premises_id);
                }
            });
    }

    Result<void> recover() {
        std::vector<std::pair<std::int64_t, std::int64_t>> pending;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query(
                "SELECT binding_id, requested_at FROM bindings "
                "WHERE status IN ('requested', 'confirmed', 'acknowledged')");
            if (!rows)
                return rows.error();
            for (const auto& row : *rows)
                pending.emplace_back(row.integer(0), row.integer(1));
            return {};
        });
        if (!read)
            return read;
        for (const auto& [id, requested_at] : pending)
            schedule_expiry(id, requested_at + settings.timeout_seconds - now());
        return {};
    }

    // ---- /edev/{n}/bnd

    sep::PEVBinding pev_view(const Binding& binding, std::uint32_t interval, std::int64_t device_id) const {
        sep::PEVBinding document;
        document.href = binding_path(device_id);
        document.status = wire_status(binding.status).value_or(sep::BindingStatus::kEnded);
        document.premises_id = binding.premises_id;
        document.program_id = binding.program_id;
        document.tariff_profile_link = sep::Link{"/tp/" + binding.program_id};
        document.interval_length = interval;
        const bool live =
            binding.status == "confirmed" || binding.status == "acknowledged" || binding.status == "active";
        if (live && binding.credential_identity) {
            document.rebind_psk_identity = binding.credential_identity;
            document.rebind_psk_key = binding.credential_key;
            document.expiry = binding.credential_expiry;
        }
        document.reason = binding.reason;
        document.mrid = binding.mrid;
        return document;
    }

    void get_binding(const Request& request, const Responder& respond) {
        // Read-only: a write must neither change anything nor be answered with the binding (its re-bind key).
        if (request.method != headend::coap::Method::Get) {
            respond(coap_replies::reason(Code::MethodNotAllowed));
            return;
        }
        const auto id = device_param(request);
        const auto device = id ? context.devices.find(*id) : std::nullopt;
        if (!device || request.peer.device_id != device->id) {
            respond(forbidden());
            return;
        }
        if (device->type == DeviceType::Pev) {
            get_pev_binding(*device, respond);
        } else if (device->type == DeviceType::Eumd) {
            get_eumd_binding(*device, respond);
        } else {
            respond(coap_replies::reason(Code::NotFound));
        }
    }

    void get_pev_binding(const headend::plugin::DeviceRecord& device, const Responder& respond) {
        std::optional<Binding> latest;
        std::uint32_t interval = settings.default_interval_seconds;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = store::latest_binding(tx, device.lfdi);
            if (!found)
                return found.error();
            latest = std::move(*found);
            if (latest) {
                auto eumd = store::eumd_settings(tx, latest->premises_id);
                if (!eumd)
                    return eumd.error();
                if (*eumd)
                    interval = (*eumd)->interval_length;
            }
            return {};
        });
        if (!read) {
            respond(coap_replies::reason(Code::InternalServerError));
            return;
        }
        if (!latest) {
            respond(coap_replies::reason(Code::NotFound));
            return;
        }
        const bool live =
            latest->status == "confirmed" || latest->status == "acknowledged" || latest->status == "active";
        if (!live || !latest->credential_identity || latest->credential_installed) {
            respond(coap_replies::content(context.sep.encode(pev_view(*latest, interval, device.id))));
            return;
        }
        // First read of a new confirmation: install the re-bind credential before handing it out, so a PEV that
        // has read it can always use it.
        auto document = pev_view(*latest, interval, device.id);
        context.devices.set_psk(
            device.id, *latest->credential_identity, latest->credential_key, latest->credential_expiry,
            [self = shared_from_this(), respond, document, binding_id = latest->id](Result<void> installed) {
                if (!installed) {
                    self->context.logger.error("BIND_CREDENTIAL", installed.error().message);
                    respond(coap_replies::reason(Code::ServiceUnavailable));
                    return;
                }
                self->context.database.write(
                    [self, binding_id](Transaction& tx) -> Result<void> {
                        auto changed = tx.execute("UPDATE bindings SET credential_installed = 1 WHERE binding_id = ?",
                                                  std::vector<Value>{binding_id});
                        if (!changed)
                            return changed.error();
                        auto found = store::binding_by_id(tx, binding_id);
                        if (!found || !*found)
                            return found ? Result<void>() : Result<void>(found.error());
                        return store::record(tx, &**found, self->now(), "pev.read_binding",
                                             {{"psk_identity", *(*found)->credential_identity}});
                    },
                    [self, respond, document](Result<void> committed) {
                        respond(committed ? coap_replies::content(self->context.sep.encode(document))
                                          : coap_replies::reason(Code::InternalServerError));
                    });
            });
    }

    // The EUMD's view of its premises' configuration. With `record`, the first read of a configuration is written
    // to the audit trail; without, `unrecorded` says whether that is still to do.
    Result<void> eumd_view(Transaction& tx, const headend::plugin::DeviceRecord& device,
                           std::optional<sep::PEVBinding>& document, bool record, bool& unrecorded) {
        auto eumd = eumd_configuration(tx, *device.premises_id);
        if (!eumd)
            return eumd.error();
        const store::EumdSettings& config = *eumd;
        std::optional<Binding> binding;
        if (config.binding_id) {
            auto found = store::binding_by_id(tx, *config.binding_id);
            if (!found)
                return found.error();
            binding = std::move(*found);
        }
        sep::PEVBinding view;
        view.href = binding_path(device.id);
        view.status =
            binding ? wire_status(binding->status).value_or(sep::BindingStatus::kEnded) : sep::BindingStatus::kEnded;
        view.premises_id = config.premises_id;
        if (binding) {
            view.program_id = binding->program_id;
        } else {
            auto rate = tx.query("SELECT default_rate FROM pev_premises_v1 WHERE premises_id = ?",
                                 std::vector<Value>{config.premises_id});
            if (!rate)
                return rate.error();
            view.program_id = rate->empty() ? "-" : rate->front().text(0);
        }
        view.tariff_profile_link = sep::Link{"/tp/" + view.program_id};
        view.interval_length = config.interval_length;
        view.pev_lfdi = config.pev_lfdi;
        view.mrid = config.config_mrid;
        document = std::move(view);
        unrecorded = config.read_mrid != config.config_mrid;
        if (!unrecorded || !record)
            return {};
        // The default configuration is stored at its first read.
        auto marked = tx.execute(
            "INSERT INTO eumd_settings(premises_id, interval_length, config_mrid, configured_at, read_mrid) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(premises_id) DO UPDATE SET read_mrid = excluded.read_mrid",
            std::vector<Value>{config.premises_id, std::int64_t{config.interval_length}, config.config_mrid, now(),
                               config.config_mrid});
        if (!marked)
            return marked.error();
        const json detail = {
            {"eumd", device.id}, {"config_mrid", config.config_mrid}, {"interval_length", config.interval_length}};
        return binding ? store::record(tx, &*binding, now(), "eumd.read_configuration", detail)
                       : store::record_unbound(tx, std::nullopt, config.premises_id, now(), "eumd.read_configuration",
                                               detail);
    }

    void get_eumd_binding(const headend::plugin::DeviceRecord& device, const Responder& respond) {
        if (!device.premises_id) {
            respond(coap_replies::reason(Code::NotFound));
            return;
        }
        // Reads are the common case (polling, notifications); only a configuration's first read is written.
        std::optional<sep::PEVBinding> document;
        bool unrecorded = false;
        auto read = context.database.read(
            [&](Transaction& tx) -> Result<void> { return eumd_view(tx, device, document, false, unrecorded); });
        if (!read) {
            respond(coap_replies::reason(Code::InternalServerError));
            return;
        }
        if (!unrecorded) {
            respond(document ? coap_replies::content(context.sep.encode(*document))
                             : coap_replies::reason(Code::NotFound));
            return;
        }
        auto recorded = std::make_shared<std::optional<sep::PEVBinding>>();
        context.database.write(
            [self = shared_from_this(), device, recorded](Transaction& tx) -> Result<void> {
                bool still_unrecorded = false;
                return self->eumd_view(tx, device, *recorded, true, still_unrecorded);
            },
            [self = shared_from_this(), recorded, respond](Result<void> committed) {
                if (!committed) {
                    respond(coap_replies::reason(Code::InternalServerError));
                    return;
                }
                respond(*recorded ? coap_replies::content(self->context.sep.encode(**recorded))
                                  : coap_replies::reason(Code::NotFound));
            });
    }

    // ---- /rsps/bnd: acknowledgements

    void post_response(const Request& request, const Responder& respond) {
        const auto& peer = request.peer;
        if (request.method != headend::coap::Method::Post) {
            respond(coap_replies::reason(Code::MethodNotAllowed));
            return;
        }
        if (!peer.device_id || (peer.device_type != DeviceType::Pev && peer.device_type != DeviceType::Eumd)) {
            respond(forbidden());
            return;
        }
        if (!xml_body(request)) {
            respond(coap_replies::reason(Code::UnsupportedContentFormat));
            return;
        }
        auto response = context.sep.decode<sep::Response>(request.body);
        if (!response) {
            respond(coap_replies::reason(Code::BadRequest, response.error().message));
            return;
        }
        if (response->end_device_lfdi != peer.lfdi) {
            respond(coap_replies::reason(
                Code::BadRequest, "endDeviceLFDI " + response->end_device_lfdi + " is not the LFDI of this session"));
            return;
        }
        auto problem = std::make_shared<std::optional<std::string>>();
        // A binding whose state changed: its PEV and its premises' EUMDs are told.
        auto notify = std::make_shared<std::optional<Binding>>();
        const bool from_pev = peer.device_type == DeviceType::Pev;
        context.database.write(
            [self = shared_from_this(), peer, subject = response->subject, from_pev, problem,
             notify](Transaction& tx) -> Result<void> {
                return from_pev ? self->pev_acknowledges(tx, peer, subject, *problem, *notify)
                                : self->eumd_acknowledges(tx, peer, subject, *problem, *notify);
            },
            [self = shared_from_this(), respond, problem, notify](Result<void> committed) {
                if (!committed) {
                    respond(coap_replies::reason(Code::InternalServerError));
                    return;
                }
                if (*problem) {
                    respond(coap_replies::reason(Code::BadRequest, **problem));
                    return;
                }
                if (*notify) {
                    self->notify_premises_eumds((*notify)->premises_id);
                    self->notify_pev((*notify)->lfdi);
                }
                respond(coap_replies::reason(Code::Created));
            });
    }

    Result<void> pev_acknowledges(Transaction& tx, const headend::coap::Peer& peer, const std::string& subject,
                                  std::optional<std::string>& problem, std::optional<Binding>& changed) {
        auto open = store::open_binding(tx, peer.lfdi);
        if (!open)
            return open.error();
        if (!*open || (*open)->mrid != subject) {
            problem = "subject " + subject + " is not this PEV's binding in progress";
            return {};
        }
        Binding& binding = **open;
        if (binding.status != "confirmed")
            return {};  // acknowledged before: the repeat changes nothing
        const std::int64_t at = now();
        if (auto set = store::set_status(tx, binding, "acknowledged", at, std::nullopt, {{"by", "PEV Response"}}); !set)
            return set;
        if (auto activated = try_activate(tx, binding, at); !activated)
            return activated;
        changed = binding;
        return {};
    }

    Result<void> eumd_acknowledges(Transaction& tx, const headend::coap::Peer& peer, const std::string& subject,
                                   std::optional<std::string>& problem, std::optional<Binding>& changed) {
        if (!peer.premises_id) {
            problem = "this EUMD belongs to no premises";
            return {};
        }
        auto config = eumd_configuration(tx, *peer.premises_id);
        if (!config)
            return config.error();
        if (config->config_mrid != subject) {
            problem = "subject " + subject + " is not this EUMD's current configuration";
            return {};
        }
        const std::int64_t at = now();
        std::optional<Binding> binding;
        if (config->binding_id) {
            auto found = store::binding_by_id(tx, *config->binding_id);
            if (!found)
                return found.error();
            binding = std::move(*found);
        }
        // The first acknowledgement of this configuration for this binding counts; repeats change nothing.
        const std::int64_t binding_id = binding ? binding->id : 0;  // row ids start at 1
        if (config->acknowledged_mrid == subject && config->acknowledged_binding_id.value_or(0) == binding_id)
            return {};
        // The default configuration is stored at its first acknowledgement if no read stored it before.
        auto stored = tx.execute(
            "INSERT INTO eumd_settings(premises_id, interval_length, config_mrid, configured_at, acknowledged_mrid, "
            "acknowledged_at, acknowledged_binding_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(premises_id) DO UPDATE "
            "SET acknowledged_mrid = excluded.acknowledged_mrid, acknowledged_at = excluded.acknowledged_at, "
            "acknowledged_binding_id = excluded.acknowledged_binding_id, reconfigured = 0",
            std::vector<Value>{*peer.premises_id, std::int64_t{config->interval_length}, subject, at, subject, at,
                               binding ? Value(binding_id) : Value()});
        if (!stored)
            return stored.error();
        auto remembered = tx.execute(
            "INSERT INTO eumd_acknowledgements(premises_id, config_mrid, acknowledged_at) VALUES (?, ?, ?) "
            "ON CONFLICT(premises_id, config_mrid) DO NOTHING",
            std::vector<Value>{*peer.premises_id, subject, at});
        if (!remembered)
            return remembered.error();
        const json detail = {
            {"eumd", *peer.device_id}, {"config_mrid", subject}, {"interval_length", config->interval_length}};
        const auto acknowledged =
            binding ? store::record(tx, &*binding, at, "eumd.acknowledged", detail)
                    : store::record_unbound(tx, std::nullopt, *peer.premises_id, at, "eumd.acknowledged", detail);
        if (!acknowledged)
            return acknowledged;
        if (config->reconfigured) {
            const auto applied = binding ? store::record(tx, &*binding, at, "eumd.interval_applied", detail)
                                         : store::record_unbound(tx, std::nullopt, *peer.premises_id, at,
                                                                 "eumd.interval_applied", detail);
            if (!applied)
                return applied;
        }
        if (!binding || binding->lfdi != config->pev_lfdi)
            return {};
        const std::string before = binding->status;
        if (auto activated = try_activate(tx, *binding, at); !activated)
            return activated;
        if (binding->status != before)
            changed = std::move(binding);
        return {};
    }

    // ---- /edev/{n}/ps

    void put_power_status(const Request& request, const Responder& respond) {
        const auto id = device_param(request);
        if (!id || request.peer.device_id != *id || request.peer.device_type != DeviceType::Pev) {
            respond(forbidden());
            return;
        }
        if (!xml_body(request)) {
            respond(coap_replies::reason(Code::UnsupportedContentFormat));
            return;
        }
        auto status = context.sep.decode<sep::PowerStatus>(request.body);
        if (!status) {
            respond(coap_replies::reason(Code::BadRequest, status.error().message));
            return;
        }
        const bool plugged = status->current_power_source == kMainsPower;
        // Stored as we encode it, never as the PEV wrote it: the href and poll rate are the head-end's.
        const std::string body = context.sep.encode(served_power_status(*std::move(status), *id));
        auto premises = std::make_shared<std::optional<std::string>>();
        context.database.write(
            [self = shared_from_this(), lfdi = request.peer.lfdi, body, plugged, premises](
                Transaction& tx) -> Result<void> { return self->power_status(tx, lfdi, body, plugged, *premises); },
            [self = shared_from_this(), respond, premises, lfdi = request.peer.lfdi,
             path = "/edev/" + std::to_string(*id) + "/ps"](Result<void> committed) {
                if (!committed) {
                    respond(coap_replies::reason(Code::InternalServerError));
                    return;
                }
                // Its observers (the premises' displays, the PEV) hear of it before the PEV hears back.
                self->context.resources.notify(path);
                if (*premises) {
                    self->notify_premises_eumds(**premises);
                    self->notify_pev(lfdi);
                }
                respond(coap_replies::reason(Code::Changed));
            });
    }

    Result<void> power_status(Transaction& tx, const std::string& lfdi, const std::string& body, bool plugged,
                              std::optional<std::string>& changed_premises) {
        const std::int64_t at = now();
        auto before = tx.query("SELECT plugged_in FROM pev_presence WHERE lfdi = ?", std::vector<Value>{lfdi});
        if (!before)
            return before.error();
        const bool was_plugged = !before->empty() && before->front().integer(0) != 0;
        auto stored = tx.execute(
            "INSERT INTO pev_presence(lfdi, plugged_in, changed_at, document) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(lfdi) DO UPDATE SET plugged_in = excluded.plugged_in, document = excluded.document, "
            "changed_at = CASE WHEN plugged_in = excluded.plugged_in THEN changed_at ELSE excluded.changed_at END",
            std::vector<Value>{lfdi, std::int64_t{plugged}, at, body});
        if (!stored)
            return stored.error();
        // Told again what we knew changes nothing, except an unplugging while a binding is open: a PEV bound with its
        // certificate says nothing of its presence, so "unplugged" may be what we last heard before that binding.
        const bool changed = before->empty() || plugged != was_plugged;
        if (!changed && plugged)
            return {};
        auto open = store::open_binding(tx, lfdi);
        if (!open)
            return open.error();
        if (!plugged) {
            if (!*open)
                return changed ? store::record_unbound(tx, lfdi, "", at, "pev.unplugged", json::object())
                               : Result<void>{};
            changed_premises = (*open)->premises_id;
            if (auto recorded = store::record(tx, &**open, at, "pev.unplugged"); !recorded)
                return recorded;
            return store::set_status(tx, **open, "ended", at, "the PEV was unplugged");
        }
        if (!*open)
            return store::record_unbound(tx, lfdi, "", at, "pev.plugged_in", json::object());
        Binding& binding = **open;
        if (auto recorded = store::record(tx, &binding, at, "pev.plugged_in"); !recorded)
            return recorded;
        if (binding.rebind && binding.status == "confirmed") {
            changed_premises = binding.premises_id;
            if (auto set = store::set_status(tx, binding, "acknowledged", at, std::nullopt,
                                             {{"by", "plugged-in PowerStatus"}});
                !set)
                return set;
            return try_activate(tx, binding, at);
        }
        return {};
    }

    void get_power_status(const Request& request, const Responder& respond) {
        const auto id = device_param(request);
        const auto device = id ? context.devices.find(*id) : std::nullopt;
        const auto& peer = request.peer;
        // The PEV itself, or an ESCI or display of the premises it is registered at.
        const bool same_premises = device && device->premises_id && peer.premises_id == device->premises_id &&
                                   (peer.device_type == DeviceType::Esci || peer.device_type == DeviceType::Display);
        if (!device || device->type != DeviceType::Pev || (peer.device_id != device->id && !same_premises)) {
            respond(forbidden());
            return;
        }
        std::optional<std::string> document;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query("SELECT document FROM pev_presence WHERE lfdi = ?", std::vector<Value>{device->lfdi});
            if (!rows)
                return rows.error();
            if (!rows->empty())
                document = rows->front().text(0);
            return {};
        });
        if (!read) {
            respond(coap_replies::reason(Code::InternalServerError));
            return;
        }
        if (!document) {
            respond(coap_replies::reason(Code::NotFound));
            return;
        }
        // Rows written before PowerStatus was normalised hold the PEV's own text: served as we encode it too.
        auto status = context.sep.decode<sep::PowerStatus>(*document);
        respond(status ? coap_replies::content(context.sep.encode(served_power_status(*std::move(status), *id)))
                       : coap_replies::reason(Code::InternalServerError));
    }

    static sep::PowerStatus served_power_status(sep::PowerStatus status, std::int64_t device_id) {
        status.href = "/edev/" + std::to_string(device_id) + "/ps";
        status.poll_rate = kPowerStatusPollRate;
        return status;
    }
};

BindingService::BindingService(headend::plugin::Context& context, RoamingRegistry roaming, BindingSettings settings)
    : impl_(std::make_shared<Impl>(context, std::move(roaming), std::move(settings))) {}

std::vector<headend::storage::Migration> binding_migrations() {
    return store::migrations();
}

Result<void> BindingService::start() {
    auto& context = impl_->context;
    // pev-registration's views are this plugin's view of customers and enrollments.
    auto views = context.database.read([](Transaction& tx) -> Result<void> {
        for (const char* view : {"pev_enrollments_v1", "pev_premises_v1"}) {
            if (auto probe = tx.query(std::string("SELECT 1 FROM ") + view + " LIMIT 0"); !probe)
                return make_error(
                    "plugin.dependency",
                    std::string("pev-binding needs the pev-registration plugin loaded before it (no ") + view + ")");
        }
        return {};
    });
    if (!views)
        return views;
    // The interval an EUMD is held to until the operator sets another, for pev_eumd_intervals_v1's readers.
    auto defaults = context.database.write_sync([&](Transaction& tx) -> Result<void> {
        auto stored = tx.execute(
            "INSERT INTO binding_defaults(singleton, interval_length) VALUES (1, ?) "
            "ON CONFLICT (singleton) DO UPDATE SET interval_length = excluded.interval_length",
            std::vector<Value>{static_cast<std::int64_t>(impl_->settings.default_interval_seconds)});
        if (!stored)
            return stored.error();
        return {};
    });
    if (!defaults)
        return defaults;
    if (auto recovered = impl_->recover(); !recovered)
        return recovered;

    auto self = impl_;
    context.devices.set_pev_registration_handler(
        [self](const headend::plugin::PevRegistrationRequest& request,
               std::function<void(headend::plugin::PevRegistrationDecision)> decide) {
            self->on_registration(request, decide);
        });
    context.resources.add("/edev/{n}/bnd",
                          [self](const Request& request, Responder respond) { self->get_binding(request, respond); },
                          {.observable = true});
    // Observable (DESIGN §5): every PUT the PEV makes is notified to the premises' displays observing it.
    context.resources.add("/edev/{n}/ps",
                          [self](const Request& request, Responder respond) {
                              if (request.method == headend::coap::Method::Put)
                                  self->put_power_status(request, respond);
                              else if (request.method == headend::coap::Method::Get)
                                  self->get_power_status(request, respond);
                              else
                                  respond(coap_replies::reason(Code::MethodNotAllowed));
                          },
                          {.observable = true});
    context.resources.add("/rsps/bnd",
                          [self](const Request& request, Responder respond) { self->post_response(request, respond); });

    const auto reply = [](Result<json> result, int ok_status = 200) {
        if (result)
            return admin_replies::json_reply(ok_status, *result);
        const auto& error = result.error();
        return admin_replies::error_reply(error.code == "request.invalid"     ? 400
                                          : error.code.ends_with("not_found") ? 404
                                                                              : 500,
                                          error);
    };
    BindingService* service = this;
    context.routes.add("GET", "/api/v1/bindings", [service, reply](const headend::http::Request& request) {
        return reply(service->list_bindings(request.query));
    });
    context.routes.add("GET", "/api/v1/pevs/{pev}/audit", [service, reply](const headend::http::Request& request) {
        return reply(service->audit(request.params.at("pev")));
    });
    context.routes.add("GET", "/api/v1/fallbacks", [service, reply](const headend::http::Request& request) {
        return reply(service->fallbacks(request.query));
    });
    context.routes.add(
        "PUT", "/api/v1/premises/{premises}/eumd-interval", [service, reply](const headend::http::Request& request) {
            const json body = json::parse(request.body, nullptr, false);
            if (!body.is_object() || !body.contains("seconds") || !body["seconds"].is_number_integer() ||
                body.size() != 1)
                return reply(make_error("request.invalid", "the body must be {\"seconds\": N}"));
            return reply(service->set_interval(request.params.at("premises"), body["seconds"].get<std::int64_t>()));
        });
    return {};
}

Result<json> BindingService::list_bindings(const std::map<std::string, std::string>& query) const {
    std::optional<std::string> status, premises, vin;
    for (const auto& [key, value] : query) {
        if (key == "status")
            status = value;
        else if (key == "premises")
            premises = value;
        else if (key == "vin")
            vin = value;
        else
            return make_error("request.invalid", "unknown query parameter '" + key + "'");
    }
    json list = json::array();
    auto read = impl_->context.database.read([&](Transaction& tx) -> Result<void> {
        auto ids = tx.query(
            "SELECT binding_id FROM bindings WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR premises_id = ?2) "
            "AND (?3 IS NULL OR vin = ?3) ORDER BY binding_id DESC LIMIT 1000",
            std::vector<Value>{status ? Value(*status) : Value(), premises ? Value(*premises) : Value(),
                               vin ? Value(*vin) : Value()});
        if (!ids)
            return ids.error();
        for (const auto& row : *ids) {
            auto found = store::binding_by_id(tx, row.integer(0));
            if (!found)
                return found.error();
            list.push_back(binding_json(**found));
        }
        return {};
    });
    if (!read)
        return read.error();
    return json{{"bindings", list}};
}

Result<json> BindingService::audit(const std::string& vin_or_lfdi) const {
    std::string key = vin_or_lfdi;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::toupper(c); });
    json events = json::array();
    auto read = impl_->context.database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT event_id, binding_id, vin, lfdi, premises_id, at, step, detail FROM binding_events "
            "WHERE vin = ?1 OR lfdi = ?1 OR lfdi IN (SELECT lfdi FROM pev_pins WHERE vin = ?1) "
            "ORDER BY event_id",
            std::vector<Value>{key});
        if (!rows)
            return rows.error();
        for (const auto& row : *rows) {
            events.push_back({{"event_id", row.integer(0)},
                              {"binding_id", row.is_null(1) ? json(nullptr) : json(row.integer(1))},
                              {"vin", row.is_null(2) ? json(nullptr) : json(row.text(2))},
                              {"lfdi", row.is_null(3) ? json(nullptr) : json(row.text(3))},
                              {"premises_id", row.text(4)},
                              {"at", row.integer(5)},
                              {"step", row.text(6)},
                              {"detail", json::parse(row.text(7), nullptr, false)}});
        }
        return {};
    });
    if (!read)
        return read.error();
    if (events.empty())
        return make_error("binding.pev_not_found", "no binding step recorded for " + vin_or_lfdi);
    return json{{"pev", key}, {"events", events}};
}

Result<json> BindingService::fallbacks(const std::map<std::string, std::string>& query) const {
    std::optional<std::string> premises;
    for (const auto& [key, value] : query) {
        if (key != "premises")
            return make_error("request.invalid", "unknown query parameter '" + key + "'");
        premises = value;
    }
    json list = json::array();
    auto read = impl_->context.database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT fallback_id, binding_id, premises_id, lfdi, vin, at, reason FROM fallbacks "
            "WHERE ?1 IS NULL OR premises_id = ?1 ORDER BY fallback_id DESC LIMIT 1000",
            std::vector<Value>{premises ? Value(*premises) : Value()});
        if (!rows)
            return rows.error();
        for (const auto& row : *rows) {
            list.push_back({{"fallback_id", row.integer(0)},
                            {"binding_id", row.integer(1)},
                            {"premises_id", row.text(2)},
                            {"lfdi", row.text(3)},
                            {"vin", row.is_null(4) ? json(nullptr) : json(row.text(4))},
                            {"at", row.integer(5)},
                            {"reason", row.text(6)}});
        }
        return {};
    });
    if (!read)
        return read.error();
    return json{{"fallbacks", list}};
}

Result<json> BindingService::set_interval(const std::string& premises_id, std::int64_t seconds) {
    constexpr std::int64_t kHour = 3600;
    // Intervals that divide the hour never straddle a tariff period boundary.
    if (seconds < 60 || seconds > kHour || kHour % seconds != 0)
        return make_error("request.invalid",
                          "the interval must be 60..3600 seconds and divide the hour, not " + std::to_string(seconds));
    auto& impl = *impl_;
    json answer;
    auto written = impl.context.database.write_sync([&](Transaction& tx) -> Result<void> {
        auto premises =
            tx.query("SELECT 1 FROM pev_premises_v1 WHERE premises_id = ?", std::vector<Value>{premises_id});
        if (!premises)
            return premises.error();
        if (premises->empty())
            return make_error("binding.premises_not_found",
                              "premises " + premises_id + " is not in the customer records");
        auto current = store::eumd_settings(tx, premises_id);
        if (!current)
            return current.error();
        const std::optional<std::string> pev = *current ? (*current)->pev_lfdi : std::nullopt;
        const std::string mrid = impl.config_mrid(premises_id, pev.value_or(""), static_cast<std::uint32_t>(seconds));
        const std::int64_t at = impl.now();
        auto stored = tx.execute(
            "INSERT INTO eumd_settings(premises_id, interval_length, config_mrid, configured_at, reconfigured) "
            "VALUES (?, ?, ?, ?, 1) ON CONFLICT(premises_id) DO UPDATE SET interval_length = excluded.interval_length, "
            "config_mrid = excluded.config_mrid, configured_at = excluded.configured_at, reconfigured = 1",
            std::vector<Value>{premises_id, seconds, mrid, at});
        if (!stored)
            return stored.error();
        const json detail = {{"interval_length", seconds}, {"config_mrid", mrid}, {"by", "operator"}};
        std::optional<Binding> binding;
        if (*current && (*current)->binding_id) {
            auto found = store::binding_by_id(tx, *(*current)->binding_id);
            if (!found)
                return found.error();
            binding = std::move(*found);
        }
        auto recorded = binding ? store::record(tx, &*binding, at, "eumd.reconfigured", detail)
                                : store::record_unbound(tx, std::nullopt, premises_id, at, "eumd.reconfigured", detail);
        if (!recorded)
            return recorded;
        answer = {{"premises_id", premises_id}, {"interval_length", seconds}, {"config_mrid", mrid}};
        return {};
    });
    if (!written)
        return written.error();
    impl.notify_premises_eumds(premises_id);
    return answer;
}

}  // namespace binding
