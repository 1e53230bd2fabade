// Vehicle identification numbers as North America issues them (49 CFR 565): 17 characters, no I, O or Q, and a
// check digit in position 9.
#pragma once

#include <string>
#include <string_view>

#include "headend/plugin/result.hpp"

namespace pev {

// The VIN in upper case, or "vin.invalid" with the reason (length, letter, or check digit expected vs found).
headend::Result<std::string> validate_vin(std::string_view text);

// The check digit ('0'..'9' or 'X') the first 17 characters call for; '?' if a character is not allowed.
char vin_check_digit(std::string_view vin);

}  // namespace pev
