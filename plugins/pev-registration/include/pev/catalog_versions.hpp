// The program catalog's versions (issue 11). pev-registration owns them: the programs file seeds version 1, and each
// new version (the operator's `headendctl tariff load`, or an edited programs file at start) is stored when it may
// follow the latest (tariff::check_successor: later, same time zone, no program left out). Stored versions never
// change; other plugins read them through the view pev_tariff_versions_v1 (version, effective_from, catalog TOML).
//
// Routes: GET /api/v1/tariffs, GET /api/v1/tariffs/{version}, POST /api/v1/tariffs (body: the TOML;
// ?origin=NAME says where it came from).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "headend/plugin/plugin.hpp"
#include "tariff/versions.hpp"

namespace pev {

std::vector<headend::storage::Migration> catalog_version_migrations();

// The versions in memory, shared by the HAN thread (/tp) and the admin routes; loads go through `load_version`.
class CatalogVersions {
public:
    explicit CatalogVersions(tariff::Versions versions) : versions_(std::move(versions)) {}

    // The versions as they are now; what it returns stays valid however many are loaded after.
    tariff::Versions snapshot() const {
        const std::lock_guard lock(mutex_);
        return versions_;
    }
    void replace(tariff::Versions versions) {
        const std::lock_guard lock(mutex_);
        versions_ = std::move(versions);
    }

private:
    mutable std::mutex mutex_;
    tariff::Versions versions_;
};

struct LoadedVersion {
    int version = 0;
    bool added = false;  // false: the same text is already stored as `version`
};

// Stores versions and keeps a CatalogVersions up to date. One load at a time.
class CatalogLoader {
public:
    CatalogLoader(headend::storage::Database& database, CatalogVersions& versions, std::string territory_time_zone)
        : database_(database), versions_(versions), territory_time_zone_(std::move(territory_time_zone)) {}

    // Reads the stored versions; then `programs_file` is stored as version 1 in an empty store, or as the next
    // version when its text matches no stored one. Errors stop the start: "tariff.catalog" (the file),
    // "tariff.version" (not a valid next version), storage errors.
    static headend::Result<tariff::Versions> open(headend::storage::Database& database,
                                                  const std::filesystem::path& programs_file,
                                                  const std::string& territory_time_zone, std::int64_t now);

    // Parses and checks `text` and stores it as the next version. Errors: "tariff.catalog" (a problem in the text,
    // named by its place), "tariff.version" (may not follow the latest), storage errors.
    headend::Result<LoadedVersion> load_version(std::string_view text, const std::string& origin, std::int64_t now);

private:
    headend::storage::Database& database_;
    CatalogVersions& versions_;
    std::string territory_time_zone_;
    std::mutex load_mutex_;
};

void add_tariff_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database,
                       CatalogLoader& loader, const CatalogVersions& versions, const headend::plugin::Clock& clock);

}  // namespace pev
