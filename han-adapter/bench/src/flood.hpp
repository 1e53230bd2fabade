// ClientHello flood: DTLS 1.2 ClientHellos without a cookie from many UDP source ports at a steady rate, as a spoofing
// attacker would send them, so legitimate handshakes can be measured while the server is under it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/types.h>

namespace bench {

struct FloodOptions {
    std::uint16_t port = 0;   // the DTLS server on 127.0.0.1
    double rate = 10000;      // ClientHellos per second
    unsigned sources = 4096;  // distinct UDP source ports they come from, in turn
};

struct FloodResult {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t skipped_behind_schedule = 0;  // not sent because the process fell more than a burst behind
    std::uint64_t hello_verify_requests = 0;    // answers received that were HelloVerifyRequests
    std::uint64_t other_answers = 0;            // any other datagram received
    double seconds = 0;                         // from the first ClientHello to stop()
    double cpu_seconds = 0;                     // the flood process's own
};

// The first flight of an OpenSSL DTLS 1.2 client offering ECDHE-ECDSA-AES128-CCM8 and PSK-AES128-CCM8: one record
// holding one unfragmented ClientHello with an empty cookie. Throws if OpenSSL produces anything else.
std::vector<std::uint8_t> make_client_hello();

// Byte offset of the 32-byte client random in the datagram: the 13-byte record header, the 12-byte handshake header
// and the 2-byte client_version come first.
inline constexpr std::size_t kClientRandomOffset = 13 + 12 + 2;

// A child process that floods until stop(), each ClientHello with a fresh client random, reading and counting what
// the server answers so nothing backs up.
class ClientHelloFlood {
public:
    // Raises RLIMIT_NOFILE for the source sockets if needed; returns once they are bound and the flood has begun.
    explicit ClientHelloFlood(const FloodOptions& options);
    ~ClientHelloFlood();  // kills the process if stop() was not called
    ClientHelloFlood(const ClientHelloFlood&) = delete;
    ClientHelloFlood& operator=(const ClientHelloFlood&) = delete;

    // Stops sending, collects the answers still in flight and returns the counts.
    FloodResult stop();

private:
    pid_t pid_ = -1;
    int channel_fd_ = -1;  // the child sends a ready byte, we send a stop byte, it answers with its FloodResult
};

}  // namespace bench
