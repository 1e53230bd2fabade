// The program tariffs as IEEE 2030.5 pricing resources, readable by any authenticated device (a PEV plans its
// off-peak charging from them):
// Each answer comes from the catalog version in force (pev/catalog_versions.hpp); interval lists cross into the next
// version where it takes effect.
//   /tp                                     TariffProfileList, one TariffProfile per catalog program
//   /tp/{program}                           TariffProfile (rateCode = program id, prices in 10^-5 currency units)
//   /tp/{program}/rc                        RateComponentList with the one energy RateComponent
//   /tp/{program}/rc/1                      RateComponent
//   /tp/{program}/rc/1/rt                   ReadingType: Wh delivered, interval data
//   /tp/{program}/rc/1/tti                  TimeTariffIntervalList: the time-of-use periods from the current one
//                                           to the configured horizon, in the territory time zone
//   /tp/{program}/rc/1/acttti               the active TimeTariffInterval only
//   /tp/{program}/rc/1/tti/{start}          TimeTariffInterval; {start} is its UTC start, so it is stable
//   /tp/{program}/rc/1/tti/{start}/cti      ConsumptionTariffIntervalList with the period's price
// Lists honour s, a and l.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "headend/plugin/list_query.hpp"
#include "headend/plugin/plugin.hpp"
#include "pev/catalog_versions.hpp"

namespace pev {

struct TariffResourceSettings {
    std::int64_t horizon_seconds = 48 * 3600;  // how far ahead the interval lists reach
    std::uint32_t utility_pen = 0;             // IANA PEN in the low 32 bits of every mRID we issue
    std::uint32_t max_list_limit = 255;
};

// The path of a program's TariffProfile, as bindings link it.
std::string tariff_profile_path(const std::string& program_id);

class TariffResources {
public:
    TariffResources(const CatalogVersions& versions, const headend::plugin::SepCodec& codec,
                    const headend::plugin::Clock& clock, TariffResourceSettings settings);
    void add_to(headend::coap::ResourceRegistry& resources);

private:
    using Versions = tariff::Versions;
    using Request = headend::coap::Request;
    using Responder = headend::coap::Responder;

    const tariff::Catalog& catalog_in_force(const Versions& versions) const;
    const tariff::Program* program_of(const Versions& versions, const Request& request) const;
    // These answer 4.04 / 4.00 themselves when they return nothing.
    const tariff::Program* program_or_not_found(const Versions& versions, const Request& request,
                                                const Responder& respond) const;
    std::optional<headend::coap::ListQuery> list_query_or_bad_request(const Request& request,
                                                                      const Responder& respond) const;
    std::string mrid(const std::string& kind, const std::string& key) const;
    sep::TariffProfile profile_of(const tariff::Program& program) const;
    sep::RateComponent component_of(const Versions& versions, const tariff::Program& program, std::int64_t now) const;
    sep::TimeTariffInterval interval_of(const tariff::Program& program, const tariff::VersionedSpan& span,
                                        std::int64_t now) const;
    std::vector<tariff::VersionedSpan> upcoming(const Versions& versions, const tariff::Program& program,
                                                std::int64_t now) const;
    std::optional<tariff::VersionedSpan> span_at(const Versions& versions, const Request& request,
                                                 std::int64_t now) const;

    void get_profiles(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_profile(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_components(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_component(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_reading_type(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_intervals(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_active_intervals(const Versions& versions, const Request& request, const Responder& respond) const;
    void list_intervals(const Versions& versions, const Request& request, const Responder& respond,
                        const std::string& path, bool active_only) const;
    void get_interval(const Versions& versions, const Request& request, const Responder& respond) const;
    void get_prices(const Versions& versions, const Request& request, const Responder& respond) const;

    const CatalogVersions& versions_;
    const headend::plugin::SepCodec& codec_;
    const headend::plugin::Clock& clock_;
    TariffResourceSettings settings_;
    std::int64_t created_at_;
};

}  // namespace pev
