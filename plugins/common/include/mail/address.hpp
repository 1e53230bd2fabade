// E-mail addresses as the head-end keeps and sends to them (CIS records, bill delivery): a bare addr-spec
// local@domain of printable ASCII, nothing a mail header could be split or widened by.
#pragma once

#include <string_view>

namespace mail {

// local@domain, at most 254 characters, one '@' with text on both sides, printable ASCII without spaces, quotes,
// brackets, commas or parentheses (no display names, no lists, no line breaks).
bool is_plain_address(std::string_view address);

}  // namespace mail
