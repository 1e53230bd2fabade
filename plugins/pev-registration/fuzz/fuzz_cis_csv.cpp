// Fuzz target for the CIS customer CSV parser: any bytes give records or line-numbered errors, never both.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pev/cis_import.hpp"
#include "pev/vin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = pev::parse_cis_csv(text);
    if (!parsed.errors.empty() && !parsed.records.empty())
        __builtin_trap();
    for (const auto& error : parsed.errors) {
        if (error.line == 0 || error.reason.empty())
            __builtin_trap();
    }
    (void)pev::validate_vin(text.substr(0, 17));
    return 0;
}
