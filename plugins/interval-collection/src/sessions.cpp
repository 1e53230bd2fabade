#include "sessions.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include <limits>
#include <map>

#include "admin/json_reply.hpp"
#include "intervals/readings.hpp"

namespace intervals {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;
using nlohmann::json;

constexpr std::int64_t kListLimit = 1000;

struct Filter {
    std::optional<std::string> vin;
    std::optional<std::string> premises;
    std::optional<std::int64_t> from;  // sessions overlapping [from, to), UTC seconds
    std::optional<std::int64_t> to;
};

Result<Filter> filter_of(const std::map<std::string, std::string>& query) {
    Filter filter;
    for (const auto& [key, value] : query) {
        if (key == "vin") {
            filter.vin = value;
        } else if (key == "premises") {
            filter.premises = value;
        } else if (key == "from" || key == "to") {
            std::int64_t seconds = 0;
            const auto [end, problem] = std::from_chars(value.data(), value.data() + value.size(), seconds);
            if (value.empty() || problem != std::errc() || end != value.data() + value.size())
                return make_error("request.invalid", key + " must be UTC seconds, not '" + value + "'");
            (key == "from" ? filter.from : filter.to) = seconds;
        } else {
            return make_error("request.invalid", "unknown query parameter '" + key + "' (vin, premises, from, to)");
        }
    }
    if (filter.from && filter.to && *filter.from >= *filter.to)
        return make_error("request.invalid", "from must be before to");
    return filter;
}

Value optional_value(const std::optional<std::string>& text) {
    return text ? Value(*text) : Value();
}

json nullable_text(const headend::storage::Row& row, std::size_t i) {
    return row.is_null(i) ? json(nullptr) : json(row.text(i));
}

// Each binding (refused ones have no energy) with the energy its premises' EUMD sent for the PEV while it lasted:
// from the start of the interval in which it was requested until it ended or the PEV's next binding; open otherwise.
Result<json> list_sessions(Transaction& tx, const Filter& filter) {
    auto bindings = tx.query(
        "SELECT b.binding_id, b.lfdi, b.vin, b.premises_id, b.kind, b.status, b.requested_at, b.updated_at, "
        "b.program_id, b.payer_account, "
        "(SELECT MIN(n.requested_at) FROM pev_bindings_v1 n WHERE n.lfdi = b.lfdi AND n.binding_id > b.binding_id), "
        "(SELECT n.premises_id FROM pev_bindings_v1 n WHERE n.lfdi = b.lfdi AND n.binding_id > b.binding_id "
        "ORDER BY n.binding_id LIMIT 1), "
        "(SELECT e.interval_length FROM pev_eumd_intervals_v1 e WHERE e.premises_id = b.premises_id) "
        "FROM pev_bindings_v1 b WHERE b.status <> 'refused' AND (?1 IS NULL OR b.vin = ?1) "
        "AND (?2 IS NULL OR b.premises_id = ?2) ORDER BY b.binding_id DESC LIMIT " +
            std::to_string(kListLimit),
        std::vector<Value>{optional_value(filter.vin), optional_value(filter.premises)});
    if (!bindings)
        return bindings.error();
    json sessions = json::array();
    for (const auto& row : *bindings) {
        const BindingSpan span{row.text(3), row.text(5), row.integer(6), row.integer(7)};
        const auto interval = static_cast<std::uint32_t>(row.is_null(12) ? 900 : row.integer(12));
        const std::optional<BindingSpan> next =
            row.is_null(10) ? std::nullopt
                            : std::optional(BindingSpan{row.text(11), "", row.integer(10), row.integer(10)});
        const auto [from, end] = binding_period(span, next ? &*next : nullptr, interval);
        const bool open = end == std::numeric_limits<std::int64_t>::max();
        if ((filter.to && from >= *filter.to) || (filter.from && end <= *filter.from))
            continue;
        auto energy = tx.query(
            "SELECT COUNT(*), COALESCE(SUM(i.value_wh), 0), MIN(i.start_at), MAX(i.start_at + i.duration), "
            "COALESCE(SUM(CASE WHEN (i.quality_flags & 12) <> 0 THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN (i.vee_flags & 4) <> 0 THEN 1 ELSE 0 END), 0) "
            "FROM intervals i JOIN mirror_meter_readings m ON m.mmr_id = i.mmr_id "
            "JOIN mirror_usage_points u ON u.mup_id = m.mup_id "
            "WHERE u.device_lfdi = ? AND u.premises_id = ? AND (u.role_flags & 4) <> 0 AND i.start_at >= ? "
            "AND i.start_at < ?",
            std::vector<Value>{row.text(1), row.text(3), from, end});
        if (!energy)
            return energy.error();
        auto mismatches =
            tx.query("SELECT COUNT(*) FROM load_mismatches WHERE premises_id = ? AND start_at >= ? AND start_at < ?",
                     std::vector<Value>{row.text(3), from, end});
        if (!mismatches)
            return mismatches.error();
        const auto& totals = energy->front();
        const std::int64_t count = totals.integer(0);
        const std::int64_t estimated = totals.integer(4);
        sessions.push_back({{"binding_id", row.integer(0)},
                            {"lfdi", row.text(1)},
                            {"vin", nullable_text(row, 2)},
                            {"premises_id", row.text(3)},
                            {"kind", row.text(4)},
                            {"binding_status", row.text(5)},
                            {"program_id", row.text(8)},
                            {"payer_account", nullable_text(row, 9)},
                            {"from", from},
                            {"to", open ? json(nullptr) : json(end)},
                            {"first_interval_start", count > 0 ? json(totals.integer(2)) : json(nullptr)},
                            {"last_interval_end", count > 0 ? json(totals.integer(3)) : json(nullptr)},
                            {"energy_wh", totals.integer(1)},
                            {"intervals", count},
                            {"estimated_intervals", estimated},
                            {"load_mismatches", mismatches->front().integer(0)},
                            {"sum_check_failed_intervals", totals.integer(5)},
                            {"quality", count == 0      ? "no data"
                                        : estimated > 0 ? "estimated"
                                                        : "actual"}});
    }
    return json{{"sessions", sessions}};
}

}  // namespace

void add_session_routes(headend::plugin::Context& context) {
    context.routes.add("GET", "/api/v1/sessions",
                       [&database = context.database](const headend::http::Request& request) {
                           auto filter = filter_of(request.query);
                           if (!filter)
                               return admin_replies::error_reply(400, filter.error());
                           json answer;
                           auto read = database.read([&](Transaction& tx) -> Result<void> {
                               auto listed = list_sessions(tx, *filter);
                               if (!listed)
                                   return listed.error();
                               answer = std::move(*listed);
                               return {};
                           });
                           if (!read)
                               return admin_replies::error_reply(500, read.error());
                           return admin_replies::json_reply(200, answer);
                       });
}

}  // namespace intervals
