// OCPI 2.2.1 CDRs (../shared/reference/exchange-formats.md): the charge detail records the head-end pushes to the
// clearinghouse for visiting PEVs and receives for its own PEVs charged elsewhere, and the OCPI response envelope.
// Numbers are decimals in JSON; they are read from their text and written from integers, never through a binary
// float: energy in Wh (kWh with at most 3 decimals), money in 10^-5 currency units (at most 5 decimals).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "headend/plugin/result.hpp"

namespace billing::ocpi {

// OCPI status codes of the response envelope.
inline constexpr int kSuccess = 1000;
inline constexpr int kInvalidParameters = 2001;  // invalid or missing parameters
inline constexpr int kUnknownToken = 2004;

struct CdrToken {
    std::string country_code;  // ISO 3166 alpha-2 of the eMSP that owns the token
    std::string party_id;
    std::string uid;   // our PEVs: the LFDI
    std::string type;  // AD_HOC_USER, APP_USER, OTHER, RFID
    std::string contract_id;
    bool operator==(const CdrToken&) const = default;
};

struct CdrLocation {
    std::string id;  // our premises id
    std::optional<std::string> name;
    std::string address;
    std::string city;
    std::optional<std::string> postal_code;
    std::optional<std::string> state;
    std::string country;  // ISO 3166 alpha-3
    std::string latitude;
    std::string longitude;
    std::string evse_uid;
    std::string evse_id;
    std::string connector_id;
    std::string connector_standard;
    std::string connector_format;      // SOCKET, CABLE
    std::string connector_power_type;  // AC_1_PHASE, AC_2_PHASE, AC_2_PHASE_SPLIT, AC_3_PHASE, DC
    bool operator==(const CdrLocation&) const = default;
};

struct Dimension {
    std::string type;    // ENERGY, MAX_CURRENT, MIN_CURRENT, MAX_POWER, MIN_POWER, PARKING_TIME, RESERVATION_TIME, TIME
    std::string volume;  // the decimal as sent
    bool operator==(const Dimension&) const = default;
};

struct ChargingPeriod {
    std::int64_t start = 0;  // UTC seconds
    std::vector<Dimension> dimensions;
    std::optional<std::string> tariff_id;
    bool operator==(const ChargingPeriod&) const = default;
};

struct Cdr {
    std::string country_code;  // of the CPO
    std::string party_id;
    std::string id;
    std::int64_t start = 0;  // UTC seconds
    std::int64_t end = 0;
    std::optional<std::string> session_id;
    CdrToken token;
    std::string auth_method;  // AUTH_REQUEST, COMMAND, WHITELIST
    CdrLocation location;
    std::optional<std::string> meter_id;  // our EUMD's LFDI
    std::string currency;                 // ISO 4217
    std::vector<ChargingPeriod> charging_periods;
    std::int64_t total_cost_excl_vat = 0;  // 10^-5 currency units; negative in a credit CDR
    std::optional<std::int64_t> total_cost_incl_vat;
    std::int64_t total_energy_wh = 0;
    std::string total_time;  // hours, the decimal as sent
    bool credit = false;
    std::optional<std::string> credit_reference_id;  // the CDR a credit CDR reverses
    std::int64_t last_updated = 0;
    bool operator==(const Cdr&) const = default;
};

// A CDR from its JSON. Refusals have code "ocpi.invalid" and a message naming the field
// ("cdr_location.evse_uid: missing"), to be answered with status_code 2001.
headend::Result<Cdr> parse_cdr(std::string_view json);
std::string format_cdr(const Cdr& cdr);

// The energy of a charging period's ENERGY dimensions, in Wh (0 when it has none). For a period of a CDR parse_cdr
// accepted: their sum is the CDR's total_energy.
std::int64_t energy_wh(const ChargingPeriod& period);

// The OCPI response envelope: {"data": …, "status_code": …, "status_message": …, "timestamp": …}; `data_json` is raw
// JSON (empty: no data).
std::string envelope(int status_code, std::string_view message, std::int64_t now, std::string_view data_json = {});
// The status_code of an envelope a peer answered ("ocpi.invalid" when it is not one).
headend::Result<int> envelope_status(std::string_view json);

// A credentials token as OCPI 2.2 sends it in `Authorization: Token …`: Base64-encoded.
std::string encode_token(const std::string& token);

// RFC 3339 UTC as OCPI writes it ("2026-07-01T17:00:00Z") and reads it (fractions optional; "Z", "+00:00" or
// nothing: UTC only).
std::string format_date_time(std::int64_t utc);
std::optional<std::int64_t> parse_date_time(std::string_view text);

// A decimal's text as an integer in units of 10^-scale, exactly, or nothing (not a decimal, finer than the scale,
// beyond 64 bits). And back: 12345 at scale 3 is "12.345", trailing zeros dropped ("12.3", "12").
std::optional<std::int64_t> scaled_decimal(std::string_view text, int scale);
std::string format_decimal(std::int64_t value, int scale);

}  // namespace billing::ocpi
