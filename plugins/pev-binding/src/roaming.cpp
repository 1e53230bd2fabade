#include "binding/roaming.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "csv/csv.hpp"
#include "pev/vin.hpp"

namespace binding {

namespace {

constexpr std::string_view kHeader = "vin,lfdi,home_utility";
constexpr std::size_t kLfdiDigits = 40;
constexpr std::size_t kMaxUtility = 42;

bool is_lfdi(const std::string& text) {
    return text.size() == kLfdiDigits &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

}  // namespace

headend::Result<RoamingRegistry> parse_roaming_registry(std::string_view text, std::string_view origin) {
    const auto fail = [&](const std::string& message) {
        return headend::make_error("roaming.registry", std::string(origin) + ": " + message);
    };
    const csv::Split split = csv::split(text);
    if (split.error)
        return fail("line " + std::to_string(split.error->line) + ": " + split.error->reason);
    if (split.rows.empty())
        return fail("empty; expected the header " + std::string(kHeader));
    std::string header;
    for (std::size_t i = 0; i < split.rows[0].fields.size(); ++i)
        header += (i ? "," : "") + split.rows[0].fields[i];
    if (header != kHeader)
        return fail("line 1: the header must be exactly " + std::string(kHeader));

    RoamingRegistry registry;
    std::set<std::string> lfdis;  // one PEV per certificate: a re-binding PEV is known by its LFDI alone
    std::vector<std::string> problems;
    for (std::size_t r = 1; r < split.rows.size(); ++r) {
        const csv::Row& row = split.rows[r];
        if (row.fields.size() == 1 && row.fields[0].empty())
            continue;
        const std::string at = "line " + std::to_string(row.line) + ": ";
        if (row.fields.size() != 3) {
            problems.push_back(at + "expected 3 fields, found " + std::to_string(row.fields.size()));
            continue;
        }
        auto vin = pev::validate_vin(row.fields[0]);
        std::string lfdi = row.fields[1];
        std::transform(lfdi.begin(), lfdi.end(), lfdi.begin(), [](unsigned char c) { return std::toupper(c); });
        if (!vin) {
            problems.push_back(at + vin.error().message);
        } else if (!is_lfdi(lfdi)) {
            problems.push_back(at + "lfdi must be 40 hex digits");
        } else if (row.fields[2].empty() || row.fields[2].size() > kMaxUtility) {
            problems.push_back(at + "home_utility must be 1..42 characters");
        } else if (!lfdis.insert(lfdi).second) {
            problems.push_back(at + "LFDI " + lfdi + " appears twice");
        } else if (!registry.emplace(*vin, RoamingFacts{*vin, lfdi, row.fields[2]}).second) {
            problems.push_back(at + "VIN " + *vin + " appears twice");
        }
    }
    if (!problems.empty()) {
        std::string message = std::to_string(problems.size()) + " bad row(s)";
        for (const auto& problem : problems)
            message += "; " + problem;
        return fail(message);
    }
    return registry;
}

headend::Result<RoamingRegistry> load_roaming_registry(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return headend::make_error("roaming.registry", file.string() + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_roaming_registry(text.str(), file.string());
}

}  // namespace binding
