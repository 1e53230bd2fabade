// A monthly bill as the customer reads it (issue 11, DESIGN §6–7): one account, one local calendar month, lines
// each rounded once to cents, the total the sum of the lines. Rendered as JSON, HTML and PDF; what a bill says never
// changes once it is issued (the renderers are pure functions of it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace billing {

enum class LineKind {
    PremisesEnergy,   // the premises meter's energy at the default rate
    FixedCharge,      // the program's charge per day
    HomeSession,      // a PEV charging at home: debit at the program rate
    GuestSession,     // a PEV charging at another premises of ours: debit the payer at the program rate
    HostCredit,       // energy a PEV took at this premises, credited at the default rate
    FallbackSession,  // no validated binding: no debit or credit, the energy stays in the premises total
    HeldSession,      // a load mismatch under review holds the session's debit and credit until it is cleared
    Roaming,          // our PEV charged elsewhere: the clearinghouse's CDR
    Adjustment,       // something that arrived after an earlier bill was closed
};

// The energy and cost of a line in one time-of-use period.
struct PeriodUsage {
    std::string period;  // "on-peak"
    std::int64_t wh = 0;
    std::int64_t amount = 0;  // 10^-5 currency units, not rounded (the line is)
};

struct BillLine {
    LineKind kind = LineKind::PremisesEnergy;
    std::string description;
    std::optional<std::int64_t> start;  // UTC; a session's plug-in
    std::optional<std::int64_t> end;
    std::string place;  // premises id and address, or the clearinghouse location
    std::vector<PeriodUsage> periods;
    std::int64_t wh = 0;
    std::int64_t amount = 0;  // 10^-5 units, a whole number of cents: debit positive, credit negative
};

struct Bill {
    std::string bill_id;  // "A1-2026-07"
    std::string account_id;
    std::string customer_name;
    std::string service_address;
    std::string month;             // "2026-07", the territory's calendar month
    std::int64_t period_from = 0;  // UTC instants of the month's local bounds
    std::int64_t period_to = 0;
    std::int64_t issued_at = 0;
    std::string currency = "USD";  // ISO 4217
    std::string time_zone;         // the territory's: dates are shown in it
    std::vector<BillLine> lines;

    std::int64_t total() const;  // the sum of the lines
};

std::string line_kind_name(LineKind kind);  // "home_session"
std::optional<LineKind> line_kind_of(std::string_view name);

// "42.17", "-1.02": a whole number of cents in 10^-5 units as currency text.
std::string format_money(std::int64_t amount);
// "12.345": Wh as kWh.
std::string format_kwh(std::int64_t wh);

std::string render_json(const Bill& bill);
std::string render_html(const Bill& bill);
// The bill's heading, details and table without the page around them or any style (the portal's own page holds it).
std::string render_html_content(const Bill& bill);
// A PDF (cairo) whose text a reader gets back as written: Letter pages, as many as the lines need.
std::string render_pdf(const Bill& bill);

}  // namespace billing
