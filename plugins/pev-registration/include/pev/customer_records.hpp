// The customer records imported from the CIS: accounts, customers and premises (with the premises' default rate),
// kept in the plugin's own tables. Imports are all-or-nothing and idempotent: the same file again changes nothing,
// changed rows update.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "headend/plugin/plugin.hpp"
#include "pev/catalog_versions.hpp"
#include "pev/cis_import.hpp"

namespace pev {

struct ImportSummary {
    std::size_t added = 0;
    std::size_t updated = 0;
    std::size_t unchanged = 0;
};

std::vector<headend::storage::Migration> customer_record_migrations();

// Stores parsed, valid records in one transaction.
headend::Result<ImportSummary> store_records(headend::storage::Database& database,
                                             const std::vector<CisRecord>& records, std::int64_t now);

// Registers POST /api/v1/customers/import (body: the CSV; every default_rate must be a program of the catalog) and
// GET /api/v1/premises[?enrolled=true|false] (each with its count of enrolled PEVs). The enrollment tables must exist.
void add_customer_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database,
                         const headend::plugin::Clock& clock, const CatalogVersions& catalog);

}  // namespace pev
