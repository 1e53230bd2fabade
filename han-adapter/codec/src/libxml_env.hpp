// Process-wide libxml2 setup: initialised once, with an external entity loader that refuses everything except the
// schema files while Codec::load compiles them on its own thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace sep::detail {

// Thread-safe and idempotent.
void ensure_libxml_ready();

std::uint64_t refused_external_loads();

// While alive, the loader may open exactly these files, from this thread only.
class SchemaFileAllowance {
public:
    explicit SchemaFileAllowance(const std::vector<std::filesystem::path>& files);
    ~SchemaFileAllowance();
    SchemaFileAllowance(const SchemaFileAllowance&) = delete;
    SchemaFileAllowance& operator=(const SchemaFileAllowance&) = delete;

private:
    const std::vector<std::filesystem::path>* previous_;
};

}  // namespace sep::detail
