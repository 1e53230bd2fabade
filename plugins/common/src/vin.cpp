#include "pev/vin.hpp"

#include <array>
#include <cctype>

namespace pev {

namespace {

constexpr std::array<int, 17> kWeights = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};

// Transliteration of 49 CFR 565.15; -1 for characters a VIN may not contain (I, O, Q and anything else).
int value_of(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    switch (c) {
        case 'A':
        case 'J':
            return 1;
        case 'B':
        case 'K':
        case 'S':
            return 2;
        case 'C':
        case 'L':
        case 'T':
            return 3;
        case 'D':
        case 'M':
        case 'U':
            return 4;
        case 'E':
        case 'N':
        case 'V':
            return 5;
        case 'F':
        case 'W':
            return 6;
        case 'G':
        case 'P':
        case 'X':
            return 7;
        case 'H':
        case 'Y':
            return 8;
        case 'R':
        case 'Z':
            return 9;
        default:
            return -1;
    }
}

}  // namespace

char vin_check_digit(std::string_view vin) {
    if (vin.size() != kWeights.size())
        return '?';
    int sum = 0;
    for (std::size_t i = 0; i < vin.size(); ++i) {
        const int value = value_of(vin[i]);
        if (value < 0)
            return '?';
        sum += value * kWeights[i];
    }
    const int remainder = sum % 11;
    return remainder == 10 ? 'X' : static_cast<char>('0' + remainder);
}

headend::Result<std::string> validate_vin(std::string_view text) {
    auto invalid = [](const std::string& reason) { return headend::make_error("vin.invalid", reason); };
    if (text.size() != kWeights.size())
        return invalid("a VIN has 17 characters, this one " + std::to_string(text.size()));
    std::string vin;
    for (const char c : text) {
        const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (upper == 'I' || upper == 'O' || upper == 'Q')
            return invalid(std::string("a VIN never contains the letter ") + upper);
        if (value_of(upper) < 0)
            return invalid("a VIN has only letters and digits; found '" + std::string(1, c) + "'");
        vin += upper;
    }
    const char expected = vin_check_digit(vin);
    if (vin[8] != expected) {
        return invalid("check digit (9th character) is " + std::string(1, vin[8]) + ", the VIN calls for " +
                       std::string(1, expected));
    }
    return vin;
}

}  // namespace pev
