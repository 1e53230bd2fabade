// Any bytes as a CDR: refused with a reason or read; what is read is written and read back the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "billing/ocpi.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto cdr = billing::ocpi::parse_cdr(text);
    if (!cdr)
        return 0;
    auto again = billing::ocpi::parse_cdr(billing::ocpi::format_cdr(*cdr));
    if (!again || !(*again == *cdr))
        std::abort();
    return 0;
}
