// The clearinghouse registry parser on arbitrary bytes: a registry or an error, and every entry well formed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "binding/roaming.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto registry = binding::parse_roaming_registry(text, "fuzz.csv");
    if (registry) {
        for (const auto& [vin, entry] : *registry) {
            if (vin.size() != 17 || entry.lfdi.size() != 40 || entry.home_utility.empty())
                __builtin_trap();
        }
    }
    return 0;
}
