#include "tariff/catalog.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "rules.hpp"

namespace tariff {

namespace {

using detail::period_applies;
using detail::period_contains;
using detail::season_contains;
using headend::Error;
using headend::Result;

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kGridMinutes = 15;
constexpr std::size_t kMaxProgramId = 20;
constexpr std::size_t kMaxDescription = 32;  // 2030.5 String32

// The place being read, for messages: "programs[0].seasons[1].from".
class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    Error error(const std::string& where, const std::string& message) const {
        return headend::make_error("tariff.catalog", origin_ + ": " + where + ": " + message);
    }

    // Refuses keys the format does not have, so a typo is not silently ignored.
    std::optional<Error> only_keys(const toml::table& table, const std::string& where,
                                   std::initializer_list<std::string_view> keys) const {
        for (const auto& [key, node] : table) {
            if (std::find(keys.begin(), keys.end(), key.str()) == keys.end())
                return error(where + std::string(key.str()), "unknown key");
        }
        return std::nullopt;
    }

    template <typename T>
    Result<T> required(const toml::table& table, const std::string& where, std::string_view key) const {
        const toml::node* node = table.get(key);
        if (node == nullptr)
            return error(where + std::string(key), "missing");
        return typed<T>(*node, where + std::string(key));
    }

    template <typename T>
    Result<T> optional(const toml::table& table, const std::string& where, std::string_view key, T fallback) const {
        const toml::node* node = table.get(key);
        if (node == nullptr)
            return fallback;
        return typed<T>(*node, where + std::string(key));
    }

    template <typename T>
    Result<T> typed(const toml::node& node, const std::string& where) const {
        if (!node.is<T>()) {
            if constexpr (std::is_same_v<T, std::string>)
                return error(where, "expected a string");
            else if constexpr (std::is_same_v<T, bool>)
                return error(where, "expected true or false");
            else
                return error(where, "expected an integer");
        }
        return *node.value<T>();
    }

private:
    std::string origin_;
};

// "0.56368" → 56368; at most five decimals so the value is exact.
std::optional<std::int64_t> parse_price(std::string_view text) {
    constexpr int kDecimals = 5;
    constexpr std::int64_t kMaxUnits = 1'000'000'000'000;
    std::int64_t units = 0;
    int decimals = -1;
    bool digits = false;
    for (const char c : text) {
        if (c == '.') {
            if (decimals >= 0)
                return std::nullopt;
            decimals = 0;
            continue;
        }
        if (c < '0' || c > '9')
            return std::nullopt;
        digits = true;
        if (decimals >= 0 && ++decimals > kDecimals)
            return std::nullopt;
        units = units * 10 + (c - '0');
        if (units > kMaxUnits)
            return std::nullopt;
    }
    if (!digits || decimals == 0)
        return std::nullopt;
    for (int i = std::max(decimals, 0); i < kDecimals; ++i)
        units *= 10;
    return units;
}

// "16:00" → 960; "24:00" allowed as the end of the day.
std::optional<int> parse_time_of_day(std::string_view text) {
    if (text.size() != 5 || text[2] != ':')
        return std::nullopt;
    for (const std::size_t i : {0U, 1U, 3U, 4U}) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0))
        return std::nullopt;
    return hours * 60 + minutes;
}

// "06-01" → {6, 1}, checked against a leap year so February 29 is allowed.
std::optional<std::pair<int, int>> parse_month_day(std::string_view text) {
    if (text.size() != 5 || text[2] != '-')
        return std::nullopt;
    for (const std::size_t i : {0U, 1U, 3U, 4U}) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
    }
    const int month = (text[0] - '0') * 10 + (text[1] - '0');
    const int day = (text[3] - '0') * 10 + (text[4] - '0');
    if (!date::year_month_day(date::year(2024), date::month(static_cast<unsigned>(month)),
                              date::day(static_cast<unsigned>(day)))
             .ok())
        return std::nullopt;
    return std::pair{month, day};
}

std::optional<std::int32_t> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return std::nullopt;
    int year = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
        year = year * 10 + (text[i] - '0');
    }
    const auto month_day = parse_month_day(text.substr(5));
    if (!month_day)
        return std::nullopt;
    const date::year_month_day day(date::year(year), date::month(static_cast<unsigned>(month_day->first)),
                                   date::day(static_cast<unsigned>(month_day->second)));
    if (!day.ok())
        return std::nullopt;
    return static_cast<std::int32_t>(date::sys_days(day).time_since_epoch().count());
}

const std::map<std::string_view, Holiday>& holiday_names() {
    static const std::map<std::string_view, Holiday> names = {
        {"new-years-day", Holiday::NewYearsDay},        {"martin-luther-king-day", Holiday::MartinLutherKingDay},
        {"presidents-day", Holiday::PresidentsDay},     {"memorial-day", Holiday::MemorialDay},
        {"independence-day", Holiday::IndependenceDay}, {"labor-day", Holiday::LaborDay},
        {"veterans-day", Holiday::VeteransDay},         {"thanksgiving-day", Holiday::ThanksgivingDay},
        {"christmas-day", Holiday::ChristmasDay}};
    return names;
}

std::string format_minute(int minute) {
    std::ostringstream out;
    out << std::setfill('0') << std::setw(2) << minute / 60 << ':' << std::setw(2) << minute % 60;
    return out.str();
}

Result<Period> read_period(const Reader& reader, const toml::table& table, const std::string& where) {
    if (auto problem = reader.only_keys(table, where, {"name", "days", "from", "to", "price"}))
        return *problem;
    Period period;
    auto name = reader.required<std::string>(table, where, "name");
    if (!name)
        return name.error();
    period.name = *name;
    if (period.name.empty() || period.name.size() > kMaxDescription)
        return reader.error(where + "name", "1 to 32 characters");
    auto days = reader.optional<std::string>(table, where, "days", "all");
    if (!days)
        return days.error();
    if (*days == "all")
        period.days = DaySet::All;
    else if (*days == "weekdays")
        period.days = DaySet::Weekdays;
    else if (*days == "weekends-holidays")
        period.days = DaySet::WeekendsAndHolidays;
    else
        return reader.error(where + "days", "expected all, weekdays or weekends-holidays, not '" + *days + "'");
    for (const auto& [key, out] : {std::pair{"from", &period.from_minute}, std::pair{"to", &period.to_minute}}) {
        auto text = reader.required<std::string>(table, where, key);
        if (!text)
            return text.error();
        const auto minute = parse_time_of_day(*text);
        if (!minute)
            return reader.error(where + key, "expected HH:MM from 00:00 to 24:00, not '" + *text + "'");
        if (*minute % kGridMinutes != 0)
            return reader.error(where + key, "times must fall on the quarter hour");
        *out = *minute;
    }
    if (period.from_minute == period.to_minute)
        return reader.error(where + "to", "a period must not be empty");
    auto price = reader.required<std::string>(table, where, "price");
    if (!price)
        return price.error();
    const auto units = parse_price(*price);
    if (!units)
        return reader.error(
            where + "price",
            "expected a decimal string with at most 5 decimals, like \"0.26322\", not '" + *price + "'");
    if (*units > std::numeric_limits<std::int32_t>::max())
        return reader.error(where + "price", "too large for a 2030.5 price (at most 21474.83647)");
    period.price = *units;
    return period;
}

Result<Season> read_season(const Reader& reader, const toml::table& table, const std::string& where) {
    if (auto problem = reader.only_keys(table, where, {"name", "from", "to", "periods"}))
        return *problem;
    Season season;
    auto name = reader.required<std::string>(table, where, "name");
    if (!name)
        return name.error();
    season.name = *name;
    for (const auto& [key, month, day] : {std::tuple{"from", &season.from_month, &season.from_day},
                                          std::tuple{"to", &season.to_month, &season.to_day}}) {
        auto fallback = std::string(std::string_view(key) == "from" ? "01-01" : "12-31");
        auto text = reader.optional<std::string>(table, where, key, fallback);
        if (!text)
            return text.error();
        const auto parsed = parse_month_day(*text);
        if (!parsed)
            return reader.error(where + key, "expected MM-DD, not '" + *text + "'");
        *month = parsed->first;
        *day = parsed->second;
    }
    const toml::array* periods = table["periods"].as_array();
    if (periods == nullptr || periods->empty())
        return reader.error(where + "periods", "expected a non-empty array of periods");
    for (std::size_t i = 0; i < periods->size(); ++i) {
        const std::string at = where + "periods[" + std::to_string(i) + "]";
        const toml::table* period_table = periods->get(i)->as_table();
        if (period_table == nullptr)
            return reader.error(at, "expected a table");
        auto period = read_period(reader, *period_table, at + ".");
        if (!period)
            return period.error();
        season.periods.push_back(std::move(*period));
    }
    // Every minute of every kind of day must have a period, or some energy could not be rated.
    for (const bool weekend : {false, true}) {
        for (int minute = 0; minute < kMinutesPerDay; minute += kGridMinutes) {
            const bool covered = std::any_of(season.periods.begin(), season.periods.end(), [&](const Period& period) {
                return period_applies(period, weekend) && period_contains(period, minute);
            });
            if (!covered) {
                return reader.error(where + "periods", std::string("no period covers ") + format_minute(minute) +
                                                           (weekend ? " on weekends and holidays" : " on weekdays"));
            }
        }
    }
    return season;
}

Result<Program> read_program(const Reader& reader, const toml::table& table, const std::string& where) {
    if (auto problem = reader.only_keys(
            table, where, {"id", "description", "enrollable", "currency", "fixed_charge_per_day", "seasons"}))
        return *problem;
    Program program;
    auto id = reader.required<std::string>(table, where, "id");
    if (!id)
        return id.error();
    program.id = *id;
    if (program.id.empty() || program.id.size() > kMaxProgramId)
        return reader.error(where + "id", "1 to 20 characters");
    // The id is a path segment of /tp/{program}.
    if (!std::all_of(program.id.begin(), program.id.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        }))
        return reader.error(where + "id", "letters, digits, '-', '_' and '.' only");
    auto description = reader.optional<std::string>(table, where, "description", program.id);
    if (!description)
        return description.error();
    if (description->size() > kMaxDescription)
        return reader.error(where + "description", "at most 32 characters (the 2030.5 description)");
    program.description = *description;
    auto enrollable = reader.optional<bool>(table, where, "enrollable", false);
    if (!enrollable)
        return enrollable.error();
    program.enrollable = *enrollable;
    auto currency = reader.optional<std::int64_t>(table, where, "currency", 840);
    if (!currency)
        return currency.error();
    if (*currency < 1 || *currency > 999)
        return reader.error(where + "currency", "an ISO 4217 numeric code, 1..999");
    program.currency = static_cast<std::uint16_t>(*currency);
    auto fixed = reader.optional<std::string>(table, where, "fixed_charge_per_day", "0");
    if (!fixed)
        return fixed.error();
    const auto fixed_units = parse_price(*fixed);
    if (!fixed_units)
        return reader.error(where + "fixed_charge_per_day", "expected a decimal string with at most 5 decimals");
    program.fixed_charge_per_day = *fixed_units;

    const toml::array* seasons = table["seasons"].as_array();
    if (seasons == nullptr || seasons->empty())
        return reader.error(where + "seasons", "expected a non-empty array of seasons");
    for (std::size_t i = 0; i < seasons->size(); ++i) {
        const std::string at = where + "seasons[" + std::to_string(i) + "]";
        const toml::table* season_table = seasons->get(i)->as_table();
        if (season_table == nullptr)
            return reader.error(at, "expected a table");
        auto season = read_season(reader, *season_table, at + ".");
        if (!season)
            return season.error();
        program.seasons.push_back(std::move(*season));
    }
    // Every calendar day (a leap year has them all) in exactly one season.
    for (date::sys_days day = date::sys_days(date::year(2024) / 1 / 1); day < date::sys_days(date::year(2025) / 1 / 1);
         day += date::days(1)) {
        const date::year_month_day ymd(day);
        const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
        const int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
        const auto count = std::count_if(program.seasons.begin(), program.seasons.end(),
                                         [&](const Season& season) { return season_contains(season, month, dom); });
        if (count != 1) {
            std::ostringstream day_text;
            day_text << std::setfill('0') << std::setw(2) << month << '-' << std::setw(2) << dom;
            return reader.error(where + "seasons",
                                day_text.str() + (count == 0 ? " is in no season" : " is in more than one season"));
        }
    }
    // touTier: 1 for the program's cheapest price, counting distinct prices upwards.
    std::set<std::int64_t> prices;
    for (const auto& season : program.seasons) {
        for (const auto& period : season.periods)
            prices.insert(period.price);
    }
    for (auto& season : program.seasons) {
        for (auto& period : season.periods)
            period.tier = static_cast<int>(std::distance(prices.begin(), prices.find(period.price))) + 1;
    }
    return program;
}

Result<HolidayRules> read_holidays(const Reader& reader, const toml::table* table) {
    HolidayRules rules;
    if (table == nullptr)
        return rules;
    if (auto problem = reader.only_keys(*table, "holidays.", {"rules", "sunday_observed_on_monday", "dates"}))
        return *problem;
    auto observed = reader.optional<bool>(*table, "holidays.", "sunday_observed_on_monday", true);
    if (!observed)
        return observed.error();
    rules.sunday_observed_on_monday = *observed;
    for (const auto& [key, is_rules] : {std::pair{"rules", true}, std::pair{"dates", false}}) {
        const toml::node* node = table->get(key);
        if (node == nullptr)
            continue;
        const toml::array* list = node->as_array();
        if (list == nullptr)
            return reader.error(std::string("holidays.") + key, "expected an array of strings");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string at = std::string("holidays.") + key + "[" + std::to_string(i) + "]";
            auto text = reader.typed<std::string>(*list->get(i), at);
            if (!text)
                return text.error();
            if (is_rules) {
                const auto found = holiday_names().find(*text);
                if (found == holiday_names().end())
                    return reader.error(at, "unknown holiday '" + *text + "'");
                rules.rules.push_back(found->second);
            } else {
                const auto day = parse_date(*text);
                if (!day)
                    return reader.error(at, "expected YYYY-MM-DD, not '" + *text + "'");
                rules.extra_days.push_back(*day);
            }
        }
    }
    return rules;
}

// "2026-07-15" or "2026-07-15T16:00", local time in `zone`, as a UTC instant: on the quarter hour, and neither
// skipped nor repeated by a clock change (either would make the instant a guess).
Result<std::int64_t> local_instant(const std::string& text, const std::string& zone) {
    // Digits where the shape "YYYY-MM-DDTHH:MM" has them, and its punctuation elsewhere; the time is optional.
    static constexpr std::string_view kShape = "0000-00-00T00:00";
    const bool shaped = (text.size() == 10 || text.size() == 16) &&
                        std::equal(text.begin(), text.end(), kShape.begin(), [](char c, char shape) {
                            return shape == '0' ? std::isdigit(static_cast<unsigned char>(c)) != 0 : c == shape;
                        });
    const auto number = [&](std::size_t at, std::size_t length) { return std::stoi(text.substr(at, length)); };
    const int year = shaped ? number(0, 4) : 0, month = shaped ? number(5, 2) : 0, day = shaped ? number(8, 2) : 0;
    const int hour = shaped && text.size() == 16 ? number(11, 2) : 0;
    const int minute = shaped && text.size() == 16 ? number(14, 2) : 0;
    const date::year_month_day ymd{date::year(year), date::month(static_cast<unsigned>(month)),
                                   date::day(static_cast<unsigned>(day))};
    if (!shaped || !ymd.ok() || hour > 23 || minute > 59)
        return headend::make_error("tariff.catalog", "'" + text + "' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM");
    if (minute % 15 != 0)
        return headend::make_error("tariff.catalog", "'" + text + "' is not on the quarter hour");
    const auto local = date::local_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute);
    try {
        return date::locate_zone(zone)->to_sys(local).time_since_epoch().count();
    } catch (const std::exception&) {
        return headend::make_error("tariff.catalog",
                                   "'" + text + "' is skipped or repeated by a clock change in " + zone);
    }
}

}  // namespace

Result<void> check_successor(const Catalog& current, const Catalog& next) {
    const auto refuse = [](std::string message) { return headend::make_error("tariff.version", std::move(message)); };
    if (next.effective_from <= current.effective_from)
        return refuse("effective from " + std::to_string(next.effective_from) +
                      " (UTC), not after the version in force from " + std::to_string(current.effective_from) +
                      ": versions follow one another, they never overlap");
    if (next.time_zone != current.time_zone)
        return refuse("time_zone '" + next.time_zone + "' is not the territory's '" + current.time_zone + "'");
    for (const auto& program : current.programs) {
        const Program* successor = next.find(program.id);
        if (successor == nullptr)
            return refuse("program '" + program.id + "' is missing: its customers would have no tariff from " +
                          std::to_string(next.effective_from) + " (UTC)");
        // A bill adds up lines of one currency.
        if (successor->currency != program.currency)
            return refuse("program '" + program.id + "': currency " + std::to_string(successor->currency) +
                          ", the version in force bills in " + std::to_string(program.currency));
    }
    return {};
}

const Program* Catalog::find(std::string_view id) const {
    const auto found =
        std::find_if(programs.begin(), programs.end(), [&](const Program& program) { return program.id == id; });
    return found == programs.end() ? nullptr : &*found;
}

Result<Catalog> parse_catalog(std::string_view toml_text, std::string_view origin) {
    const Reader reader{std::string(origin)};
    toml::table root;
    try {
        root = toml::parse(toml_text, origin);
    } catch (const toml::parse_error& error) {
        std::ostringstream message;
        message << error.source().begin.line << ":" << error.source().begin.column << ": " << error.description();
        return reader.error("syntax", message.str());
    }
    if (auto problem = reader.only_keys(root, "", {"time_zone", "effective_from", "holidays", "programs"}))
        return *problem;
    Catalog catalog;
    auto zone = reader.required<std::string>(root, "", "time_zone");
    if (!zone)
        return zone.error();
    try {
        date::locate_zone(*zone);
    } catch (const std::exception&) {
        return reader.error("time_zone", "unknown time zone '" + *zone + "'");
    }
    catalog.time_zone = *zone;
    if (root.contains("effective_from")) {
        auto text = reader.required<std::string>(root, "", "effective_from");
        if (!text)
            return text.error();
        auto from = local_instant(*text, *zone);
        if (!from)
            return reader.error("effective_from", from.error().message);
        catalog.effective_from = *from;
    }
    if (root.contains("holidays") && !root["holidays"].is_table())
        return reader.error("holidays", "expected a table");
    auto holidays = read_holidays(reader, root["holidays"].as_table());
    if (!holidays)
        return holidays.error();
    catalog.holidays = std::move(*holidays);

    const toml::array* programs = root["programs"].as_array();
    if (programs == nullptr || programs->empty())
        return reader.error("programs", "expected a non-empty array of [[programs]]");
    for (std::size_t i = 0; i < programs->size(); ++i) {
        const std::string at = "programs[" + std::to_string(i) + "]";
        const toml::table* table = programs->get(i)->as_table();
        if (table == nullptr)
            return reader.error(at, "expected a table");
        auto program = read_program(reader, *table, at + ".");
        if (!program)
            return program.error();
        if (catalog.find(program->id) != nullptr)
            return reader.error(at + ".id", "program '" + program->id + "' is defined twice");
        catalog.programs.push_back(std::move(*program));
    }
    return catalog;
}

Result<Catalog> load_catalog(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return headend::make_error("tariff.catalog", file.string() + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_catalog(text.str(), file.string());
}

std::string format_price(std::int64_t price) {
    constexpr int kDecimals = 5;
    std::string digits = std::to_string(price < 0 ? -price : price);
    if (digits.size() <= kDecimals)
        digits.insert(0, kDecimals + 1 - digits.size(), '0');
    digits.insert(digits.size() - kDecimals, ".");
    while (digits.back() == '0' && digits.size() - digits.find('.') > 3)
        digits.pop_back();
    return (price < 0 ? "-" : "") + digits;
}

}  // namespace tariff
