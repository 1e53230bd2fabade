// RFC 4180 CSV as utilities export it: quoted fields with "" for a quote, CRLF or LF line ends, newlines inside
// quoted fields. Splitting only; each importer checks its own columns.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace csv {

struct Row {
    std::vector<std::string> fields;
    std::size_t line = 0;  // where the row starts in the file
};

struct RowError {
    std::size_t line = 0;
    std::string reason;
};

struct Split {
    std::vector<Row> rows;
    std::optional<RowError> error;  // a malformed quote ends the split; rows then holds what came before
};

Split split(std::string_view text);

}  // namespace csv
