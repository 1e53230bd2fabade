#include "database_file.hpp"

#include <sqlite3.h>

#include <memory>

namespace headend::testing {

Result<std::vector<std::string>> query_rows(const std::filesystem::path& database, const std::string& sql) {
    sqlite3* opened = nullptr;
    const int status = sqlite3_open_v2(database.c_str(), &opened, SQLITE_OPEN_READONLY, nullptr);
    const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(opened, &sqlite3_close);
    if (status != SQLITE_OK)
        return make_error("test.database", database.string() + ": " + sqlite3_errstr(status));
    sqlite3_stmt* prepared = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &prepared, nullptr) != SQLITE_OK)
        return make_error("test.database", sql + ": " + sqlite3_errmsg(db.get()));
    const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(prepared, &sqlite3_finalize);
    std::vector<std::string> rows;
    int stepped = SQLITE_ROW;
    while ((stepped = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
            const auto* text = sqlite3_column_text(stmt.get(), i);
            row += (text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
            row += "|";
        }
        rows.push_back(std::move(row));
    }
    if (stepped != SQLITE_DONE)
        return make_error("test.database", sql + ": " + sqlite3_errmsg(db.get()));
    return rows;
}

}  // namespace headend::testing
