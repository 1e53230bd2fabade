#include "cmep/cmep.hpp"

#include <array>
#include <charconv>

#include "csv/csv.hpp"

namespace cmep {

namespace {

using headend::make_error;
using headend::Result;

headend::Error invalid(std::string message) {
    return make_error("cmep.invalid", std::move(message));
}

bool digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

int number(std::string_view text) {
    int value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const int era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<unsigned>(year - era * 400);
    const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

// The inverse of days_from_civil (H. Hinnant's civil_from_days): {year, month, day}.
std::array<int, 3> civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned day = doy - (153 * mp + 2) / 5 + 1;
    const unsigned month = mp < 10 ? mp + 3 : mp - 9;
    const auto year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0));
    return {year, static_cast<int>(month), static_cast<int>(day)};
}

// Zero-padded decimal of `width` digits.
void append_padded(std::string& out, std::int64_t value, int width) {
    char digits_buffer[24];
    auto [end, ec] = std::to_chars(digits_buffer, digits_buffer + sizeof digits_buffer, value);
    for (auto n = end - digits_buffer; n < width; ++n)
        out += '0';
    out.append(digits_buffer, end);
}

void append_field(std::string& out, std::string_view field) {
    out += ',';
    if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += field;
        return;
    }
    out += '"';
    for (char c : field) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
}

}  // namespace

Result<std::int64_t> parse_datetime(std::string_view text) {
    if (text.size() != 12 || !digits(text))
        return invalid("'" + std::string(text) + "' is not a CCYYMMDDHHMM time");
    const int year = number(text.substr(0, 4));
    const auto month = static_cast<unsigned>(number(text.substr(4, 2)));
    const auto day = static_cast<unsigned>(number(text.substr(6, 2)));
    const int hour = number(text.substr(8, 2));
    const int minute = number(text.substr(10, 2));
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    // 24:00 is the end of a day, as interval ends are written.
    if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0) ||
        hour > 24 || minute > 59 || (hour == 24 && minute != 0))
        return invalid("'" + std::string(text) + "' is not a real time");
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60;
}

Result<std::int64_t> kwh_to_wh(std::string_view text) {
    const auto dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (!digits(whole) || (dot != std::string_view::npos && !digits(fraction)))
        return invalid("'" + std::string(text) + "' is not a non-negative kWh value");
    if (fraction.size() > 3 && fraction.substr(3).find_first_not_of('0') != std::string_view::npos)
        return invalid("'" + std::string(text) + "' kWh is not a whole number of Wh");
    if (whole.size() > 12)
        return invalid("'" + std::string(text) + "' kWh is too large");
    std::int64_t wh = 0;
    std::from_chars(whole.data(), whole.data() + whole.size(), wh);
    wh *= 1000;
    for (std::size_t i = 0, scale = 100; i < 3 && i < fraction.size(); ++i, scale /= 10)
        wh += (fraction[i] - '0') * static_cast<std::int64_t>(scale);
    return wh;
}

Result<Record> parse_record(std::string_view line) {
    const auto split = csv::split(line);
    if (split.error)
        return invalid(split.error->reason);
    if (split.rows.size() != 1)
        return invalid("a record is one line");
    const auto& f = split.rows.front().fields;
    if (f.size() < 14)
        return invalid("a MEPMD01 record has at least 14 fields, this one " + std::to_string(f.size()));
    if (f[0] != "MEPMD01" || f[1] != "19970819")
        return invalid("not a MEPMD01 record of version 19970819");
    Record record;
    record.sender_id = f[2];
    record.sender_customer_id = f[3];
    record.receiver_id = f[4];
    record.receiver_customer_id = f[5];
    auto stamp = parse_datetime(f[6]);
    if (!stamp)
        return invalid("TimeStamp: " + stamp.error().message);
    record.timestamp = *stamp;
    record.meter_id = f[7];
    if (record.meter_id.empty())
        return invalid("MeterID is empty");
    record.purpose = f[8];
    if (f[9] != "E")
        return invalid("Commodity must be E (electricity), not '" + f[9] + "'");
    if (f[10] != "KWH")
        return invalid("Units must be KWH for interval energy, not '" + f[10] + "'");
    if (!digits(f[11]) || f[11].size() > 6 || number(f[11]) < 1)
        return invalid("CalcConstant must be a positive whole number, not '" + f[11] + "'");
    const std::int64_t constant = number(f[11]);
    const std::string& interval = f[12];
    if (interval.size() != 8 || !digits(interval))
        return invalid("Interval '" + interval + "' is not MMDDHHMM");
    if (interval.substr(0, 2) != "00")
        return invalid("Interval '" + interval + "': month-long intervals are not interval energy");
    record.interval_s =
        static_cast<std::uint32_t>(number(interval.substr(2, 2)) * 86400 + number(interval.substr(4, 2)) * 3600 +
                                   number(interval.substr(6, 2)) * 60);
    if (record.interval_s == 0)
        return invalid("Interval 00000000 is a register read, not interval energy");
    if (!digits(f[13]))
        return invalid("Count '" + f[13] + "' is not a number");
    const auto count = static_cast<std::size_t>(number(f[13]));
    if (f.size() != 14 + 3 * count)
        return invalid("Count says " + f[13] + " values but the record holds " + std::to_string((f.size() - 14) / 3) +
                       (((f.size() - 14) % 3) != 0 ? " and a partial one" : ""));
    for (std::size_t i = 0; i < count; ++i) {
        const std::string& when = f[14 + 3 * i];
        const std::string& flag = f[15 + 3 * i];
        const std::string& value = f[16 + 3 * i];
        auto end = parse_datetime(when);
        if (!end)
            return invalid("value " + std::to_string(i + 1) + ": " + end.error().message);
        Value one{*end, Flag::Actual, 0};
        if (flag == "A" || flag.empty())
            one.flag = Flag::Actual;
        else if (flag == "E")
            one.flag = Flag::Estimated;
        else if (flag == "N")
            one.flag = Flag::NotAvailable;
        else
            return invalid("value " + std::to_string(i + 1) + ": unknown flag '" + flag + "' (A, E or N)");
        if (one.flag != Flag::NotAvailable) {
            auto wh = kwh_to_wh(value);
            if (!wh)
                return invalid("value " + std::to_string(i + 1) + ": " + wh.error().message);
            constexpr std::int64_t kLargestInt48 = (std::int64_t{1} << 47) - 1;
            if (*wh > kLargestInt48 / constant)
                return invalid("value " + std::to_string(i + 1) + ": " + value + " kWh × " + f[11] +
                               " is beyond the Int48 range");
            one.wh = *wh * constant;
        }
        record.values.push_back(one);
    }
    return record;
}

std::string format_datetime(std::int64_t seconds) {
    const std::int64_t days = (seconds >= 0 ? seconds : seconds - 86399) / 86400;
    const std::int64_t in_day = seconds - days * 86400;
    const auto [year, month, day] = civil_from_days(days);
    std::string out;
    out.reserve(12);
    append_padded(out, year, 4);
    append_padded(out, month, 2);
    append_padded(out, day, 2);
    append_padded(out, in_day / 3600, 2);
    append_padded(out, in_day % 3600 / 60, 2);
    return out;
}

std::string wh_to_kwh(std::int64_t wh) {
    std::string out;
    if (wh < 0) {
        out += '-';
        wh = -wh;
    }
    append_padded(out, wh / 1000, 1);
    out += '.';
    append_padded(out, wh % 1000, 3);
    return out;
}

std::string format_record(const Record& record, const Vocabulary& vocabulary) {
    std::string out = "MEPMD01,19970819";
    append_field(out, record.sender_id);
    append_field(out, record.sender_customer_id);
    append_field(out, record.receiver_id);
    append_field(out, record.receiver_customer_id);
    append_field(out, format_datetime(record.timestamp));
    append_field(out, record.meter_id);
    append_field(out, record.purpose);
    out += ",E,KWH,1,";
    const std::int64_t interval = record.interval_s;
    append_padded(out, 0, 2);
    append_padded(out, interval / 86400, 2);
    append_padded(out, interval % 86400 / 3600, 2);
    append_padded(out, interval % 3600 / 60, 2);
    out += ',';
    append_padded(out, static_cast<std::int64_t>(record.values.size()), 1);
    for (const auto& value : record.values) {
        out += ',';
        out += format_datetime(value.end);
        switch (value.flag) {
            case Flag::Actual:
                append_field(out, vocabulary.actual);
                break;
            case Flag::Estimated:
                append_field(out, vocabulary.estimated);
                break;
            case Flag::NotAvailable:
                append_field(out, vocabulary.not_available);
                break;
        }
        out += ',';
        if (value.flag != Flag::NotAvailable)
            out += wh_to_kwh(value.wh);
    }
    return out;
}

}  // namespace cmep
