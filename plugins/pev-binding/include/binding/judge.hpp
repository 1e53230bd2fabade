// The binding decision of DESIGN §6 step 10 as a pure function of what the head-end knows when an ESCI asks to bind
// a PEV: who the PEV is (pinned LFDI or the VIN its certificate names), its enrollment, the host premises and the
// clearinghouse registry. Refusals carry the reason the ESCI, the audit trail and billing's fallback record show.
#pragma once

#include <optional>
#include <string>

namespace binding {

enum class Kind { Home, Guest, Roaming };
std::string_view to_string(Kind kind);

struct EnrollmentFacts {
    std::string vin;
    std::string account_id;
    std::string premises_id;  // the PEV's home
    std::string program_id;
    bool allow_guest_charging = false;
    bool host_pays = false;  // guest charging paid by the host premises rather than the owner
    bool allow_roaming = false;
};

struct PremisesFacts {
    std::string premises_id;
    std::string account_id;
    std::string default_rate;
    bool hosts_guests = false;  // a current enrollment of this premises allows guest charging
};

struct RoamingFacts {
    std::string vin;
    std::string lfdi;
    std::string home_utility;
};

struct BindingFacts {
    std::string lfdi;
    std::optional<PremisesFacts> premises;       // the requesting ESCI's premises in the customer records
    std::optional<std::string> pinned_vin;       // the VIN this LFDI is pinned to
    std::optional<std::string> certificate_vin;  // the VIN a live certificate session names (already validated)
    // The VIN the clearinghouse registry names for this LFDI while the PEV is present in a session opened with the
    // re-bind credential we issued it (a visiting PEV back: no certificate in that session, and no pin for a visitor).
    std::optional<std::string> registry_vin;
    std::optional<std::string> vin_pinned_to;   // another LFDI holding the pin of the VIN claimed
    std::optional<EnrollmentFacts> enrollment;  // of the VIN claimed
    std::optional<RoamingFacts> roaming;        // clearinghouse entry for the VIN claimed
    std::string roaming_program;                // the program visiting PEVs are rated on

    // The VIN the PEV is taken to be: its pin, else its certificate's, else the registry's.
    std::optional<std::string> claimed_vin() const {
        return pinned_vin ? pinned_vin : certificate_vin ? certificate_vin : registry_vin;
    }
};

struct Verdict {
    bool accept = false;
    std::optional<std::string> vin;  // the PEV's identity as decided
    Kind kind = Kind::Home;
    std::string program_id;                    // the program charged: the PEV's, or the premises default rate
    std::optional<std::string> payer_account;  // debited account; none for roaming (the clearinghouse settles)
    std::optional<std::string> home_utility;   // roaming only
    bool pin = false;                          // pin this LFDI to the VIN now (first home binding)
    bool clone_alarm = false;                  // another LFDI claims a pinned VIN
    std::string reason;                        // why refused
};

Verdict judge(const BindingFacts& facts);

}  // namespace binding
