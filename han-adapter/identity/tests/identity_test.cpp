#include "han/identity.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return bytes;
}

// Runs a shell command and returns its standard output (empty on failure).
std::string run(const std::string& command) {
    std::string output;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return output;
    }
    std::array<char, 256> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
        output += buffer.data();
    }
    return ::pclose(pipe) == 0 ? output : std::string();
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "han_identity_XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// The hash of the design document's test vector, padded to 32 bytes.
const std::vector<std::uint8_t> kVectorHash =
    from_hex("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5000102030405060708090A0B");

TEST(Identity, DesignTestVector) {
    EXPECT_EQ(han::lfdi_from_hash(kVectorHash), "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5");
    EXPECT_EQ(han::sfdi_from_hash(kVectorHash), 167261211391u);
}

TEST(Identity, ShortHashesGiveEmptyValues) {
    EXPECT_EQ(han::lfdi_from_hash(std::span(kVectorHash).first(19)), "");
    EXPECT_EQ(han::sfdi_from_hash(std::span(kVectorHash).first(4)), 0u);
    EXPECT_EQ(han::sfdi_from_hash(std::span(kVectorHash).first(5)), 167261211391u);
}

TEST(Identity, CheckDigit) {
    EXPECT_TRUE(han::sfdi_check_digit_ok(167261211391u));
    EXPECT_FALSE(han::sfdi_check_digit_ok(167261211392u));
    EXPECT_FALSE(han::sfdi_check_digit_ok(167261211390u));
    EXPECT_TRUE(han::sfdi_check_digit_ok(0u));
    EXPECT_TRUE(han::sfdi_check_digit_ok(19u));   // 1 -> (10 - 1) % 10 = 9
    EXPECT_TRUE(han::sfdi_check_digit_ok(370u));  // 3 + 7 = 10 -> 0
}

TEST(Identity, LfdiSyntax) {
    EXPECT_TRUE(han::is_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"));
    EXPECT_TRUE(han::is_lfdi("3e4f45ab31edfe5b67e343e5e4562e31984e23e5"));
    EXPECT_FALSE(han::is_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E"));
    EXPECT_FALSE(han::is_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5A"));
    EXPECT_FALSE(han::is_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23G5"));
    EXPECT_FALSE(han::is_lfdi(""));
}

TEST(Identity, LfdiMatchesSfdi) {
    EXPECT_TRUE(han::lfdi_matches_sfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", 167261211391u));
    EXPECT_TRUE(han::lfdi_matches_sfdi("3e4f45ab31edfe5b67e343e5e4562e31984e23e5", 167261211391u));
    EXPECT_FALSE(han::lfdi_matches_sfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", 167261211381u));
    EXPECT_FALSE(han::lfdi_matches_sfdi("3E4F45AB41EDFE5B67E343E5E4562E31984E23E5", 167261211391u));
    EXPECT_FALSE(han::lfdi_matches_sfdi("not an lfdi", 167261211391u));
}

TEST(Identity, RejectsBytesThatAreNotACertificate) {
    const std::vector<std::uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x01};
    auto identity = han::identity_from_der(junk);
    ASSERT_FALSE(identity.ok());
    EXPECT_EQ(identity.error().code, "identity.der");
    EXPECT_FALSE(han::identity_from_der({}).ok());
}

TEST(Identity, MissingOrEmptyPemFile) {
    TempDir dir;
    auto missing = han::identity_from_pem_file(dir.path() / "absent.pem");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "identity.file");
    std::ofstream(dir.path() / "empty.pem") << "no certificate here\n";
    auto empty = han::identity_from_pem_file(dir.path() / "empty.pem");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, "identity.pem");
}

// The identity of a certificate made by the openssl CLI equals the prefix of `openssl x509 -outform der | sha256sum`.
TEST(Identity, MatchesOpensslCli) {
    TempDir dir;
    const auto cert = dir.path() / "device.pem";
    const auto key = dir.path() / "device.key";
    ASSERT_FALSE(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dev -days 2 "
                     "-keyout " +
                     key.string() + " -out " + cert.string() + " 2>/dev/null && echo ok")
                     .empty());
    const std::string sum = run("openssl x509 -in " + cert.string() + " -outform der | sha256sum");
    ASSERT_GE(sum.size(), 64u);
    const auto hash = from_hex(sum.substr(0, 64));

    auto identity = han::identity_from_pem_file(cert);
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    std::string expected_lfdi = sum.substr(0, 40);
    for (char& c : expected_lfdi) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(identity->lfdi, expected_lfdi);
    EXPECT_EQ(identity->sfdi, han::sfdi_from_hash(hash));
    EXPECT_TRUE(han::sfdi_check_digit_ok(identity->sfdi));
    EXPECT_TRUE(han::lfdi_matches_sfdi(identity->lfdi, identity->sfdi));

    const std::string der_text = run("openssl x509 -in " + cert.string() + " -outform der | od -An -v -tx1");
    std::string der_hex;
    for (char c : der_text) {
        if (std::isxdigit(static_cast<unsigned char>(c))) {
            der_hex.push_back(c);
        }
    }
    auto from_der = han::identity_from_der(from_hex(der_hex));
    ASSERT_TRUE(from_der.ok());
    EXPECT_EQ(*from_der, *identity);
}

}  // namespace
