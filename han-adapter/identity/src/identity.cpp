#include "han/identity.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <memory>

namespace han {
namespace {

constexpr std::size_t kLfdiBytes = 20;
constexpr std::size_t kSfdiSourceBytes = 5;  // 36 bits live in the first 4.5 bytes

std::uint64_t check_digit(std::uint64_t value) {
    std::uint64_t sum = 0;
    for (; value != 0; value /= 10) {
        sum += value % 10;
    }
    return (10 - sum % 10) % 10;
}

std::uint64_t sfdi_from_prefix(std::uint64_t first_36_bits) {
    return first_36_bits * 10 + check_digit(first_36_bits);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};

}  // namespace

std::string lfdi_from_hash(std::span<const std::uint8_t> sha256) {
    if (sha256.size() < kLfdiBytes) {
        return {};
    }
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string lfdi;
    lfdi.reserve(kLfdiHexDigits);
    for (std::uint8_t byte : sha256.first(kLfdiBytes)) {
        lfdi.push_back(kDigits[byte >> 4]);
        lfdi.push_back(kDigits[byte & 0x0f]);
    }
    return lfdi;
}

std::uint64_t sfdi_from_hash(std::span<const std::uint8_t> sha256) {
    if (sha256.size() < kSfdiSourceBytes) {
        return 0;
    }
    std::uint64_t bits = 0;
    for (std::uint8_t byte : sha256.first(kSfdiSourceBytes)) {
        bits = (bits << 8) | byte;
    }
    return sfdi_from_prefix(bits >> 4);
}

headend::Result<DeviceIdentity> identity_from_der(std::span<const std::uint8_t> der) {
    // Parse first so that arbitrary bytes never get an identity; the hash is still over the caller's bytes.
    const unsigned char* cursor = der.data();
    std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
    if (!cert || cursor != der.data() + der.size()) {
        return headend::make_error("identity.der", "not a single DER-encoded X.509 certificate");
    }
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> hash{};
    unsigned int hash_len = 0;
    if (EVP_Digest(der.data(), der.size(), hash.data(), &hash_len, EVP_sha256(), nullptr) != 1) {
        return headend::make_error("identity.hash", "SHA-256 failed");
    }
    std::span<const std::uint8_t> digest(hash.data(), hash_len);
    return DeviceIdentity{lfdi_from_hash(digest), sfdi_from_hash(digest)};
}

headend::Result<DeviceIdentity> identity_from_pem_file(const std::filesystem::path& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) {
        return headend::make_error("identity.file", "cannot open " + path.string());
    }
    std::unique_ptr<X509, X509Free> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return headend::make_error("identity.pem", "no PEM certificate in " + path.string());
    }
    unsigned char* der = nullptr;
    const int der_len = i2d_X509(cert.get(), &der);
    if (der_len <= 0) {
        return headend::make_error("identity.der", "cannot DER-encode the certificate in " + path.string());
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) { OPENSSL_free(p); });
    return identity_from_der(std::span<const std::uint8_t>(der, static_cast<std::size_t>(der_len)));
}

bool sfdi_check_digit_ok(std::uint64_t sfdi) {
    return check_digit(sfdi / 10) == sfdi % 10;
}

bool is_lfdi(std::string_view text) {
    if (text.size() != kLfdiHexDigits) {
        return false;
    }
    for (char c : text) {
        if (hex_value(c) < 0) {
            return false;
        }
    }
    return true;
}

bool lfdi_matches_sfdi(std::string_view lfdi, std::uint64_t sfdi) {
    if (!is_lfdi(lfdi)) {
        return false;
    }
    std::uint64_t bits = 0;
    for (char c : lfdi.substr(0, 9)) {  // nine hex digits = 36 bits
        bits = (bits << 4) | static_cast<std::uint64_t>(hex_value(c));
    }
    return sfdi_from_prefix(bits) == sfdi;
}

}  // namespace han
