#include "mail/address.hpp"

#include <algorithm>

namespace mail {

bool is_plain_address(std::string_view address) {
    const auto at = address.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < address.size() &&
           address.find('@', at + 1) == std::string_view::npos && address.size() <= 254 &&
           std::all_of(address.begin(), address.end(), [](char c) {
               return c > ' ' && c < 127 && c != '<' && c != '>' && c != ',' && c != '"' && c != '(' && c != ')' &&
                      c != ';' && c != '\\';
           });
}

}  // namespace mail
