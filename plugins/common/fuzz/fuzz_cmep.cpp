// Fuzz target: CMEP MEPMD01 records never crash the parser, and every accepted one holds whole non-negative Wh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cmep/cmep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto record = cmep::parse_record(std::string_view(reinterpret_cast<const char*>(data), size));
    if (record) {
        for (const auto& value : record->values) {
            if (value.wh < 0)
                std::abort();
        }
    }
    return 0;
}
