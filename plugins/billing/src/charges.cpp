#include "charges.hpp"

#include <algorithm>
#include <limits>

#include "charging/binding_period.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kPevRole = 4;       // roleFlags isPEV
constexpr std::int64_t kPremisesRole = 2;  // roleFlags isPremisesAggregationPoint
constexpr std::int64_t kDefaultInterval = 900;

struct TimedInterval {
    std::int64_t start = 0;
    std::int64_t duration = 0;
    std::int64_t wh = 0;
};

std::vector<Interval> energy_of(const std::vector<TimedInterval>& intervals) {
    std::vector<Interval> energy;
    energy.reserve(intervals.size());
    for (const auto& one : intervals)
        energy.push_back({one.start, one.wh});
    return energy;
}

Result<std::vector<TimedInterval>> intervals_of(Transaction& tx, const std::string& sql,
                                                const std::vector<Value>& params) {
    auto rows = tx.query(sql, params);
    if (!rows)
        return rows.error();
    std::vector<TimedInterval> intervals;
    intervals.reserve(rows->size());
    for (const auto& row : *rows)
        intervals.push_back({row.integer(0), row.integer(1), row.integer(2)});
    return intervals;
}

std::string place_of(const std::string& premises, const std::string& address) {
    return address.empty() ? premises : premises + ", " + address;
}

}  // namespace

Result<std::vector<SessionBinding>> bindings_at(Transaction& tx, const std::string& lfdi,
                                                const std::string& premises_id) {
    // Every binding of the PEV in request order, as interval collection reads them to accept its intervals.
    auto rows = tx.query(
        "SELECT b.binding_id, COALESCE(b.vin, b.lfdi), b.premises_id, b.kind, b.program_id, b.payer_account, "
        "b.home_utility, b.status, b.requested_at, b.updated_at, "
        "(SELECT MIN(v.active_at) FROM pev_binding_validations_v1 v WHERE v.binding_id = b.binding_id) "
        "FROM pev_bindings_v1 b WHERE b.lfdi = ? ORDER BY b.requested_at, b.binding_id",
        std::vector<Value>{lfdi});
    if (!rows)
        return rows.error();
    auto length = tx.query("SELECT interval_length FROM pev_eumd_intervals_v1 WHERE premises_id = ?",
                           std::vector<Value>{premises_id});
    if (!length)
        return length.error();
    const auto interval_length = static_cast<std::uint32_t>(
        length->empty() || length->front().is_null(0) ? kDefaultInterval : length->front().integer(0));
    std::vector<charging::BindingSpan> spans;
    for (const auto& row : *rows)
        spans.push_back({row.text(2), row.text(7), row.integer(8), row.integer(9)});
    std::vector<SessionBinding> bindings;
    for (std::size_t i = 0; i < rows->size(); ++i) {
        const auto& row = (*rows)[i];
        if (row.text(2) != premises_id || row.text(7) == "refused")
            continue;
        SessionBinding binding;
        binding.id = row.integer(0);
        binding.vin = row.text(1);
        binding.lfdi = lfdi;
        binding.premises_id = row.text(2);
        binding.kind = row.text(3);
        binding.program_id = row.text(4);
        binding.payer_account = row.optional_text(5);
        binding.home_utility = row.optional_text(6);
        binding.status = row.text(7);
        // Identities verified: the binding became active. One that fell back never did.
        binding.validated = !row.is_null(10) && binding.status != "fallback";
        binding.period =
            charging::binding_period(spans[i], i + 1 < spans.size() ? &spans[i + 1] : nullptr, interval_length);
        bindings.push_back(std::move(binding));
    }
    return bindings;
}

Result<std::vector<Interval>> session_intervals(Transaction& tx, const SessionBinding& binding, std::int64_t from,
                                                std::int64_t to) {
    auto rows = tx.query(
        "SELECT i.start_at, i.value_wh FROM intervals_v1 i JOIN interval_channels_v1 c ON c.mmr_id = i.mmr_id "
        "WHERE c.device_lfdi = ? AND c.premises_id = ? AND (c.role_flags & ?) <> 0 AND i.start_at >= ? "
        "AND i.start_at < ? ORDER BY i.start_at",
        std::vector<Value>{binding.lfdi, binding.premises_id, kPevRole, std::max(from, binding.period.from),
                           std::min(to, binding.period.to)});
    if (!rows)
        return rows.error();
    std::vector<Interval> intervals;
    for (const auto& row : *rows)
        intervals.push_back({row.integer(0), row.integer(1)});
    return intervals;
}

bool informational(LineKind kind) {
    return kind == LineKind::FallbackSession || kind == LineKind::HeldSession;
}

ChargeCalculator::ChargeCalculator(const tariff::Versions& versions, const calendar::LocalDays& days, Month month)
    : versions_(versions), days_(days), month_(month), from_(month.from(days)), to_(month.to(days)) {}

Result<const Rater*> ChargeCalculator::rater(const std::string& program) {
    auto& slot = raters_[program];
    if (!slot)
        slot = std::make_unique<Rater>(versions_, program, from_, to_);
    return slot.get();
}

Result<void> ChargeCalculator::rate_line(Charge& charge, const std::string& program,
                                         const std::vector<Interval>& intervals, const Owner& owner) {
    auto chosen = rater(program);
    if (!chosen)
        return chosen.error();
    std::vector<RatedInterval> rated;
    if (!(*chosen)->rate(intervals, rated))
        return make_error("billing.unrated", "no tariff version rates " + program + " for the energy of " + charge.key +
                                                 " in " + month_.text());
    for (const auto& one : rated) {
        if (sink_)
            sink_->push_back({owner.premises_id, owner.lfdi, one.start, owner.sign * one.cost});
        charge.exact += one.cost;
        charge.line.wh += one.wh;
        auto period = std::find_if(charge.line.periods.begin(), charge.line.periods.end(),
                                   [&](const PeriodUsage& usage) { return usage.period == one.period->name; });
        if (period == charge.line.periods.end())
            period = charge.line.periods.insert(charge.line.periods.end(), PeriodUsage{one.period->name, 0, 0});
        period->wh += one.wh;
        period->amount += one.cost;
    }
    return {};
}

Result<std::vector<Charge>> ChargeCalculator::charges(Transaction& tx, const std::string& account,
                                                      const PremisesRates* frozen, PremisesRates& used) {
    auto premises_rows = tx.query(
        "SELECT premises_id, default_rate, service_address FROM pev_billing_premises_v1 WHERE account_id = ? "
        "ORDER BY premises_id",
        std::vector<Value>{account});
    if (!premises_rows)
        return premises_rows.error();
    std::vector<Premises> own;
    for (const auto& row : *premises_rows) {
        Premises premises{row.text(0), row.text(1), row.text(2)};
        if (frozen != nullptr) {
            if (const auto kept = frozen->find(premises.id); kept != frozen->end())
                premises.rate = kept->second;
        }
        used[premises.id] = premises.rate;
        own.push_back(std::move(premises));
    }

    std::vector<Charge> out;
    for (const auto& premises : own) {
        if (auto done = premises_charges(tx, premises, out); !done)
            return done.error();
        // Every PEV metered here, whoever pays: the credit is this account's.
        auto pevs = tx.query(
            "SELECT DISTINCT device_lfdi FROM interval_channels_v1 WHERE premises_id = ? AND (role_flags & ?) <> 0 "
            "ORDER BY device_lfdi",
            std::vector<Value>{premises.id, kPevRole});
        if (!pevs)
            return pevs.error();
        for (const auto& row : *pevs)
            if (auto done = session_charges(tx, account, row.text(0), premises, true, out); !done)
                return done.error();
    }
    // Our PEVs charged elsewhere: the clearinghouse's CDRs as received, in the month the charge ended.
    auto roaming = tx.query(
        "SELECT country_code, party_id, cdr_id, vin, start_at, end_at, energy_wh, cost, credit_of, location "
        "FROM cdrs_in WHERE account_id = ? AND end_at >= ? AND end_at < ? ORDER BY end_at, cdr_id",
        std::vector<Value>{account, from_, to_});
    if (!roaming)
        return roaming.error();
    for (const auto& row : *roaming) {
        const std::string party = row.text(0) + "*" + row.text(1);
        Charge charge{"cdr:" + party + ":" + row.text(2), row.integer(7), {}};
        charge.line.kind = LineKind::Roaming;
        charge.line.description =
            row.is_null(8) ? "PEV " + row.text(3) + " charged elsewhere (" + party + " CDR " + row.text(2) + ")"
                           : "Credit from " + party + " for CDR " + row.text(8);
        charge.line.place = row.text(9);
        charge.line.start = row.integer(4);
        charge.line.end = row.integer(5);
        charge.line.wh = row.integer(6);
        out.push_back(std::move(charge));
    }
    // Where the account pays for its PEVs charging at other premises (guest charging, owner pays).
    auto away = tx.query(
        "SELECT DISTINCT b.lfdi, b.premises_id, COALESCE(h.default_rate, ''), COALESCE(h.service_address, '') "
        "FROM pev_bindings_v1 b LEFT JOIN pev_billing_premises_v1 h ON h.premises_id = b.premises_id "
        "WHERE b.payer_account = ? AND b.status <> 'refused' AND b.requested_at < ? "
        "AND (h.account_id IS NULL OR h.account_id <> ?) ORDER BY b.premises_id, b.lfdi",
        std::vector<Value>{account, to_, account});
    if (!away)
        return away.error();
    for (const auto& row : *away) {
        const Premises elsewhere{row.text(1), row.text(2), row.text(3)};
        if (auto done = session_charges(tx, account, row.text(0), elsewhere, false, out); !done)
            return done.error();
    }
    return out;
}

Result<void> ChargeCalculator::premises_charges(Transaction& tx, const Premises& premises, std::vector<Charge>& out) {
    const std::string place = place_of(premises.id, premises.address);
    // One billing meter per premises: the first channel registered that has energy in the month (an ESCI mirror and an
    // AMI import of the same meter would otherwise count it twice).
    auto channel = tx.query(
        "SELECT c.mmr_id, c.meter_reading_mrid FROM interval_channels_v1 c WHERE c.premises_id = ? "
        "AND (c.role_flags & ?) <> 0 AND EXISTS (SELECT 1 FROM intervals_v1 i WHERE i.mmr_id = c.mmr_id "
        "AND i.start_at >= ? AND i.start_at < ?) ORDER BY c.mmr_id LIMIT 1",
        std::vector<Value>{premises.id, kPremisesRole, from_, to_});
    if (!channel)
        return channel.error();
    if (!channel->empty()) {
        auto intervals = intervals_of(tx,
                                      "SELECT start_at, duration, value_wh FROM intervals_v1 WHERE mmr_id = ? "
                                      "AND start_at >= ? AND start_at < ? ORDER BY start_at",
                                      {channel->front().integer(0), from_, to_});
        if (!intervals)
            return intervals.error();
        Charge energy{"premises:" + premises.id + ":energy", 0, {}};
        energy.line.kind = LineKind::PremisesEnergy;
        energy.line.description =
            "Premises energy at " + premises.rate + " (meter reading " + channel->front().text(1) + ")";
        energy.line.place = place;
        static const std::string kMeter;
        if (auto rated = rate_line(energy, premises.rate, energy_of(*intervals), {premises.id, kMeter}); !rated)
            return rated.error();
        out.push_back(std::move(energy));
    }

    // Fixed charges per local day: the premises rate's, and each program a PEV enrolled here was on that day.
    auto enrollments = tx.query(
        "SELECT program_id, enrolled_at, ended_at FROM pev_enrollment_history_v1 WHERE premises_id = ? "
        "AND enrolled_at < ? AND (ended_at IS NULL OR ended_at > ?)",
        std::vector<Value>{premises.id, to_, from_});
    if (!enrollments)
        return enrollments.error();
    std::map<std::string, std::pair<int, std::int64_t>> fixed;  // program → days, amount
    const std::int32_t first_day = days_.day_of(from_);
    const std::int32_t end_day = days_.day_of(to_);
    for (std::int32_t day = first_day; day < end_day; ++day) {
        const auto [day_from, day_to] = days_.bounds(day);
        std::vector<std::string> programs{premises.rate};
        for (const auto& row : *enrollments) {
            const bool current = row.integer(1) < day_to && (row.is_null(2) || row.integer(2) > day_from);
            if (current && std::find(programs.begin(), programs.end(), row.text(0)) == programs.end())
                programs.push_back(row.text(0));
        }
        const tariff::Version* version = versions_.in_force(day_from);
        if (version == nullptr)
            continue;
        for (const auto& program_id : programs) {
            const tariff::Program* program = version->catalog().find(program_id);
            if (program == nullptr || program->fixed_charge_per_day == 0)
                continue;
            auto& [days, amount] = fixed[program_id];
            ++days;
            amount += program->fixed_charge_per_day;
        }
    }
    for (const auto& [program, days_and_amount] : fixed) {
        Charge charge{"premises:" + premises.id + ":fixed:" + program, days_and_amount.second, {}};
        charge.line.kind = LineKind::FixedCharge;
        charge.line.description = "Fixed charge " + program + ", " + std::to_string(days_and_amount.first) + " day(s)";
        charge.line.place = place;
        out.push_back(std::move(charge));
    }
    return {};
}

Result<void> ChargeCalculator::session_charges(Transaction& tx, const std::string& account, const std::string& lfdi,
                                               const Premises& premises, bool own, std::vector<Charge>& out) {
    auto all = bindings_at(tx, lfdi, premises.id);
    if (!all)
        return all.error();
    std::vector<SessionBinding> bindings;
    for (auto& binding : *all)
        if (binding.period.to > from_ && binding.period.from < to_)
            bindings.push_back(std::move(binding));

    auto intervals =
        intervals_of(tx,
                     "SELECT i.start_at, i.duration, i.value_wh FROM intervals_v1 i JOIN interval_channels_v1 c "
                     "ON c.mmr_id = i.mmr_id WHERE c.device_lfdi = ? AND c.premises_id = ? AND (c.role_flags & ?) <> 0 "
                     "AND i.start_at >= ? AND i.start_at < ? ORDER BY i.start_at",
                     {lfdi, premises.id, kPevRole, from_, to_});
    if (!intervals)
        return intervals.error();

    const std::string place = place_of(premises.id, premises.address);
    const auto line_of = [&](const std::string& key, LineKind kind, const std::string& description,
                             const std::vector<TimedInterval>& energy) {
        Charge charge{key, 0, {}};
        charge.line.kind = kind;
        charge.line.description = description;
        charge.line.place = place;
        if (!energy.empty()) {
            charge.line.start = energy.front().start;
            charge.line.end = energy.back().start + energy.back().duration;
        }
        return charge;
    };
    const auto sum_wh = [](Charge& charge, const std::vector<TimedInterval>& energy) {
        for (const auto& one : energy)
            charge.line.wh += one.wh;
    };

    // Each interval to the binding whose period holds its start; none holds it: unattributed (fallback).
    std::vector<TimedInterval> unattributed;
    std::map<std::size_t, std::vector<TimedInterval>> per_binding;
    for (const auto& one : *intervals) {
        const auto holder = std::find_if(bindings.begin(), bindings.end(), [&](const SessionBinding& binding) {
            return one.start >= binding.period.from && one.start < binding.period.to;
        });
        if (holder == bindings.end())
            unattributed.push_back(one);
        else
            per_binding[static_cast<std::size_t>(holder - bindings.begin())].push_back(one);
    }
    if (own && !unattributed.empty()) {
        auto charge = line_of("unattributed:" + lfdi + ":" + premises.id, LineKind::FallbackSession,
                              "PEV " + lfdi + " charging outside any binding: in the premises total", unattributed);
        sum_wh(charge, unattributed);
        out.push_back(std::move(charge));
    }

    for (const auto& [index, energy] : per_binding) {
        const SessionBinding& binding = bindings[index];
        const std::string session = "session:" + std::to_string(binding.id);
        const bool payer = binding.payer_account == account && binding.kind != "roaming";
        if (!binding.validated) {
            if (own) {
                auto charge = line_of(session + ":fallback", LineKind::FallbackSession,
                                      "PEV " + binding.vin +
                                          " charging without a validated binding: in the premises "
                                          "total at " +
                                          premises.rate,
                                      energy);
                sum_wh(charge, energy);
                out.push_back(std::move(charge));
            }
            continue;
        }
        auto holds = tx.query(
            "SELECT COUNT(*) FROM interval_load_holds_v1 WHERE premises_id = ? AND start_at >= ? AND start_at < ? "
            "AND cleared_at IS NULL",
            std::vector<Value>{premises.id, energy.front().start, energy.back().start + energy.back().duration});
        if (!holds)
            return holds.error();
        if (holds->front().integer(0) > 0) {
            if (own || payer) {
                auto charge = line_of(session + ":held", LineKind::HeldSession,
                                      "PEV " + binding.vin +
                                          " charging held: a load mismatch at the premises is "
                                          "under review",
                                      energy);
                sum_wh(charge, energy);
                out.push_back(std::move(charge));
            }
            continue;
        }
        if (payer) {
            const bool home = binding.kind == "home";
            auto charge = line_of(session + ":debit", home ? LineKind::HomeSession : LineKind::GuestSession,
                                  "PEV " + binding.vin + (home ? " charging at home" : " charging as a guest") +
                                      " on " + binding.program_id,
                                  energy);
            if (auto rated = rate_line(charge, binding.program_id, energy_of(energy), {premises.id, lfdi}); !rated)
                return rated.error();
            out.push_back(std::move(charge));
        }
        if (own) {
            const std::string who = binding.kind == "roaming"
                                        ? "visiting PEV " + binding.vin + " of " + binding.home_utility.value_or("?")
                                        : "PEV " + binding.vin;
            auto charge = line_of(session + ":credit", LineKind::HostCredit,
                                  "Credit: " + who + " charging here, at " + premises.rate, energy);
            if (auto rated = rate_line(charge, premises.rate, energy_of(energy), {premises.id, lfdi, -1}); !rated)
                return rated.error();
            charge.exact = -charge.exact;  // the energy shown as taken, its amount as a credit
            for (auto& period : charge.line.periods)
                period.amount = -period.amount;
            out.push_back(std::move(charge));
        }
    }
    return {};
}

}  // namespace billing
