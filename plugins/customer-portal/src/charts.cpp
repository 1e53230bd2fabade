#include "charts.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "markup/escape.hpp"

namespace portal {
namespace {

constexpr int kWidth = 720;
constexpr int kHeight = 280;
constexpr int kLeft = 56;
constexpr int kRight = 12;
constexpr int kTop = 16;
constexpr int kBottom = 64;

std::string local_label(const std::string& time_zone, std::int64_t utc, const char* format) {
    const auto* zone = date::locate_zone(time_zone);
    const date::zoned_seconds local(zone, date::sys_seconds(std::chrono::seconds(utc)));
    return date::format(format, local);
}

// A round step for the value axis: 1, 2 or 5 times a power of ten, so about four gridlines fit.
std::int64_t axis_step(std::int64_t max) {
    std::int64_t step = 1;
    while (true) {
        for (const std::int64_t factor : {1, 2, 5})
            if (max <= step * factor * 4)
                return step * factor;
        step *= 10;
    }
}

std::string kwh_text(std::int64_t wh) {
    return fmt::format("{}.{:03}", wh / 1000, wh % 1000);
}

// Axis labels: no trailing zeros ("10", "2.5"), so "10.000" is not read as ten thousand.
std::string axis_text(std::int64_t wh) {
    std::string text = kwh_text(wh);
    while (text.back() == '0')
        text.pop_back();
    if (text.back() == '.')
        text.pop_back();
    return text;
}

}  // namespace

std::vector<UsageBucket> usage_buckets(const calendar::LocalDays& days, const std::string& time_zone, UsageView view,
                                       std::int32_t day, const std::vector<UsageInterval>& intervals) {
    std::vector<UsageBucket> buckets;
    if (view == UsageView::Day) {
        const auto [from, to] = days.bounds(day);
        std::map<std::string, int> seen;
        for (std::int64_t start = from; start < to; start += 3600)
            buckets.push_back({local_label(time_zone, start, "%H:%M"), start, std::min(start + 3600, to), 0, 0});
        for (const auto& bucket : buckets)
            ++seen[bucket.label];
        // The repeated hour of the fall-back day: the two are told apart by their zone abbreviation.
        for (auto& bucket : buckets)
            if (seen[bucket.label] > 1)
                bucket.label += " " + local_label(time_zone, bucket.start, "%Z");
    } else {
        std::int32_t first = day;
        std::int32_t count = 7;
        if (view == UsageView::Month) {
            const date::year_month_day ymd{date::sys_days(date::days(day))};
            first = date::sys_days(ymd.year() / ymd.month() / 1).time_since_epoch().count();
            count = static_cast<std::int32_t>(static_cast<unsigned>((ymd.year() / ymd.month() / date::last).day()));
        }
        for (std::int32_t d = first; d < first + count; ++d) {
            const auto [from, to] = days.bounds(d);
            const date::year_month_day ymd{date::sys_days(date::days(d))};
            const date::weekday weekday{date::sys_days(date::days(d))};
            static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
            buckets.push_back(
                {fmt::format("{} {}", kDays[weekday.c_encoding()], static_cast<unsigned>(ymd.day())), from, to, 0, 0});
        }
    }
    for (const auto& interval : intervals) {
        const auto it = std::upper_bound(buckets.begin(), buckets.end(), interval.start,
                                         [](std::int64_t at, const UsageBucket& bucket) { return at < bucket.start; });
        if (it == buckets.begin())
            continue;
        auto& bucket = *std::prev(it);
        if (interval.start >= bucket.end)
            continue;
        bucket.premises_wh += interval.premises_wh;
        bucket.pev_wh += interval.pev_wh;
    }
    return buckets;
}

std::string usage_svg(const std::vector<UsageBucket>& buckets, const std::string& title) {
    std::int64_t max = 1;
    for (const auto& bucket : buckets)
        max = std::max({max, bucket.premises_wh, bucket.pev_wh});
    const std::int64_t step = axis_step(max);
    const std::int64_t top = step * ((max + step - 1) / step);
    const double plot_width = kWidth - kLeft - kRight;
    const double plot_height = kHeight - kTop - kBottom;
    const double slot = buckets.empty() ? plot_width : plot_width / static_cast<double>(buckets.size());
    const auto y_of = [&](std::int64_t wh) {
        return kTop + plot_height - plot_height * static_cast<double>(wh) / static_cast<double>(top);
    };
    std::int64_t premises_total = 0;
    std::int64_t pev_total = 0;
    for (const auto& bucket : buckets) {
        premises_total += bucket.premises_wh;
        pev_total += bucket.pev_wh;
    }
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-labelledby=\"chart-title chart-desc\">\n<title id=\"chart-title\">{}</title>\n"
        "<desc id=\"chart-desc\">Energy per bar in kWh: whole premises {} kWh, of which PEV charging {} kWh. "
        "The table below the chart lists every bar.</desc>\n",
        kWidth, kHeight, markup::escaped(title), kwh_text(premises_total), kwh_text(pev_total));
    for (std::int64_t value = 0; value <= top; value += step) {
        const double y = y_of(value);
        svg += fmt::format(
            "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#c8c8c8\" stroke-width=\"1\"/>"
            "<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\" fill=\"#333\">{}</text>\n",
            kLeft, y, kWidth - kRight, y, kLeft - 6, y + 4, axis_text(value));
    }
    svg += fmt::format(
        "<text x=\"12\" y=\"{}\" font-size=\"11\" fill=\"#333\" transform=\"rotate(-90 12 {})\">kWh</text>\n",
        kTop + plot_height / 2, kTop + plot_height / 2);
    // Every bar is labelled when they fit; otherwise every second, fourth... so the labels never overlap.
    const std::size_t label_every = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(34.0 / slot)));
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const auto& bucket = buckets[i];
        const double x = kLeft + slot * static_cast<double>(i);
        const double width = std::max(1.0, slot * 0.8);
        const double premises_y = y_of(bucket.premises_wh);
        const double pev_y = y_of(bucket.pev_wh);
        svg += fmt::format(
            "<rect class=\"premises\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#9cc3e6\">"
            "<title>{}: premises {} kWh, PEV {} kWh</title></rect>\n",
            x + slot * 0.1, premises_y, width, kTop + plot_height - premises_y, markup::escaped(bucket.label),
            kwh_text(bucket.premises_wh), kwh_text(bucket.pev_wh));
        if (bucket.pev_wh > 0)
            svg += fmt::format(
                "<rect class=\"pev\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#1f5f99\"/>\n",
                x + slot * 0.25, pev_y, width * 0.625, kTop + plot_height - pev_y);
        if (i % label_every == 0) {
            const double label_x = x + slot / 2;
            const double label_y = kTop + plot_height + 12;
            svg += fmt::format(
                "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\" fill=\"#333\" "
                "transform=\"rotate(-45 {:.1f} {:.1f})\">{}</text>\n",
                label_x, label_y, label_x, label_y, markup::escaped(bucket.label));
        }
    }
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"#9cc3e6\"/><text x=\"{}\" y=\"{}\" "
        "font-size=\"12\" fill=\"#222\">Whole premises</text>\n<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" "
        "fill=\"#1f5f99\"/><text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#222\">PEV charging</text>\n</svg>\n",
        kLeft, kHeight - 14, kLeft + 16, kHeight - 4, kLeft + 140, kHeight - 14, kLeft + 156, kHeight - 4);
    return svg;
}

std::string timeline_svg(const tariff::Season& season, tariff::DaySet days, const std::string& title) {
    static constexpr std::array<const char*, 4> kColours = {"#1f5f99", "#7a4b00", "#8e2b20", "#3d6b24"};
    constexpr int kBarTop = 8;
    constexpr int kBarHeight = 36;
    constexpr double kMinuteWidth = (kWidth - 20.0) / (24 * 60);
    std::map<std::string, std::size_t> colour_of;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {} 96\" role=\"img\">\n"
        "<title>{}</title>\n",
        kWidth, markup::escaped(title));
    // Minute by minute, the first period that holds it (catalog order), drawn as runs.
    const auto period_at = [&](int minute) -> const tariff::Period* {
        for (const auto& period : season.periods) {
            if (period.days != tariff::DaySet::All && period.days != days)
                continue;
            const bool inside = period.from_minute < period.to_minute
                                    ? minute >= period.from_minute && minute < period.to_minute
                                    : minute >= period.from_minute || minute < period.to_minute;
            if (inside)
                return &period;
        }
        return nullptr;
    };
    int run_start = 0;
    const tariff::Period* current = period_at(0);
    for (int minute = 15; minute <= 24 * 60; minute += 15) {
        const tariff::Period* next = minute < 24 * 60 ? period_at(minute) : nullptr;
        // Periods of one name drawn as one run (a catalog may split one across day kinds).
        const bool same = next == current || (next && current && next->name == current->name);
        if (same && minute < 24 * 60)
            continue;
        if (current) {
            const auto [it, added] = colour_of.emplace(current->name, colour_of.size() % kColours.size());
            const double x = 10 + run_start * kMinuteWidth;
            const double width = (minute - run_start) * kMinuteWidth;
            svg += fmt::format(
                "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{} {:02}:{:02} to "
                "{:02}:{:02}</title></rect>\n",
                x, kBarTop, width, kBarHeight, kColours[it->second], markup::escaped(current->name), run_start / 60,
                run_start % 60, minute / 60 % 24, minute % 60);
            if (width > 60)
                svg += fmt::format(
                    "<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#fff\">{}</text>\n",
                    x + width / 2, kBarTop + 23, markup::escaped(current->name));
        }
        run_start = minute;
        current = next;
    }
    for (int hour = 0; hour <= 24; hour += 3)
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#555\"/>"
            "<text x=\"{0:.1f}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222\">{4:02}:00</text>\n",
            10 + hour * 60 * kMinuteWidth, kBarTop + kBarHeight, kBarTop + kBarHeight + 6, kBarTop + kBarHeight + 20,
            hour);
    svg += "</svg>\n";
    return svg;
}

}  // namespace portal
