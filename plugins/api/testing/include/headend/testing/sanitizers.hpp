// Whether this build runs under AddressSanitizer: ASan holds freed memory in quarantine on purpose, so peak-memory
// checks say nothing about what the code under test keeps and run only without it.
#pragma once

namespace headend::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
inline constexpr bool kAddressSanitizer = __has_feature(address_sanitizer);
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace headend::testing
