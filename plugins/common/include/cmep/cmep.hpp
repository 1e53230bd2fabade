// CMEP MEPMD01 interval records (../shared/reference/exchange-formats.md): the premises meter data the AMI sends
// (headendctl import intervals) and, later, what the MDM export writes. Energy in whole Wh, times in UTC seconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/result.hpp"

namespace cmep {

enum class Flag { Actual, Estimated, NotAvailable };

struct Value {
    std::int64_t end = 0;  // the interval's end (CMEP stamps an interval by its end), UTC seconds
    Flag flag = Flag::Actual;
    std::int64_t wh = 0;  // 0 when not available
};

struct Record {
    std::string sender_id;
    std::string sender_customer_id;
    std::string receiver_id;
    std::string receiver_customer_id;
    std::int64_t timestamp = 0;
    std::string meter_id;
    std::string purpose;  // OK, RESEND, HISTORY, SUMMARY, PROFILE, TEST
    std::uint32_t interval_s = 0;
    std::vector<Value> values;
};

// One MEPMD01 line of interval energy in KWH. Times (CCYYMMDDHHMM) are read as UTC. Refused (code "cmep.invalid",
// the message naming the field): another record type or version, Commodity other than E, Units other than KWH, a
// CalcConstant that is not a positive whole number, a register read (Interval 00000000) or a month-long interval,
// Count not matching the triplets, an impossible date, a value with more than three decimals (not whole Wh), a
// negative value, an unknown flag (A, E, N by default).
headend::Result<Record> parse_record(std::string_view line);

// "1.812" kWh → 1812 Wh, exactly; errors as above.
headend::Result<std::int64_t> kwh_to_wh(std::string_view text);

// CCYYMMDDHHMM as UTC seconds, or an error naming it.
headend::Result<std::int64_t> parse_datetime(std::string_view text);

// ---- Writing (the MDM export).

// The status flag words; receivers differ, these are the common ones.
struct Vocabulary {
    std::string actual = "A";
    std::string estimated = "E";
    std::string not_available = "N";
};

// The civil time `seconds` encodes as CCYYMMDDHHMM: UTC seconds, or a local wall clock's seconds for a receiver that
// wants local time (the caller shifts). A day's end is written as 0000 of the next day.
std::string format_datetime(std::int64_t seconds);

// 1812 Wh → "1.812" (kWh, three decimals, exact).
std::string wh_to_kwh(std::int64_t wh);

// One MEPMD01 line without its line end, Commodity E, Units KWH, CalcConstant 1; times written as given (see
// format_datetime). Fields holding a comma, quote or line break are quoted as RFC 4180 says.
std::string format_record(const Record& record, const Vocabulary& vocabulary = {});

}  // namespace cmep
