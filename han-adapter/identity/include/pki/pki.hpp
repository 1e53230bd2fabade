// Certificate issuance: an ECDSA P-256 CA and the device/server certificates it issues, written as PEM + DER files.
// Used by the daemon for its own certificate on first start, by headend-pki, and by tests and the emulators.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "han/identity.hpp"
#include "headend/plugin/result.hpp"

namespace headend::pki {

// The files of one certificate: <stem>.pem (certificate), <stem>.key (PKCS#8 PEM, mode 0600), <stem>.der.
struct CertificateFiles {
    std::string common_name;
    std::filesystem::path cert;
    std::filesystem::path key;
    std::filesystem::path der;
    han::DeviceIdentity identity;  // LFDI/SFDI of the DER certificate
};

enum class LeafKind {
    device,  // a HAN device (client) certificate
    server,  // the head-end's own certificate; also carries subjectAltName DNS:<common name>
};

struct IssueOptions {
    int days = 3650;         // validity from now (notBefore is back-dated an hour for clock skew)
    bool overwrite = false;  // refuse to replace existing files unless set
    // The subject's serialNumber attribute (X.520 2.5.4.5): a PEV certificate names its VIN there.
    std::string subject_serial;
};

inline constexpr std::string_view kDefaultCaName = "PEV Head-end Test CA";

// Creates a self-signed CA in dir (created if missing) as ca.pem, ca.key and ca.der.
Result<CertificateFiles> make_ca(const std::filesystem::path& dir, std::string_view common_name = kDefaultCaName,
                                 const IssueOptions& options = {});

// Issues a certificate signed by ca into dir as <common_name>.pem/.key/.der. The common name doubles as the file
// stem, so it is limited to letters, digits, '.', '_' and '-' and may not start with '.'.
Result<CertificateFiles> make_leaf(const CertificateFiles& ca, const std::filesystem::path& dir,
                                   std::string_view common_name, LeafKind kind = LeafKind::device,
                                   const IssueOptions& options = {});

// Loads a CA made by make_ca from dir (ca.pem + ca.key), checking that the key matches and the certificate is a CA.
Result<CertificateFiles> load_ca(const std::filesystem::path& dir);

}  // namespace headend::pki
