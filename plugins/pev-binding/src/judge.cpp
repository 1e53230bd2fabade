#include "binding/judge.hpp"

namespace binding {

std::string_view to_string(Kind kind) {
    switch (kind) {
        case Kind::Home:
            return "home";
        case Kind::Guest:
            return "guest";
        case Kind::Roaming:
            return "roaming";
    }
    return "home";
}

namespace {

Verdict refuse(const BindingFacts& facts, std::optional<std::string> vin, std::string reason) {
    Verdict verdict;
    verdict.vin = std::move(vin);
    verdict.reason = std::move(reason);
    // The PEV charges anyway, at the premises' default rate on the premises account (the fallback rule).
    if (facts.premises) {
        verdict.program_id = facts.premises->default_rate;
        verdict.payer_account = facts.premises->account_id;
    }
    return verdict;
}

}  // namespace

Verdict judge(const BindingFacts& facts) {
    if (!facts.premises)
        return refuse(facts, facts.pinned_vin, "the ESCI's premises is not in the customer records");
    const PremisesFacts& here = *facts.premises;
    const std::optional<std::string> vin = facts.claimed_vin();
    if (!vin)
        return refuse(facts, std::nullopt, "the PEV has not presented a certificate naming its VIN");
    if (!facts.pinned_vin && facts.vin_pinned_to) {
        Verdict verdict = refuse(
            facts, vin,
            "VIN " + *vin + " is pinned to another PEV (LFDI " + *facts.vin_pinned_to + "); this one is refused");
        verdict.clone_alarm = true;
        return verdict;
    }

    if (facts.enrollment) {
        const EnrollmentFacts& enrolled = *facts.enrollment;
        Verdict verdict;
        verdict.vin = vin;
        verdict.program_id = enrolled.program_id;
        if (enrolled.premises_id == here.premises_id) {
            verdict.accept = true;
            verdict.kind = Kind::Home;
            verdict.payer_account = enrolled.account_id;
            verdict.pin = !facts.pinned_vin;
            return verdict;
        }
        // Away from home: only a PEV already known by its first home binding, and only where both sides allow it.
        if (!facts.pinned_vin)
            return refuse(facts, vin, "VIN " + *vin + " has never been bound at its home premises");
        if (!enrolled.allow_guest_charging)
            return refuse(facts, vin, "VIN " + *vin + " is not enrolled for guest charging");
        if (!here.hosts_guests)
            return refuse(facts, vin, "premises " + here.premises_id + " does not host guest charging");
        verdict.accept = true;
        verdict.kind = Kind::Guest;
        verdict.payer_account = enrolled.host_pays ? here.account_id : enrolled.account_id;
        return verdict;
    }

    if (facts.roaming) {
        if (facts.roaming->lfdi != facts.lfdi)
            return refuse(facts, vin, "VIN " + *vin + " is registered with the clearinghouse under another LFDI");
        Verdict verdict;
        verdict.accept = true;
        verdict.vin = vin;
        verdict.kind = Kind::Roaming;
        verdict.program_id = facts.roaming_program;
        verdict.home_utility = facts.roaming->home_utility;
        return verdict;
    }
    return refuse(facts, vin, "VIN " + *vin + " is not enrolled and not a registered visiting PEV");
}

}  // namespace binding
