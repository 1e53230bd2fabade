// ISO 4217: the numeric currency codes of the catalog and of 2030.5 (currency 840) as the letters people read.
#pragma once

#include <cstdint>
#include <string>

namespace money {

// "USD" for 840; a code not listed is shown as its number.
inline std::string currency_code(std::uint16_t numeric) {
    switch (numeric) {
        case 840:
            return "USD";
        case 124:
            return "CAD";
        case 978:
            return "EUR";
        case 826:
            return "GBP";
        case 36:
            return "AUD";
        default:
            return std::to_string(numeric);
    }
}

}  // namespace money
