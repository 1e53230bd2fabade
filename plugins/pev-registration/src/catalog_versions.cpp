#include "pev/catalog_versions.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "admin/json_reply.hpp"

namespace pev {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;
using nlohmann::json;

struct StoredVersion {
    int version = 0;
    std::string text;
    std::string origin;
    std::int64_t loaded_at = 0;
};

Result<std::vector<StoredVersion>> stored_versions(headend::storage::Database& database) {
    std::vector<StoredVersion> stored;
    auto read = database.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT version, catalog, origin, loaded_at FROM tariff_versions ORDER BY version");
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            stored.push_back({static_cast<int>(row.integer(0)), row.text(1), row.text(2), row.integer(3)});
        return {};
    });
    if (!read)
        return read.error();
    return stored;
}

Result<tariff::Catalog> parse_version(std::string_view text, const std::string& origin,
                                      const std::string& territory_time_zone) {
    auto catalog = tariff::parse_catalog(text, origin);
    if (!catalog)
        return catalog.error();
    // Time-of-use periods are the territory's: a catalog written for another zone would bill every period at the
    // wrong hours.
    if (catalog->time_zone != territory_time_zone)
        return make_error("tariff.catalog", origin + ": time_zone '" + catalog->time_zone +
                                                "' is not the territory's ('" + territory_time_zone +
                                                "', territory.time_zone)");
    return catalog;
}

// Stores `catalog` (parsed from `text`) as the version after `current`, in one transaction.
Result<int> store_next(headend::storage::Database& database, const tariff::Versions& current,
                       const tariff::Catalog& catalog, std::string_view text, const std::string& origin,
                       std::int64_t now) {
    if (!current.empty()) {
        if (auto follows = tariff::check_successor(current.latest().catalog(), catalog); !follows)
            return follows.error();
    }
    const int number = current.empty() ? 1 : current.latest().number() + 1;
    auto stored = database.write_sync([&](Transaction& tx) -> Result<void> {
        auto inserted = tx.execute(
            "INSERT INTO tariff_versions(version, effective_from, catalog, origin, loaded_at) VALUES (?, ?, ?, ?, ?)",
            std::vector<Value>{std::int64_t{number}, catalog.effective_from, std::string(text), origin, now});
        if (!inserted)
            return inserted.error();
        return {};
    });
    if (!stored)
        return stored.error();
    return number;
}

std::string days_name(tariff::DaySet days) {
    switch (days) {
        case tariff::DaySet::Weekdays:
            return "weekdays";
        case tariff::DaySet::WeekendsAndHolidays:
            return "weekends-holidays";
        case tariff::DaySet::All:
            break;
    }
    return "all";
}

std::string time_of_day(int minutes) {
    return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}

json program_json(const tariff::Program& program) {
    json seasons = json::array();
    for (const auto& season : program.seasons) {
        json periods = json::array();
        for (const auto& period : season.periods)
            periods.push_back({{"name", period.name},
                               {"days", days_name(period.days)},
                               {"from", time_of_day(period.from_minute)},
                               {"to", time_of_day(period.to_minute)},
                               {"price", tariff::format_price(period.price)},
                               {"tier", period.tier}});
        seasons.push_back({{"name", season.name},
                           {"from", fmt::format("{:02}-{:02}", season.from_month, season.from_day)},
                           {"to", fmt::format("{:02}-{:02}", season.to_month, season.to_day)},
                           {"periods", periods}});
    }
    return {{"id", program.id},
            {"description", program.description},
            {"enrollable", program.enrollable},
            {"currency", program.currency},
            {"fixed_charge_per_day", tariff::format_price(program.fixed_charge_per_day)},
            {"seasons", seasons}};
}

json summary_json(const tariff::Version& version, const StoredVersion& stored, const tariff::Version* in_force) {
    json programs = json::array();
    for (const auto& program : version.catalog().programs)
        programs.push_back(program.id);
    return {{"version", version.number()},      {"effective_from", version.effective_from()},
            {"loaded_at", stored.loaded_at},    {"origin", stored.origin},
            {"in_force", in_force == &version}, {"programs", programs}};
}

}  // namespace

std::vector<headend::storage::Migration> catalog_version_migrations() {
    return {{5, "versions of the program catalog, each in force from its effective instant",
             R"(CREATE TABLE tariff_versions(
                  version INTEGER PRIMARY KEY,
                  effective_from INTEGER NOT NULL UNIQUE,
                  catalog TEXT NOT NULL,
                  origin TEXT NOT NULL,
                  loaded_at INTEGER NOT NULL);
                CREATE VIEW pev_tariff_versions_v1 AS
                  SELECT version, effective_from, catalog, loaded_at FROM tariff_versions;)"}};
}

Result<tariff::Versions> CatalogLoader::open(headend::storage::Database& database,
                                             const std::filesystem::path& programs_file,
                                             const std::string& territory_time_zone, std::int64_t now) {
    auto read = stored_versions(database);
    if (!read)
        return read.error();
    const std::vector<StoredVersion>& stored = *read;
    std::vector<std::shared_ptr<const tariff::Version>> versions;
    for (const auto& version : stored) {
        auto catalog = parse_version(version.text, "stored tariff version " + std::to_string(version.version),
                                     territory_time_zone);
        if (!catalog)
            return catalog.error();
        versions.push_back(std::make_shared<const tariff::Version>(version.version, std::move(*catalog)));
    }
    const tariff::Versions current(std::move(versions));

    std::ifstream in(programs_file, std::ios::binary);
    if (!in)
        return make_error("tariff.catalog", programs_file.string() + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    for (const auto& version : stored)
        if (version.text == text.str())
            return current;
    auto catalog = parse_version(text.str(), programs_file.string(), territory_time_zone);
    if (!catalog)
        return catalog.error();
    auto number = store_next(database, current, *catalog, text.str(), programs_file.string(), now);
    if (!number) {
        if (number.error().code != "tariff.version")
            return number.error();
        return make_error("tariff.version", programs_file.string() + " differs from every stored tariff version but " +
                                                "cannot follow version " + std::to_string(current.latest().number()) +
                                                ": " + number.error().message +
                                                " (give it a later effective_from, or restore the file)");
    }
    return current.with(std::make_shared<const tariff::Version>(*number, std::move(*catalog)));
}

Result<LoadedVersion> CatalogLoader::load_version(std::string_view text, const std::string& origin, std::int64_t now) {
    const std::lock_guard lock(load_mutex_);
    const tariff::Versions current = versions_.snapshot();
    // The same text again (a retried load) is the version already stored.
    std::optional<int> same;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows =
            tx.query("SELECT version FROM tariff_versions WHERE catalog = ?", std::vector<Value>{std::string(text)});
        if (!rows)
            return rows.error();
        if (!rows->empty())
            same = static_cast<int>(rows->front().integer(0));
        return {};
    });
    if (!read)
        return read.error();
    if (same)
        return LoadedVersion{*same, false};
    auto catalog = parse_version(text, origin, territory_time_zone_);
    if (!catalog)
        return catalog.error();
    auto number = store_next(database_, current, *catalog, text, origin, now);
    if (!number)
        return number.error();
    versions_.replace(current.with(std::make_shared<const tariff::Version>(*number, std::move(*catalog))));
    return LoadedVersion{*number, true};
}

void add_tariff_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database,
                       CatalogLoader& loader, const CatalogVersions& versions, const headend::plugin::Clock& clock) {
    // Stored metadata (origin, loaded_at) beside the versions in memory.
    const auto metadata = [&database] { return stored_versions(database); };

    routes.add("GET", "/api/v1/tariffs", [&versions, &clock, metadata](const headend::http::Request&) {
        const tariff::Versions current = versions.snapshot();
        auto stored = metadata();
        if (!stored)
            return admin_replies::error_reply(500, stored.error());
        const tariff::Version* in_force = current.in_force(clock.now());
        json list = json::array();
        for (std::size_t i = 0; i < current.size() && i < stored->size(); ++i)
            list.push_back(summary_json(current[i], (*stored)[i], in_force));
        return admin_replies::json_reply(200, {{"versions", list}});
    });

    routes.add("GET", "/api/v1/tariffs/{version}",
               [&versions, &clock, metadata](const headend::http::Request& request) {
                   const std::string& wanted = request.params.at("version");
                   int number = 0;
                   const auto [end, problem] = std::from_chars(wanted.data(), wanted.data() + wanted.size(), number);
                   const tariff::Versions current = versions.snapshot();
                   auto stored = metadata();
                   if (!stored)
                       return admin_replies::error_reply(500, stored.error());
                   if (problem != std::errc() || end != wanted.data() + wanted.size() || number < 1 ||
                       static_cast<std::size_t>(number) > std::min(current.size(), stored->size()))
                       return admin_replies::error_reply(
                           404, make_error("tariff.not_found", "no tariff version '" + wanted + "'"));
                   const auto index = static_cast<std::size_t>(number - 1);
                   const tariff::Version& version = current[index];
                   json answer = summary_json(version, (*stored)[index], current.in_force(clock.now()));
                   answer["time_zone"] = version.catalog().time_zone;
                   json programs = json::array();
                   for (const auto& program : version.catalog().programs)
                       programs.push_back(program_json(program));
                   answer["programs"] = programs;
                   answer["catalog"] = (*stored)[index].text;
                   return admin_replies::json_reply(200, answer);
               });

    routes.add("POST", "/api/v1/tariffs", [&loader, &clock](const headend::http::Request& request) {
        const auto origin = request.query.find("origin");
        auto loaded = loader.load_version(request.body, origin == request.query.end() ? "admin API" : origin->second,
                                          clock.now());
        if (!loaded) {
            const int status = loaded.error().code == "tariff.catalog"   ? 422
                               : loaded.error().code == "tariff.version" ? 409
                                                                         : 500;
            return admin_replies::error_reply(status, loaded.error());
        }
        return admin_replies::json_reply(loaded->added ? 201 : 200,
                                         {{"version", loaded->version}, {"added", loaded->added}});
    });
}

}  // namespace pev
