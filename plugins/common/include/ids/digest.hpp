// A stable 64-bit digest of a text (FNV-1a), for identifiers that must come out the same for the same thing on every
// start: the mRIDs of resources made from catalog programs or accounts.
#pragma once

#include <cstdint>
#include <string_view>

namespace ids {

inline std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

}  // namespace ids
