// Fuzz target for the configuration parser: any text gives a config or an error naming a key, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "headend/core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto config = headend::core::parse_config(text, "fuzz.toml");
    if (!config && config.error().message.empty())
        __builtin_trap();
    return 0;
}
