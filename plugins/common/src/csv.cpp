#include "csv/csv.hpp"

namespace csv {

Split split(std::string_view text) {
    Split result;
    std::size_t line = 1;
    std::size_t i = 0;
    while (i < text.size()) {
        Row row{{}, line};
        std::string field;
        bool row_done = false;
        while (!row_done) {
            field.clear();
            if (i < text.size() && text[i] == '"') {
                ++i;
                bool closed = false;
                while (i < text.size()) {
                    if (text[i] == '"') {
                        if (i + 1 < text.size() && text[i + 1] == '"') {
                            field += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        closed = true;
                        break;
                    }
                    if (text[i] == '\n')
                        ++line;
                    field += text[i++];
                }
                if (!closed) {
                    result.error = RowError{row.line, "a quoted field is never closed"};
                    return result;
                }
                if (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
                    result.error = RowError{line, "text after a closing quote"};
                    return result;
                }
            } else {
                while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
                    if (text[i] == '"') {
                        result.error = RowError{line, "a quote inside an unquoted field"};
                        return result;
                    }
                    field += text[i++];
                }
            }
            row.fields.push_back(field);
            if (i < text.size() && text[i] == ',') {
                ++i;
                continue;
            }
            if (i < text.size() && text[i] == '\r')
                ++i;
            if (i < text.size() && text[i] == '\n')
                ++i;
            ++line;
            row_done = true;
        }
        result.rows.push_back(std::move(row));
    }
    return result;
}

}  // namespace csv
