#include "credentials.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace portal {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr std::uint64_t kMaxMemory = std::uint64_t{1} << 30;

std::string hex(const std::uint8_t* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0xF];
    }
    return out;
}

bool unhex(std::string_view text, std::vector<std::uint8_t>& out) {
    if (text.size() % 2 != 0)
        return false;
    out.clear();
    for (std::size_t i = 0; i < text.size(); i += 2) {
        unsigned value = 0;
        const auto [end, error] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
        if (error != std::errc() || end != text.data() + i + 2)
            return false;
        out.push_back(static_cast<std::uint8_t>(value));
    }
    return true;
}

std::string base64url(const std::uint8_t* data, std::size_t size) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < size; ++i) {
        buffer = (buffer << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0)
        out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
    return out;
}

std::uint64_t memory_of(const ScryptParameters& parameters) {
    return std::uint64_t{128} * (std::uint64_t{1} << parameters.log_n) * static_cast<std::uint64_t>(parameters.r);
}

bool scrypt(std::string_view password, const std::vector<std::uint8_t>& salt, const ScryptParameters& parameters,
            std::uint8_t* key, std::size_t key_size) {
    // OpenSSL checks memory against max_mem with some room for its own use.
    return EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(),
                          std::uint64_t{1} << parameters.log_n, static_cast<std::uint64_t>(parameters.r),
                          static_cast<std::uint64_t>(parameters.p), memory_of(parameters) * 2 + 1024 * 1024, key,
                          key_size) == 1;
}

template <typename T>
bool number(std::string_view text, T& out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

headend::Result<void> check_parameters(const ScryptParameters& parameters) {
    if (parameters.log_n < 10 || parameters.log_n > 20)
        return headend::make_error("config", "scrypt_log_n: 10 to 20");
    if (parameters.r < 1 || parameters.r > 32)
        return headend::make_error("config", "scrypt_r: 1 to 32");
    if (parameters.p < 1 || parameters.p > 16)
        return headend::make_error("config", "scrypt_p: 1 to 16");
    if (memory_of(parameters) > kMaxMemory)
        return headend::make_error("config", "scrypt parameters need more than 1 GiB per password hash");
    return {};
}

std::string hash_password(std::string_view password, const ScryptParameters& parameters) {
    std::vector<std::uint8_t> salt(kSaltBytes);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    std::array<std::uint8_t, kKeyBytes> key{};
    if (!scrypt(password, salt, parameters, key.data(), key.size()))
        throw std::runtime_error("scrypt failed");
    return "scrypt$" + std::to_string(parameters.log_n) + "$" + std::to_string(parameters.r) + "$" +
           std::to_string(parameters.p) + "$" + hex(salt.data(), salt.size()) + "$" + hex(key.data(), key.size());
}

bool verify_password(std::string_view password, std::string_view stored) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const auto dollar = stored.find('$', start);
        parts.push_back(
            stored.substr(start, dollar == std::string_view::npos ? std::string_view::npos : dollar - start));
        if (dollar == std::string_view::npos)
            break;
        start = dollar + 1;
    }
    ScryptParameters parameters;
    std::vector<std::uint8_t> salt;
    std::vector<std::uint8_t> expected;
    if (parts.size() != 6 || parts[0] != "scrypt" || !number(parts[1], parameters.log_n) ||
        !number(parts[2], parameters.r) || !number(parts[3], parameters.p) || !check_parameters(parameters) ||
        !unhex(parts[4], salt) || !unhex(parts[5], expected) || expected.empty() || expected.size() > 64)
        return false;
    std::vector<std::uint8_t> key(expected.size());
    if (!scrypt(password, salt, parameters, key.data(), key.size()))
        return false;
    return CRYPTO_memcmp(key.data(), expected.data(), key.size()) == 0;
}

headend::Result<void> check_new_password(std::string_view password) {
    if (password.size() < 12)
        return headend::make_error("password.short", "Use at least 12 characters.");
    if (password.size() > 256)
        return headend::make_error("password.long", "Use at most 256 characters.");
    for (const unsigned char c : password)
        if (c < 0x20 || c == 0x7F)
            return headend::make_error("password.control", "Use letters, digits, spaces and punctuation only.");
    return {};
}

std::string random_token() {
    std::array<std::uint8_t, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return base64url(bytes.data(), bytes.size());
}

std::string token_digest(std::string_view text) {
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return hex(digest.data(), digest.size());
}

std::string hmac_token(const std::vector<std::uint8_t>& key, std::string_view message) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
         message.size(), mac.data(), &size);
    return base64url(mac.data(), size);
}

bool same_secret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

headend::Result<std::vector<std::uint8_t>> load_or_create_key(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
        std::vector<std::uint8_t> key(kKeyBytes);
        if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
            return headend::make_error("config", "no random bytes for " + path);
        // O_EXCL: two daemons starting on one folder must not each write their own key.
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            const bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
            const bool synced = ::fsync(fd) == 0;
            ::close(fd);
            if (!written || !synced)
                return headend::make_error("config", "cannot write " + path);
            return key;
        }
    }
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint8_t> key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
        return headend::make_error("config", "cannot read " + path);
    if (key.size() != kKeyBytes)
        return headend::make_error("config", path + ": expected " + std::to_string(kKeyBytes) + " bytes");
    return key;
}

}  // namespace portal
