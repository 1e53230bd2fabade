// The versions of the program catalog, each in force from its effective instant until the next one's: what rating
// (billing) and the pricing resources (/tp) look up, so both see the same version at the same instant.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tariff/calendar.hpp"
#include "tariff/catalog.hpp"

namespace tariff {

// One stored version: its number (1, 2, ... in load order) and its catalog with the calendar made from it.
class Version {
public:
    Version(int number, Catalog catalog) : number_(number), catalog_(std::move(catalog)), calendar_(catalog_) {}
    Version(const Version&) = delete;
    Version& operator=(const Version&) = delete;

    int number() const { return number_; }
    std::int64_t effective_from() const { return catalog_.effective_from; }
    const Catalog& catalog() const { return catalog_; }
    const Calendar& calendar() const { return calendar_; }

private:
    int number_;
    Catalog catalog_;
    Calendar calendar_;  // refers to catalog_
};

// A time-of-use span and the version (index into Versions) it was cut from.
struct VersionedSpan {
    std::int64_t start = 0;
    std::int64_t end = 0;
    std::size_t version = 0;
    const Season* season = nullptr;
    const Period* period = nullptr;
};

// An immutable, ordered set of versions; copies share them.
class Versions {
public:
    Versions() = default;
    // Sorted by effective_from, strictly increasing (asserted: check_successor keeps it so).
    explicit Versions(std::vector<std::shared_ptr<const Version>> versions);

    bool empty() const { return versions_.empty(); }
    std::size_t size() const { return versions_.size(); }
    const Version& operator[](std::size_t i) const { return *versions_.at(i); }
    const Version& latest() const { return *versions_.back(); }
    // These versions and `next` after them (in force after the latest).
    Versions with(std::shared_ptr<const Version> next) const;

    // The version in force at `at`, nullptr before the first.
    const Version* in_force(std::int64_t at) const;
    // The spans of `program_id` covering [from, to), each from the version in force at its start and cut where the
    // next version takes over. Time before the first version, and any version without the program, has no span.
    std::vector<VersionedSpan> spans(std::string_view program_id, std::int64_t from, std::int64_t to) const;

private:
    std::vector<std::shared_ptr<const Version>> versions_;
};

}  // namespace tariff
