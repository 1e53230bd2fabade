#include "pki/pki.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace {

namespace fs = std::filesystem;
using headend::pki::CertificateFiles;
using headend::pki::LeafKind;

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout only
};

CommandResult run(const std::string& command) {
    CommandResult result;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return result;
    }
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
        result.output += buffer.data();
    }
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "han_pki_XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr load_cert(const fs::path& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    return X509Ptr(file ? PEM_read_X509(file.get(), nullptr, nullptr, nullptr) : nullptr);
}

PkeyPtr load_key(const fs::path& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    return PkeyPtr(file ? PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr) : nullptr);
}

mode_t file_mode(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

std::string upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

// LFDI as computed by the openssl CLI: the first 40 hex digits of sha256(DER).
std::string cli_lfdi(const fs::path& cert) {
    const auto sum = run("openssl x509 -in " + cert.string() + " -outform der | sha256sum");
    return sum.output.size() >= 40 ? upper(sum.output.substr(0, 40)) : std::string();
}

bool openssl_verifies(const fs::path& ca, const fs::path& leaf, const std::string& purpose) {
    const auto result =
        run("openssl verify -purpose " + purpose + " -CAfile " + ca.string() + " " + leaf.string() + " 2>&1");
    return result.exit_code == 0 && result.output.find(": OK") != std::string::npos;
}

void expect_p256_key_for(const CertificateFiles& files) {
    auto key = load_key(files.key);
    ASSERT_TRUE(key);
    EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
    std::array<char, 64> group{};
    std::size_t group_len = 0;
    ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &group_len), 1);
    EXPECT_STREQ(group.data(), "prime256v1");
    auto cert = load_cert(files.cert);
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

void expect_common_profile(X509* cert) {
    EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
    EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
    std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr),
                                                      BN_free);
    ASSERT_TRUE(serial);
    EXPECT_FALSE(BN_is_negative(serial.get()));
    EXPECT_LE(BN_num_bits(serial.get()), 127);
    EXPECT_GT(BN_num_bits(serial.get()), 64);  // random 127 bits: below 2^64 with probability 2^-63
    int critical = 0;
    auto* constraints =
        static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &critical, nullptr));
    EXPECT_NE(constraints, nullptr);
    EXPECT_EQ(critical, 1);
    BASIC_CONSTRAINTS_free(constraints);
}

TEST(Pki, CaFilesProfileAndModes) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path() / "ca", "Test Root");
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    EXPECT_EQ(ca->cert, dir.path() / "ca" / "ca.pem");
    EXPECT_EQ(ca->key, dir.path() / "ca" / "ca.key");
    EXPECT_EQ(ca->der, dir.path() / "ca" / "ca.der");
    EXPECT_EQ(file_mode(ca->key), 0600u);
    EXPECT_EQ(file_mode(ca->cert), 0644u);
    EXPECT_EQ(file_mode(ca->der), 0644u);
    EXPECT_FALSE(fs::exists(dir.path() / "ca" / "ca.key.tmp"));
    expect_p256_key_for(*ca);

    auto cert = load_cert(ca->cert);
    ASSERT_TRUE(cert);
    expect_common_profile(cert.get());
    EXPECT_EQ(X509_check_ca(cert.get()), 1);
    EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN));
    EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);
    EXPECT_EQ(ca->identity.lfdi, cli_lfdi(ca->cert));

    // The DER file is the PEM certificate's encoding.
    const auto der_sum = run("sha256sum < " + ca->der.string());
    ASSERT_GE(der_sum.output.size(), 40u);
    EXPECT_EQ(upper(der_sum.output.substr(0, 40)), ca->identity.lfdi);
}

TEST(Pki, DeviceChainVerifiesAndIdentityMatches) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    auto device = headend::pki::make_leaf(*ca, dir.path() / "devices", "pev-0001");
    ASSERT_TRUE(device.ok()) << device.error().message;
    EXPECT_EQ(device->cert, dir.path() / "devices" / "pev-0001.pem");
    EXPECT_EQ(device->common_name, "pev-0001");
    EXPECT_EQ(file_mode(device->key), 0600u);
    expect_p256_key_for(*device);

    auto cert = load_cert(device->cert);
    ASSERT_TRUE(cert);
    expect_common_profile(cert.get());
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr), nullptr);

    EXPECT_TRUE(openssl_verifies(ca->cert, device->cert, "sslclient"));
    EXPECT_EQ(device->identity.lfdi, cli_lfdi(device->cert));
    EXPECT_TRUE(han::lfdi_matches_sfdi(device->identity.lfdi, device->identity.sfdi));
    auto reread = han::identity_from_pem_file(device->cert);
    ASSERT_TRUE(reread.ok());
    EXPECT_EQ(*reread, device->identity);
}

TEST(Pki, ServerCertificateHasSubjectAltName) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok());
    auto server = headend::pki::make_leaf(*ca, dir.path(), "headend.local", LeafKind::server);
    ASSERT_TRUE(server.ok()) << server.error().message;
    EXPECT_TRUE(openssl_verifies(ca->cert, server->cert, "sslserver"));
    const auto text = run("openssl x509 -noout -ext subjectAltName -in " + server->cert.string());
    EXPECT_NE(text.output.find("DNS:headend.local"), std::string::npos) << text.output;
}

TEST(Pki, APevCertificateNamesItsVinAsSubjectSerialNumber) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok());
    auto pev = headend::pki::make_leaf(*ca, dir.path(), "pev-1", LeafKind::device,
                                       {.days = 30, .overwrite = false, .subject_serial = "1HGCM82633A004352"});
    ASSERT_TRUE(pev.ok()) << pev.error().message;
    EXPECT_TRUE(openssl_verifies(ca->cert, pev->cert, "sslclient"));
    const auto text = run("openssl x509 -noout -subject -nameopt RFC2253 -in " + pev->cert.string());
    EXPECT_NE(text.output.find("serialNumber=1HGCM82633A004352"), std::string::npos) << text.output;
}

TEST(Pki, ForeignCaDoesNotVerify) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path() / "a");
    auto other = headend::pki::make_ca(dir.path() / "b");
    ASSERT_TRUE(ca.ok() && other.ok());
    auto device = headend::pki::make_leaf(*ca, dir.path(), "dev");
    ASSERT_TRUE(device.ok());
    EXPECT_FALSE(openssl_verifies(other->cert, device->cert, "sslclient"));
}

TEST(Pki, SerialsAndKeysDiffer) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok());
    auto a = headend::pki::make_leaf(*ca, dir.path(), "a");
    auto b = headend::pki::make_leaf(*ca, dir.path(), "b");
    ASSERT_TRUE(a.ok() && b.ok());
    auto cert_a = load_cert(a->cert);
    auto cert_b = load_cert(b->cert);
    EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert_a.get()), X509_get0_serialNumber(cert_b.get())), 0);
    EXPECT_NE(a->identity.lfdi, b->identity.lfdi);
}

TEST(Pki, RefusesToOverwriteUnlessAsked) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok());
    auto again = headend::pki::make_ca(dir.path());
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "pki.exists");
    auto replaced = headend::pki::make_ca(dir.path(), "Replacement", {.overwrite = true, .subject_serial = {}});
    ASSERT_TRUE(replaced.ok()) << replaced.error().message;
    EXPECT_NE(replaced->identity.lfdi, ca->identity.lfdi);
    EXPECT_EQ(file_mode(replaced->key), 0600u);
}

TEST(Pki, RejectsBadNamesAndValidity) {
    TempDir dir;
    auto ca = headend::pki::make_ca(dir.path());
    ASSERT_TRUE(ca.ok());
    for (const char* name : {"", "../escape", "a/b", ".hidden", "with space", "x\n"}) {
        auto leaf = headend::pki::make_leaf(*ca, dir.path(), name);
        ASSERT_FALSE(leaf.ok()) << name;
        EXPECT_EQ(leaf.error().code, "pki.name") << name;
    }
    EXPECT_EQ(headend::pki::make_leaf(*ca, dir.path(), std::string(65, 'a')).error().code, "pki.name");
    EXPECT_EQ(headend::pki::make_ca(dir.path() / "x", "CA", {.days = 0, .subject_serial = {}}).error().code,
              "pki.days");
    EXPECT_FALSE(fs::exists(dir.path() / "escape.pem"));
}

TEST(Pki, LoadCaChecksKeyAndRole) {
    TempDir dir;
    auto missing = headend::pki::load_ca(dir.path() / "nothing");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "pki.ca");

    auto a = headend::pki::make_ca(dir.path() / "a", "CA A");
    auto b = headend::pki::make_ca(dir.path() / "b", "CA B");
    ASSERT_TRUE(a.ok() && b.ok());
    auto loaded = headend::pki::load_ca(dir.path() / "a");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    EXPECT_EQ(loaded->common_name, "CA A");
    EXPECT_EQ(loaded->identity, a->identity);

    fs::copy_file(b->key, a->key, fs::copy_options::overwrite_existing);
    auto mismatched = headend::pki::load_ca(dir.path() / "a");
    ASSERT_FALSE(mismatched.ok());
    EXPECT_NE(mismatched.error().message.find("does not belong"), std::string::npos);

    // A leaf is not a CA even with its own key next to it.
    auto leaf = headend::pki::make_leaf(*b, dir.path() / "leaf", "ca");
    ASSERT_TRUE(leaf.ok());
    auto not_ca = headend::pki::load_ca(dir.path() / "leaf");
    ASSERT_FALSE(not_ca.ok());
    EXPECT_NE(not_ca.error().message.find("not a CA"), std::string::npos);
}

// The headend-pki command line, end to end.
class PkiCli : public ::testing::Test {
protected:
    static std::string tool() { return HEADEND_PKI_EXE; }
    TempDir dir_;
};

TEST_F(PkiCli, HelpSucceeds) {
    const auto help = run(tool() + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("device"), std::string::npos);
    EXPECT_EQ(run(tool() + " device --help").exit_code, 0);
}

TEST_F(PkiCli, CaDeviceServerIdentityAsJson) {
    const auto ca_dir = dir_.path() / "ca";
    const auto ca = run(tool() + " ca --out " + ca_dir.string() + " --name 'Lab CA' --json");
    ASSERT_EQ(ca.exit_code, 0) << ca.output;
    const auto ca_json = nlohmann::json::parse(ca.output);
    EXPECT_EQ(ca_json.at("name"), "Lab CA");
    EXPECT_EQ(ca_json.at("cert"), (ca_dir / "ca.pem").string());
    EXPECT_EQ(file_mode(ca_dir / "ca.key"), 0600u);

    const auto device =
        run(tool() + " --json device --ca " + ca_dir.string() + " --name ev-7 --out " + dir_.path().string());
    ASSERT_EQ(device.exit_code, 0) << device.output;
    const auto json = nlohmann::json::parse(device.output);
    EXPECT_EQ(json.at("name"), "ev-7");
    EXPECT_EQ(json.at("cert"), (dir_.path() / "ev-7.pem").string());
    EXPECT_EQ(json.at("key"), (dir_.path() / "ev-7.key").string());
    EXPECT_EQ(json.at("lfdi"), cli_lfdi(dir_.path() / "ev-7.pem"));
    EXPECT_TRUE(han::lfdi_matches_sfdi(json.at("lfdi").get<std::string>(), json.at("sfdi").get<std::uint64_t>()));
    EXPECT_TRUE(openssl_verifies(ca_dir / "ca.pem", dir_.path() / "ev-7.pem", "sslclient"));

    const auto server = run(tool() + " server --ca " + ca_dir.string() + " --name headend --out " +
                            dir_.path().string() + " --days 30 --json");
    ASSERT_EQ(server.exit_code, 0) << server.output;
    EXPECT_TRUE(openssl_verifies(ca_dir / "ca.pem", dir_.path() / "headend.pem", "sslserver"));

    const auto identity = run(tool() + " identity --cert " + (dir_.path() / "ev-7.pem").string() + " --json");
    ASSERT_EQ(identity.exit_code, 0);
    const auto identity_json = nlohmann::json::parse(identity.output);
    EXPECT_EQ(identity_json.at("lfdi"), json.at("lfdi"));
    EXPECT_EQ(identity_json.at("sfdi"), json.at("sfdi"));

    const auto text = run(tool() + " identity --cert " + (dir_.path() / "ev-7.pem").string());
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.output.find("LFDI: " + json.at("lfdi").get<std::string>()), std::string::npos);
    EXPECT_NE(text.output.find("SFDI: " + std::to_string(json.at("sfdi").get<std::uint64_t>())), std::string::npos);
}

TEST_F(PkiCli, ErrorsHaveExitCodes) {
    const auto no_ca = run(tool() + " device --ca " + (dir_.path() / "none").string() + " --name d --out " +
                           dir_.path().string() + " --json 2>/dev/null");
    EXPECT_EQ(no_ca.exit_code, 1);
    const auto error = nlohmann::json::parse(no_ca.output);
    EXPECT_EQ(error.at("error").at("code"), "pki.ca");

    const auto usage = run(tool() + " device --name d 2>/dev/null");
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_EQ(run(tool() + " 2>/dev/null").exit_code, 2);
    EXPECT_EQ(run(tool() + " ca --out " + dir_.path().string() + " --days 0 2>/dev/null").exit_code, 2);
    const auto bad_cert = run(tool() + " identity --cert " + (dir_.path() / "missing.pem").string() + " 2>&1");
    EXPECT_EQ(bad_cert.exit_code, 1);
    EXPECT_NE(bad_cert.output.find("cannot open"), std::string::npos);

    ASSERT_EQ(run(tool() + " ca --out " + dir_.path().string() + " >/dev/null").exit_code, 0);
    EXPECT_EQ(run(tool() + " ca --out " + dir_.path().string() + " 2>/dev/null").exit_code, 1);
    EXPECT_EQ(run(tool() + " ca --force --out " + dir_.path().string() + " >/dev/null").exit_code, 0);
}

}  // namespace
