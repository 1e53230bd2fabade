#include "libxml_env.hpp"

#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlmemory.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <system_error>

namespace sep::detail {
namespace {

std::atomic<std::uint64_t> g_refused_loads{0};
xmlExternalEntityLoader g_default_loader = nullptr;
thread_local const std::vector<std::filesystem::path>* t_allowed_files = nullptr;

bool allowed_path(std::string_view location) {
    if (location.starts_with("file://"))
        location.remove_prefix(7);
    std::error_code ec;
    const auto path = std::filesystem::weakly_canonical(std::filesystem::path(location), ec);
    return !ec && std::find(t_allowed_files->begin(), t_allowed_files->end(), path) != t_allowed_files->end();
}

bool allowed(const char* url) {
    if (t_allowed_files == nullptr || url == nullptr)
        return false;
    if (allowed_path(url))
        return true;
    // Schema imports arrive as URIs, which may be percent-escaped.
    char* unescaped = xmlURIUnescapeString(url, 0, nullptr);
    if (unescaped == nullptr)
        return false;
    const bool ok = allowed_path(unescaped);
    xmlFree(unescaped);
    return ok;
}

// A C callback: must not throw.
xmlParserInputPtr refusing_loader(const char* url, const char* id, xmlParserCtxtPtr ctxt) noexcept {
    try {
        if (allowed(url))
            return g_default_loader(url, id, ctxt);
    } catch (...) {  // allocation failure while checking: refuse
    }
    g_refused_loads.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

}  // namespace

void ensure_libxml_ready() {
    static std::once_flag once;
    std::call_once(once, [] {
        xmlInitParser();
        g_default_loader = xmlGetExternalEntityLoader();
        xmlSetExternalEntityLoader(refusing_loader);
    });
}

std::uint64_t refused_external_loads() {
    return g_refused_loads.load(std::memory_order_relaxed);
}

SchemaFileAllowance::SchemaFileAllowance(const std::vector<std::filesystem::path>& files) : previous_(t_allowed_files) {
    t_allowed_files = &files;
}

SchemaFileAllowance::~SchemaFileAllowance() {
    t_allowed_files = previous_;
}

}  // namespace sep::detail
