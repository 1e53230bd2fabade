// Fuzz target for what the admin API and the 2030.5 list queries take from outside: the device JSON body and the
// s/a/l query parameters. Any input gives a value or an error with a message, never a crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "headend/core/admin_api.hpp"
#include "headend/core/sep_resources.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto device = headend::core::new_device_from_json(text);
    if (!device && device.error().message.empty())
        __builtin_trap();
    // The same bytes as query values: split at the first two NULs into s, a and l.
    const auto first = text.find('\0');
    const auto second = first == std::string::npos ? std::string::npos : text.find('\0', first + 1);
    std::map<std::string, std::string> query{{"s", text.substr(0, first)}};
    if (first != std::string::npos)
        query["a"] = text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (second != std::string::npos)
        query["l"] = text.substr(second + 1);
    auto list = headend::core::parse_list_query(query, 255);
    if (list && list->limit > 255)
        __builtin_trap();
    return 0;
}
