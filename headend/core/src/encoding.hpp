// Small decoders the core uses in several places: hex text and PEM certificates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace headend::core {

// An even number of hex digits, either case, as bytes; nullopt for anything else (empty included).
std::optional<std::vector<std::uint8_t>> decode_hex(std::string_view hex);

// The DER of the first certificate in PEM text; nullopt if there is none.
std::optional<std::vector<std::uint8_t>> pem_certificate_to_der(std::string_view pem);

}  // namespace headend::core
