#include "pev/tariff_resources.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "coap/replies.hpp"
#include "headend/plugin/list_query.hpp"
#include "ids/digest.hpp"

namespace pev {

namespace {

using headend::coap::Code;
using headend::coap::Method;
using headend::coap::Request;
using headend::coap::Responder;
using headend::coap::Response;

constexpr std::int8_t kPricePowerOfTen = -5;  // catalog prices are in 10^-5 currency units per kWh
constexpr std::uint8_t kUomWh = 72;
constexpr std::uint8_t kKindEnergy = 12;
constexpr std::uint8_t kCommodityElectricity = 1;
constexpr std::uint8_t kFlowForward = 1;
constexpr std::uint8_t kAccumulationDelta = 4;
constexpr std::uint8_t kEventScheduled = 0;
constexpr std::uint8_t kEventActive = 1;
constexpr std::uint32_t kPollRate = 3600;
constexpr std::int64_t kLongestDay = 26 * 3600;  // no tariff span is longer than a local day (25 h), with room

std::optional<std::int64_t> parse_start(const std::string& text) {
    std::int64_t value = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || problem != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

template <typename T>
std::uint32_t count_of(const std::vector<T>& items) {
    return static_cast<std::uint32_t>(items.size());
}

}  // namespace

std::string tariff_profile_path(const std::string& program_id) {
    return "/tp/" + program_id;
}

TariffResources::TariffResources(const CatalogVersions& versions, const headend::plugin::SepCodec& codec,
                                 const headend::plugin::Clock& clock, TariffResourceSettings settings)
    : versions_(versions), codec_(codec), clock_(clock), settings_(settings), created_at_(clock.now()) {}

void TariffResources::add_to(headend::coap::ResourceRegistry& resources) {
    // Read-only resources: anything but GET is 4.05.
    // Each request sees the catalog versions as they are when it arrives, whatever is loaded meanwhile.
    auto get_only = [this](void (TariffResources::*handler)(const tariff::Versions&, const Request&, const Responder&)
                               const) {
        return [this, handler](const Request& request, Responder respond) {
            if (request.method != Method::Get) {
                respond(Response{Code::MethodNotAllowed, "", 0, "", std::nullopt});
                return;
            }
            (this->*handler)(versions_.snapshot(), request, respond);
        };
    };
    resources.add("/tp", get_only(&TariffResources::get_profiles));
    resources.add("/tp/{program}", get_only(&TariffResources::get_profile));
    resources.add("/tp/{program}/rc", get_only(&TariffResources::get_components));
    resources.add("/tp/{program}/rc/{component}", get_only(&TariffResources::get_component));
    resources.add("/tp/{program}/rc/{component}/rt", get_only(&TariffResources::get_reading_type));
    resources.add("/tp/{program}/rc/{component}/tti", get_only(&TariffResources::get_intervals));
    resources.add("/tp/{program}/rc/{component}/acttti", get_only(&TariffResources::get_active_intervals));
    resources.add("/tp/{program}/rc/{component}/tti/{start}", get_only(&TariffResources::get_interval));
    resources.add("/tp/{program}/rc/{component}/tti/{start}/cti", get_only(&TariffResources::get_prices));
}

const tariff::Catalog& TariffResources::catalog_in_force(const tariff::Versions& versions) const {
    // Before the first version takes effect its programs are the ones to show.
    const tariff::Version* version = versions.in_force(clock_.now());
    return (version != nullptr ? *version : versions[0]).catalog();
}

// segments: {"tp", program, "rc", "1", ...}; only component 1 exists.
const tariff::Program* TariffResources::program_of(const tariff::Versions& versions, const Request& request) const {
    if (request.segments.size() < 2)
        return nullptr;
    if (request.segments.size() >= 4 && request.segments[3] != "1")
        return nullptr;
    return catalog_in_force(versions).find(request.segments[1]);
}

const tariff::Program* TariffResources::program_or_not_found(const tariff::Versions& versions, const Request& request,
                                                             const Responder& respond) const {
    const tariff::Program* program = program_of(versions, request);
    if (program == nullptr)
        respond(coap_replies::reason(Code::NotFound));
    return program;
}

std::optional<headend::coap::ListQuery> TariffResources::list_query_or_bad_request(const Request& request,
                                                                                   const Responder& respond) const {
    auto query = headend::coap::parse_list_query(request.query, settings_.max_list_limit);
    if (!query) {
        respond(coap_replies::reason(Code::BadRequest, query.error().message));
        return std::nullopt;
    }
    return *query;
}

std::string TariffResources::mrid(const std::string& kind, const std::string& key) const {
    std::array<char, 33> text{};
    std::snprintf(text.data(), text.size(), "%016llX%08X%08X",
                  static_cast<unsigned long long>(ids::fnv1a(kind + ":" + key)), 0U, settings_.utility_pen);
    return std::string(text.data(), 32);
}

std::vector<tariff::VersionedSpan> TariffResources::upcoming(const tariff::Versions& versions,
                                                             const tariff::Program& program, std::int64_t now) const {
    // Spans never cross into another local day (at most 25 hours), so looking a long day back and beyond the horizon
    // gives every span whole: those in effect now or starting before the horizon are served.
    const std::int64_t horizon = now + settings_.horizon_seconds;
    auto spans = versions.spans(program.id, now - kLongestDay, horizon + kLongestDay);
    std::erase_if(
        spans, [now, horizon](const tariff::VersionedSpan& span) { return span.end <= now || span.start >= horizon; });
    return spans;
}

sep::TimeTariffInterval TariffResources::interval_of(const tariff::Program& program, const tariff::VersionedSpan& span,
                                                     std::int64_t now) const {
    const std::string base = tariff_profile_path(program.id) + "/rc/1/tti/" + std::to_string(span.start);
    sep::TimeTariffInterval interval;
    interval.href = base;
    interval.mrid = mrid("tti", program.id + ":" + std::to_string(span.start));
    interval.description = span.period->name;
    interval.creation_time = std::min(created_at_, span.start);
    // When the status became what it is: the interval's start once it is active, the schedule's publication before.
    // Not now: a list whose representation changed every second would break any Block2 transfer spanning a second.
    const bool active = span.start <= now && now < span.end;
    interval.event_status.current_status = active ? kEventActive : kEventScheduled;
    interval.event_status.date_time = active ? span.start : interval.creation_time;
    interval.event_status.potentially_superseded = false;
    interval.interval = {static_cast<std::uint32_t>(span.end - span.start), span.start};
    interval.consumption_tariff_interval_list_link = sep::ListLink{base + "/cti", 1};
    interval.tou_tier = static_cast<std::uint8_t>(span.period->tier);
    return interval;
}

sep::TariffProfile TariffResources::profile_of(const tariff::Program& program) const {
    const std::string path = tariff_profile_path(program.id);
    sep::TariffProfile profile;
    profile.href = path;
    profile.mrid = mrid("tp", program.id);
    profile.description = program.description;
    profile.currency = program.currency;
    profile.price_power_of_ten_multiplier = kPricePowerOfTen;
    profile.primacy = 0;
    profile.rate_code = program.id;
    profile.rate_component_list_link = sep::ListLink{path + "/rc", 1};
    profile.service_category_kind = 0;  // electricity
    return profile;
}

void TariffResources::get_profiles(const tariff::Versions& versions, const Request& request,
                                   const Responder& respond) const {
    const auto query = list_query_or_bad_request(request, respond);
    if (!query)
        return;
    sep::TariffProfileList list;
    list.href = "/tp";
    const auto& programs = catalog_in_force(versions).programs;
    list.all = count_of(programs);
    list.poll_rate = kPollRate;
    for (std::size_t i = query->start; i < programs.size() && list.tariff_profiles.size() < query->limit; ++i)
        list.tariff_profiles.push_back(profile_of(programs[i]));
    list.results = count_of(list.tariff_profiles);
    respond(coap_replies::content(codec_.encode(list)));
}

void TariffResources::get_profile(const tariff::Versions& versions, const Request& request,
                                  const Responder& respond) const {
    const tariff::Program* program = program_or_not_found(versions, request, respond);
    if (program == nullptr)
        return;
    respond(coap_replies::content(codec_.encode(profile_of(*program))));
}

sep::RateComponent TariffResources::component_of(const tariff::Versions& versions, const tariff::Program& program,
                                                 std::int64_t now) const {
    const std::string path = tariff_profile_path(program.id) + "/rc/1";
    sep::RateComponent component;
    component.href = path;
    component.mrid = mrid("rc", program.id);
    component.description = "energy";
    component.active_time_tariff_interval_list_link = sep::ListLink{path + "/acttti", 1};
    component.reading_type_link = sep::Link{path + "/rt"};
    component.role_flags = 0;
    component.time_tariff_interval_list_link = sep::ListLink{path + "/tti", count_of(upcoming(versions, program, now))};
    return component;
}

void TariffResources::get_components(const tariff::Versions& versions, const Request& request,
                                     const Responder& respond) const {
    const tariff::Program* program = program_or_not_found(versions, request, respond);
    if (program == nullptr)
        return;
    const auto query = list_query_or_bad_request(request, respond);
    if (!query)
        return;
    sep::RateComponentList list;
    list.href = tariff_profile_path(program->id) + "/rc";
    list.all = 1;
    if (query->start == 0 && query->limit > 0)
        list.rate_components.push_back(component_of(versions, *program, clock_.now()));
    list.results = count_of(list.rate_components);
    respond(coap_replies::content(codec_.encode(list)));
}

void TariffResources::get_component(const tariff::Versions& versions, const Request& request,
                                    const Responder& respond) const {
    const tariff::Program* program = program_or_not_found(versions, request, respond);
    if (program == nullptr)
        return;
    respond(coap_replies::content(codec_.encode(component_of(versions, *program, clock_.now()))));
}

void TariffResources::get_reading_type(const tariff::Versions& versions, const Request& request,
                                       const Responder& respond) const {
    const tariff::Program* program = program_or_not_found(versions, request, respond);
    if (program == nullptr)
        return;
    int tiers = 0;
    for (const auto& season : program->seasons) {
        for (const auto& period : season.periods)
            tiers = std::max(tiers, period.tier);
    }
    sep::ReadingType type;
    type.href = tariff_profile_path(program->id) + "/rc/1/rt";
    type.accumulation_behaviour = kAccumulationDelta;
    type.commodity = kCommodityElectricity;
    type.flow_direction = kFlowForward;
    type.kind = kKindEnergy;
    type.number_of_tou_tiers = static_cast<std::uint8_t>(tiers);
    type.power_of_ten_multiplier = 3;  // kWh: prices are per kWh
    type.uom = kUomWh;
    respond(coap_replies::content(codec_.encode(type)));
}

void TariffResources::get_intervals(const tariff::Versions& versions, const Request& request,
                                    const Responder& respond) const {
    list_intervals(versions, request, respond, "/tti", false);
}

void TariffResources::get_active_intervals(const tariff::Versions& versions, const Request& request,
                                           const Responder& respond) const {
    list_intervals(versions, request, respond, "/acttti", true);
}

void TariffResources::list_intervals(const tariff::Versions& versions, const Request& request, const Responder& respond,
                                     const std::string& path, bool active_only) const {
    const tariff::Program* program = program_or_not_found(versions, request, respond);
    if (program == nullptr)
        return;
    const auto query = list_query_or_bad_request(request, respond);
    if (!query)
        return;
    const std::int64_t now = clock_.now();
    auto spans = upcoming(versions, *program, now);
    if (active_only && spans.size() > 1)
        spans.resize(1);  // the first upcoming span is the one in effect now
    sep::TimeTariffIntervalList list;
    list.href = tariff_profile_path(program->id) + "/rc/1" + path;
    list.all = count_of(spans);
    for (std::size_t i = query->start; i < spans.size() && list.time_tariff_intervals.size() < query->limit; ++i)
        list.time_tariff_intervals.push_back(interval_of(*program, spans[i], now));
    list.results = count_of(list.time_tariff_intervals);
    respond(coap_replies::content(codec_.encode(list)));
}

// The span named by /tp/{program}/rc/1/tti/{start}: one of the listed spans, or any other span of the program that
// starts exactly there (a device may ask about an interval that has just ended).
std::optional<tariff::VersionedSpan> TariffResources::span_at(const tariff::Versions& versions, const Request& request,
                                                              std::int64_t now) const {
    const tariff::Program* program = program_of(versions, request);
    const auto start = parse_start(request.segments.at(5));
    if (program == nullptr || !start)
        return std::nullopt;
    for (const auto& span : upcoming(versions, *program, now)) {
        if (span.start == *start)
            return span;
    }
    if (versions.spans(program->id, *start - 1, *start + 1).size() != 2)
        return std::nullopt;  // the period does not change at {start}
    return versions.spans(program->id, *start, *start + kLongestDay).front();
}

void TariffResources::get_interval(const tariff::Versions& versions, const Request& request,
                                   const Responder& respond) const {
    const std::int64_t now = clock_.now();
    const auto span = span_at(versions, request, now);
    if (!span) {
        respond(coap_replies::reason(Code::NotFound));
        return;
    }
    respond(coap_replies::content(codec_.encode(interval_of(*program_of(versions, request), *span, now))));
}

void TariffResources::get_prices(const tariff::Versions& versions, const Request& request,
                                 const Responder& respond) const {
    const auto span = span_at(versions, request, clock_.now());
    if (!span) {
        respond(coap_replies::reason(Code::NotFound));
        return;
    }
    const auto query = list_query_or_bad_request(request, respond);
    if (!query)
        return;
    sep::ConsumptionTariffIntervalList list;
    list.href = request.path;
    list.all = 1;
    if (query->start == 0 && query->limit > 0) {
        sep::ConsumptionTariffInterval price;
        price.consumption_block = 1;  // one block: the price holds from the first Wh
        price.price = static_cast<std::int32_t>(span->period->price);
        price.start_value = 0;
        list.consumption_tariff_intervals.push_back(std::move(price));
    }
    list.results = count_of(list.consumption_tariff_intervals);
    respond(coap_replies::content(codec_.encode(list)));
}

}  // namespace pev
