// IEEE 2030.5 device identity: LFDI and SFDI derived from the SHA-256 of a device's DER certificate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "headend/plugin/result.hpp"

namespace han {

// Number of hex digits in an LFDI (160 bits).
inline constexpr std::size_t kLfdiHexDigits = 40;

struct DeviceIdentity {
    std::string lfdi;        // 40 upper-case hex digits
    std::uint64_t sfdi = 0;  // 36-bit value in decimal followed by one check digit

    friend bool operator==(const DeviceIdentity&, const DeviceIdentity&) = default;
};

// The first 160 bits of the hash as 40 upper-case hex digits; empty if the hash is shorter than 20 bytes.
std::string lfdi_from_hash(std::span<const std::uint8_t> sha256);

// The first 36 bits of the hash in decimal with the check digit appended; 0 if the hash is shorter than 5 bytes.
std::uint64_t sfdi_from_hash(std::span<const std::uint8_t> sha256);

// Identity of a DER certificate (SHA-256 over exactly these bytes). Fails with "identity.der" if the bytes are not
// one X.509 certificate.
headend::Result<DeviceIdentity> identity_from_der(std::span<const std::uint8_t> der);

// Identity of the first certificate in a PEM file ("identity.file", "identity.pem" on failure).
headend::Result<DeviceIdentity> identity_from_pem_file(const std::filesystem::path& path);

// True if the last decimal digit is the check digit of the digits before it.
bool sfdi_check_digit_ok(std::uint64_t sfdi);

// True for exactly 40 hex digits (either case, as in xs:hexBinary).
bool is_lfdi(std::string_view text);

// True if the LFDI is well formed and the SFDI derived from its first 36 bits equals sfdi.
bool lfdi_matches_sfdi(std::string_view lfdi, std::uint64_t sfdi);

}  // namespace han
