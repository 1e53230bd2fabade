// PEV certificates as a vehicle maker issues them, for the emulated PEVs: minted from a manufacturer CA folder
// (headend-pki ca) naming the vehicle's VIN, or from a CA nobody trusts for the bad-certificate fault.
#pragma once

#include <filesystem>
#include <string>

#include "pki/pki.hpp"

namespace emulator {

// A certificate naming `vin`, kept in `dir` as NAME.pem and NAME.key, from the manufacturer CA in `mfr_ca` or
// (`untrusted`) from a CA made for the purpose in `dir`/rogue. A PEV keeps its certificate: a trusted one minted
// before in `dir` is used again, so the same VIN is the same PEV across runs.
headend::Result<headend::pki::CertificateFiles> mint_pev_certificate(const std::filesystem::path& mfr_ca,
                                                                     const std::filesystem::path& dir,
                                                                     const std::string& name, const std::string& vin,
                                                                     bool untrusted = false);

}  // namespace emulator
