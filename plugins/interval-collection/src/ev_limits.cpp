#include "ev_limits.hpp"

#include "admin/json_reply.hpp"
#include "store.hpp"

namespace intervals {

namespace {

using admin_replies::error_reply;
using admin_replies::json_reply;
using headend::make_error;
using headend::Result;
using headend::http::Request;
using headend::http::Response;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kLowest = 1000;
constexpr std::int64_t kHighest = 100000;

Result<bool> premises_known(Transaction& tx, const std::string& premises_id) {
    auto rows = tx.query("SELECT 1 FROM pev_premises_v1 WHERE premises_id = ?", std::vector<Value>{premises_id});
    if (!rows)
        return rows.error();
    return !rows->empty();
}

}  // namespace

void add_ev_limit_routes(headend::plugin::Context& context, std::int64_t default_w) {
    // One handler for the three methods: read, set (PUT) or remove (DELETE), then answer the limit that applies.
    auto handle = [&context, default_w](const Request& request) -> Response {
        const std::string& premises_id = request.params.at("id");
        std::optional<std::int64_t> wanted;
        if (request.method == "PUT") {
            const auto body = nlohmann::json::parse(request.body, nullptr, false);
            if (!body.is_object() || body.size() != 1 || !body.contains("max_power_w") ||
                !body["max_power_w"].is_number_integer())
                return error_reply(400, make_error("request.invalid", "the body is {\"max_power_w\": W}"));
            wanted = body["max_power_w"].get<std::int64_t>();
            if (*wanted < kLowest || *wanted > kHighest)
                return error_reply(400, make_error("request.invalid", "max_power_w is 1000 to 100000 W"));
        }
        std::optional<std::int64_t> limit;
        bool known = false;
        auto work = [&](Transaction& tx) -> Result<void> {
            auto found = premises_known(tx, premises_id);
            if (!found)
                return found.error();
            known = *found;
            if (!known)
                return {};
            if (request.method != "GET")
                if (auto set = store::set_ev_limit(tx, premises_id, wanted, context.clock.now()); !set)
                    return set.error();
            auto current = store::ev_limit(tx, premises_id);
            if (!current)
                return current.error();
            limit = *current;
            return {};
        };
        auto done = request.method == "GET" ? context.database.read(work) : context.database.write_sync(work);
        if (!done)
            return error_reply(503, done.error());
        if (!known)
            return error_reply(404, make_error("premises.unknown", "no premises " + premises_id));
        if (request.method != "GET")
            context.logger.info("INTERVAL_EV_LIMIT", "premises " + premises_id + ": EV circuit limit " +
                                                         std::to_string(limit.value_or(default_w)) + " W");
        return json_reply(200, {{"premises_id", premises_id},
                                {"max_power_w", limit.value_or(default_w)},
                                {"configured", limit.has_value()}});
    };
    for (const char* method : {"GET", "PUT", "DELETE"})
        context.routes.add(method, "/api/v1/premises/{id}/ev-limit", handle);
}

}  // namespace intervals
