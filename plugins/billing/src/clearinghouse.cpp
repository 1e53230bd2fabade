#include "clearinghouse.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "admin/json_reply.hpp"
#include "billing/rating.hpp"
#include "charges.hpp"
#include "csv/csv.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

bool same_secret(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Our CDR of a visiting PEV's session: one charging period per run of equal time-of-use periods.
ocpi::Cdr cdr_of(const ClearinghouseSettings& settings, const SessionBinding& binding, const std::string& address,
                 const std::vector<RatedInterval>& rated, std::int64_t cost, const std::string& id, std::int64_t now) {
    ocpi::Cdr cdr;
    cdr.country_code = settings.country_code;
    cdr.party_id = settings.party_id;
    cdr.id = id;
    cdr.start = rated.front().start;
    cdr.end = binding.period.to;  // the session's end (unplug), whatever the EUMD's interval length
    cdr.session_id = "B" + std::to_string(binding.id);
    // The token of the PEV's home utility: its OCPI party when the roaming registry names one ("CC*PID").
    const std::string& home = binding.home_utility.value_or("");
    const bool party = home.size() == 6 && home[2] == '*';
    // OCPI's uid holds 36 characters, an LFDI 40: the VIN names the PEV (as the roaming registry does).
    cdr.token = {party ? home.substr(0, 2) : settings.hub_country_code, party ? home.substr(3) : settings.hub_party_id,
                 binding.vin, "OTHER", binding.vin};
    cdr.auth_method = "AUTH_REQUEST";
    cdr.location = {binding.premises_id,
                    std::nullopt,
                    address.empty() ? binding.premises_id : address,
                    settings.city.empty() ? "-" : settings.city,
                    std::nullopt,
                    std::nullopt,
                    settings.country,
                    settings.latitude,
                    settings.longitude,
                    binding.premises_id,
                    binding.premises_id,
                    "1",
                    "IEC_62196_T1",
                    "CABLE",
                    "AC_1_PHASE"};
    cdr.meter_id = std::nullopt;
    cdr.currency = "USD";
    std::int64_t energy = 0;
    for (std::size_t i = 0; i < rated.size();) {
        std::size_t j = i;
        std::int64_t wh = 0;
        while (j < rated.size() && rated[j].period == rated[i].period)
            wh += rated[j++].wh;
        cdr.charging_periods.push_back({rated[i].start, {{"ENERGY", ocpi::format_decimal(wh, 3)}}, binding.program_id});
        energy += wh;
        i = j;
    }
    cdr.total_cost_excl_vat = cost;
    cdr.total_energy_wh = energy;
    cdr.total_time = ocpi::format_decimal((cdr.end - cdr.start) * 10000 / 3600, 4);
    cdr.last_updated = now;
    return cdr;
}

// The credit CDR reversing `original` (OCPI: a correction is never an edit).
ocpi::Cdr credit_of(const ocpi::Cdr& original, const std::string& id, std::int64_t now) {
    ocpi::Cdr credit = original;
    credit.id = id;
    credit.credit = true;
    credit.credit_reference_id = original.id;
    credit.total_cost_excl_vat = -original.total_cost_excl_vat;
    credit.last_updated = now;
    return credit;
}

constexpr std::int64_t kMaxCost = 1'000'000'000;  // $10,000 in 10^-5 units
constexpr std::int64_t kMaxEnergyWh = 1'000'000;  // 1 MWh
constexpr std::int64_t kFutureSkew = 300;         // a peer's clock may be this far ahead
constexpr std::size_t kKeptBody = 64 * 1024;      // of a refused CDR's body, kept for the operator

struct Refusal {
    int http_status;
    std::string reason;
};

}  // namespace

std::vector<headend::storage::Migration> clearinghouse_migrations() {
    return {{3, "the clearinghouse: CDRs we push for visiting PEVs, CDRs received for ours, and those refused",
             R"(CREATE TABLE cdrs_out(
                  outbox_id INTEGER PRIMARY KEY,
                  cdr_id TEXT NOT NULL UNIQUE,
                  binding_id INTEGER NOT NULL,
                  revision INTEGER NOT NULL,
                  credit_of TEXT,
                  energy_wh INTEGER NOT NULL,
                  cost INTEGER NOT NULL,
                  document TEXT NOT NULL,
                  state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
                  attempts INTEGER NOT NULL,
                  next_attempt_at INTEGER NOT NULL,
                  last_error TEXT,
                  created_at INTEGER NOT NULL,
                  accepted_at INTEGER);
                CREATE INDEX cdrs_out_by_binding ON cdrs_out(binding_id, revision);
                CREATE INDEX cdrs_out_due ON cdrs_out(state, outbox_id);
                CREATE TABLE cdrs_in(
                  country_code TEXT NOT NULL,
                  party_id TEXT NOT NULL,
                  cdr_id TEXT NOT NULL,
                  account_id TEXT NOT NULL,
                  vin TEXT NOT NULL,
                  lfdi TEXT NOT NULL,
                  start_at INTEGER NOT NULL,
                  end_at INTEGER NOT NULL,
                  energy_wh INTEGER NOT NULL,
                  cost INTEGER NOT NULL,
                  currency TEXT NOT NULL,
                  credit_of TEXT,
                  location TEXT NOT NULL,
                  document TEXT NOT NULL,
                  received_at INTEGER NOT NULL,
                  PRIMARY KEY (country_code, party_id, cdr_id));
                CREATE INDEX cdrs_in_by_account ON cdrs_in(account_id, end_at);
                CREATE TABLE cdrs_rejected(
                  rejected_id INTEGER PRIMARY KEY,
                  peer TEXT NOT NULL,
                  cdr_id TEXT,
                  status_code INTEGER NOT NULL,
                  reason TEXT NOT NULL,
                  document TEXT NOT NULL,
                  received_at INTEGER NOT NULL);)"}};
}

Result<std::vector<InboundPeer>> load_peers(const std::string& text, const std::string& origin) {
    const auto split = csv::split(text);
    if (split.error)
        return make_error("config", origin + ":" + std::to_string(split.error->line) + ": " + split.error->reason);
    std::vector<InboundPeer> peers;
    for (std::size_t i = 0; i < split.rows.size(); ++i) {
        const auto& row = split.rows[i];
        if (i == 0) {
            if (row.fields != std::vector<std::string>{"country_code", "party_id", "token"})
                return make_error("config", origin + ":1: the header must be country_code,party_id,token");
            continue;
        }
        if (row.fields.size() != 3 || row.fields[0].size() != 2 || row.fields[1].size() != 3 ||
            row.fields[2].size() < 16)
            return make_error("config", origin + ":" + std::to_string(row.line) +
                                            ": country_code (2 letters), party_id (3), token (16+ characters)");
        peers.push_back({row.fields[0], row.fields[1], row.fields[2]});
    }
    return peers;
}

Clearinghouse::Clearinghouse(headend::storage::Database& database, ClearinghouseSettings settings,
                             const headend::plugin::Clock& clock, headend::plugin::Logger& logger)
    : database_(database), settings_(std::move(settings)), clock_(clock), logger_(logger) {}

Result<OutboxPass> Clearinghouse::run_due() {
    const std::lock_guard lock(pass_mutex_);
    OutboxPass pass;
    auto made = make_cdrs();
    if (!made)
        return made.error();
    pass.made = *made;
    if (auto pushed = push_due(pass); !pushed)
        return pushed.error();
    return pass;
}

Result<std::size_t> Clearinghouse::make_cdrs() {
    const std::int64_t now = clock_.now();
    struct Made {
        std::string id;
        std::int64_t binding_id;
        int revision;
        std::optional<std::string> credit_of;
        std::int64_t energy;
        std::int64_t cost;
        std::string document;
    };
    std::vector<Made> made;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto concluded = tx.query(
            "SELECT b.binding_id, b.lfdi, b.premises_id, COALESCE(p.service_address, '') FROM pev_bindings_v1 b "
            "LEFT JOIN pev_billing_premises_v1 p ON p.premises_id = b.premises_id WHERE b.kind = 'roaming' "
            "AND b.status = 'ended' AND b.updated_at <= ? AND b.updated_at >= ? ORDER BY b.binding_id",
            std::vector<Value>{now - settings_.settle_s, now - settings_.correction_days * 86400});
        if (!concluded)
            return concluded.error();
        if (concluded->empty())
            return {};
        auto versions = catalog_.versions(tx);
        if (!versions)
            return versions.error();
        for (const auto& row : *concluded) {
            auto bindings = bindings_at(tx, row.text(1), row.text(2));
            if (!bindings)
                return bindings.error();
            const auto binding = std::find_if(bindings->begin(), bindings->end(),
                                              [&](const SessionBinding& one) { return one.id == row.integer(0); });
            if (binding == bindings->end() || !binding->validated)
                continue;  // a visiting PEV not validated charged at the premises rate: nothing to settle
            auto intervals = session_intervals(tx, *binding, binding->period.from, binding->period.to);
            if (!intervals)
                return intervals.error();
            if (intervals->empty())
                continue;
            const Rater rater(*versions, binding->program_id, binding->period.from, binding->period.to);
            std::vector<RatedInterval> rated;
            if (!rater.rate(*intervals, rated))
                return make_error("billing.unrated", "no tariff version rates " + binding->program_id +
                                                         " for visiting session " + std::to_string(binding->id));
            std::int64_t exact = 0;
            std::int64_t energy = 0;
            for (const auto& one : rated) {
                exact += one.cost;
                energy += one.wh;
            }
            const std::int64_t cost = round_to_cents(exact);
            auto previous = tx.query(
                "SELECT cdr_id, revision, energy_wh, cost, document FROM cdrs_out WHERE binding_id = ? "
                "AND credit_of IS NULL ORDER BY revision DESC LIMIT 1",
                std::vector<Value>{binding->id});
            if (!previous)
                return previous.error();
            int revision = 1;
            if (!previous->empty()) {
                const auto& last = previous->front();
                if (last.integer(2) == energy && last.integer(3) == cost)
                    continue;
                revision = static_cast<int>(last.integer(1)) + 1;
                auto original = ocpi::parse_cdr(last.text(4));
                if (!original)
                    return original.error();
                const ocpi::Cdr credit = credit_of(*original, original->id + "-C", now);
                made.push_back({credit.id, binding->id, revision - 1, original->id, -last.integer(2), -last.integer(3),
                                ocpi::format_cdr(credit)});
            }
            const std::string id = "B" + std::to_string(binding->id) + "-" + std::to_string(revision);
            const ocpi::Cdr cdr = cdr_of(settings_, *binding, row.text(3), rated, cost, id, now);
            made.push_back({id, binding->id, revision, std::nullopt, energy, cost, ocpi::format_cdr(cdr)});
        }
        return {};
    });
    if (!read)
        return read.error();
    if (made.empty())
        return std::size_t{0};
    std::size_t added = 0;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        added = 0;
        for (const auto& cdr : made) {
            auto inserted = tx.execute(
                "INSERT INTO cdrs_out(cdr_id, binding_id, revision, credit_of, energy_wh, cost, document, state, "
                "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
                "ON CONFLICT (cdr_id) DO NOTHING",
                std::vector<Value>{cdr.id, cdr.binding_id, std::int64_t{cdr.revision},
                                   cdr.credit_of ? Value(*cdr.credit_of) : Value(), cdr.energy, cdr.cost, cdr.document,
                                   now, now});
            if (!inserted)
                return inserted.error();
            added += static_cast<std::size_t>(*inserted);
        }
        return {};
    });
    if (!written)
        return written.error();
    if (added > 0)
        logger_.info("CDR_MADE", std::to_string(added) + " CDR(s) for visiting PEVs in the clearinghouse outbox");
    return added;
}

Result<void> Clearinghouse::push_due(OutboxPass& pass) {
    if (!settings_.hub)
        return {};
    const std::int64_t now = clock_.now();
    struct Due {
        std::string id;
        std::string document;
        int attempts;
        std::int64_t next_attempt_at;
    };
    std::vector<Due> due;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT cdr_id, document, attempts, next_attempt_at FROM cdrs_out WHERE state = 'pending' "
            "ORDER BY outbox_id");
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            due.push_back({row.text(0), row.text(1), static_cast<int>(row.integer(2)), row.integer(3)});
        return {};
    });
    if (!read)
        return read.error();
    // In outbox order, and no further than the first that must wait: an original reaches the hub before its credit,
    // a credit before its replacement.
    for (const auto& cdr : due) {
        if (cdr.next_attempt_at > now)
            break;
        // A CDR that cannot be read back is kept aside with the reason, never blocking the ones after it.
        auto parsed = ocpi::parse_cdr(cdr.document);
        const ocpi::PushResult result =
            parsed ? ocpi::push_cdr(*settings_.hub, *parsed)
                   : ocpi::PushResult{ocpi::PushOutcome::Rejected, "not a valid CDR: " + parsed.error().message};
        std::string state = "pending";
        std::int64_t next = now;
        if (result.outcome == ocpi::PushOutcome::Accepted) {
            state = "accepted";
            ++pass.accepted;
            logger_.info("CDR_ACCEPTED", "CDR " + cdr.id + ": " + result.detail);
        } else if (result.outcome == ocpi::PushOutcome::Rejected) {
            state = "rejected";
            ++pass.rejected;
            logger_.error("CDR_REJECTED", "CDR " + cdr.id + " refused by the clearinghouse: " + result.detail);
        } else {
            next = now + ocpi::retry_delay(cdr.attempts + 1).count();
            ++pass.deferred;
            logger_.warn("CDR_DEFERRED",
                         "CDR " + cdr.id + ": " + result.detail + "; trying again at " + ocpi::format_date_time(next));
        }
        auto marked = database_.write_sync([&](Transaction& tx) -> Result<void> {
            auto updated = tx.execute(
                "UPDATE cdrs_out SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
                "accepted_at = ? WHERE cdr_id = ?",
                std::vector<Value>{state, next, state == "accepted" ? Value() : Value(result.detail),
                                   state == "accepted" ? Value(now) : Value(), cdr.id});
            if (!updated)
                return updated.error();
            return {};
        });
        if (!marked)
            return marked.error();
        if (state == "pending")
            break;
    }
    return {};
}

const InboundPeer* Clearinghouse::peer_of(const headend::http::Request& request) const {
    const auto header = request.headers.find("authorization");
    if (header == request.headers.end() || !header->second.starts_with("Token "))
        return nullptr;
    const std::string presented = header->second.substr(6);
    for (const auto& peer : settings_.peers)
        // OCPI 2.2 sends the token Base64-encoded; peers still on 2.1 send it as it is.
        if (same_secret(presented, ocpi::encode_token(peer.token)) || same_secret(presented, peer.token))
            return &peer;
    return nullptr;
}

headend::http::Response Clearinghouse::receive(const headend::http::Request& request) {
    const std::int64_t now = clock_.now();
    const auto answer = [now](int http_status, int status_code, const std::string& message) {
        return headend::http::Response{
            http_status, ocpi::envelope(status_code, message, now), "application/json", {}, {}};
    };
    const InboundPeer* peer = peer_of(request);
    if (peer == nullptr)
        return answer(401, 2000, "unknown or missing token");
    const std::string who = peer->country_code + "*" + peer->party_id;
    // Kept aside with the reason; nothing else changes.
    const auto refuse = [&](const std::optional<std::string>& id, const std::string& reason) {
        auto kept = database_.write_sync([&](Transaction& tx) -> Result<void> {
            auto inserted = tx.execute(
                "INSERT INTO cdrs_rejected(peer, cdr_id, status_code, reason, document, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                std::vector<Value>{who, id ? Value(*id) : Value(), std::int64_t{ocpi::kInvalidParameters}, reason,
                                   request.body.substr(0, kKeptBody), now});
            if (!inserted)
                return inserted.error();
            return {};
        });
        if (!kept)
            return answer(500, 3000, "cannot store: " + kept.error().message);
        logger_.warn("CDR_REFUSED", "CDR from " + who + (id ? " " + *id : "") + ": " + reason);
        return answer(400, ocpi::kInvalidParameters, reason);
    };
    auto cdr = ocpi::parse_cdr(request.body);
    if (!cdr)
        return refuse(std::nullopt, cdr.error().message);
    if (cdr->country_code != peer->country_code || cdr->party_id != peer->party_id)
        return refuse(cdr->id,
                      "the CDR is of party " + cdr->country_code + "*" + cdr->party_id + ", the token of " + who);
    if (cdr->token.country_code != settings_.country_code || cdr->token.party_id != settings_.party_id)
        return refuse(cdr->id, "cdr_token: party " + cdr->token.country_code + "*" + cdr->token.party_id +
                                   " is not ours (" + settings_.country_code + "*" + settings_.party_id + ")");
    if (!cdr->credit && cdr->credit_reference_id)
        return refuse(cdr->id, "credit_reference_id: only a credit CDR names the CDR it reverses");
    const std::int64_t cost = cdr->total_cost_incl_vat.value_or(cdr->total_cost_excl_vat);
    // One charge of a PEV: no more than 1 MWh, no more than $10,000; anything beyond is a mistake to refuse, not bill.
    if (cost > kMaxCost || cost < -kMaxCost)
        return refuse(cdr->id, "total_cost: beyond " + ocpi::format_decimal(kMaxCost, 5) + " for one charge");
    if (cdr->total_energy_wh > kMaxEnergyWh)
        return refuse(cdr->id, "total_energy: beyond " + ocpi::format_decimal(kMaxEnergyWh, 3) + " kWh for one charge");
    if (cdr->end > now + kFutureSkew)
        return refuse(cdr->id, "end_date_time: " + ocpi::format_date_time(cdr->end) + " is in the future");

    std::optional<Refusal> refusal;
    bool repeated = false;
    auto stored = database_.write_sync([&](Transaction& tx) -> Result<void> {
        refusal.reset();
        repeated = false;
        auto same = tx.query("SELECT document FROM cdrs_in WHERE country_code = ? AND party_id = ? AND cdr_id = ?",
                             std::vector<Value>{cdr->country_code, cdr->party_id, cdr->id});
        if (!same)
            return same.error();
        if (!same->empty()) {
            // The same CDR again (a retried push) is applied already; another under its id is refused.
            const auto before = ocpi::parse_cdr(same->front().text(0));
            if (before && *before == *cdr)
                repeated = true;
            else
                refusal = Refusal{400, "CDR id " + cdr->id + " was received before with other content"};
            return {};
        }
        // Our PEV, by its VIN in the token's uid or, failing that, its contract_id; enrolled when the charge began.
        std::string pev_vin;
        std::optional<std::vector<headend::storage::Row>> enrolled;
        for (const std::string& candidate : {cdr->token.uid, cdr->token.contract_id}) {
            auto rows = tx.query(
                "SELECT account_id, allow_roaming FROM pev_enrollment_history_v1 WHERE vin = ? AND enrolled_at <= ? "
                "AND (ended_at IS NULL OR ended_at > ?) ORDER BY enrollment_id DESC LIMIT 1",
                std::vector<Value>{candidate, cdr->start, cdr->start});
            if (!rows)
                return rows.error();
            if (!rows->empty()) {
                pev_vin = candidate;
                enrolled = std::move(*rows);
                break;
            }
        }
        if (!enrolled) {
            refusal = Refusal{400, "cdr_token: no PEV of ours was enrolled under uid " + cdr->token.uid +
                                       " / contract_id " + cdr->token.contract_id + " at the CDR's start"};
            return {};
        }
        if (enrolled->front().integer(1) == 0) {
            refusal = Refusal{400, "cdr_token: VIN " + pev_vin + " is not enrolled for roaming"};
            return {};
        }
        std::string account = enrolled->front().text(0);
        if (cdr->currency != "USD") {
            refusal = Refusal{400, "currency: " + cdr->currency + ", our customers are billed in USD"};
            return {};
        }
        if (cdr->credit) {
            // A credit reverses (part of) one CDR of ours: the same PEV, billed to the account that paid it, for no
            // more than it cost.
            auto original = tx.query(
                "SELECT o.credit_of, o.vin, o.account_id, o.cost, (SELECT COUNT(*) FROM cdrs_in c "
                "WHERE c.country_code = o.country_code AND c.party_id = o.party_id AND c.credit_of = o.cdr_id) "
                "FROM cdrs_in o WHERE o.country_code = ? AND o.party_id = ? AND o.cdr_id = ?",
                std::vector<Value>{cdr->country_code, cdr->party_id, cdr->credit_reference_id.value_or("")});
            if (!original)
                return original.error();
            if (original->empty() || !original->front().is_null(0)) {
                refusal = Refusal{400, "credit_reference_id: no CDR " + cdr->credit_reference_id.value_or("") +
                                           " of this party to credit"};
                return {};
            }
            const auto& first = original->front();
            if (first.text(1) != pev_vin) {
                refusal = Refusal{400, "cdr_token: the credit names VIN " + pev_vin + ", CDR " +
                                           *cdr->credit_reference_id + " was for another PEV"};
                return {};
            }
            if (-cost > first.integer(3)) {
                refusal =
                    Refusal{400, "total_cost: the credit is more than CDR " + *cdr->credit_reference_id + " cost"};
                return {};
            }
            if (first.integer(4) > 0) {
                refusal =
                    Refusal{400, "credit_reference_id: CDR " + *cdr->credit_reference_id + " is credited already"};
                return {};
            }
            account = first.text(2);
        }
        auto inserted = tx.execute(
            "INSERT INTO cdrs_in(country_code, party_id, cdr_id, account_id, vin, lfdi, start_at, end_at, energy_wh, "
            "cost, currency, credit_of, location, document, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            std::vector<Value>{cdr->country_code, cdr->party_id, cdr->id, account, pev_vin, cdr->token.uid, cdr->start,
                               cdr->end, cdr->credit ? -cdr->total_energy_wh : cdr->total_energy_wh, cost,
                               cdr->currency, cdr->credit_reference_id ? Value(*cdr->credit_reference_id) : Value(),
                               cdr->location.address + ", " + cdr->location.city, ocpi::format_cdr(*cdr), now});
        if (!inserted)
            return inserted.error();
        return {};
    });
    if (!stored)
        return answer(500, 3000, "cannot store: " + stored.error().message);
    if (refusal)
        return refuse(cdr->id, refusal->reason);
    if (!repeated)
        logger_.info("CDR_RECEIVED", "CDR " + cdr->id + " from " + who + " for " + cdr->token.uid);
    return answer(200, ocpi::kSuccess, repeated ? "received before" : "accepted");
}

void add_cdr_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database) {
    routes.add("GET", "/api/v1/cdrs", [&database](const headend::http::Request& request) {
        std::string direction = "out";
        for (const auto& [key, value] : request.query) {
            if (key != "direction" || (value != "out" && value != "in" && value != "rejected"))
                return admin_replies::error_reply(
                    400, make_error("request.invalid", "the only query parameter is direction=out|in|rejected"));
            direction = value;
        }
        const std::string sql =
            direction == "out"
                ? "SELECT cdr_id, binding_id, credit_of, energy_wh, cost, state, attempts, next_attempt_at, "
                  "last_error, created_at, accepted_at FROM cdrs_out ORDER BY outbox_id DESC LIMIT 1000"
            : direction == "in"
                ? "SELECT country_code || '*' || party_id, cdr_id, account_id, vin, start_at, end_at, energy_wh, "
                  "cost, credit_of, received_at FROM cdrs_in ORDER BY received_at DESC, cdr_id LIMIT 1000"
                : "SELECT peer, cdr_id, status_code, reason, received_at FROM cdrs_rejected "
                  "ORDER BY rejected_id DESC LIMIT 1000";
        const std::vector<std::vector<std::string>> names = {
            {"cdr_id", "binding_id", "credit_of", "energy_wh", "cost_e5", "state", "attempts", "next_attempt_at",
             "last_error", "created_at", "accepted_at"},
            {"party", "cdr_id", "account_id", "vin", "start", "end", "energy_wh", "cost_e5", "credit_of",
             "received_at"},
            {"peer", "cdr_id", "status_code", "reason", "received_at"}};
        const auto& columns = names[direction == "out" ? 0 : direction == "in" ? 1 : 2];
        nlohmann::json list = nlohmann::json::array();
        auto read = database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query(sql);
            if (!rows)
                return rows.error();
            for (const auto& row : *rows) {
                nlohmann::json one;
                for (std::size_t i = 0; i < columns.size(); ++i) {
                    if (row.is_null(i))
                        one[columns[i]] = nullptr;
                    else if (std::holds_alternative<std::int64_t>(row[i]))
                        one[columns[i]] = row.integer(i);
                    else
                        one[columns[i]] = row.text(i);
                }
                list.push_back(std::move(one));
            }
            return {};
        });
        if (!read)
            return admin_replies::error_reply(500, read.error());
        return admin_replies::json_reply(200, {{"direction", direction}, {"cdrs", list}});
    });
}

}  // namespace billing
