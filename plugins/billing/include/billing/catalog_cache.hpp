// The catalog versions pev-registration stores (view pev_tariff_versions_v1), each parsed once: stored versions never
// change, so a version's parse is kept for as long as the plugin runs.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "headend/plugin/storage.hpp"
#include "tariff/versions.hpp"

namespace billing {

class CatalogCache {
public:
    // The versions stored as `tx` sees them. Errors: "billing.tariff" (none stored), "tariff.catalog", storage errors.
    headend::Result<tariff::Versions> versions(headend::storage::Transaction& tx);

private:
    std::mutex mutex_;
    std::map<std::int64_t, std::shared_ptr<const tariff::Version>> parsed_;
};

}  // namespace billing
