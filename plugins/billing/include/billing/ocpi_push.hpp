// Pushing a CDR to the clearinghouse (OCPI 2.2.1, the utility as charge point operator for visiting PEVs): one POST
// to the peer's CDRs endpoint with its token, and what the answer means for the CDR outbox: accepted (status_code
// 1000: done, never sent again), rejected (the hub refuses this CDR: kept aside with the reason, not retried) or to
// be tried again later (no answer, 5xx, 3xxx, a token the hub does not take yet).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "billing/ocpi.hpp"

namespace billing::ocpi {

struct Peer {
    std::string cdrs_url;           // https://hub.example/ocpi/2.2.1/cdrs
    std::string token;              // the credentials token the hub gave us; sent Base64-encoded as OCPI 2.2 asks
    std::filesystem::path ca_file;  // the hub's CA (empty: the system's)
    std::chrono::seconds timeout{30};
};

enum class PushOutcome { Accepted, Rejected, RetryLater };

struct PushResult {
    PushOutcome outcome = PushOutcome::RetryLater;
    std::string detail;  // for the operator: the HTTP status, the OCPI status_code and message, or the error
};

PushResult push_cdr(const Peer& peer, const Cdr& cdr);

// How long to wait before the next attempt after `failures` failed ones (1, 2, …): 30 s doubling, at most 6 h.
std::chrono::seconds retry_delay(int failures);

}  // namespace billing::ocpi
