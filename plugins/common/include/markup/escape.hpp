// Text for XML and HTML (ESPI feeds, bills): markup characters as entities; tab and line ends as references, so that
// neither newline nor attribute-value normalization changes them; other C0 controls, which XML 1.0 cannot carry at
// all, as U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace markup {

void append_escaped(std::string& out, std::string_view text);

inline std::string escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
    return out;
}

}  // namespace markup
