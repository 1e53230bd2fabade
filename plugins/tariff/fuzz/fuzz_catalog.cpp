// The program catalog parser on arbitrary bytes: it must return a catalog or an error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tariff/calendar.hpp"
#include "tariff/catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto catalog = tariff::parse_catalog(text, "fuzz.toml");
    if (catalog) {
        // A catalog that parsed must rate any instant without tripping its coverage assertion.
        const tariff::Calendar calendar(*catalog);
        for (const auto& program : catalog->programs)
            (void)calendar.spans(program, 1'780'000'000, 1'780'000'000 + 86'400);
    }
    return 0;
}
