#include "bill_routes.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

#include "admin/json_reply.hpp"
#include "ledger.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;
using nlohmann::json;

constexpr std::int64_t kListLimit = 1000;

int status_of(const headend::Error& error) {
    if (error.code == "request.invalid")
        return 400;
    if (error.code == "billing.unknown_account" || error.code == "billing.not_found")
        return 404;
    if (error.code == "billing.month" || error.code == "billing.no_address")
        return 409;
    return 500;
}

Result<RunRequest> run_request_of(const std::string& body) {
    const json document = json::parse(body, nullptr, false);
    if (!document.is_object())
        return make_error("request.invalid", "the body must be a JSON object: {\"month\": \"YYYY-MM\"}");
    RunRequest request;
    for (const auto& [key, value] : document.items()) {
        if (key == "month" && value.is_string()) {
            auto month = Month::parse(value.get<std::string>());
            if (!month)
                return make_error("request.invalid", "month must be YYYY-MM, not '" + value.get<std::string>() + "'");
            request.month = *month;
        } else if (key == "account" && value.is_string() && !value.get<std::string>().empty()) {
            request.account = value.get<std::string>();
        } else {
            return make_error("request.invalid", "unexpected or mistyped field '" + key + "' (month, account)");
        }
    }
    if (!document.contains("month"))
        return make_error("request.invalid", "month is required: {\"month\": \"YYYY-MM\"}");
    return request;
}

json nullable(const headend::storage::Row& row, std::size_t i) {
    if (row.is_null(i))
        return nullptr;
    return std::holds_alternative<std::int64_t>(row[i]) ? json(row.integer(i)) : json(row.text(i));
}

// The bill's header with where its delivery stands.
Result<json> bill_summary(Transaction& tx, const IssuedBill& bill) {
    auto delivery = tx.query(
        "SELECT filed_at, mail_state, mail_to, attempts, next_attempt_at, last_error, sent_at FROM bill_deliveries "
        "WHERE bill_id = ?",
        std::vector<Value>{bill.bill_id});
    if (!delivery)
        return delivery.error();
    json mail = nullptr;
    json filed_at = nullptr;
    if (!delivery->empty()) {
        const auto& row = delivery->front();
        filed_at = nullable(row, 0);
        mail = {{"state", row.text(1)},           {"to", nullable(row, 2)},
                {"attempts", row.integer(3)},     {"next_attempt_at", row.integer(4)},
                {"last_error", nullable(row, 5)}, {"sent_at", nullable(row, 6)}};
    }
    return json{{"bill_id", bill.bill_id},
                {"account_id", bill.account_id},
                {"month", bill.month},
                {"customer_name", bill.customer_name},
                {"email", bill.email ? json(*bill.email) : json(nullptr)},
                {"currency", bill.currency},
                {"total", format_money(bill.total)},
                {"issued_at", bill.issued_at},
                {"filed_at", filed_at},
                {"mail", mail}};
}

Result<std::int64_t> bill_id_of(const std::string& text) {
    std::int64_t id = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (problem != std::errc() || end != text.data() + text.size() || id < 1)
        return make_error("billing.not_found", "no bill '" + text + "'");
    return id;
}

}  // namespace

void add_bill_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database, BillCycle& cycle,
                     Worker& worker, const std::filesystem::path& folder, const std::string& time_zone,
                     const headend::plugin::Clock& clock) {
    routes.add("POST", "/api/v1/bills/run", [&cycle](const headend::http::Request& request) {
        auto wanted = run_request_of(request.body);
        if (!wanted)
            return admin_replies::error_reply(400, wanted.error());
        auto summary = cycle.run(*wanted);
        if (!summary)
            return admin_replies::error_reply(status_of(summary.error()), summary.error());
        json refused = json::array();
        for (const auto& [account, reason] : summary->refused)
            refused.push_back({{"account_id", account}, {"reason", reason}});
        return admin_replies::json_reply(200, {{"month", wanted->month.text()},
                                               {"issued", summary->issued},
                                               {"already_issued", summary->already_issued},
                                               {"adjustments", summary->adjustments},
                                               {"refused", refused},
                                               {"bill_ids", summary->bill_ids}});
    });

    routes.add("GET", "/api/v1/bills", [&database](const headend::http::Request& request) {
        std::optional<std::string> month;
        std::optional<std::string> account;
        for (const auto& [key, value] : request.query) {
            if (key == "month" && Month::parse(value))
                month = value;
            else if (key == "account")
                account = value;
            else
                return admin_replies::error_reply(
                    400,
                    make_error("request.invalid", "query: month=YYYY-MM, account=ID; not '" + key + "=" + value + "'"));
        }
        json bills = json::array();
        auto read = database.read([&](Transaction& tx) -> Result<void> {
            auto rows = tx.query(
                "SELECT bill_id FROM bills WHERE (?1 IS NULL OR month = ?1) AND (?2 IS NULL OR account_id = ?2) "
                "ORDER BY month DESC, account_id LIMIT " +
                    std::to_string(kListLimit),
                std::vector<Value>{month ? Value(*month) : Value(), account ? Value(*account) : Value()});
            if (!rows)
                return rows.error();
            for (const auto& row : *rows) {
                auto bill = find_bill(tx, row.integer(0));
                if (!bill)
                    return bill.error();
                auto summary = bill_summary(tx, **bill);
                if (!summary)
                    return summary.error();
                bills.push_back(std::move(*summary));
            }
            return {};
        });
        if (!read)
            return admin_replies::error_reply(500, read.error());
        return admin_replies::json_reply(200, {{"bills", bills}});
    });

    routes.add("GET", "/api/v1/bills/{id}", [&database, folder, time_zone](const headend::http::Request& request) {
        auto wanted = bill_id_of(request.params.at("id"));
        if (!wanted)
            return admin_replies::error_reply(404, wanted.error());
        const std::int64_t id = *wanted;
        const std::string text = std::to_string(id);
        json answer;
        auto read = database.read([&](Transaction& tx) -> Result<void> {
            auto bill = find_bill(tx, id);
            if (!bill)
                return bill.error();
            if (!*bill)
                return make_error("billing.not_found", "no bill " + text);
            auto postings = postings_of(tx, id);
            if (!postings)
                return postings.error();
            json sources = json::array();
            for (const auto& posting : *postings)
                sources.push_back({{"source", posting.source},
                                   {"usage_month", posting.usage_month},
                                   {"kind", line_kind_name(posting.line.kind)},
                                   {"wh", posting.line.wh},
                                   {"amount_e5", posting.exact},
                                   {"billed", format_money(posting.line.amount)}});
            auto summary = bill_summary(tx, **bill);
            if (!summary)
                return summary.error();
            answer = std::move(*summary);
            answer["document"] = json::parse(render_json(bill_document(**bill, *postings, time_zone)));
            answer["postings"] = sources;
            if (!answer["filed_at"].is_null()) {
                const std::string stem = (folder / bill_file_stem((*bill)->month, id, (*bill)->account_id)).string();
                answer["files"] = {stem + ".json", stem + ".html", stem + ".pdf"};
            }
            return {};
        });
        if (!read)
            return admin_replies::error_reply(status_of(read.error()), read.error());
        return admin_replies::json_reply(200, answer);
    });

    routes.add("POST", "/api/v1/bills/{id}/resend",
               [&database, &worker, &clock](const headend::http::Request& request) {
                   auto id = bill_id_of(request.params.at("id"));
                   if (!id)
                       return admin_replies::error_reply(404, id.error());
                   std::string to;
                   auto queued = database.write_sync([&](Transaction& tx) -> Result<void> {
                       auto address = queue_resend(tx, *id, clock.now());
                       if (!address)
                           return address.error();
                       to = *address;
                       return {};
                   });
                   if (!queued)
                       return admin_replies::error_reply(status_of(queued.error()), queued.error());
                   worker.wake();
                   return admin_replies::json_reply(200, {{"bill_id", *id}, {"mail_to", to}, {"state", "pending"}});
               });
}

}  // namespace billing
