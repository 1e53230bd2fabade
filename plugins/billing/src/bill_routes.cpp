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
    if (error.code == "billing.month")
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

json bill_summary(const IssuedBill& bill) {
    return {{"bill_id", bill.bill_id},
            {"account_id", bill.account_id},
            {"month", bill.month},
            {"customer_name", bill.customer_name},
            {"email", bill.email ? json(*bill.email) : json(nullptr)},
            {"currency", bill.currency},
            {"total", format_money(bill.total)},
            {"issued_at", bill.issued_at}};
}

}  // namespace

void add_bill_routes(headend::http::RouteRegistry& routes, headend::storage::Database& database, BillCycle& cycle,
                     const std::string& time_zone) {
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
                bills.push_back(bill_summary(**bill));
            }
            return {};
        });
        if (!read)
            return admin_replies::error_reply(500, read.error());
        return admin_replies::json_reply(200, {{"bills", bills}});
    });

    routes.add("GET", "/api/v1/bills/{id}", [&database, time_zone](const headend::http::Request& request) {
        const std::string& text = request.params.at("id");
        std::int64_t id = 0;
        const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (problem != std::errc() || end != text.data() + text.size() || id < 1)
            return admin_replies::error_reply(404, make_error("billing.not_found", "no bill '" + text + "'"));
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
            answer = bill_summary(**bill);
            answer["document"] = json::parse(render_json(bill_document(**bill, *postings, time_zone)));
            answer["postings"] = sources;
            return {};
        });
        if (!read)
            return admin_replies::error_reply(status_of(read.error()), read.error());
        return admin_replies::json_reply(200, answer);
    });
}

}  // namespace billing
