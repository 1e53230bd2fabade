// Settlement through the clearinghouse (OCPI 2.2.1 CDRs, ../shared/reference/exchange-formats.md), the utility in both
// roles:
// - charge point operator for visiting PEVs: each concluded session of a visiting PEV (its binding ended at least
//   settle_s ago) becomes a CDR in the outbox, its energy rated on the binding's (roaming) program; pushed to the hub
//   with back-off until the hub answers status_code 1000, once per CDR id. Energy that changed after a CDR was made
//   (a late reading) is corrected the OCPI way: a credit CDR for the old one and a new CDR.
// - service provider for our PEVs charged elsewhere: CDRs the hub pushes to POST /ocpi/2.2.1/cdrs (own HTTPS listener,
//   `Authorization: Token` of a known peer) are applied once per (country_code, party_id, id) and debited to the
//   account the PEV (its VIN in cdr_token.uid, else contract_id) was enrolled under (a credit CDR credits it); invalid
//   ones are answered with status_code 2001 (an unknown PEV 2004) and kept aside with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "billing/ocpi.hpp"
#include "billing/ocpi_push.hpp"
#include "billing/catalog_cache.hpp"
#include "headend/plugin/plugin.hpp"

namespace billing {

std::vector<headend::storage::Migration> clearinghouse_migrations();

// A peer allowed to push CDRs to us, by the token it sends.
struct InboundPeer {
    std::string country_code;
    std::string party_id;
    std::string token;
};

// Reads "country_code,party_id,token" lines (a header line first). Errors name the line: "config".
headend::Result<std::vector<InboundPeer>> load_peers(const std::string& csv, const std::string& origin);

struct ClearinghouseSettings {
    std::string country_code = "US";  // ours, as charge point operator
    std::string party_id = "UTL";
    std::optional<ocpi::Peer> hub;        // where our CDRs go; none: they wait in the outbox
    std::string hub_country_code = "US";  // the token's party when the roaming registry names no OCPI party
    std::string hub_party_id = "HUB";
    std::int64_t settle_s = 3600;       // a session's CDR is made this long after it ended (late readings first)
    std::int64_t correction_days = 60;  // how long after a session a changed energy is still corrected
    std::string city;                   // cdr_location: the territory's
    std::string country = "USA";        // ISO 3166 alpha-3
    std::string latitude = "0.000000";
    std::string longitude = "0.000000";
    std::vector<InboundPeer> peers;
};

struct OutboxPass {
    std::size_t made = 0;  // CDRs added to the outbox (credits and corrections included)
    std::size_t accepted = 0;
    std::size_t rejected = 0;
    std::size_t deferred = 0;
};

class Clearinghouse {
public:
    Clearinghouse(headend::storage::Database& database, ClearinghouseSettings settings,
                  const headend::plugin::Clock& clock, headend::plugin::Logger& logger);

    // Makes the CDRs of concluded visiting sessions, then pushes those due.
    headend::Result<OutboxPass> run_due();

    // POST /ocpi/2.2.1/cdrs.
    headend::http::Response receive(const headend::http::Request& request);

private:
    headend::Result<std::size_t> make_cdrs();
    headend::Result<void> push_due(OutboxPass& pass);
    const InboundPeer* peer_of(const headend::http::Request& request) const;

    headend::storage::Database& database_;
    ClearinghouseSettings settings_;
    const headend::plugin::Clock& clock_;
    headend::plugin::Logger& logger_;
    CatalogCache catalog_;
    std::mutex pass_mutex_;
};

// GET /api/v1/cdrs?direction=out|in|rejected (default out): the outbox with each CDR's state, the CDRs received, and
// those refused with their reason; newest first.
void add_cdr_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database);

}  // namespace billing
