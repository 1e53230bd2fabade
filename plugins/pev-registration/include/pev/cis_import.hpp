// Customer records from the utility's CIS, as a CSV export (RFC 4180: quoted fields, "" for a quote, CRLF or LF).
// The header must be exactly:
//   account_id,customer_id,customer_name,premises_id,service_address,default_rate
// or the same followed by ",email" (the account's address for bills; empty for none). One row per premises. A file with
// any bad row is refused whole, with every bad row named by its line.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pev {

struct CisRecord {
    std::string account_id;            // 1..42 characters
    std::string customer_id;           // 1..42
    std::string customer_name;         // 1..120
    std::string premises_id;           // 1..42, once per file
    std::string service_address;       // 0..200
    std::string default_rate;          // 1..20, the premises' tariff when no incentive applies (e.g. DOM-FLAT)
    std::optional<std::string> email;  // the account's, when the file has the column ("" for none)
    std::size_t line = 0;              // where the row starts in the file
};

struct CisRowError {
    std::size_t line;
    std::string reason;
};

struct CisParse {
    std::vector<CisRecord> records;   // empty whenever errors is not
    std::vector<CisRowError> errors;  // in line order
};

inline constexpr std::string_view kCisHeader =
    "account_id,customer_id,customer_name,premises_id,service_address,default_rate";

// `known_rate`, when given, says whether a default_rate names a program; rows naming none are bad rows.
CisParse parse_cis_csv(std::string_view text, const std::function<bool(std::string_view)>& known_rate = {});

}  // namespace pev
