#include "intervals/service.hpp"

#include <algorithm>
#include <charconv>

#include "admin/json_reply.hpp"
#include "ami_import.hpp"
#include "coap/replies.hpp"
#include "correlation.hpp"
#include "ev_limits.hpp"
#include "headend/plugin/list_query.hpp"
#include "sessions.hpp"
#include "store.hpp"
#include "sum_check.hpp"
#include "utility_view.hpp"
#include "vee.hpp"

namespace intervals {

namespace {

using coap_replies::forbidden;
using coap_replies::xml_body;
using headend::make_error;
using headend::Result;
using headend::coap::Code;
using headend::coap::DeviceType;
using headend::coap::Request;
using headend::coap::Responder;
using headend::coap::Response;
using headend::storage::Transaction;
using headend::storage::Value;

// Error codes a unit of work returns to refuse a request; anything else is the storage failing.
constexpr const char* kRefused = "reading.refused";     // 4.00 with the reason
constexpr const char* kForbidden = "mirror.forbidden";  // 4.03, the same whether the target exists or not

// The owner of the AMI's mirrors: no device (device ids start at 1).
constexpr std::int64_t kAmiOwner = 0;

std::optional<std::int64_t> mirror_param(const Request& request) {
    return coap_replies::id_segment(request, 1);
}

// Only a registered EUMD or ESCI with a premises mirrors anything.
bool may_mirror(const headend::coap::Peer& peer) {
    return peer.device_id && peer.premises_id &&
           (peer.device_type == DeviceType::Eumd || peer.device_type == DeviceType::Esci);
}

// A ReadingType as the head-end keeps it: the fields it stores, the scale made explicit, no interval for a register.
sep::ReadingType stored_form(const sep::ReadingType& type) {
    sep::ReadingType kept;
    kept.accumulation_behaviour = type.accumulation_behaviour;
    kept.commodity = type.commodity;
    kept.data_qualifier = type.data_qualifier;
    kept.flow_direction = type.flow_direction;
    if (!is_register_type(type))
        kept.interval_length = type.interval_length;
    kept.kind = type.kind;
    kept.phase = type.phase;
    kept.power_of_ten_multiplier = type.power_of_ten_multiplier.value_or(0);
    kept.uom = type.uom;
    return kept;
}

bool has(std::uint16_t flags, std::uint16_t bits) {
    return (flags & bits) == bits;
}

// What each device may mirror: an EUMD the PEVs it meters, an ESCI the premises total.
bool role_allowed(DeviceType type, std::uint16_t flags) {
    if (!has(flags, sep::kRoleIsMirror))
        return false;
    if (type == DeviceType::Eumd)
        return has(flags, sep::kRoleIsPev | sep::kRoleIsSubmeter) && !has(flags, sep::kRoleIsPremisesAggregationPoint);
    return has(flags, sep::kRoleIsPremisesAggregationPoint) && !has(flags, sep::kRoleIsPev);
}

// Who sends readings: a device over the HAN (an EUMD's interval is the one configured for it) or the AMI's file.
struct Sender {
    bool eumd = false;
    std::string source;  // "device" or "file", stored with each interval
};

Sender sender_of(const headend::coap::Peer& peer) {
    return {peer.device_type == DeviceType::Eumd, "device"};
}

std::string reading_location(std::int64_t mirror_id, std::optional<std::int64_t> meter_reading_id) {
    std::string path = "/upt/" + std::to_string(mirror_id) + "/mr";
    if (meter_reading_id)
        path += "/" + std::to_string(*meter_reading_id);
    return path;
}

}  // namespace

struct MirrorService::Impl : std::enable_shared_from_this<MirrorService::Impl> {
    Impl(headend::plugin::Context& context_in, IntervalSettings settings_in)
        : context(context_in), settings(settings_in), days(context_in.territory_time_zone) {}

    headend::plugin::Context& context;
    IntervalSettings settings;
    calendar::LocalDays days;

    IngestLimits limits() const {
        return IngestLimits{context.clock.now(), settings.future_skew_s, settings.backfill_days * 86400};
    }

    // Runs `work` in one write and answers after its commit: its response, 4.00 or 4.03 for a refusal (nothing
    // stored), 5.03 when storage fails (the device tries again later; nothing was acknowledged).
    // `work` also names the paths whose observers are told once the change is committed.
    using Work = std::function<Result<Response>(Transaction&, std::vector<std::string>& changed)>;
    void write_then_answer(Work work, Responder respond) {
        auto response = std::make_shared<Response>();
        auto changed = std::make_shared<std::vector<std::string>>();
        context.database.write(
            [work = std::move(work), response, changed](Transaction& tx) -> Result<void> {
                auto done = work(tx, *changed);
                if (!done)
                    return done.error();
                *response = std::move(*done);
                return {};
            },
            [self = shared_from_this(), response, changed, respond](Result<void> committed) {
                if (committed) {
                    // Observers are told before the writer hears back, so what the writer does next (observe too,
                    // say) comes after the notifications of its own change.
                    for (const auto& path : *changed)
                        self->context.resources.notify(path);
                    respond(std::move(*response));
                    return;
                }
                const auto& error = committed.error();
                if (error.code == kRefused) {
                    self->context.logger.info("INTERVAL_REFUSED", error.message);
                    respond(coap_replies::reason(Code::BadRequest, error.message));
                } else if (error.code == kForbidden) {
                    respond(forbidden());
                } else {
                    self->context.logger.error("INTERVAL_STORAGE", error.code + ": " + error.message);
                    respond(coap_replies::empty(Code::ServiceUnavailable));
                }
            });
    }

    // The interval an EUMD at `premises_id` is configured for (pev-binding's view).
    Result<std::optional<std::uint32_t>> configured_interval(Transaction& tx, const std::string& premises_id) {
        auto rows = tx.query("SELECT interval_length FROM pev_eumd_intervals_v1 WHERE premises_id = ?",
                             std::vector<Value>{premises_id});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return std::optional<std::uint32_t>();
        return std::optional(static_cast<std::uint32_t>(rows->front().integer(0)));
    }

    // The mirror's reading `document` names: the stored one (whose type it may repeat but not change) or a new one
    // made from its ReadingType. Then its readings, stored once each.
    Result<store::MeterReading> meter_reading(Transaction& tx, const store::Mirror& mirror, const Sender& sender,
                                              const sep::MirrorMeterReading& document) {
        auto found = store::meter_reading(tx, mirror.id, document.mrid);
        if (!found)
            return found.error();
        std::optional<std::uint32_t> expected;
        if (sender.eumd) {
            auto configured = configured_interval(tx, mirror.premises_id);
            if (!configured)
                return configured.error();
            expected = *configured;
        }
        if (*found) {
            if (document.reading_type && stored_form(*document.reading_type) != (*found)->reading_type)
                return make_error(kRefused, "the reading type of meter reading " + document.mrid +
                                                " cannot change; a new reading type needs a new mRID");
            return std::move(**found);
        }
        if (!document.reading_type)
            return make_error(kRefused,
                              "meter reading " + document.mrid + " is new to this mirror and has no ReadingType");
        auto type = is_register_type(*document.reading_type) ? register_type(*document.reading_type)
                                                             : interval_type(*document.reading_type, expected);
        if (!type)
            return type.error();
        if (auto fits = check_new_meter_reading(tx, mirror.id, *type); !fits)
            return fits.error();
        store::MeterReading reading;
        reading.mirror_id = mirror.id;
        reading.mrid = document.mrid;
        reading.description = document.description;
        reading.reading_type = stored_form(*document.reading_type);
        reading.type = *type;
        auto id = store::insert_meter_reading(tx, reading, context.clock.now());
        if (!id)
            return id.error();
        reading.id = *id;
        return reading;
    }

    // The periods the EUMD at the mirror's premises measured its PEV (pev-binding's view of its bindings).
    Result<std::vector<Period>> pev_periods(Transaction& tx, const store::Mirror& mirror, std::uint32_t interval) {
        auto rows = tx.query(
            "SELECT premises_id, status, requested_at, updated_at FROM pev_bindings_v1 WHERE lfdi = ? "
            "ORDER BY requested_at, binding_id",
            std::vector<Value>{mirror.document.device_lfdi});
        if (!rows)
            return rows.error();
        std::vector<BindingSpan> spans;
        for (const auto& row : *rows)
            spans.push_back({row.text(0), row.text(1), row.integer(2), row.integer(3)});
        return metered_periods(spans, mirror.premises_id, interval);
    }

    // A mirror measures one circuit: its energy for a stretch of time is in one meter reading, never in two (a second
    // reading type for the same time would count the energy twice).
    Result<void> one_series(Transaction& tx, const store::Mirror& mirror, const store::MeterReading& reading,
                            const std::vector<IntervalReading>& readings) {
        if (readings.empty())
            return {};
        const std::int64_t low = readings.front().start;
        const std::int64_t high = readings.back().start + readings.back().duration;
        auto others = tx.query(
            "SELECT i.start_at, i.duration FROM intervals i JOIN mirror_meter_readings m ON m.mmr_id = i.mmr_id "
            "WHERE m.mup_id = ? AND m.mmr_id <> ? AND i.start_at < ? AND i.start_at > ? "
            "AND i.start_at + i.duration > ?",
            std::vector<Value>{mirror.id, reading.id, high, low - kLongestInterval, low});
        if (!others)
            return others.error();
        for (const auto& row : *others) {
            const std::int64_t start = row.integer(0);
            const std::int64_t end = start + row.integer(1);
            for (const auto& one : readings) {
                if (one.start < end && one.start + one.duration > start)
                    return make_error(kRefused, "the interval starting at " + std::to_string(one.start) +
                                                    " is already measured by another meter reading of this mirror");
            }
        }
        return {};
    }

    // Clock check: a device's lastUpdateTime far from the head-end's clock means its clock is off (its interval
    // stamps may be too); one alarm per device until an operator clears it. The readings themselves were checked.
    Result<void> check_clock(Transaction& tx, const store::Mirror& mirror, const sep::MirrorMeterReading& document) {
        if (!document.last_update_time || mirror.owner_device_id == kAmiOwner)
            return {};
        const std::int64_t off = *document.last_update_time - context.clock.now();
        if (off <= settings.future_skew_s && off >= -settings.future_skew_s)
            return {};
        auto raised = context.alarms.raise(
            tx, {.kind = "device_clock",
                 .detail = "device " + std::to_string(mirror.owner_device_id) + " (mirror " + mirror.document.mrid +
                           ") reports lastUpdateTime " + std::to_string(*document.last_update_time) + ", " +
                           std::to_string(off) + " s from the head-end's clock",
                 .key = "clock:" + std::to_string(mirror.owner_device_id),
                 .vin = std::nullopt,
                 .lfdi = mirror.document.device_lfdi,
                 .premises_id = mirror.premises_id,
                 .at = context.clock.now()});
        if (!raised)
            return raised.error();
        return {};
    }

    // A register's totals: stored once per instant, then the spans they close are sum-checked.
    Result<void> store_registers(Transaction& tx, const store::Mirror& mirror, const Sender& sender,
                                 const sep::MirrorMeterReading& document, const store::MeterReading& reading,
                                 store::Applied& total, std::vector<std::string>& changed) {
        auto readings = register_readings(document, reading.type, limits());
        if (!readings)
            return readings.error();
        if (auto checked = check_clock(tx, mirror, document); !checked)
            return checked.error();
        if (auto on_grid = check_register_grid(tx, mirror.id, *readings); !on_grid)
            return on_grid.error();
        auto applied =
            apply_registers(tx, context.alarms, {mirror, reading, sender.source, context.clock.now(), days}, *readings);
        if (!applied)
            return applied.error();
        total.registers += applied->stored;
        total.unchanged += applied->unchanged;
        total.conflicts += applied->conflicts;
        if (applied->stored == 0)
            return {};
        auto failed = check_sums(tx, context.alarms, mirror, readings->front().at, readings->back().at,
                                 SumCheckSettings{settings.sum_tolerance_wh}, context.clock.now());
        if (!failed)
            return failed.error();
        total.sum_check_failures += *failed;
        for (auto& path : observed_paths(mirror.id, reading.id, {}))
            changed.push_back(std::move(path));
        return {};
    }

    Result<std::int64_t> store_readings(Transaction& tx, const store::Mirror& mirror, const Sender& sender,
                                        const sep::MirrorMeterReading& document, store::Applied& total,
                                        std::vector<std::string>& changed) {
        auto reading = meter_reading(tx, mirror, sender, document);
        if (!reading)
            return reading.error();
        if (reading->type.is_register()) {
            if (auto stored = store_registers(tx, mirror, sender, document, *reading, total, changed); !stored)
                return stored.error();
            return reading->id;
        }
        auto readings = interval_readings(document, reading->type, limits());
        if (!readings)
            return readings.error();
        if (auto checked = check_clock(tx, mirror, document); !checked)
            return checked.error();
        if (auto single = one_series(tx, mirror, *reading, *readings); !single)
            return single.error();
        const bool pev_mirror = (mirror.document.role_flags & sep::kRoleIsPev) != 0;
        std::vector<Period> periods;
        if (pev_mirror) {
            auto found = pev_periods(tx, mirror, reading->type.interval_length);
            if (!found)
                return found.error();
            periods = std::move(*found);
            if (auto inside = check_periods(*readings, periods); !inside)
                return inside.error();
        }
        auto applied =
            store::apply(tx, context.alarms, {mirror, *reading, sender.source, context.clock.now(), days}, *readings);
        if (!applied)
            return applied.error();
        if (applied->stored + applied->replaced > 0) {
            VeeSettings vee_settings = settings.vee;
            if (pev_mirror) {
                auto limit = store::ev_limit(tx, mirror.premises_id);
                if (!limit)
                    return limit.error();
                vee_settings.max_power_w = limit->value_or(vee_settings.max_power_w);
            }
            auto vee = validate_and_estimate(tx, reading->id, reading->type.interval_length, *readings, pev_mirror,
                                             periods, vee_settings, days, context.clock.now());
            if (!vee)
                return vee.error();
            total.spikes += vee->spikes;
            total.estimated += vee->estimated;
            std::vector<Touched> changed_intervals;
            for (const auto& one : *readings)
                changed_intervals.push_back({one.start, one.duration});
            auto correlated = correlate(tx, context.alarms, mirror.premises_id, changed_intervals,
                                        {settings.tolerance_percent, settings.tolerance_wh}, context.clock.now());
            if (!correlated)
                return correlated.error();
            auto failed = check_sums(tx, context.alarms, mirror, readings->front().start,
                                     readings->back().start + readings->back().duration,
                                     SumCheckSettings{settings.sum_tolerance_wh}, context.clock.now());
            if (!failed)
                return failed.error();
            total.sum_check_failures += *failed;
            if (*correlated > 0)
                context.logger.warn("INTERVAL_LOAD_MISMATCH", "premises " + mirror.premises_id + ": " +
                                                                  std::to_string(*correlated) +
                                                                  " intervals where PEVs took more than the meter saw");
            std::vector<std::int32_t> touched;
            for (const auto& one : *readings) {
                const auto day = days.day_of(one.start);
                if (touched.empty() || touched.back() != day)
                    touched.push_back(day);
            }
            for (auto& path : observed_paths(mirror.id, reading->id, touched))
                changed.push_back(std::move(path));
        }
        total.stored += applied->stored;
        total.unchanged += applied->unchanged;
        total.replaced += applied->replaced;
        total.conflicts += applied->conflicts;
        return reading->id;
    }

    void log_applied(const store::Mirror& mirror, const store::Applied& applied) {
        const std::string summary =
            "mirror " + std::to_string(mirror.id) + " (" + mirror.document.device_lfdi +
            "): " + std::to_string(applied.stored) + " stored, " + std::to_string(applied.unchanged) + " unchanged, " +
            std::to_string(applied.replaced) + " estimates replaced, " + std::to_string(applied.conflicts) +
            " conflicts, " + std::to_string(applied.estimated) + " gap intervals estimated, " +
            std::to_string(applied.spikes) + " above the power limit, " + std::to_string(applied.registers) +
            " register readings, " + std::to_string(applied.sum_check_failures) + " spans failing the sum check";
        if (applied.conflicts > 0 || applied.sum_check_failures > 0)
            context.logger.warn("INTERVAL_CONFLICT", summary);
        else
            context.logger.debug("INTERVAL_STORED", summary);
    }

    void post_mirror(const Request& request, const Responder& respond) {
        if (!may_mirror(request.peer)) {
            respond(forbidden());
            return;
        }
        if (!xml_body(request)) {
            respond(coap_replies::empty(Code::UnsupportedContentFormat));
            return;
        }
        auto document = context.sep.decode<sep::MirrorUsagePoint>(request.body);
        if (!document) {
            respond(coap_replies::reason(Code::BadRequest, document.error().message));
            return;
        }
        if (!role_allowed(*request.peer.device_type, document->role_flags)) {
            respond(forbidden());
            return;
        }
        // A premises meter's LFDI is the ESCI's word: it may not be a PEV's or another premises' device.
        if (request.peer.device_type == DeviceType::Esci) {
            const auto named = context.devices.find_lfdi(document->device_lfdi);
            if (named && (named->type == DeviceType::Pev || named->premises_id != request.peer.premises_id)) {
                respond(forbidden());
                return;
            }
        }
        write_then_answer(
            [self = shared_from_this(), peer = request.peer, document = std::move(*document)](
                Transaction& tx, std::vector<std::string>& changed) -> Result<Response> {
                return self->create_mirror(tx, peer, document, changed);
            },
            respond);
    }

    Result<Response> create_mirror(Transaction& tx, const headend::coap::Peer& peer,
                                   const sep::MirrorUsagePoint& document, std::vector<std::string>& changed) {
        if (document.service_category_kind != 0)
            return make_error(kRefused, "serviceCategoryKind must be 0 (electricity)");
        auto existing = store::mirror_by_mrid(tx, *peer.device_id, document.mrid);
        if (!existing)
            return existing.error();
        std::optional<store::Mirror> mirror = std::move(*existing);
        const bool created = !mirror;
        if (mirror) {
            if (mirror->document.device_lfdi != document.device_lfdi ||
                mirror->document.role_flags != document.role_flags)
                return make_error(kRefused, "mirror " + document.mrid +
                                                " exists with another deviceLFDI or roleFlags; a new one needs a new "
                                                "mRID");
        } else {
            if (peer.device_type == DeviceType::Eumd) {
                auto bound = tx.query(
                    "SELECT 1 FROM pev_bindings_v1 WHERE lfdi = ? AND premises_id = ? AND status <> 'refused' "
                    "LIMIT 1",
                    std::vector<Value>{document.device_lfdi, *peer.premises_id});
                if (!bound)
                    return bound.error();
                if (bound->empty())
                    return make_error(kForbidden, "");
            }
            if ((document.role_flags & sep::kRoleIsPremisesAggregationPoint) != 0)
                if (auto source = premises_meter_source(tx, *peer.premises_id, false); !source)
                    return source.error();
            store::Mirror fresh;
            fresh.owner_device_id = *peer.device_id;
            fresh.premises_id = *peer.premises_id;
            fresh.document = document;
            fresh.document.mirror_meter_readings.clear();
            fresh.created_at = context.clock.now();
            auto id = store::insert_mirror(tx, fresh);
            if (!id)
                return id.error();
            fresh.id = *id;
            mirror = std::move(fresh);
        }
        store::Applied applied;
        auto readings = merge_by_mrid(document.mirror_meter_readings);
        if (!readings)
            return readings.error();
        for (const auto& reading : *readings) {
            if (auto stored = store_readings(tx, *mirror, sender_of(peer), reading, applied, changed); !stored)
                return stored.error();
        }
        if (created)
            context.logger.info("MIRROR_CREATED", "mirror " + std::to_string(mirror->id) + " " + document.mrid +
                                                      " of " + document.device_lfdi + " at premises " +
                                                      mirror->premises_id);
        log_applied(*mirror, applied);
        const std::string location = "/mup/" + std::to_string(mirror->id);
        return coap_replies::reason(created ? Code::Created : Code::Changed, {}, location);
    }

    void post_readings(const Request& request, const Responder& respond) {
        const auto id = mirror_param(request);
        if (!id || !may_mirror(request.peer)) {
            respond(forbidden());
            return;
        }
        if (!xml_body(request)) {
            respond(coap_replies::empty(Code::UnsupportedContentFormat));
            return;
        }
        // A MirrorMeterReadingList or one MirrorMeterReading.
        std::vector<sep::MirrorMeterReading> readings;
        bool list = true;
        auto many = context.sep.decode<sep::MirrorMeterReadingList>(request.body);
        if (many) {
            readings = std::move(many->mirror_meter_readings);
        } else if (many.error().code == "xml.unexpected_root") {
            auto one = context.sep.decode<sep::MirrorMeterReading>(request.body);
            if (!one) {
                respond(coap_replies::reason(Code::BadRequest, one.error().message));
                return;
            }
            readings.push_back(std::move(*one));
            list = false;
        } else {
            respond(coap_replies::reason(Code::BadRequest, many.error().message));
            return;
        }
        write_then_answer(
            [self = shared_from_this(), peer = request.peer, mirror_id = *id, readings = std::move(readings), list](
                Transaction& tx, std::vector<std::string>& changed) -> Result<Response> {
                auto mirror = store::mirror_by_id(tx, mirror_id);
                if (!mirror)
                    return mirror.error();
                if (!*mirror || (*mirror)->owner_device_id != *peer.device_id)
                    return make_error(kForbidden, "");
                auto merged = merge_by_mrid(readings);
                if (!merged)
                    return merged.error();
                store::Applied applied;
                std::optional<std::int64_t> last;
                for (const auto& reading : *merged) {
                    auto stored = self->store_readings(tx, **mirror, sender_of(peer), reading, applied, changed);
                    if (!stored)
                        return stored.error();
                    last = *stored;
                }
                self->log_applied(**mirror, applied);
                return coap_replies::reason(Code::Created, {}, reading_location(mirror_id, list ? std::nullopt : last));
            },
            respond);
    }

    // ---- The AMI's premises meter data (CMEP), all or nothing: every bad line is reported and nothing is stored.

    struct ImportOutcome {
        std::size_t records = 0;
        store::Applied applied;
        std::vector<LineError> errors;
    };

    Result<ImportOutcome> import_ami(std::string_view text, bool local_time) {
        ImportOutcome outcome;
        const AmiFile file = parse_ami_file(text, local_time ? &days : nullptr);
        std::vector<std::string> changed;
        // Each record in an attempt of its own, so every refused line is found, not just the first; the well-formed
        // records are tried even when others did not parse, so the operator sees every bad line at once, and then
        // rolled back.
        auto committed = context.database.write_sync([&](Transaction& tx) -> Result<void> {
            outcome.applied = {};
            outcome.errors.clear();
            changed.clear();
            for (const auto& record : file.records) {
                auto stored = tx.attempt([&](Transaction& inner) -> Result<void> {
                    return import_record(inner, record, outcome.applied, changed);
                });
                if (!stored && stored.error().code != kRefused)
                    return stored.error();
                if (!stored)
                    outcome.errors.push_back({record.line, stored.error().message});
            }
            if (!outcome.errors.empty() || !file.errors.empty())
                return make_error(kRefused, "the file has refused lines");
            return {};
        });
        if (!file.errors.empty()) {
            outcome.errors.insert(outcome.errors.end(), file.errors.begin(), file.errors.end());
            std::sort(outcome.errors.begin(), outcome.errors.end(),
                      [](const LineError& a, const LineError& b) { return a.line < b.line; });
        }
        if (!committed && !(committed.error().code == kRefused && !outcome.errors.empty()))
            return committed.error();
        if (committed) {
            for (const auto& path : changed)
                context.resources.notify(path);
            outcome.records = file.records.size();
        }
        return outcome;
    }

    // A premises meter's energy comes from one source, the AMI's file or the ESCI's mirror, never both: the two would
    // hold the same energy twice. Refuses (4.00 / a refused line) when the other source already has a mirror there.
    Result<void> premises_meter_source(Transaction& tx, const std::string& premises_id, bool from_ami) {
        auto rows = tx.query(
            std::string("SELECT mup_id FROM mirror_usage_points WHERE premises_id = ? AND (role_flags & ?) <> 0 AND ") +
                (from_ami ? "owner_device_id <> ?" : "owner_device_id = ?") + " LIMIT 1",
            std::vector<Value>{premises_id, static_cast<std::int64_t>(sep::kRoleIsPremisesAggregationPoint),
                               kAmiOwner});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return {};
        return make_error(kRefused, from_ami ? "premises " + premises_id +
                                                   "'s meter is mirrored by its ESCI; AMI data would count its "
                                                   "energy twice"
                                             : "premises " + premises_id +
                                                   "'s meter data comes from the AMI; a mirror would count its "
                                                   "energy twice");
    }

    // The AMI's mirror of a premises meter: no device owns it (owner 0), its mRIDs come from the MeterID.
    Result<void> import_record(Transaction& tx, const AmiRecord& record, store::Applied& applied,
                               std::vector<std::string>& changed) {
        if (record.reading.mirror_reading_sets.empty())
            return {};  // only "not available" values: nothing to store, no mirror to make
        auto premises =
            tx.query("SELECT 1 FROM pev_premises_v1 WHERE premises_id = ?", std::vector<Value>{record.meter_id});
        if (!premises)
            return premises.error();
        if (premises->empty())
            return make_error(kRefused, "MeterID " + record.meter_id + " is no premises of the CIS");
        if (auto other = premises_meter_source(tx, record.meter_id, true); !other)
            return other.error();
        const std::string mrid = ami_mrid(record.meter_id, "usage-point", settings.utility_pen);
        auto existing = store::mirror_by_mrid(tx, kAmiOwner, mrid);
        if (!existing)
            return existing.error();
        store::Mirror mirror;
        if (*existing) {
            mirror = std::move(**existing);
        } else {
            mirror.owner_device_id = kAmiOwner;
            mirror.premises_id = record.meter_id;
            mirror.document.mrid = mrid;
            mirror.document.description = "AMI meter " + record.meter_id;
            mirror.document.role_flags = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;
            mirror.document.status = 1;
            mirror.created_at = context.clock.now();
            auto id = store::insert_mirror(tx, mirror);
            if (!id)
                return id.error();
            mirror.id = *id;
            context.logger.info("MIRROR_CREATED", "mirror " + std::to_string(mirror.id) + " of AMI meter " +
                                                      record.meter_id + " at premises " + mirror.premises_id);
        }
        auto reading = record.reading;
        reading.mrid = ami_mrid(record.meter_id, "kwh-" + std::to_string(*reading.reading_type->interval_length),
                                settings.utility_pen);
        auto stored = store_readings(tx, mirror, Sender{false, "file"}, reading, applied, changed);
        if (!stored)
            return make_error(stored.error().code, "MeterID " + record.meter_id + ": " + stored.error().message);
        return {};
    }

    void get_mirrors(const Request& request, const Responder& respond) {
        if (!may_mirror(request.peer)) {
            respond(forbidden());
            return;
        }
        auto query = headend::coap::parse_list_query(request.query, settings.max_list_limit);
        if (!query) {
            respond(coap_replies::reason(Code::BadRequest, query.error().message));
            return;
        }
        sep::MirrorUsagePointList list;
        list.href = "/mup";
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto count = store::count_mirrors_of(tx, *request.peer.device_id);
            if (!count)
                return count.error();
            auto mirrors = store::mirrors_of(tx, *request.peer.device_id, query->start, query->limit);
            if (!mirrors)
                return mirrors.error();
            list.all = static_cast<std::uint32_t>(*count);
            for (auto& mirror : *mirrors)
                list.mirror_usage_points.push_back(std::move(mirror.document));
            list.results = static_cast<std::uint32_t>(list.mirror_usage_points.size());
            return {};
        });
        if (!read) {
            respond(coap_replies::empty(Code::ServiceUnavailable));
            return;
        }
        respond(coap_replies::content(context.sep.encode(list)));
    }

    void get_mirror(const Request& request, const Responder& respond) {
        const auto id = mirror_param(request);
        if (!id || !may_mirror(request.peer)) {
            respond(forbidden());
            return;
        }
        std::optional<store::Mirror> mirror;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = store::mirror_by_id(tx, *id);
            if (!found)
                return found.error();
            mirror = std::move(*found);
            return {};
        });
        if (!read) {
            respond(coap_replies::empty(Code::ServiceUnavailable));
            return;
        }
        if (!mirror || mirror->owner_device_id != *request.peer.device_id) {
            respond(forbidden());
            return;
        }
        // First-level elements only (2030.5 §10.11.3): the readings are read under /upt.
        respond(coap_replies::content(context.sep.encode(mirror->document)));
    }
};

std::vector<headend::storage::Migration> interval_migrations() {
    return store::migrations();
}

MirrorService::MirrorService(headend::plugin::Context& context, IntervalSettings settings)
    : impl_(std::make_shared<Impl>(context, settings)) {}

Result<void> MirrorService::start() {
    auto& context = impl_->context;
    auto views = context.database.read([](Transaction& tx) -> Result<void> {
        for (const char* view : {"pev_bindings_v1", "pev_eumd_intervals_v1", "pev_premises_v1"}) {
            if (auto probe = tx.query(std::string("SELECT 1 FROM ") + view + " LIMIT 0"); !probe)
                return make_error(
                    "plugin.dependency",
                    std::string("interval-collection needs the pev-binding plugin loaded before it (no ") + view + ")");
        }
        return {};
    });
    if (!views)
        return views;
    add_utility_view(context, impl_->days, {impl_->settings.max_list_limit, impl_->settings.utility_pen});
    add_session_routes(context);
    add_ev_limit_routes(context, impl_->settings.vee.max_power_w);
    auto self = impl_;
    // POST /api/v1/intervals/import[?time=utc|local]: a CMEP MEPMD01 file of premises meter data from the AMI.
    context.routes.add("POST", "/api/v1/intervals/import", [self](const headend::http::Request& request) {
        bool local_time = false;
        for (const auto& [key, value] : request.query) {
            if (key != "time" || (value != "utc" && value != "local"))
                return admin_replies::error_reply(
                    400, make_error("request.invalid", "the only query parameter is time=utc|local"));
            local_time = value == "local";
        }
        auto outcome = self->import_ami(request.body, local_time);
        if (!outcome) {
            self->context.logger.error("INTERVAL_STORAGE", outcome.error().code + ": " + outcome.error().message);
            return admin_replies::error_reply(503, outcome.error());
        }
        if (!outcome->errors.empty()) {
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& error : outcome->errors)
                rows.push_back({{"line", error.line}, {"reason", error.reason}});
            const std::string message = std::to_string(outcome->errors.size()) + " bad line(s); nothing was imported";
            self->context.logger.info("INTERVAL_IMPORT_REFUSED", message);
            return admin_replies::json_reply(
                400, {{"error", {{"code", "cmep.invalid"}, {"message", message}}}, {"rows", rows}});
        }
        const auto& applied = outcome->applied;
        self->context.logger.info("INTERVAL_IMPORTED", std::to_string(outcome->records) +
                                                           " records: " + std::to_string(applied.stored) + " stored, " +
                                                           std::to_string(applied.unchanged) + " unchanged");
        return admin_replies::json_reply(200, {{"records", outcome->records},
                                               {"stored", applied.stored},
                                               {"unchanged", applied.unchanged},
                                               {"replaced", applied.replaced},
                                               {"conflicts", applied.conflicts},
                                               {"estimated", applied.estimated}});
    });
    context.resources.add("/mup", [self](const Request& request, Responder respond) {
        if (request.method == headend::coap::Method::Post)
            self->post_mirror(request, respond);
        else if (request.method == headend::coap::Method::Get)
            self->get_mirrors(request, respond);
        else
            respond(coap_replies::empty(Code::MethodNotAllowed));
    });
    context.resources.add("/mup/{k}", [self](const Request& request, Responder respond) {
        if (request.method == headend::coap::Method::Post)
            self->post_readings(request, respond);
        else if (request.method == headend::coap::Method::Get)
            self->get_mirror(request, respond);
        else
            respond(coap_replies::empty(Code::MethodNotAllowed));
    });
    return {};
}

}  // namespace intervals
