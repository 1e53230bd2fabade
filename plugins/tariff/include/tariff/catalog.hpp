// The program catalog: the programs a PEV can enroll in and the premises default rates, with their tariffs, read
// from an operator-edited TOML file (config/programs.toml documents the format). Prices are exact: decimal strings
// in the file, integers in 10^-5 currency units per kWh here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/result.hpp"

namespace tariff {

enum class DaySet { All, Weekdays, WeekendsAndHolidays };

// A time-of-use period: local times of day [from, to) in minutes, wrapping past midnight when to <= from.
struct Period {
    std::string name;
    DaySet days = DaySet::All;
    int from_minute = 0;
    int to_minute = 24 * 60;
    std::int64_t price = 0;  // 10^-5 currency units per kWh
    int tier = 0;            // 1 = cheapest price of the program, the 2030.5 touTier
};

// A season covers the calendar days from (month, day) to (month, day) inclusive, wrapping past the new year.
// Its periods are matched in order; the first that contains the local time wins.
struct Season {
    std::string name;
    int from_month = 1, from_day = 1, to_month = 12, to_day = 31;
    std::vector<Period> periods;
};

struct Program {
    std::string id;  // up to 20 characters, the 2030.5 rateCode
    std::string description;
    bool enrollable = false;       // a PEV program customers enroll in (EV-TOU), not only a premises rate (DOM-FLAT)
    std::uint16_t currency = 840;  // ISO 4217 numeric
    std::int64_t fixed_charge_per_day = 0;  // 10^-5 currency units
    std::vector<Season> seasons;
};

enum class Holiday {
    NewYearsDay,          // January 1
    MartinLutherKingDay,  // third Monday of January
    PresidentsDay,        // third Monday of February
    MemorialDay,          // last Monday of May
    IndependenceDay,      // July 4
    LaborDay,             // first Monday of September
    VeteransDay,          // November 11
    ThanksgivingDay,      // fourth Thursday of November
    ChristmasDay,         // December 25
};

struct HolidayRules {
    std::vector<Holiday> rules;
    bool sunday_observed_on_monday = true;
    std::vector<std::int32_t> extra_days;  // days since 1970-01-01 of holidays named by date
};

struct Catalog {
    std::string time_zone;  // IANA name; every local time of the catalog is in it
    // UTC instant from which this version of the catalog is in force, until the next version's (0: from the start).
    // In the file: `effective_from = "2026-07-15"` or "2026-07-15T16:00", the territory's local time on the quarter
    // hour, neither skipped nor repeated by a clock change.
    std::int64_t effective_from = 0;
    HolidayRules holidays;
    std::vector<Program> programs;

    const Program* find(std::string_view id) const;
};

// Whether `next` may follow `current` as the next version of the catalog: in force strictly later (versions never
// overlap), in the same time zone, and with every program of `current` (a program left out would leave its customers
// without a tariff: a gap). Refusals have code "tariff.version".
headend::Result<void> check_successor(const Catalog& current, const Catalog& next);

// Every problem names its place in the file: "programs[0].seasons[1].periods[2].price: ...". Checked at load: unique
// program ids, seasons covering every calendar day once, periods covering every minute of every kind of day, times
// on a 15-minute grid, prices with at most 5 decimals, and a time zone the system knows.
headend::Result<Catalog> parse_catalog(std::string_view toml_text, std::string_view origin);
headend::Result<Catalog> load_catalog(const std::filesystem::path& file);

// "0.56368" for 56368 (10^-5 units), always 5 decimals trimmed to at least 2.
std::string format_price(std::int64_t price);

}  // namespace tariff
