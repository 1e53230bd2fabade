// What an operator sees of a live DTLS session with a HAN device (the admin API lists them).
#pragma once

#include <cstdint>
#include <string>

namespace han {

// A live DTLS session with a HAN device, as an operator sees it.
struct SessionSummary {
    std::string peer;  // address:port
    bool certificate = false;
    std::string lfdi;                 // certificate sessions: the certificate's
    std::string certificate_serial;   // certificate sessions: the subject's serialNumber (a PEV's VIN), or empty
    std::string psk_identity;         // PSK sessions
    std::string cipher;               // OpenSSL's name of the negotiated suite
    std::int64_t established_at = 0;  // UTC seconds
};

}  // namespace han
