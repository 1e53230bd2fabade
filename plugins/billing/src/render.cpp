#include <cairo-pdf.h>
#include <cairo.h>
#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "billing/bill.hpp"
#include "billing/ocpi.hpp"
#include "markup/escape.hpp"

namespace billing {

namespace {

// A local date-time of the territory: "2026-07-03 18:00".
std::string local_time(const Bill& bill, std::int64_t utc) {
    const auto zoned = date::make_zoned(bill.time_zone, date::sys_seconds(std::chrono::seconds(utc)));
    return date::format("%Y-%m-%d %H:%M", zoned);
}

// A line's time: "2026-07-03 18:00 – 22:15", the end's date only when it is another day.
std::string when(const Bill& bill, const BillLine& line) {
    if (!line.start)
        return {};
    const std::string from = local_time(bill, *line.start);
    if (!line.end)
        return from;
    const std::string to = local_time(bill, *line.end);
    return from + " – " + (to.compare(0, 10, from, 0, 10) == 0 ? to.substr(11) : to);
}

std::string month_title(const Bill& bill) {
    static constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                            "May",       "June",     "July",     "August",
                                                            "September", "October",  "November", "December"};
    const int month = std::stoi(bill.month.substr(5, 2));
    return std::string(kMonths.at(static_cast<std::size_t>(month - 1))) + " " + bill.month.substr(0, 4);
}

// ---- PDF: lines of text down Letter pages.

class PdfWriter {
public:
    PdfWriter() {
        surface_ = cairo_pdf_surface_create_for_stream(&PdfWriter::append, &bytes_, kWidth, kHeight);
        cr_ = cairo_create(surface_);
    }
    ~PdfWriter() {
        cairo_destroy(cr_);
        cairo_surface_destroy(surface_);
    }
    PdfWriter(const PdfWriter&) = delete;
    PdfWriter& operator=(const PdfWriter&) = delete;

    // Text at column `x` on the current line; `right` aligns its end at x.
    void text(double x, const std::string& text, double size = 10, bool bold = false, bool right = false) {
        font(size, bold);
        if (right)
            x -= advance(text);
        cairo_move_to(cr_, x, y_);
        cairo_show_text(cr_, text.c_str());
    }
    // `text` broken at spaces into lines no wider than `width` (a word wider than that keeps a line of its own).
    std::vector<std::string> wrapped(const std::string& text, double width, double size) {
        font(size, false);
        std::vector<std::string> lines;
        std::string line;
        std::size_t at = 0;
        while (at <= text.size()) {
            const std::size_t space = std::min(text.find(' ', at), text.size());
            const std::string word = text.substr(at, space - at);
            const std::string longer = line.empty() ? word : line + " " + word;
            if (!line.empty() && advance(longer) > width) {
                lines.push_back(line);
                line = word;
            } else {
                line = longer;
            }
            at = space + 1;
        }
        if (!line.empty() || lines.empty())
            lines.push_back(line);
        return lines;
    }
    // Down one line of `height`, onto a new page when this one is full.
    void next_line(double height = 14) {
        y_ += height;
        if (y_ > kHeight - kMargin) {
            cairo_show_page(cr_);
            y_ = kMargin;
        }
    }
    void rule() {
        cairo_move_to(cr_, kMargin, y_ - 10);
        cairo_line_to(cr_, kWidth - kMargin, y_ - 10);
        cairo_set_line_width(cr_, 0.5);
        cairo_stroke(cr_);
    }
    std::string finish() {
        cairo_show_page(cr_);
        cairo_surface_finish(surface_);
        return std::move(bytes_);
    }

    static constexpr double kWidth = 612;  // Letter, points
    static constexpr double kHeight = 792;
    static constexpr double kMargin = 54;

private:
    static cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
        static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
        return CAIRO_STATUS_SUCCESS;
    }

    void font(double size, bool bold) {
        cairo_select_font_face(cr_, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr_, size);
    }
    double advance(const std::string& text) {
        cairo_text_extents_t extents;
        cairo_text_extents(cr_, text.c_str(), &extents);
        return extents.x_advance;
    }

    std::string bytes_;
    cairo_surface_t* surface_ = nullptr;
    cairo_t* cr_ = nullptr;
    double y_ = kMargin;
};

}  // namespace

std::int64_t Bill::total() const {
    return std::accumulate(lines.begin(), lines.end(), std::int64_t{0},
                           [](std::int64_t sum, const BillLine& line) { return sum + line.amount; });
}

std::string line_kind_name(LineKind kind) {
    switch (kind) {
        case LineKind::PremisesEnergy:
            return "premises_energy";
        case LineKind::FixedCharge:
            return "fixed_charge";
        case LineKind::HomeSession:
            return "home_session";
        case LineKind::GuestSession:
            return "guest_session";
        case LineKind::HostCredit:
            return "host_credit";
        case LineKind::FallbackSession:
            return "fallback_session";
        case LineKind::HeldSession:
            return "held_session";
        case LineKind::Roaming:
            return "roaming";
        case LineKind::Adjustment:
            return "adjustment";
    }
    return "unknown";
}

std::optional<LineKind> line_kind_of(std::string_view name) {
    for (const LineKind kind : {LineKind::PremisesEnergy, LineKind::FixedCharge, LineKind::HomeSession,
                                LineKind::GuestSession, LineKind::HostCredit, LineKind::FallbackSession,
                                LineKind::HeldSession, LineKind::Roaming, LineKind::Adjustment})
        if (line_kind_name(kind) == name)
            return kind;
    return std::nullopt;
}

std::string format_money(std::int64_t amount) {
    assert(amount % 1000 == 0 && "bill lines are rounded to cents");
    // Two places always, as a bill shows money.
    std::string text = ocpi::format_decimal(amount / 1000, 2);
    const auto point = text.find('.');
    if (point == std::string::npos)
        return text + ".00";
    return text.size() - point == 2 ? text + "0" : text;
}

std::string format_kwh(std::int64_t wh) {
    return ocpi::format_decimal(wh, 3);
}

std::string render_json(const Bill& bill) {
    nlohmann::ordered_json lines = nlohmann::ordered_json::array();
    for (const auto& line : bill.lines) {
        nlohmann::ordered_json periods = nlohmann::ordered_json::array();
        for (const auto& period : line.periods)
            periods.push_back({{"period", period.period}, {"wh", period.wh}, {"amount_e5", period.amount}});
        nlohmann::ordered_json one = {{"kind", line_kind_name(line.kind)}, {"description", line.description}};
        if (line.start)
            one["start"] = ocpi::format_date_time(*line.start);
        if (line.end)
            one["end"] = ocpi::format_date_time(*line.end);
        one["place"] = line.place;
        one["wh"] = line.wh;
        one["periods"] = std::move(periods);
        one["amount"] = format_money(line.amount);
        lines.push_back(std::move(one));
    }
    const nlohmann::ordered_json document = {{"bill_id", bill.bill_id},
                                             {"account_id", bill.account_id},
                                             {"customer_name", bill.customer_name},
                                             {"service_address", bill.service_address},
                                             {"month", bill.month},
                                             {"period_from", ocpi::format_date_time(bill.period_from)},
                                             {"period_to", ocpi::format_date_time(bill.period_to)},
                                             {"issued_at", ocpi::format_date_time(bill.issued_at)},
                                             {"currency", bill.currency},
                                             {"time_zone", bill.time_zone},
                                             {"lines", std::move(lines)},
                                             {"total", format_money(bill.total())}};
    return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_html_content(const Bill& bill) {
    std::string rows;
    for (const auto& line : bill.lines) {
        rows += "<tr><td>" + markup::escaped(when(bill, line)) + "</td><td>" + markup::escaped(line.description) +
                "</td><td>" + markup::escaped(line.place) + "</td><td class=\"n\">" + format_kwh(line.wh) +
                "</td><td class=\"n\">" + format_money(line.amount) + "</td></tr>\n";
        for (const auto& period : line.periods)
            rows += "<tr class=\"period\"><td></td><td>" + markup::escaped(period.period) +
                    "</td><td></td><td class=\"n\">" + format_kwh(period.wh) + "</td><td></td></tr>\n";
    }
    return "<h1>Bill for " + markup::escaped(month_title(bill)) + "</h1>\n<dl>\n<dt>Account</dt><dd>" +
           markup::escaped(bill.account_id) + "</dd>\n<dt>Customer</dt><dd>" + markup::escaped(bill.customer_name) +
           "</dd>\n<dt>Service address</dt><dd>" + markup::escaped(bill.service_address) +
           "</dd>\n<dt>Period</dt><dd>" + markup::escaped(local_time(bill, bill.period_from)) + " to " +
           markup::escaped(local_time(bill, bill.period_to)) + " (" + markup::escaped(bill.time_zone) +
           ")</dd>\n</dl>\n<table>\n<caption>Charges and credits in " + markup::escaped(bill.currency) +
           "</caption>\n<thead><tr><th scope=\"col\">When</th><th scope=\"col\">What</th><th scope=\"col\">Where</th>"
           "<th scope=\"col\" class=\"n\">kWh</th><th scope=\"col\" class=\"n\">Amount</th></tr></thead>\n<tbody>\n" +
           rows + "</tbody>\n<tfoot><tr><th scope=\"row\" colspan=\"4\">Total</th><td class=\"n\">" +
           format_money(bill.total()) + "</td></tr></tfoot>\n</table>\n";
}

std::string render_html(const Bill& bill) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Bill " +
           markup::escaped(bill.bill_id) + " — " + markup::escaped(month_title(bill)) +
           "</title>\n<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}"
           "th,td{padding:.3em .5em;border-bottom:1px solid #ccc;text-align:left}.n{text-align:right}"
           ".period td{color:#555;font-size:.9em;border-bottom:none}</style>\n</head>\n<body>\n" +
           render_html_content(bill) + "</body>\n</html>\n";
}

std::string render_pdf(const Bill& bill) {
    PdfWriter pdf;
    constexpr double left = PdfWriter::kMargin;
    constexpr double right = PdfWriter::kWidth - PdfWriter::kMargin;
    pdf.text(left, "Bill for " + month_title(bill), 18, true);
    pdf.next_line(24);
    for (const auto& [label, value] : std::array<std::pair<const char*, std::string>, 5>{
             {{"Bill", bill.bill_id},
              {"Account", bill.account_id},
              {"Customer", bill.customer_name},
              {"Service address", bill.service_address},
              {"Period", local_time(bill, bill.period_from) + " to " + local_time(bill, bill.period_to) + " (" +
                             bill.time_zone + ")"}}}) {
        pdf.text(left, label, 10, true);
        pdf.text(left + 110, value);
        pdf.next_line();
    }
    // Columns: When (wrapped), What (wrapped), kWh and Amount right-aligned, each with room of its own.
    constexpr double what = left + 130;
    constexpr double kwh = right - 96;
    constexpr double what_width = kwh - 58 - what;
    pdf.next_line(10);
    pdf.text(left, "When", 10, true);
    pdf.text(what, "What", 10, true);
    pdf.text(kwh, "kWh", 10, true, true);
    pdf.text(right, "Amount (" + bill.currency + ")", 10, true, true);
    pdf.next_line();
    for (const auto& line : bill.lines) {
        pdf.rule();
        const auto whens = pdf.wrapped(when(bill, line), what - left - 6, 9);
        const auto whats = pdf.wrapped(line.description, what_width, 9);
        pdf.text(kwh, format_kwh(line.wh), 9, false, true);
        pdf.text(right, format_money(line.amount), 9, false, true);
        for (std::size_t row = 0; row < std::max(whens.size(), whats.size()); ++row) {
            if (row < whens.size())
                pdf.text(left, whens[row], 9);
            if (row < whats.size())
                pdf.text(what, whats[row], 9);
            pdf.next_line(12);
        }
        if (!line.place.empty()) {
            for (const auto& place : pdf.wrapped(line.place, what_width - 10, 8)) {
                pdf.text(what + 10, place, 8);
                pdf.next_line(11);
            }
        }
        for (const auto& one : line.periods) {
            pdf.text(what + 10, one.period, 8);
            pdf.text(kwh, format_kwh(one.wh), 8, false, true);
            pdf.next_line(11);
        }
    }
    pdf.next_line(6);
    pdf.rule();
    pdf.text(left, "Total", 12, true);
    pdf.text(right, format_money(bill.total()), 12, true, true);
    return pdf.finish();
}

}  // namespace billing
