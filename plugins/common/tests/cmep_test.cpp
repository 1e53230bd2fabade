#include "cmep/cmep.hpp"

#include <gtest/gtest.h>

namespace cmep {
namespace {

// The reference's synthetic example; 2025-01-14T20:15Z is 1736885700 (date -ud).
constexpr const char* kExample =
    "MEPMD01,19970819,PEVHEADEND,,UTILITYMDM,,202501150105,EUMD-000123,OK,E,KWH,1,00000015,4,202501142015,A,1.812,"
    "202501142030,A,1.806,202501142045,E,1.809,202501142100,A,0.000";

TEST(Cmep, TheReferenceExampleReadsAsWholeWhAtUtcIntervalEnds) {
    auto record = parse_record(kExample);
    ASSERT_TRUE(record) << record.error().message;
    EXPECT_EQ(record->meter_id, "EUMD-000123");
    EXPECT_EQ(record->purpose, "OK");
    EXPECT_EQ(record->interval_s, 900U);
    ASSERT_EQ(record->values.size(), 4U);
    EXPECT_EQ(record->values[0].end, 1736885700);
    EXPECT_EQ(record->values[0].wh, 1812);
    EXPECT_EQ(record->values[2].flag, Flag::Estimated);
    EXPECT_EQ(record->values[2].wh, 1809);
    EXPECT_EQ(record->values[3].end, 1736888400);
    EXPECT_EQ(record->values[3].wh, 0);
}

TEST(Cmep, KwhBecomesWhExactly) {
    EXPECT_EQ(*kwh_to_wh("1.812"), 1812);
    EXPECT_EQ(*kwh_to_wh("0.5"), 500);
    EXPECT_EQ(*kwh_to_wh("12"), 12000);
    EXPECT_EQ(*kwh_to_wh("0.0010"), 1);
    for (const char* bad : {"1.8125", "-1.0", "", ".", "1e3", "1,5", "abc", "9999999999999.0"})
        EXPECT_FALSE(kwh_to_wh(bad)) << bad;
}

TEST(Cmep, TimesAreRealAndEndOfDayIs2400) {
    EXPECT_EQ(*parse_datetime("202501142400"), *parse_datetime("202501150000"));
    EXPECT_EQ(*parse_datetime("202402290000") + 86400, *parse_datetime("202403010000"));
    for (const char* bad :
         {"202502290000", "202513010000", "202501150060", "202501152401", "20250115000", "2025011500a0"})
        EXPECT_FALSE(parse_datetime(bad)) << bad;
}

TEST(Cmep, EachBadFieldIsRefusedNamingIt) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"MEPMD02,19970819,S,,R,,202501150105,M,OK,E,KWH,1,00000015,0", "MEPMD01"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,G,KWH,1,00000015,0", "Commodity"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KW,1,00000015,0", "Units"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,0,00000015,0", "CalcConstant"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1,00000000,0", "register read"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1,01000000,0", "month-long"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1,00000015,2,202501142015,A,1.0", "Count says 2"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1,00000015,1,202501142015,X,1.0", "unknown flag"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1,00000015,1,202501142015,A,-1.0", "value 1"},
        {"MEPMD01,19970819,S,,R,,202501150105,,OK,E,KWH,1,00000015,0", "MeterID"},
        {"MEPMD01,19970819,S,,R,,2025011501,M,OK,E,KWH,1,00000015,0", "TimeStamp"},
        {"MEPMD01,19970819,S", "at least 14 fields"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,999999,00000015,1,202501142015,A,999999999999.0", "Int48"},
        {"MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,1234567,00000015,0", "CalcConstant"},
    };
    for (const auto& [line, expected] : cases) {
        auto record = parse_record(line);
        ASSERT_FALSE(record) << line;
        EXPECT_EQ(record.error().code, "cmep.invalid");
        EXPECT_NE(record.error().message.find(expected), std::string::npos)
            << expected << " / " << record.error().message;
    }
}

TEST(Cmep, NotAvailableValuesCarryNoEnergyAndTheConstantMultiplies) {
    auto record = parse_record(
        "MEPMD01,19970819,S,,R,,202501150105,M,OK,E,KWH,10,00000100,2,202501142100,N,,202501142200,A,0.123");
    ASSERT_TRUE(record) << record.error().message;
    EXPECT_EQ(record->interval_s, 3600U);
    EXPECT_EQ(record->values[0].flag, Flag::NotAvailable);
    EXPECT_EQ(record->values[0].wh, 0);
    EXPECT_EQ(record->values[1].wh, 1230);
}

TEST(CmepWriting, TheReferenceExampleIsWrittenBackByteForByte) {
    auto record = parse_record(kExample);
    ASSERT_TRUE(record);
    EXPECT_EQ(format_record(*record), kExample);
}

TEST(CmepWriting, WhBecomesKwhExactlyAndTimesAreCivil) {
    EXPECT_EQ(wh_to_kwh(0), "0.000");
    EXPECT_EQ(wh_to_kwh(7), "0.007");
    EXPECT_EQ(wh_to_kwh(1812), "1.812");
    EXPECT_EQ(wh_to_kwh(140737488355327), "140737488355.327");  // the largest Int48
    EXPECT_EQ(format_datetime(1736885700), "202501142015");
    EXPECT_EQ(format_datetime(951782400), "200002290000");   // a leap day of a century year
    EXPECT_EQ(format_datetime(1736899200), "202501150000");  // a day's end is the next day's 0000
    EXPECT_EQ(*parse_datetime(format_datetime(4102444740)), 4102444740);
}

TEST(CmepWriting, EveryRecordReadsBackAsWrittenWithQuotedFieldsAndOtherWords) {
    Record record;
    record.sender_id = "HEAD,END";
    record.sender_customer_id = "P \"1\"";
    record.receiver_id = "MDM";
    record.timestamp = 1736899200;
    record.meter_id = "0123456789ABCDEF";
    record.purpose = "RESEND";
    record.interval_s = 3600;
    record.values = {{1736888400, Flag::Actual, 7200}, {1736892000, Flag::Estimated, 1}, {1736895600, Flag::Actual, 0}};
    const std::string line = format_record(record);
    EXPECT_NE(line.find(",00000100,3,"), std::string::npos) << line;
    auto read = parse_record(line);
    ASSERT_TRUE(read) << read.error().message << ": " << line;
    EXPECT_EQ(read->sender_id, record.sender_id);
    EXPECT_EQ(read->sender_customer_id, record.sender_customer_id);
    EXPECT_EQ(read->purpose, "RESEND");
    EXPECT_EQ(read->interval_s, 3600U);
    ASSERT_EQ(read->values.size(), 3U);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(read->values[i].end, record.values[i].end);
        EXPECT_EQ(read->values[i].flag, record.values[i].flag);
        EXPECT_EQ(read->values[i].wh, record.values[i].wh);
    }
    const std::string other = format_record(record, {.actual = "R", .estimated = "S", .not_available = "X"});
    EXPECT_NE(other.find("202501142200,S,0.001,202501142300,R,0.000"), std::string::npos) << other;
}

}  // namespace
}  // namespace cmep
