// Pipelined CoAP GET load over established DTLS-PSK sessions, the same generator for every server compared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct PskLoadOptions {
    std::uint16_t port = 0;               // DTLS port on 127.0.0.1
    std::vector<std::string> identities;  // one session per identity
    std::string key;
    std::string path;          // "tm", or "" for /
    unsigned outstanding = 8;  // confirmable GETs kept in flight per session
    double seconds = 10;
};

struct PskLoadResult {
    unsigned sessions_established = 0;
    std::uint64_t responses = 0;          // 2.05 Content within the window
    std::uint64_t errors = 0;             // other codes, RSTs, DTLS failures
    std::uint64_t timeouts = 0;           // requests libcoap gave up on after its retransmissions
    std::uint64_t unanswered_at_end = 0;  // still in flight when the window closed
    double seconds = 0;
};

// Runs the load on the calling thread: handshakes first (not timed), then the timed window.
PskLoadResult run_psk_load(const PskLoadOptions& options);

}  // namespace bench
