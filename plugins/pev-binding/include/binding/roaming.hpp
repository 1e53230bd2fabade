// The clearinghouse registry of visiting PEVs: a CSV file with the header `vin,lfdi,home_utility`, one PEV per row.
// A file with any bad row is refused whole, naming every bad row by its line.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "binding/judge.hpp"
#include "headend/plugin/result.hpp"

namespace binding {

using RoamingRegistry = std::map<std::string, RoamingFacts>;  // by VIN

headend::Result<RoamingRegistry> parse_roaming_registry(std::string_view text, std::string_view origin);
headend::Result<RoamingRegistry> load_roaming_registry(const std::filesystem::path& file);

}  // namespace binding
