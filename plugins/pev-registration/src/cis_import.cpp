#include "pev/cis_import.hpp"

#include <algorithm>

#include "csv/csv.hpp"
#include "mail/address.hpp"

#include <map>
#include <optional>

namespace pev {

namespace {

// Well-formed UTF-8 (RFC 3629): no stray continuation bytes, overlong forms, surrogates or values past U+10FFFF.
// Names and addresses go into bills, e-mail and XML, which all need text.
bool valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        std::uint32_t code = 0;
        if (byte < 0x80) {
            ++i;
            continue;
        }
        if (byte >= 0xC2 && byte <= 0xDF) {
            length = 2;
            code = byte & 0x1Fu;
        } else if (byte >= 0xE0 && byte <= 0xEF) {
            length = 3;
            code = byte & 0x0Fu;
        } else if (byte >= 0xF0 && byte <= 0xF4) {
            length = 4;
            code = byte & 0x07u;
        } else {
            return false;
        }
        if (i + length > text.size())
            return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0u) != 0x80u)
                return false;
            code = (code << 6) | (next & 0x3Fu);
        }
        if ((length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
            (length == 4 && (code < 0x10000 || code > 0x10FFFF)))
            return false;
        i += length;
    }
    return true;
}

// Newlines are allowed only where a quoted field may carry them on purpose (multi-line addresses).
std::optional<std::string> check_length(const std::string& value, const char* column, std::size_t min, std::size_t max,
                                        bool multiline = false) {
    if (value.size() < min || value.size() > max) {
        return std::string(column) + (min > 0 && value.empty() ? " is empty"
                                                               : " must be " + std::to_string(min) + ".." +
                                                                     std::to_string(max) + " characters");
    }
    for (const unsigned char c : value) {
        if ((c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\r')))
            return std::string(column) + " contains a control character";
    }
    return std::nullopt;
}

}  // namespace

CisParse parse_cis_csv(std::string_view text, const std::function<bool(std::string_view)>& known_rate) {
    CisParse result;
    if (text.starts_with("\xEF\xBB\xBF"))
        text.remove_prefix(3);  // spreadsheet exports often start with a UTF-8 byte order mark
    csv::Split split = csv::split(text);
    if (split.error) {
        result.errors.push_back({split.error->line, split.error->reason});
        return result;
    }
    if (split.rows.empty()) {
        result.errors.push_back({1, "the file is empty; expected the header " + std::string(kCisHeader)});
        return result;
    }
    std::string header;
    for (std::size_t i = 0; i < split.rows[0].fields.size(); ++i)
        header += (i ? "," : "") + split.rows[0].fields[i];
    const bool with_email = header == std::string(kCisHeader) + ",email";
    if (header != kCisHeader && !with_email) {
        result.errors.push_back(
            {1, "the header must be exactly " + std::string(kCisHeader) + ", optionally followed by ,email"});
        return result;
    }
    const std::size_t columns = with_email ? 7 : 6;

    std::map<std::string, std::size_t> premises_lines;
    std::map<std::string, std::pair<std::string, std::string>> account_customer;  // account -> customer id, name
    std::map<std::string, std::string> account_email;
    std::vector<CisRecord> records;
    for (std::size_t r = 1; r < split.rows.size(); ++r) {
        const csv::Row& row = split.rows[r];
        if (row.fields.size() == 1 && row.fields[0].empty())
            continue;  // blank line
        if (row.fields.size() != columns) {
            result.errors.push_back({row.line, "expected " + std::to_string(columns) + " fields, found " +
                                                   std::to_string(row.fields.size())});
            continue;
        }
        if (const auto bad = std::find_if(row.fields.begin(), row.fields.end(),
                                          [](const std::string& field) { return !valid_utf8(field); });
            bad != row.fields.end()) {
            result.errors.push_back(
                {row.line, "field " + std::to_string(bad - row.fields.begin() + 1) + " is not UTF-8 text"});
            continue;
        }
        CisRecord record{row.fields[0],
                         row.fields[1],
                         row.fields[2],
                         row.fields[3],
                         row.fields[4],
                         row.fields[5],
                         with_email ? std::optional(row.fields[6]) : std::nullopt,
                         row.line};
        std::optional<std::string> problem;
        if (!problem)
            problem = check_length(record.account_id, "account_id", 1, 42);
        if (!problem)
            problem = check_length(record.customer_id, "customer_id", 1, 42);
        if (!problem)
            problem = check_length(record.customer_name, "customer_name", 1, 120);
        if (!problem)
            problem = check_length(record.premises_id, "premises_id", 1, 42);
        if (!problem)
            problem = check_length(record.service_address, "service_address", 0, 200, true);
        if (!problem)
            problem = check_length(record.default_rate, "default_rate", 1, 20);
        if (!problem && record.email && !record.email->empty() && !mail::is_plain_address(*record.email))
            problem = "email '" + *record.email + "' is not an e-mail address (local@domain)";
        if (!problem && known_rate && !known_rate(record.default_rate))
            problem = "default_rate '" + record.default_rate + "' is not a program";
        if (!problem) {
            if (auto seen = premises_lines.find(record.premises_id); seen != premises_lines.end()) {
                problem = "premises " + record.premises_id + " already appears on line " + std::to_string(seen->second);
            }
        }
        if (!problem) {
            auto [it, inserted] =
                account_customer.try_emplace(record.account_id, record.customer_id, record.customer_name);
            if (!inserted && it->second.first != record.customer_id) {
                problem = "account " + record.account_id + " belongs to customer " + it->second.first +
                          " on an earlier line, not " + record.customer_id;
            }
        }
        if (!problem && record.email) {
            auto [it, inserted] = account_email.try_emplace(record.account_id, *record.email);
            if (!inserted && it->second != *record.email)
                problem = "account " + record.account_id + " has the e-mail address '" + it->second +
                          "' on an earlier line, not '" + *record.email + "'";
        }
        if (problem) {
            result.errors.push_back({row.line, *problem});
            continue;
        }
        premises_lines.emplace(record.premises_id, row.line);
        records.push_back(std::move(record));
    }
    if (result.errors.empty())
        result.records = std::move(records);
    return result;
}

}  // namespace pev
