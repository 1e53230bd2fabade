// A token kept in a file (an MDM's bearer token, a clearinghouse's OCPI token): its first line, without the blanks
// or CR an editor or another system may leave at either end.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace secrets {

// Nothing when the file cannot be read; an empty string when it holds no token.
std::optional<std::string> read_token_file(const std::filesystem::path& file);

}  // namespace secrets
