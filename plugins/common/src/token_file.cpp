#include "secrets/token_file.hpp"

#include <fstream>

namespace secrets {

std::optional<std::string> read_token_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in)
        return std::nullopt;
    std::string token;
    std::getline(in, token);
    const auto last = token.find_last_not_of(" \t\r");
    token.erase(last == std::string::npos ? 0 : last + 1);
    token.erase(0, token.find_first_not_of(" \t"));
    return token;
}

}  // namespace secrets
