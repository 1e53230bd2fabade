#include "pki/pki.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

namespace headend::pki {
namespace {

template <auto Fn>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Fn(p);
    }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr int kMaxDays = 365 * 100;
constexpr std::size_t kMaxCommonName = 64;  // ub-common-name in RFC 5280
constexpr std::size_t kSerialBytes = 16;

// The message of the most recent OpenSSL error (and clears the queue so later errors are not misattributed).
std::string openssl_reason() {
    std::string reason;
    while (const unsigned long code = ERR_get_error()) {
        std::array<char, 256> text{};
        ERR_error_string_n(code, text.data(), text.size());
        reason = text.data();
    }
    return reason.empty() ? std::string("unknown OpenSSL error") : reason;
}

Error crypto_error(std::string what) {
    return make_error("pki.crypto", what + ": " + openssl_reason());
}

Result<std::string> bio_contents(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len < 0) {
        return crypto_error("reading memory BIO");
    }
    return std::string(data, static_cast<std::size_t>(len));
}

// Writes through a temporary file and rename so readers never see a half-written key or certificate.
Result<void> write_file(const std::filesystem::path& path, std::string_view bytes, mode_t mode) {
    const std::string temp = path.string() + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        return make_error("pki.io", "cannot create " + temp + ": " + std::strerror(errno));
    }
    // The umask may have narrowed the mode, and an old temporary file keeps its own: set it explicitly.
    bool ok = ::fchmod(fd, mode) == 0;
    std::size_t written = 0;
    while (ok && written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        written += ok ? static_cast<std::size_t>(n) : 0;
    }
    const int saved_errno = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(ok ? errno : saved_errno);
        ::unlink(temp.c_str());
        return make_error("pki.io", "cannot write " + path.string() + ": " + reason);
    }
    return {};
}

Result<void> prepare_dir(const std::filesystem::path& dir, std::span<const std::filesystem::path> outputs,
                         bool overwrite) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return make_error("pki.io", "cannot create directory " + dir.string() + ": " + ec.message());
    }
    if (!overwrite) {
        for (const auto& path : outputs) {
            if (std::filesystem::exists(path, ec)) {
                return make_error("pki.exists", path.string() + " already exists (use overwrite to replace it)");
            }
        }
    }
    return {};
}

bool valid_file_stem(std::string_view name) {
    if (name.empty() || name.size() > kMaxCommonName || name.front() == '.') {
        return false;
    }
    for (char c : name) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                             c == '_' || c == '-';
        if (!allowed) {
            return false;
        }
    }
    return true;
}

Result<void> check_request(std::string_view common_name, const IssueOptions& options) {
    if (common_name.empty() || common_name.size() > kMaxCommonName) {
        return make_error("pki.name", "common name must be 1 to 64 characters");
    }
    if (options.days < 1 || options.days > kMaxDays) {
        return make_error("pki.days", "validity must be 1 to " + std::to_string(kMaxDays) + " days");
    }
    return {};
}

Result<PkeyPtr> generate_p256_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        return crypto_error("generating a P-256 key");
    }
    return key;
}

// A random positive 128-bit serial: RFC 5280 wants at most 20 octets and no sign bit; 127 random bits is ample.
Result<void> set_random_serial(X509* cert) {
    std::array<unsigned char, kSerialBytes> bytes{};
    do {
        if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
            return crypto_error("generating a serial number");
        }
        bytes[0] &= 0x7f;
    } while (std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; }));
    BignumPtr serial(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
        return crypto_error("setting the serial number");
    }
    return {};
}

Result<void> add_extension(X509V3_CTX* ctx, X509* cert, int nid, const std::string& value) {
    ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return crypto_error(std::string("adding extension ") + OBJ_nid2sn(nid));
    }
    return {};
}

struct Issuer {
    X509* cert = nullptr;  // null for a self-signed certificate
    EVP_PKEY* key = nullptr;
};

enum class Profile { ca, device, server };

Result<X509Ptr> build_certificate(std::string_view common_name, EVP_PKEY* subject_key, const Issuer& issuer,
                                  Profile profile, const IssueOptions& options) {
    const int days = options.days;
    X509Ptr cert(X509_new());
    NamePtr name(X509_NAME_new());
    if (!cert || !name) {
        return crypto_error("allocating a certificate");
    }
    const std::string cn(common_name);
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                   -1, -1, 0) != 1 ||
        (!options.subject_serial.empty() &&
         X509_NAME_add_entry_by_NID(name.get(), NID_serialNumber, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(options.subject_serial.c_str()), -1, -1,
                                    0) != 1) ||
        X509_set_subject_name(cert.get(), name.get()) != 1 ||
        X509_set_issuer_name(cert.get(), issuer.cert ? X509_get_subject_name(issuer.cert) : name.get()) != 1 ||
        X509_set_pubkey(cert.get(), subject_key) != 1) {
        return crypto_error("filling in the certificate");
    }
    if (auto serial = set_random_serial(cert.get()); !serial) {
        return serial.error();
    }
    constexpr long kSkewSeconds = 3600;
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kSkewSeconds) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
        return crypto_error("setting the validity period");
    }

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer.cert ? issuer.cert : cert.get(), cert.get(), nullptr, nullptr, 0);
    std::vector<std::pair<int, std::string>> extensions;
    if (profile == Profile::ca) {
        extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                      {NID_key_usage, "critical,digitalSignature,keyCertSign"}};
    } else {
        extensions = {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_key_usage, "critical,digitalSignature"}};
    }
    // The subject key identifier must exist before the authority key identifier of a self-signed CA can refer to it.
    extensions.emplace_back(NID_subject_key_identifier, "hash");
    extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
    if (profile == Profile::server) {
        // Local clients (an MDM pulling exports, a browser) check the name they connected to.
        extensions.emplace_back(NID_subject_alt_name, "DNS:" + cn + ",DNS:localhost,IP:127.0.0.1,IP:::1");
    }
    for (const auto& [nid, value] : extensions) {
        if (auto added = add_extension(&ctx, cert.get(), nid, value); !added) {
            return added.error();
        }
    }
    if (X509_sign(cert.get(), issuer.key ? issuer.key : subject_key, EVP_sha256()) <= 0) {
        return crypto_error("signing the certificate");
    }
    return cert;
}

Result<std::string> der_of(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len <= 0) {
        return crypto_error("DER-encoding the certificate");
    }
    std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return bytes;
}

Result<han::DeviceIdentity> identity_of(std::string_view der) {
    return han::identity_from_der(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(der.data()), der.size()));
}

// Writes key, PEM and DER for cert and returns the file set.
Result<CertificateFiles> write_outputs(const std::filesystem::path& dir, const std::string& stem,
                                       std::string_view common_name, X509* cert, EVP_PKEY* key,
                                       const IssueOptions& options) {
    CertificateFiles files{
        std::string(common_name), dir / (stem + ".pem"), dir / (stem + ".key"), dir / (stem + ".der"), {}};
    const std::array<std::filesystem::path, 3> outputs = {files.cert, files.key, files.der};
    if (auto prepared = prepare_dir(dir, outputs, options.overwrite); !prepared) {
        return prepared.error();
    }
    BioPtr key_bio(BIO_new(BIO_s_mem()));
    BioPtr cert_bio(BIO_new(BIO_s_mem()));
    if (!key_bio || !cert_bio ||
        PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509(cert_bio.get(), cert) != 1) {
        return crypto_error("PEM-encoding");
    }
    auto key_pem = bio_contents(key_bio.get());
    auto cert_pem = bio_contents(cert_bio.get());
    auto der = der_of(cert);
    if (!key_pem || !cert_pem || !der) {
        return !key_pem ? key_pem.error() : !cert_pem ? cert_pem.error() : der.error();
    }
    auto identity = identity_of(*der);
    if (!identity) {
        return identity.error();
    }
    files.identity = *identity;
    // Key first: a certificate on disk without its key would look usable but is not.
    if (auto written = write_file(files.key, *key_pem, 0600); !written) {
        return written.error();
    }
    if (auto written = write_file(files.cert, *cert_pem, 0644); !written) {
        return written.error();
    }
    if (auto written = write_file(files.der, *der, 0644); !written) {
        return written.error();
    }
    return files;
}

Result<X509Ptr> read_certificate(const std::filesystem::path& path) {
    BioPtr bio(BIO_new_file(path.c_str(), "rb"));
    if (!bio) {
        ERR_clear_error();
        return make_error("pki.ca", "cannot open " + path.string());
    }
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return make_error("pki.ca", "no PEM certificate in " + path.string() + ": " + openssl_reason());
    }
    return cert;
}

Result<PkeyPtr> read_key(const std::filesystem::path& path) {
    BioPtr bio(BIO_new_file(path.c_str(), "rb"));
    if (!bio) {
        ERR_clear_error();
        return make_error("pki.ca", "cannot open " + path.string());
    }
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        return make_error("pki.ca", "no unencrypted PEM private key in " + path.string() + ": " + openssl_reason());
    }
    return key;
}

}  // namespace

Result<CertificateFiles> make_ca(const std::filesystem::path& dir, std::string_view common_name,
                                 const IssueOptions& options) {
    if (auto checked = check_request(common_name, options); !checked) {
        return checked.error();
    }
    auto key = generate_p256_key();
    if (!key) {
        return key.error();
    }
    auto cert = build_certificate(common_name, key->get(), Issuer{}, Profile::ca, options);
    if (!cert) {
        return cert.error();
    }
    return write_outputs(dir, "ca", common_name, cert->get(), key->get(), options);
}

Result<CertificateFiles> make_leaf(const CertificateFiles& ca, const std::filesystem::path& dir,
                                   std::string_view common_name, LeafKind kind, const IssueOptions& options) {
    if (auto checked = check_request(common_name, options); !checked) {
        return checked.error();
    }
    if (!valid_file_stem(common_name)) {
        return make_error("pki.name", "common name '" + std::string(common_name) +
                                          "' is also the file name: use letters, digits, '.', '_', '-' only");
    }
    auto ca_cert = read_certificate(ca.cert);
    if (!ca_cert) {
        return ca_cert.error();
    }
    auto ca_key = read_key(ca.key);
    if (!ca_key) {
        return ca_key.error();
    }
    auto key = generate_p256_key();
    if (!key) {
        return key.error();
    }
    const Profile profile = kind == LeafKind::server ? Profile::server : Profile::device;
    auto cert = build_certificate(common_name, key->get(), Issuer{ca_cert->get(), ca_key->get()}, profile, options);
    if (!cert) {
        return cert.error();
    }
    return write_outputs(dir, std::string(common_name), common_name, cert->get(), key->get(), options);
}

Result<CertificateFiles> load_ca(const std::filesystem::path& dir) {
    CertificateFiles files{{}, dir / "ca.pem", dir / "ca.key", dir / "ca.der", {}};
    auto cert = read_certificate(files.cert);
    if (!cert) {
        return cert.error();
    }
    auto key = read_key(files.key);
    if (!key) {
        return key.error();
    }
    if (X509_check_private_key(cert->get(), key->get()) != 1) {
        ERR_clear_error();
        return make_error("pki.ca", files.key.string() + " does not belong to " + files.cert.string());
    }
    if (X509_check_ca(cert->get()) == 0) {
        return make_error("pki.ca", files.cert.string() + " is not a CA certificate");
    }
    std::array<char, kMaxCommonName + 1> cn{};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert->get()), NID_commonName, cn.data(),
                                  static_cast<int>(cn.size())) > 0) {
        files.common_name = cn.data();
    }
    auto der = der_of(cert->get());
    if (!der) {
        return der.error();
    }
    auto identity = identity_of(*der);
    if (!identity) {
        return identity.error();
    }
    files.identity = *identity;
    return files;
}

}  // namespace headend::pki
