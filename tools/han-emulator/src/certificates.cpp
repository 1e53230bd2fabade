#include "emulator/certificates.hpp"

#include "han/identity.hpp"

namespace emulator {

namespace fs = std::filesystem;
namespace pki = headend::pki;

headend::Result<pki::CertificateFiles> mint_pev_certificate(const fs::path& mfr_ca, const fs::path& dir,
                                                            const std::string& name, const std::string& vin,
                                                            bool untrusted) {
    const fs::path cert = dir / (name + ".pem");
    const fs::path key = dir / (name + ".key");
    if (!untrusted && fs::exists(cert) && fs::exists(key)) {
        auto identity = han::identity_from_pem_file(cert);
        if (!identity)
            return identity.error();
        return pki::CertificateFiles{name, cert, key, dir / (name + ".der"), *identity};
    }
    // A vehicle's certificate lasts as long as the vehicle (the pki default, 10 years), far beyond a re-bind
    // credential: it is what the PEV falls back to when that credential expires, across runs of the emulator.
    pki::IssueOptions options{.overwrite = true, .subject_serial = vin};
    auto ca = untrusted ? pki::make_ca(dir / "rogue", "Untrusted CA", options) : pki::load_ca(mfr_ca);
    if (!ca)
        return ca.error();
    return pki::make_leaf(*ca, dir, name, pki::LeafKind::device, options);
}

}  // namespace emulator
