#include "bill_resources.hpp"

#include <array>
#include <cstdio>

#include "billing/rating.hpp"
#include "charges.hpp"
#include "coap/replies.hpp"
#include "headend/plugin/list_query.hpp"
#include "ids/digest.hpp"
#include "ledger.hpp"

namespace billing {

namespace {

using headend::Result;
using headend::coap::Code;
using headend::coap::DeviceType;
using headend::coap::Request;
using headend::coap::Responder;
using headend::coap::Response;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::uint32_t kPollRate = 900;
constexpr std::uint32_t kMaxListLimit = 255;
constexpr std::int8_t kMoneyPowerOfTen = -5;  // amounts are 10^-5 of the currency unit, as the ledger keeps them
constexpr std::int64_t kPremisesRole = 2;
constexpr std::int64_t kPevRole = 4;
constexpr const char* kAgreement = "/bill/1/ca/1";

// A stable mRID: a digest of what it names, then zeros where 2030.5 puts the issuer's PEN.
std::string mrid_of(const std::string& key) {
    std::array<char, 33> text{};
    std::snprintf(text.data(), text.size(), "%016llX%016llX", static_cast<unsigned long long>(ids::fnv1a(key)), 0ULL);
    return {text.data(), 32};
}

// At most `limit` bytes, never cutting a UTF-8 character.
std::string clipped(const std::string& text, std::size_t limit) {
    if (text.size() <= limit)
        return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end);
}

struct Account {
    std::string id;
    std::string customer_name;
    std::string service_location;
    std::string rate;
    std::uint16_t currency = 840;
};

class BillResources : public std::enable_shared_from_this<BillResources> {
public:
    explicit BillResources(headend::plugin::Context& context) : context_(context), days_(context.territory_time_zone) {}

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
        route("/bill", &BillResources::accounts);
        route("/bill/{a}", &BillResources::account);
        route("/bill/{a}/ca", &BillResources::agreements);
        route("/bill/{a}/ca/{c}", &BillResources::agreement);
        route("/bill/{a}/ca/{c}/bp", &BillResources::periods, true);
        route("/bill/{a}/ca/{c}/bp/{b}", &BillResources::period);
        route("/bill/{a}/ca/{c}/abp", &BillResources::active_periods, true);
        route("/bill/{a}/ca/{c}/hr", &BillResources::readings);
        route("/bill/{a}/ca/{c}/hr/{m}", &BillResources::reading);
    }

private:
    // The account whose bills the requester may read: a display's premises', a PEV's enrollment's (the VIN its
    // bindings confirmed; a refused binding only claimed one).
    Result<std::optional<Account>> account_of(Transaction& tx, const headend::coap::Peer& peer) {
        std::optional<headend::storage::Row> found;
        if (peer.device_type == DeviceType::Display && peer.premises_id) {
            auto rows = tx.query("SELECT account_id FROM pev_billing_premises_v1 WHERE premises_id = ?",
                                 std::vector<Value>{*peer.premises_id});
            if (!rows)
                return rows.error();
            if (!rows->empty())
                found = rows->front();
        } else if (peer.device_type == DeviceType::Pev && peer.device_id) {
            auto rows = tx.query(
                "SELECT e.account_id FROM pev_enrollment_history_v1 e WHERE e.ended_at IS NULL AND e.vin = "
                "(SELECT b.vin FROM pev_bindings_v1 b WHERE b.lfdi = ? AND b.vin IS NOT NULL "
                "AND b.status NOT IN ('refused', 'requested') ORDER BY b.binding_id DESC LIMIT 1)",
                std::vector<Value>{peer.lfdi});
            if (!rows)
                return rows.error();
            if (!rows->empty())
                found = rows->front();
        }
        if (!found)
            return std::optional<Account>();
        Account account;
        account.id = found->text(0);
        auto header = tx.query(
            "SELECT a.customer_name, p.service_address, p.default_rate FROM pev_accounts_v1 a "
            "JOIN pev_billing_premises_v1 p ON p.account_id = a.account_id WHERE a.account_id = ? "
            "ORDER BY p.premises_id LIMIT 1",
            std::vector<Value>{account.id});
        if (!header)
            return header.error();
        if (header->empty())
            return std::optional<Account>();
        account.customer_name = header->front().text(0);
        account.service_location = header->front().text(1);
        account.rate = header->front().text(2);
        auto versions = catalog_.versions(tx);
        if (versions) {
            if (const tariff::Program* program = versions->latest().catalog().find(account.rate))
                account.currency = program->currency;
        }
        return std::optional(account);
    }

    // Runs `answer` with the requester's account in one snapshot: 4.03 without one (or for any other path key),
    // 5.03 when storage fails.
    void with_account(const Request& request, const Responder& respond,
                      const std::function<Result<Response>(Transaction&, const Account&)>& answer,
                      bool allow_none = false) {
        std::optional<Response> response;
        auto done = context_.database.read([&](Transaction& tx) -> Result<void> {
            auto account = account_of(tx, request.peer);
            if (!account)
                return account.error();
            const bool keys_ok = (request.segments.size() < 2 || request.segments[1] == "1") &&
                                 (request.segments.size() < 4 || request.segments[3] == "1");
            if ((!*account && !allow_none) || !keys_ok) {
                response = coap_replies::forbidden();
                return {};
            }
            auto answered = answer(tx, account->value_or(Account{}));
            if (!answered)
                return answered.error();
            response = std::move(*answered);
            return {};
        });
        if (!done) {
            context_.logger.error("BILL_RESOURCE_STORAGE", done.error().message);
            respond(coap_replies::empty(Code::ServiceUnavailable));
            return;
        }
        respond(std::move(*response));
    }

    std::optional<headend::coap::ListQuery> list_query(const Request& request, const Responder& respond) const {
        auto query = headend::coap::parse_list_query(request.query, kMaxListLimit);
        if (!query) {
            respond(coap_replies::reason(Code::BadRequest, query.error().message));
            return std::nullopt;
        }
        return *query;
    }

    sep::CustomerAccount account_resource(const Account& account) const {
        sep::CustomerAccount out;
        out.href = "/bill/1";
        out.mrid = mrid_of("account:" + account.id);
        out.currency = account.currency;
        out.customer_account = clipped(account.id, 42);
        out.customer_agreement_list_link = sep::ListLink{"/bill/1/ca", 1};
        out.customer_name = clipped(account.customer_name, 42);
        out.price_power_of_ten_multiplier = kMoneyPowerOfTen;
        return out;
    }

    void accounts(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        std::optional<Response> response;
        auto done = context_.database.read([&](Transaction& tx) -> Result<void> {
            auto account = account_of(tx, request.peer);
            if (!account)
                return account.error();
            sep::CustomerAccountList list;
            list.href = "/bill";
            list.poll_rate = kPollRate;
            list.all = *account ? 1 : 0;
            if (*account && query->start == 0 && query->limit > 0)
                list.customer_accounts.push_back(account_resource(**account));
            list.results = static_cast<std::uint32_t>(list.customer_accounts.size());
            response = coap_replies::content(context_.sep.encode(list));
            return {};
        });
        if (!done) {
            respond(coap_replies::empty(Code::ServiceUnavailable));
            return;
        }
        respond(std::move(*response));
    }

    void account(const Request& request, const Responder& respond) {
        with_account(request, respond, [&](Transaction&, const Account& account) -> Result<Response> {
            return coap_replies::content(context_.sep.encode(account_resource(account)));
        });
    }

    Result<sep::CustomerAgreement> agreement_resource(Transaction& tx, const Account& account) {
        auto counts = tx.query(
            "SELECT (SELECT COUNT(*) FROM bills WHERE account_id = ?1), (SELECT COUNT(*) FROM interval_channels_v1 c "
            "JOIN pev_billing_premises_v1 p ON p.premises_id = c.premises_id WHERE p.account_id = ?1 "
            "AND (c.role_flags & ?2) <> 0)",
            std::vector<Value>{account.id, kPremisesRole | kPevRole});
        if (!counts)
            return counts.error();
        sep::CustomerAgreement out;
        out.href = kAgreement;
        out.mrid = mrid_of("agreement:" + account.id);
        out.description = "electricity";
        out.active_billing_period_list_link = sep::ListLink{std::string(kAgreement) + "/abp", 1};
        out.billing_period_list_link =
            sep::ListLink{std::string(kAgreement) + "/bp", static_cast<std::uint32_t>(counts->front().integer(0))};
        out.historical_reading_list_link =
            sep::ListLink{std::string(kAgreement) + "/hr", static_cast<std::uint32_t>(counts->front().integer(1))};
        out.service_account = clipped(account.id, 42);
        out.service_location = clipped(account.service_location, 42);
        out.tariff_profile_link = sep::Link{"/tp/" + account.rate};
        return out;
    }

    void agreements(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            sep::CustomerAgreementList list;
            list.href = "/bill/1/ca";
            list.all = 1;
            if (query->start == 0 && query->limit > 0) {
                auto agreement = agreement_resource(tx, account);
                if (!agreement)
                    return agreement.error();
                list.customer_agreements.push_back(std::move(*agreement));
            }
            list.results = static_cast<std::uint32_t>(list.customer_agreements.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    void agreement(const Request& request, const Responder& respond) {
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            auto agreement = agreement_resource(tx, account);
            if (!agreement)
                return agreement.error();
            return coap_replies::content(context_.sep.encode(*agreement));
        });
    }

    static sep::BillingPeriod period_of(const IssuedBill& bill) {
        return {std::string(kAgreement) + "/bp/" + std::to_string(bill.bill_id), bill.total, std::nullopt,
                sep::DateTimeInterval{static_cast<std::uint32_t>(bill.period_to - bill.period_from), bill.period_from},
                bill.issued_at};
    }

    void periods(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            auto bills = bills_of(tx, account.id);
            if (!bills)
                return bills.error();
            std::reverse(bills->begin(), bills->end());  // newest first
            sep::BillingPeriodList list;
            list.href = std::string(kAgreement) + "/bp";
            list.all = static_cast<std::uint32_t>(bills->size());
            for (std::size_t i = query->start; i < bills->size() && list.billing_periods.size() < query->limit; ++i)
                list.billing_periods.push_back(period_of((*bills)[i]));
            list.results = static_cast<std::uint32_t>(list.billing_periods.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    void period(const Request& request, const Responder& respond) {
        const auto id = coap_replies::id_segment(request, 5);
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            if (!id)
                return coap_replies::forbidden();
            auto bill = find_bill(tx, *id);
            if (!bill)
                return bill.error();
            if (!*bill || (*bill)->account_id != account.id)
                return coap_replies::forbidden();
            return coap_replies::content(context_.sep.encode(period_of(**bill)));
        });
    }

    // The current month: what it has cost so far (each line rounded as the bill will), and the last bill's total.
    void active_periods(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            const std::int64_t now = context_.clock.now();
            const Month month = Month::of(days_, now);
            auto versions = catalog_.versions(tx);
            if (!versions)
                return versions.error();
            ChargeCalculator calculator(*versions, days_, month);
            PremisesRates used;
            auto charges = calculator.charges(tx, account.id, nullptr, used);
            if (!charges)
                return charges.error();
            std::int64_t to_date = 0;
            for (const auto& charge : *charges)
                if (!informational(charge.line.kind))
                    to_date += round_to_cents(charge.exact);
            auto bills = bills_of(tx, account.id);
            if (!bills)
                return bills.error();
            sep::BillingPeriodList list;
            list.href = std::string(kAgreement) + "/abp";
            list.all = 1;
            if (query->start == 0 && query->limit > 0)
                list.billing_periods.push_back(
                    {std::nullopt, bills->empty() ? std::nullopt : std::optional(bills->back().total), to_date,
                     sep::DateTimeInterval{static_cast<std::uint32_t>(month.to(days_) - month.from(days_)),
                                           month.from(days_)},
                     now});
            list.results = static_cast<std::uint32_t>(list.billing_periods.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    // The meters billed: the premises meters of the account's premises and the PEVs metered there.
    static Result<std::vector<sep::HistoricalReading>> readings_of(Transaction& tx, const Account& account) {
        auto rows = tx.query(
            "SELECT c.mmr_id, c.mup_id, c.premises_id, c.device_lfdi, c.role_flags FROM interval_channels_v1 c "
            "JOIN pev_billing_premises_v1 p ON p.premises_id = c.premises_id WHERE p.account_id = ? "
            "AND (c.role_flags & ?) <> 0 ORDER BY c.mmr_id",
            std::vector<Value>{account.id, kPremisesRole | kPevRole});
        if (!rows)
            return rows.error();
        std::vector<sep::HistoricalReading> readings;
        for (const auto& row : *rows) {
            const bool pev = (row.integer(4) & kPevRole) != 0;
            const std::string meter_reading =
                "/upt/" + std::to_string(row.integer(1)) + "/mr/" + std::to_string(row.integer(0));
            readings.push_back({std::string(kAgreement) + "/hr/" + std::to_string(row.integer(0)),
                                mrid_of("reading:" + std::to_string(row.integer(0))),
                                clipped((pev ? "PEV at " : "premises ") + row.text(2), 32), std::nullopt,
                                sep::Link{meter_reading + "/rt"}});
        }
        return readings;
    }

    void readings(const Request& request, const Responder& respond) {
        const auto query = list_query(request, respond);
        if (!query)
            return;
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            auto readings = readings_of(tx, account);
            if (!readings)
                return readings.error();
            sep::HistoricalReadingList list;
            list.href = std::string(kAgreement) + "/hr";
            list.all = static_cast<std::uint32_t>(readings->size());
            for (std::size_t i = query->start; i < readings->size() && list.historical_readings.size() < query->limit;
                 ++i)
                list.historical_readings.push_back((*readings)[i]);
            list.results = static_cast<std::uint32_t>(list.historical_readings.size());
            return coap_replies::content(context_.sep.encode(list));
        });
    }

    void reading(const Request& request, const Responder& respond) {
        with_account(request, respond, [&](Transaction& tx, const Account& account) -> Result<Response> {
            auto readings = readings_of(tx, account);
            if (!readings)
                return readings.error();
            for (const auto& one : *readings)
                if (one.href == request.path)
                    return coap_replies::content(context_.sep.encode(one));
            return coap_replies::forbidden();
        });
    }

    headend::plugin::Context& context_;
    calendar::LocalDays days_;
    CatalogCache catalog_;
};

}  // namespace

void add_bill_resources(headend::plugin::Context& context) {
    std::make_shared<BillResources>(context)->add_routes();
}

void notify_bills_issued(headend::coap::ResourceRegistry& resources) {
    resources.notify(std::string(kAgreement) + "/bp");
    resources.notify(std::string(kAgreement) + "/abp");
}

}  // namespace billing
