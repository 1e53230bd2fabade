// The portal's secrets: customer passwords kept as scrypt hashes (OpenSSL), and the random tokens of invitations,
// sessions and forms. Tokens are stored only as their SHA-256, so a copy of the database signs nobody in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/result.hpp"

namespace portal {

// scrypt cost: N = 2^log_n, r, p. Memory per hash is 128·N·r bytes (32 MiB at 15, 8, 1).
struct ScryptParameters {
    int log_n = 15;
    int r = 8;
    int p = 1;
};

// Checks the parameters a config gives: log_n 10..20, r 1..32, p 1..16, memory at most 1 GiB. Error "config".
headend::Result<void> check_parameters(const ScryptParameters& parameters);

// "scrypt$<log_n>$<r>$<p>$<salt hex>$<key hex>" with a fresh 16-byte salt and a 32-byte key.
std::string hash_password(std::string_view password, const ScryptParameters& parameters);

// Whether `password` matches `stored` (compared in constant time). A malformed stored hash matches nothing.
bool verify_password(std::string_view password, std::string_view stored);

// Password rules for customers: 12 to 256 bytes of UTF-8 text without control characters. The error message says
// what is wrong, for the form.
headend::Result<void> check_new_password(std::string_view password);

// 32 random bytes as base64url without padding (43 characters).
std::string random_token();
// Lower-case hex SHA-256 of `text`: what is stored of a token.
std::string token_digest(std::string_view text);
// base64url HMAC-SHA256 of `message` under `key`.
std::string hmac_token(const std::vector<std::uint8_t>& key, std::string_view message);
// Constant-time equality of two strings (different lengths are unequal).
bool same_secret(std::string_view a, std::string_view b);

// Reads the portal's 32-byte HMAC key from `path`, creating it (mode 0600) with random bytes when missing.
// Error "config" when it cannot be read or made, or has another size.
headend::Result<std::vector<std::uint8_t>> load_or_create_key(const std::string& path);

}  // namespace portal
