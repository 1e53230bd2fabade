// OCPI 2.2.1 CDRs read and written exactly: decimals from their text, every refusal naming its field.
#include "billing/ocpi.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace billing::ocpi {
namespace {

// A visiting PEV's CDR as the clearinghouse would carry it: 12.345 kWh at our premises P7, $4.10.
const std::string kCdr = R"({
  "country_code": "US", "party_id": "PEV", "id": "CDR-0001",
  "start_date_time": "2026-07-01T23:00:00Z", "end_date_time": "2026-07-02T01:00:00.500Z",
  "session_id": "S-1",
  "cdr_token": {"country_code": "US", "party_id": "OTH", "uid": "ABCDEF0123", "type": "APP_USER",
                "contract_id": "US-OTH-C0001"},
  "auth_method": "WHITELIST",
  "cdr_location": {"id": "P7", "address": "7 Elm St", "city": "Springfield", "postal_code": "90210",
                   "country": "USA", "coordinates": {"latitude": "34.052235", "longitude": "-118.243683"},
                   "evse_uid": "EUMD-7", "evse_id": "US*PEV*E7", "connector_id": "1",
                   "connector_standard": "IEC_62196_T1", "connector_format": "CABLE",
                   "connector_power_type": "AC_1_PHASE"},
  "meter_id": "0011223344556677889900112233445566778899",
  "currency": "USD",
  "tariffs": [{"id": "EV-TOU"}],
  "charging_periods": [
    {"start_date_time": "2026-07-01T23:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 7.2},
                                                              {"type": "TIME", "volume": 1}]},
    {"start_date_time": "2026-07-02T00:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 5.145}],
     "tariff_id": "EV-TOU"}],
  "total_cost": {"excl_vat": 4.1, "incl_vat": 4.10000},
  "total_energy": 12.345, "total_time": 2.000139,
  "last_updated": "2026-07-02T01:05:00Z"
})";

std::string refusal(const std::string& json) {
    auto parsed = parse_cdr(json);
    if (parsed)
        return "accepted";
    EXPECT_EQ(parsed.error().code, "ocpi.invalid");
    return parsed.error().message;
}

// The sample with one change made through nlohmann (its numbers print as they were written).
std::string changed(const std::function<void(nlohmann::json&)>& change) {
    auto json = nlohmann::json::parse(kCdr);
    change(json);
    return json.dump();
}

TEST(OcpiCdr, ACdrIsReadExactlyAndWrittenBackTheSame) {
    auto cdr = parse_cdr(kCdr);
    ASSERT_TRUE(cdr) << cdr.error().message;
    EXPECT_EQ(cdr->id, "CDR-0001");
    EXPECT_EQ(cdr->start, 1'782'946'800);  // 2026-07-01T23:00:00Z
    EXPECT_EQ(cdr->end, 1'782'954'000);    // fractions of a second dropped
    EXPECT_EQ(cdr->total_energy_wh, 12'345);
    EXPECT_EQ(cdr->total_cost_excl_vat, 410'000);
    EXPECT_EQ(cdr->total_cost_incl_vat, 410'000);
    ASSERT_EQ(cdr->charging_periods.size(), 2U);
    EXPECT_EQ(energy_wh(cdr->charging_periods[0]), 7'200);
    EXPECT_EQ(energy_wh(cdr->charging_periods[1]), 5'145);
    EXPECT_EQ(cdr->location.id, "P7");
    EXPECT_EQ(cdr->token.uid, "ABCDEF0123");
    EXPECT_FALSE(cdr->credit);

    const std::string written = format_cdr(*cdr);
    EXPECT_NE(written.find(R"("total_energy":12.345,)"), std::string::npos) << written;
    EXPECT_NE(written.find(R"("total_cost":{"excl_vat":4.1,"incl_vat":4.1})"), std::string::npos) << written;
    EXPECT_NE(written.find(R"("total_time":2.000139)"), std::string::npos) << written;
    auto again = parse_cdr(written);
    ASSERT_TRUE(again) << again.error().message << "\n" << written;
    EXPECT_EQ(*again, *cdr);
}

TEST(OcpiCdr, NumbersFinerThanAWattHourOrACentsThousandthAreRefusedNotRounded) {
    EXPECT_EQ(refusal(changed([](auto& j) { j["total_energy"] = 12.3456; })),
              "total_energy: 12.3456 is not a decimal of at most 3 places (whole Wh)");
    EXPECT_NE(refusal(changed([](auto& j) { j["total_cost"]["excl_vat"] = 4.123456; })).find("total_cost.excl_vat"),
              std::string::npos);
    EXPECT_NE(refusal(changed([](auto& j) {
                  j["charging_periods"][0]["dimensions"][0]["volume"] = 0.0001;
              })).find("charging_periods[0].dimensions[0].volume"),
              std::string::npos);
    // 1e3 is a JSON number but not how a decimal is written; a string is not a number.
    std::string exponent = kCdr;
    exponent.replace(exponent.find("12.345"), 6, "1.2345e1");
    EXPECT_NE(refusal(exponent).find("total_energy"), std::string::npos);
    EXPECT_EQ(refusal(changed([](auto& j) { j["total_energy"] = "12.345"; })), "total_energy: must be a number");
}

TEST(OcpiCdr, EachMissingOrWrongFieldIsNamed) {
    const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
        {[](auto& j) { j.erase("id"); }, "id: missing"},
        {[](auto& j) { j["id"] = std::string(40, 'x'); }, "id: longer than 39 characters"},
        {[](auto& j) { j["country_code"] = "USA"; }, "country_code: longer than 2 characters"},
        {[](auto& j) { j["country_code"] = "/"; }, "country_code: two letters (ISO 3166-1 alpha-2)"},
        {[](auto& j) { j["party_id"] = "../"; }, "party_id: three letters or digits"},
        {[](auto& j) { j["id"] = "K1\nUS-UTL-K2"; }, "id: printable ASCII only"},
        {[](auto& j) { j.erase("cdr_token"); }, "cdr_token: missing or not an object"},
        {[](auto& j) { j["cdr_token"].erase("uid"); }, "cdr_token.uid: missing"},
        {[](auto& j) { j["cdr_token"]["type"] = "CARD"; }, "cdr_token.type: \"CARD\" is not a known value"},
        {[](auto& j) { j["auth_method"] = 1; }, "auth_method: must be a string"},
        {[](auto& j) { j["cdr_location"].erase("evse_uid"); }, "cdr_location.evse_uid: missing"},
        {[](auto& j) { j["cdr_location"]["coordinates"].erase("latitude"); },
         "cdr_location.coordinates.latitude: missing"},
        {[](auto& j) { j["charging_periods"] = nlohmann::json::array(); },
         "charging_periods: missing, not an array, or empty"},
        {[](auto& j) { j["charging_periods"][1]["dimensions"][0]["type"] = "VOLTS"; },
         "charging_periods[1].dimensions[0].type: \"VOLTS\" is not a known value"},
        {[](auto& j) { j["start_date_time"] = "2026-07-01T23:00:00+02:00"; },
         "start_date_time: \"2026-07-01T23:00:00+02:00\" is not an RFC 3339 UTC date-time"},
        {[](auto& j) { j["end_date_time"] = "2026-02-30T00:00:00Z"; },
         "end_date_time: \"2026-02-30T00:00:00Z\" is not an RFC 3339 UTC date-time"},
        {[](auto& j) { j["end_date_time"] = "2026-07-01T22:00:00Z"; }, "end_date_time: before start_date_time"},
        {[](auto& j) { j.erase("total_cost"); }, "total_cost: missing or not an object"},
        {[](auto& j) { j["total_cost"]["excl_vat"] = -1; },
         "total_cost.excl_vat: negative, and the CDR is not a credit"},
        {[](auto& j) { j["total_energy"] = -1; }, "total_energy: negative"},
        {[](auto& j) { j["total_cost"]["incl_vat"] = -4.1; },
         "total_cost.incl_vat: negative, and the CDR is not a credit"},
        {[](auto& j) { j["total_energy"] = 12.346; },
         "charging_periods: their ENERGY adds up to 12.345 kWh, total_energy is 12.346 kWh"},
        {[](auto& j) { j["credit"] = "yes"; }, "credit: must be true or false"},
        {[](auto& j) { j["credit"] = true; }, "credit_reference_id: a credit CDR names the CDR it reverses"},
        {[](auto& j) {
             j["credit"] = true;
             j["credit_reference_id"] = "CDR-0000";
         },
         "total_cost.excl_vat: a credit CDR's cost is not positive"},
    };
    for (const auto& [change, expected] : cases)
        EXPECT_EQ(refusal(changed(change)), expected);
}

TEST(OcpiCdr, ACreditCdrReversesItsOriginalWithNegativeCosts) {
    auto cdr = parse_cdr(changed([](auto& j) {
        j["id"] = "CDR-0001-C";
        j["credit"] = true;
        j["credit_reference_id"] = "CDR-0001";
        j["total_cost"] = {{"excl_vat", -4.1}};
    }));
    ASSERT_TRUE(cdr) << cdr.error().message;
    EXPECT_TRUE(cdr->credit);
    EXPECT_EQ(cdr->credit_reference_id, "CDR-0001");
    EXPECT_EQ(cdr->total_cost_excl_vat, -410'000);
    EXPECT_NE(format_cdr(*cdr).find(R"("excl_vat":-4.1})"), std::string::npos);
}

TEST(OcpiCdr, WhatIsNotAJsonObjectOrRepeatsAKeyIsRefused) {
    EXPECT_EQ(refusal("[1, 2]"), "CDR: not a JSON object");
    EXPECT_EQ(refusal(""), "not JSON (at byte 1)");
    EXPECT_NE(refusal("{\"id\": \"a\", \"id\": \"b\"}").find("the key \"id\" appears twice"), std::string::npos);
    EXPECT_NE(refusal(std::string("{\"id\": \"\xff\"}")).find("not JSON"), std::string::npos);
}

TEST(OcpiCdr, DeepNestingIsRefusedNotACrash) {
    // A CDR is a handful of levels deep; a peer's million nested arrays must not exhaust the stack.
    const std::size_t depth = 1'000'000;
    EXPECT_NE(refusal(std::string(depth, '[') + std::string(depth, ']')).find("nested deeper"), std::string::npos);
    EXPECT_NE(refusal(R"({"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}").find("nested deeper"),
              std::string::npos);
}

TEST(OcpiCdr, AChargingPeriodsEnergyIsNotNegative) {
    const auto negative = changed([](nlohmann::json& cdr) {
        cdr["charging_periods"][0]["dimensions"][0]["volume"] = nlohmann::json::parse("-7.2");
    });
    EXPECT_EQ(refusal(negative), "charging_periods[0].dimensions[0].volume: negative");
}

TEST(OcpiEnvelope, TheResponseCarriesStatusMessageTimestampAndData) {
    EXPECT_EQ(envelope(kSuccess, "", 1'782'946'800), R"({"status_code":1000,"timestamp":"2026-07-01T23:00:00Z"})");
    EXPECT_EQ(
        envelope(kInvalidParameters, "id: missing", 0, R"({"x":1})"),
        R"({"data":{"x":1},"status_code":2001,"status_message":"id: missing","timestamp":"1970-01-01T00:00:00Z"})");
    EXPECT_EQ(envelope_status(R"({"status_code": 1000, "timestamp": "2026-07-01T23:00:00Z"})").value(), 1000);
    EXPECT_FALSE(envelope_status(R"({"status_code": "1000"})"));
    EXPECT_FALSE(envelope_status("<html>"));
}

TEST(OcpiNumbers, DecimalsConvertExactlyBothWays) {
    EXPECT_EQ(scaled_decimal("12.345", 3), 12'345);
    EXPECT_EQ(scaled_decimal("12.34500", 3), 12'345);  // trailing zeros past the scale are exact
    EXPECT_EQ(scaled_decimal("-0.5", 5), -50'000);
    EXPECT_EQ(scaled_decimal("7", 3), 7'000);
    EXPECT_EQ(scaled_decimal("92233720368547.75807", 5), std::numeric_limits<std::int64_t>::max());
    for (const char* bad : {"", "-", ".5", "5.", "1e3", "+1", "1.2.3", "12.3456", "92233720368547.75808", " 1"})
        EXPECT_FALSE(scaled_decimal(bad, 3).has_value()) << bad;
    EXPECT_EQ(format_decimal(0, 5), "0");
    EXPECT_EQ(format_decimal(5, 5), "0.00005");
    EXPECT_EQ(format_decimal(-150, 3), "-0.15");
    EXPECT_EQ(format_decimal(12'000, 3), "12");
    EXPECT_EQ(format_decimal(std::numeric_limits<std::int64_t>::min(), 5), "-92233720368547.75808");
}

TEST(OcpiNumbers, DateTimesAreUtcWithOptionalFractionAndZ) {
    EXPECT_EQ(parse_date_time("2026-07-01T23:00:00Z"), 1'782'946'800);
    EXPECT_EQ(parse_date_time("2026-07-01T23:00:00"), 1'782'946'800);
    EXPECT_EQ(parse_date_time("2026-07-01T23:00:00.999Z"), 1'782'946'800);
    EXPECT_EQ(parse_date_time("2026-07-01T23:00:00+00:00"), 1'782'946'800);  // UTC written as an offset
    for (const char* bad : {"2026-07-01 23:00:00Z", "2026-07-01T24:00:00Z", "2026-07-01T23:00:00.Z",
                            "2026-07-01T23:00:00+01:00", "2026-7-01T23:00:00Z", "2026-07-01T23:00:00ZZ"})
        EXPECT_FALSE(parse_date_time(bad).has_value()) << bad;
    EXPECT_EQ(format_date_time(1'782'946'800), "2026-07-01T23:00:00Z");
    // Past 2038-01-19 the seconds no longer fit 32 bits.
    EXPECT_EQ(parse_date_time("2040-01-01T00:00:00Z"), 2'208'988'800);
    EXPECT_EQ(parse_date_time("1901-01-01T00:00:00Z"), -2'177'452'800);
    EXPECT_EQ(parse_date_time("9999-12-31T23:59:59Z"), 253'402'300'799);
}

}  // namespace
}  // namespace billing::ocpi
