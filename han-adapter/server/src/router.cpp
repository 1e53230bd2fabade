#include "han/router.hpp"

namespace han {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (start < path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        if (end > start)
            segments.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return segments;
}

}  // namespace han
