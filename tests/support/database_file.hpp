// The daemon's database file read as it is on disk, through a read-only connection of its own: what tests check
// stored state by, beside what the daemon answers.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "headend/plugin/result.hpp"

namespace headend::testing {

// Every row `sql` selects, its columns as text ("NULL" for null) each followed by '|'.
Result<std::vector<std::string>> query_rows(const std::filesystem::path& database, const std::string& sql);

}  // namespace headend::testing
