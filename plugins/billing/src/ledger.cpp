#include "ledger.hpp"

#include <nlohmann/json.hpp>

#include "clearinghouse.hpp"

namespace billing {

namespace {

using headend::Result;
using headend::storage::Row;
using headend::storage::Transaction;
using headend::storage::Value;
using nlohmann::json;

constexpr const char* kBillColumns =
    "bill_id, account_id, month, period_from, period_to, customer_name, service_address, email, currency, total, "
    "issued_at, data_through, tariff_through, premises_rates";

IssuedBill bill_of(const Row& row) {
    return {row.integer(0),  row.text(1),     row.text(2),          row.integer(3), row.integer(4),
            row.text(5),     row.text(6),     row.optional_text(7), row.text(8),    row.integer(9),
            row.integer(10), row.integer(11), row.integer(12),      row.text(13)};
}

std::string line_json(const BillLine& line) {
    json periods = json::array();
    for (const auto& period : line.periods)
        periods.push_back({{"period", period.period}, {"wh", period.wh}, {"amount", period.amount}});
    json document = {{"description", line.description}, {"place", line.place}, {"periods", periods}};
    if (line.start)
        document["start"] = *line.start;
    if (line.end)
        document["end"] = *line.end;
    return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

void read_line_json(const std::string& text, BillLine& line) {
    const json document = json::parse(text);  // written by line_json: a parse error is corruption (throws)
    line.description = document.at("description").get<std::string>();
    line.place = document.at("place").get<std::string>();
    for (const auto& period : document.at("periods"))
        line.periods.push_back({period.at("period").get<std::string>(), period.at("wh").get<std::int64_t>(),
                                period.at("amount").get<std::int64_t>()});
    if (document.contains("start"))
        line.start = document["start"].get<std::int64_t>();
    if (document.contains("end"))
        line.end = document["end"].get<std::int64_t>();
}

}  // namespace

std::vector<headend::storage::Migration> billing_migrations() {
    auto all = ledger_migrations();
    for (auto& migration : clearinghouse_migrations())
        all.push_back(std::move(migration));
    return all;
}

std::vector<headend::storage::Migration> ledger_migrations() {
    return {{1, "issued bills and their postings, each keyed by its source and the month whose usage it is",
             R"(CREATE TABLE bills(
                  bill_id INTEGER PRIMARY KEY,
                  account_id TEXT NOT NULL,
                  month TEXT NOT NULL,
                  period_from INTEGER NOT NULL,
                  period_to INTEGER NOT NULL,
                  customer_name TEXT NOT NULL,
                  service_address TEXT NOT NULL,
                  email TEXT,
                  currency TEXT NOT NULL,
                  total INTEGER NOT NULL,
                  issued_at INTEGER NOT NULL,
                  data_through INTEGER NOT NULL,
                  tariff_through INTEGER NOT NULL,
                  premises_rates TEXT NOT NULL,
                  UNIQUE (account_id, month));
                CREATE INDEX bills_by_month ON bills(month, account_id);
                CREATE TABLE postings(
                  posting_id INTEGER PRIMARY KEY,
                  bill_id INTEGER NOT NULL REFERENCES bills(bill_id),
                  account_id TEXT NOT NULL,
                  usage_month TEXT NOT NULL,
                  source TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  wh INTEGER NOT NULL,
                  amount INTEGER NOT NULL,
                  billed INTEGER NOT NULL CHECK (billed % 1000 = 0),
                  line TEXT NOT NULL,
                  UNIQUE (bill_id, usage_month, source));
                CREATE INDEX postings_by_source ON postings(account_id, usage_month, source);)"},
            {2, "the delivery queue: each bill filed once and its e-mail sent once, with retries",
             R"(CREATE TABLE bill_deliveries(
                  bill_id INTEGER PRIMARY KEY REFERENCES bills(bill_id),
                  mail_to TEXT,
                  filed_at INTEGER,
                  mail_state TEXT NOT NULL CHECK (mail_state IN ('pending', 'sent', 'failed', 'no_address')),
                  attempts INTEGER NOT NULL,
                  next_attempt_at INTEGER NOT NULL,
                  last_error TEXT,
                  sent_at INTEGER);
                CREATE INDEX bill_deliveries_due ON bill_deliveries(mail_state, next_attempt_at);)"}};
}

Result<bool> insert_bill(Transaction& tx, IssuedBill& bill, const std::vector<Posting>& postings) {
    auto inserted = tx.query(
        "INSERT INTO bills(account_id, month, period_from, period_to, customer_name, service_address, email, currency, "
        "total, issued_at, data_through, tariff_through, premises_rates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?) "
        "ON CONFLICT (account_id, month) DO NOTHING RETURNING bill_id",
        std::vector<Value>{bill.account_id, bill.month, bill.period_from, bill.period_to, bill.customer_name,
                           bill.service_address, bill.email ? Value(*bill.email) : Value(), bill.currency, bill.total,
                           bill.issued_at, bill.data_through, bill.tariff_through, bill.premises_rates});
    if (!inserted)
        return inserted.error();
    if (inserted->empty())
        return false;
    bill.bill_id = inserted->front().integer(0);
    for (const auto& posting : postings) {
        auto added = tx.execute(
            "INSERT INTO postings(bill_id, account_id, usage_month, source, kind, wh, amount, billed, line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            std::vector<Value>{bill.bill_id, bill.account_id, posting.usage_month, posting.source,
                               line_kind_name(posting.line.kind), posting.line.wh, posting.exact, posting.line.amount,
                               line_json(posting.line)});
        if (!added)
            return added.error();
    }
    return true;
}

Result<std::vector<IssuedBill>> bills_of(Transaction& tx, const std::string& account) {
    auto rows = tx.query(std::string("SELECT ") + kBillColumns + " FROM bills WHERE account_id = ? ORDER BY month",
                         std::vector<Value>{account});
    if (!rows)
        return rows.error();
    std::vector<IssuedBill> bills;
    for (const auto& row : *rows)
        bills.push_back(bill_of(row));
    return bills;
}

Result<std::optional<IssuedBill>> find_bill(Transaction& tx, std::int64_t bill_id) {
    auto rows =
        tx.query(std::string("SELECT ") + kBillColumns + " FROM bills WHERE bill_id = ?", std::vector<Value>{bill_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<IssuedBill>();
    return std::optional(bill_of(rows->front()));
}

Result<std::vector<Posting>> postings_of(Transaction& tx, std::int64_t bill_id) {
    auto rows = tx.query(
        "SELECT usage_month, source, kind, wh, amount, billed, line FROM postings WHERE bill_id = ? "
        "ORDER BY posting_id",
        std::vector<Value>{bill_id});
    if (!rows)
        return rows.error();
    std::vector<Posting> postings;
    for (const auto& row : *rows) {
        Posting posting;
        posting.usage_month = row.text(0);
        posting.source = row.text(1);
        posting.line.kind = line_kind_of(row.text(2)).value_or(LineKind::Adjustment);
        posting.line.wh = row.integer(3);
        posting.exact = row.integer(4);
        posting.line.amount = row.integer(5);
        read_line_json(row.text(6), posting.line);
        postings.push_back(std::move(posting));
    }
    return postings;
}

Result<std::vector<std::pair<std::string, Posted>>> posted_for(Transaction& tx, const std::string& account,
                                                               const std::string& usage_month) {
    auto rows = tx.query(
        "SELECT source, MIN(kind), SUM(wh), SUM(amount), SUM(billed) FROM postings WHERE account_id = ? "
        "AND usage_month = ? GROUP BY source ORDER BY source",
        std::vector<Value>{account, usage_month});
    if (!rows)
        return rows.error();
    std::vector<std::pair<std::string, Posted>> posted;
    for (const auto& row : *rows)
        posted.emplace_back(row.text(0), Posted{row.integer(2), row.integer(3), row.integer(4),
                                                line_kind_of(row.text(1)).value_or(LineKind::Adjustment)});
    return posted;
}

Bill bill_document(const IssuedBill& bill, const std::vector<Posting>& postings, const std::string& time_zone) {
    Bill document;
    document.bill_id = bill.account_id + "-" + bill.month;
    document.account_id = bill.account_id;
    document.customer_name = bill.customer_name;
    document.service_address = bill.service_address;
    document.month = bill.month;
    document.period_from = bill.period_from;
    document.period_to = bill.period_to;
    document.issued_at = bill.issued_at;
    document.currency = bill.currency;
    document.time_zone = time_zone;
    for (const auto& posting : postings) {
        BillLine line = posting.line;
        if (posting.usage_month != bill.month) {
            line.kind = LineKind::Adjustment;
            line.description = "Adjustment for " + posting.usage_month + ": " + line.description;
        }
        document.lines.push_back(std::move(line));
    }
    return document;
}

}  // namespace billing
