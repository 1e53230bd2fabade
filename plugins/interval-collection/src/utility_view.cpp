#include "utility_view.hpp"

#include <array>
#include <charconv>
#include <cstdio>

#include "coap/replies.hpp"
#include "headend/plugin/list_query.hpp"
#include "store.hpp"

namespace intervals {

namespace {

using headend::Result;
using headend::coap::Code;
using headend::coap::DeviceType;
using headend::coap::Request;
using headend::coap::Responder;
using headend::coap::Response;
using headend::storage::Transaction;

std::string upt(std::int64_t mirror_id) {
    return "/upt/" + std::to_string(mirror_id);
}
std::string mr(std::int64_t mirror_id, std::int64_t meter_reading_id) {
    return upt(mirror_id) + "/mr/" + std::to_string(meter_reading_id);
}

sep::Reading reading_of(const store::StoredInterval& interval) {
    sep::Reading reading;
    reading.quality_flags = interval.quality_flags;
    reading.time_period = sep::DateTimeInterval{interval.duration, interval.start};
    reading.value = interval.value_wh;
    return reading;
}

// What one request resolved to: the mirror and, below /mr/{m}, its meter reading.
struct Target {
    store::Mirror mirror;
    std::optional<store::MeterReading> meter_reading;
};

class UtilityView : public std::enable_shared_from_this<UtilityView> {
public:
    UtilityView(headend::plugin::Context& context, const calendar::LocalDays& days, ViewSettings settings)
        : context_(context), days_(days), settings_(settings) {}

    void add_routes() {
        auto self = shared_from_this();
        const auto route = [&](const std::string& pattern, auto member, bool observable = false) {
            context_.resources.add(pattern,
                                   [self, member](const Request& request, Responder respond) {
                                       if (request.method != headend::coap::Method::Get) {
                                           respond(coap_replies::empty(Code::MethodNotAllowed));
                                           return;
                                       }
                                       (self.get()->*member)(request, respond);
                                   },
                                   {.observable = observable});
        };
        route("/upt", &UtilityView::usage_point_list);
        route("/upt/{k}", &UtilityView::usage_point);
        route("/upt/{k}/mr", &UtilityView::meter_reading_list);
        route("/upt/{k}/mr/{m}", &UtilityView::meter_reading);
        route("/upt/{k}/mr/{m}/rt", &UtilityView::reading_type);
        route("/upt/{k}/mr/{m}/r", &UtilityView::latest_reading, true);
        route("/upt/{k}/mr/{m}/rs", &UtilityView::reading_set_list, true);
        route("/upt/{k}/mr/{m}/rs/{d}", &UtilityView::reading_set);
        route("/upt/{k}/mr/{m}/rs/{d}/r", &UtilityView::reading_list, true);
    }

private:
    std::optional<store::Viewer> viewer(const Request& request) const {
        const auto& peer = request.peer;
        if (!peer.device_id)
            return std::nullopt;
        store::Viewer viewer{*peer.device_id, peer.lfdi, std::nullopt};
        if (peer.device_type == DeviceType::Display)
            viewer.display_premises = peer.premises_id;
        return viewer;
    }

    // Runs `work` on a snapshot; storage failing answers 5.03.
    bool read(const std::function<Result<void>(Transaction&)>& work, const Responder& respond) {
        auto done = context_.database.read(work);
        if (!done) {
            context_.logger.error("INTERVAL_STORAGE", done.error().message);
            respond(coap_replies::empty(Code::ServiceUnavailable));
        }
        return done.ok();
    }

    // The mirror (and meter reading) the path names, when the caller may see it: otherwise 4.03, the same whether or
    // not it exists.
    std::optional<Target> resolve(Transaction& tx, const Request& request, bool with_meter_reading,
                                  Result<void>& failure) {
        const auto who = viewer(request);
        const auto mirror_id = coap_replies::id_segment(request, 1);
        const auto meter_reading_id = with_meter_reading ? coap_replies::id_segment(request, 3) : std::nullopt;
        if (!who || !mirror_id || (with_meter_reading && !meter_reading_id))
            return std::nullopt;
        auto mirror = store::mirror_by_id(tx, *mirror_id);
        if (!mirror) {
            failure = mirror.error();
            return std::nullopt;
        }
        if (!*mirror || !store::may_view(**mirror, *who))
            return std::nullopt;
        Target target{std::move(**mirror), std::nullopt};
        if (!with_meter_reading)
            return target;
        auto readings = store::meter_readings_of(tx, target.mirror.id);
        if (!readings) {
            failure = readings.error();
            return std::nullopt;
        }
        for (auto& reading : *readings) {
            if (reading.id == *meter_reading_id)
                target.meter_reading = std::move(reading);
        }
        if (!target.meter_reading)
            return std::nullopt;
        return target;
    }

    // Resolves the path in one snapshot and hands the target to `answer`, which fills the response.
    void with_target(const Request& request, const Responder& respond, bool with_meter_reading,
                     const std::function<Result<Response>(Transaction&, const Target&)>& answer) {
        std::optional<Response> response;
        const bool ok = read(
            [&](Transaction& tx) -> Result<void> {
                Result<void> failure;
                auto target = resolve(tx, request, with_meter_reading, failure);
                if (!failure)
                    return failure;
                if (!target) {
                    response = coap_replies::empty(Code::Forbidden);
                    return {};
                }
                auto answered = answer(tx, *target);
                if (!answered)
                    return answered.error();
                response = std::move(*answered);
                return {};
            },
            respond);
        if (ok)
            respond(std::move(*response));
    }

    std::optional<headend::coap::ListQuery> list_query(const Request& request, const Responder& respond) const {
        auto query = headend::coap::parse_list_query(request.query, settings_.max_list_limit);
        if (!query) {
            respond(coap_replies::reason(Code::BadRequest, query.error().message));
            return std::nullopt;
        }
        return *query;
    }

    sep::UsagePoint usage_point_of(Transaction& tx, const store::Mirror& mirror, Result<void>& failure) {
        sep::UsagePoint point;
        point.href = upt(mirror.id);
        point.mrid = mirror.document.mrid;
        point.description = mirror.document.description;
        point.role_flags = mirror.document.role_flags & static_cast<std::uint16_t>(~sep::kRoleIsMirror);
        point.service_category_kind = mirror.document.service_category_kind;
        point.status = mirror.document.status;
        point.device_lfdi = mirror.document.device_lfdi;
        auto readings = store::meter_readings_of(tx, mirror.id);
        if (!readings) {
            failure = readings.error();
            return point;
        }
        point.meter_reading_list_link =
            sep::ListLink{upt(mirror.id) + "/mr", static_cast<std::uint32_t>(readings->size())};
        return point;
    }

    void usage_point_list(const Request& request, const Responder& respond) {
        const auto who = viewer(request);
        if (!who) {
            respond(coap_replies::empty(Code::Forbidden));
            return;
        }
        const auto query = list_query(request, respond);
        if (!query)
            return;
        sep::UsagePointList list;
        list.href = "/upt";
        const bool ok = read(
            [&](Transaction& tx) -> Result<void> {
                auto count = store::count_visible_mirrors(tx, *who);
                if (!count)
                    return count.error();
                auto mirrors = store::visible_mirrors(tx, *who, query->start, query->limit);
                if (!mirrors)
                    return mirrors.error();
                list.all = static_cast<std::uint32_t>(*count);
                for (const auto& mirror : *mirrors) {
                    Result<void> failure;
                    list.usage_points.push_back(usage_point_of(tx, mirror, failure));
                    if (!failure)
                        return failure;
                }
                list.results = static_cast<std::uint32_t>(list.usage_points.size());
                return {};
            },
            respond);
        if (ok)
            respond(coap_replies::content(context_.sep.encode(list)));
    }

    void usage_point(const Request& request, const Responder& respond) {
        with_target(request, respond, false, [&](Transaction& tx, const Target& target) -> Result<Response> {
            Result<void> failure;
            auto point = usage_point_of(tx, target.mirror, failure);
            if (!failure)
                return failure.error();
            return coap_replies::content(context_.sep.encode(point));
        });
    }

    sep::MeterReading meter_reading_of(const store::Mirror& mirror, const store::MeterReading& reading) const {
        sep::MeterReading document;
        const std::string path = mr(mirror.id, reading.id);
        document.href = path;
        document.mrid = reading.mrid;
        document.description = reading.description;
        document.reading_link = sep::Link{path + "/r"};
        document.reading_set_list_link = sep::ListLink{path + "/rs", std::nullopt};
        document.reading_type_link = sep::Link{path + "/rt"};
        return document;
    }

    void meter_reading_list(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_target(request, respond, false, [&](Transaction& tx, const Target& target) -> Result<Response> {
            auto readings = store::meter_readings_of(tx, target.mirror.id);
            if (!readings)
                return readings.error();
            sep::MeterReadingList list;
            list.href = upt(target.mirror.id) + "/mr";
            list.all = static_cast<std::uint32_t>(readings->size());
            for (std::size_t i = query->start; i < readings->size() && list.meter_readings.size() < query->limit; ++i)
                list.meter_readings.push_back(meter_reading_of(target.mirror, (*readings)[i]));
            list.results = static_cast<std::uint32_t>(list.meter_readings.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    void meter_reading(const Request& request, const Responder& respond) {
        with_target(request, respond, true, [&](Transaction&, const Target& target) -> Result<Response> {
            return coap_replies::content(context_.sep.encode(meter_reading_of(target.mirror, *target.meter_reading)));
        });
    }

    void reading_type(const Request& request, const Responder& respond) {
        with_target(request, respond, true, [&](Transaction&, const Target& target) -> Result<Response> {
            sep::ReadingType type = target.meter_reading->reading_type;
            type.href = mr(target.mirror.id, target.meter_reading->id) + "/rt";
            type.power_of_ten_multiplier = 0;  // served values are whole Wh, whatever scale the mirror sent
            return coap_replies::content(context_.sep.encode(type));
        });
    }

    void latest_reading(const Request& request, const Responder& respond) {
        with_target(request, respond, true, [&](Transaction& tx, const Target& target) -> Result<Response> {
            auto latest = store::latest_reading(tx, *target.meter_reading);
            if (!latest)
                return latest.error();
            if (!*latest)
                return coap_replies::empty(Code::NotFound);
            sep::Reading reading = reading_of(**latest);
            reading.href = mr(target.mirror.id, target.meter_reading->id) + "/r";
            return coap_replies::content(context_.sep.encode(reading));
        });
    }

    // A ReadingSet is one local day of the territory; its mRID names the meter reading and the day.
    sep::ReadingSet reading_set_of(const Target& target, std::int32_t day, std::int64_t count) const {
        const std::string path =
            mr(target.mirror.id, target.meter_reading->id) + "/rs/" + calendar::LocalDays::format(day);
        const auto [start, end] = days_.bounds(day);
        std::array<char, 33> mrid{};
        std::snprintf(mrid.data(), mrid.size(), "%016llX%08X%08X",
                      static_cast<unsigned long long>(target.meter_reading->id), static_cast<unsigned>(day),
                      settings_.utility_pen);
        sep::ReadingSet set;
        set.href = path;
        set.mrid = mrid.data();
        set.description = "day " + calendar::LocalDays::format(day);
        set.time_period = sep::DateTimeInterval{static_cast<std::uint32_t>(end - start), start};
        set.reading_list_link = sep::ListLink{path + "/r", static_cast<std::uint32_t>(count)};
        return set;
    }

    void reading_set_list(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_target(request, respond, true, [&](Transaction& tx, const Target& target) -> Result<Response> {
            const std::int64_t id = target.meter_reading->id;
            auto total = store::count_days(tx, id);
            if (!total)
                return total.error();
            auto days = store::days_with_data(tx, id, query->start, query->limit);
            if (!days)
                return days.error();
            sep::ReadingSetList list;
            list.href = mr(target.mirror.id, id) + "/rs";
            list.all = static_cast<std::uint32_t>(*total);
            for (const auto day : *days) {
                auto count = store::count_intervals_of_day(tx, id, day);
                if (!count)
                    return count.error();
                list.reading_sets.push_back(reading_set_of(target, day, *count));
            }
            list.results = static_cast<std::uint32_t>(list.reading_sets.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    // The day of /rs/{d}: 4.04 for a date without intervals, or not a date.
    static std::optional<std::int32_t> day_of(const Request& request) {
        return request.segments.size() > 5 ? calendar::LocalDays::parse(request.segments[5]) : std::nullopt;
    }

    void reading_set(const Request& request, const Responder& respond) {
        with_target(request, respond, true, [&](Transaction& tx, const Target& target) -> Result<Response> {
            const auto day = day_of(request);
            if (!day)
                return coap_replies::empty(Code::NotFound);
            auto count = store::count_intervals_of_day(tx, target.meter_reading->id, *day);
            if (!count)
                return count.error();
            if (*count == 0)
                return coap_replies::empty(Code::NotFound);
            return coap_replies::content(context_.sep.encode(reading_set_of(target, *day, *count)));
        });
    }

    void reading_list(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_target(request, respond, true, [&](Transaction& tx, const Target& target) -> Result<Response> {
            const auto day = day_of(request);
            if (!day)
                return coap_replies::empty(Code::NotFound);
            const std::int64_t id = target.meter_reading->id;
            auto count = store::count_intervals_of_day(tx, id, *day);
            if (!count)
                return count.error();
            if (*count == 0)
                return coap_replies::empty(Code::NotFound);
            auto intervals = store::intervals_of_day(tx, id, *day, query->start, query->limit);
            if (!intervals)
                return intervals.error();
            sep::ReadingList list;
            list.href = mr(target.mirror.id, id) + "/rs/" + calendar::LocalDays::format(*day) + "/r";
            list.all = static_cast<std::uint32_t>(*count);
            for (const auto& interval : *intervals)
                list.readings.push_back(reading_of(interval));
            list.results = static_cast<std::uint32_t>(list.readings.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    headend::plugin::Context& context_;
    const calendar::LocalDays& days_;
    ViewSettings settings_;
};

}  // namespace

void add_utility_view(headend::plugin::Context& context, const calendar::LocalDays& days, ViewSettings settings) {
    std::make_shared<UtilityView>(context, days, settings)->add_routes();
}

std::vector<std::string> observed_paths(std::int64_t mirror_id, std::int64_t meter_reading_id,
                                        const std::vector<std::int32_t>& days) {
    const std::string base = mr(mirror_id, meter_reading_id);
    std::vector<std::string> paths{base + "/r", base + "/rs"};
    for (const auto day : days)
        paths.push_back(base + "/rs/" + calendar::LocalDays::format(day) + "/r");
    return paths;
}

}  // namespace intervals
