#include "billing/catalog_cache.hpp"

namespace billing {

headend::Result<tariff::Versions> CatalogCache::versions(headend::storage::Transaction& tx) {
    auto rows = tx.query("SELECT version, catalog FROM pev_tariff_versions_v1 ORDER BY version");
    if (!rows)
        return rows.error();
    const std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<const tariff::Version>> versions;
    for (const auto& row : *rows) {
        auto& parsed = parsed_[row.integer(0)];
        if (!parsed) {
            auto catalog = tariff::parse_catalog(row.text(1), "tariff version " + std::to_string(row.integer(0)));
            if (!catalog)
                return catalog.error();
            parsed = std::make_shared<const tariff::Version>(static_cast<int>(row.integer(0)), std::move(*catalog));
        }
        versions.push_back(parsed);
    }
    if (versions.empty())
        return headend::make_error("billing.tariff",
                                   "no tariff catalog version is stored (pev-registration loads one)");
    return tariff::Versions(std::move(versions));
}

}  // namespace billing
