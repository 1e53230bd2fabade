#include "pev/cis_import.hpp"

#include <gtest/gtest.h>

namespace pev {
namespace {

const std::string kHeader = std::string(kCisHeader) + "\n";

TEST(CisImport, ReadsRowsWithQuotesCrlfAndABom) {
    const std::string text = "\xEF\xBB\xBF" + std::string(kCisHeader) +
                             "\r\n"
                             "A1,C1,\"Doe, Jane\",P1,\"1 Main St, \"\"Unit 2\"\"\",DOM-FLAT\r\n"
                             "A1,C1,\"Doe, Jane\",P2,,DOM-FLAT\r\n"
                             "\r\n"
                             "A2,C2,Roe,P3,\"3 Oak\nAve\",DOM-FLAT\n";
    auto parsed = parse_cis_csv(text);
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().line << ": " << parsed.errors.front().reason;
    ASSERT_EQ(parsed.records.size(), 3U);
    EXPECT_EQ(parsed.records[0].customer_name, "Doe, Jane");
    EXPECT_EQ(parsed.records[0].service_address, "1 Main St, \"Unit 2\"");
    EXPECT_EQ(parsed.records[0].line, 2U);
    EXPECT_EQ(parsed.records[1].service_address, "");
    EXPECT_EQ(parsed.records[2].service_address, "3 Oak\nAve");
    EXPECT_EQ(parsed.records[2].line, 5U);
}

// From review: a name of invalid UTF-8 was imported and its bill's PDF stopped at it, silently.
TEST(CisImport, FieldsThatAreNotUtf8AreRefused) {
    const std::string text = kHeader + "A1,C1,\xff\xfe" +
                             "Bad,P1,1 Main,DOM-FLAT\n"            // 2 not UTF-8
                             "A2\xc0,C2,Roe,P2,2 Main,DOM-FLAT\n"  // 3 a lone lead byte
                             "A3,C3,Ren\xc3\xa9"
                             "e,P3,3 Main,DOM-FLAT\n"                 // 4 é, fine
                             "A4,C4,Poe,P4,\xed\xa0\x80,DOM-FLAT\n"   // 5 a surrogate
                             "A5,C5,Loe,P5,\xe0\x80\xaf,DOM-FLAT\n";  // 6 an overlong '/'
    const auto parsed = parse_cis_csv(text);
    ASSERT_EQ(parsed.errors.size(), 4U);
    EXPECT_EQ(parsed.errors[0].line, 2U);
    EXPECT_EQ(parsed.errors[0].reason, "field 3 is not UTF-8 text");
    EXPECT_EQ(parsed.errors[1].line, 3U);
    EXPECT_EQ(parsed.errors[1].reason, "field 1 is not UTF-8 text");
    EXPECT_EQ(parsed.errors[2].line, 5U);
    EXPECT_EQ(parsed.errors[3].line, 6U);
    EXPECT_TRUE(parsed.records.empty());
}

TEST(CisImport, AnyBadRowRefusesTheWholeFileAndNamesEveryBadLine) {
    const std::string text = kHeader +
                             "A1,C1,Doe,P1,1 Main,DOM-FLAT\n"  // 2 fine
                             "A2,C2,Roe,P2,2 Main\n"           // 3 five fields
                             "A3,C3,,P3,3 Main,DOM-FLAT\n"     // 4 empty name
                             "A4,C4,Poe,P1,4 Main,DOM-FLAT\n"  // 5 premises twice
                             "A1,C9,Zoe,P5,5 Main,DOM-FLAT\n"  // 6 account of another customer
                             "A6,C6,Moe,P6,6 Main,\n";         // 7 no rate
    auto parsed = parse_cis_csv(text);
    EXPECT_TRUE(parsed.records.empty());
    ASSERT_EQ(parsed.errors.size(), 5U);
    EXPECT_EQ(parsed.errors[0].line, 3U);
    EXPECT_NE(parsed.errors[0].reason.find("expected 6 fields, found 5"), std::string::npos);
    EXPECT_EQ(parsed.errors[1].line, 4U);
    EXPECT_NE(parsed.errors[1].reason.find("customer_name is empty"), std::string::npos);
    EXPECT_EQ(parsed.errors[2].line, 5U);
    EXPECT_NE(parsed.errors[2].reason.find("already appears on line 2"), std::string::npos);
    EXPECT_EQ(parsed.errors[3].line, 6U);
    EXPECT_NE(parsed.errors[3].reason.find("belongs to customer C1"), std::string::npos);
    EXPECT_EQ(parsed.errors[4].line, 7U);
    EXPECT_NE(parsed.errors[4].reason.find("default_rate is empty"), std::string::npos);
}

TEST(CisImport, RefusesAWrongHeaderAnEmptyFileAndBrokenQuotes) {
    EXPECT_EQ(parse_cis_csv("").errors.at(0).line, 1U);
    EXPECT_NE(parse_cis_csv("account,customer\n").errors.at(0).reason.find("header must be exactly"),
              std::string::npos);
    auto extra = parse_cis_csv(kHeader.substr(0, kHeader.size() - 1) + ",phone\n");
    EXPECT_NE(extra.errors.at(0).reason.find("optionally followed by ,email"), std::string::npos);
    auto short_row = parse_cis_csv(kHeader.substr(0, kHeader.size() - 1) + ",email\nA1,C1,Doe,P1,x,DOM-FLAT\n");
    EXPECT_EQ(short_row.errors.at(0).reason, "expected 7 fields, found 6");
    auto unclosed = parse_cis_csv(kHeader + "A1,C1,\"Doe,P1,x,DOM-FLAT\n");
    ASSERT_EQ(unclosed.errors.size(), 1U);
    EXPECT_EQ(unclosed.errors[0].line, 2U);
    EXPECT_NE(unclosed.errors[0].reason.find("never closed"), std::string::npos);
    auto stray = parse_cis_csv(kHeader + "A1,C1,Do\"e,P1,x,DOM-FLAT\n");
    ASSERT_EQ(stray.errors.size(), 1U);
    EXPECT_NE(stray.errors[0].reason.find("quote inside an unquoted field"), std::string::npos);
    auto control = parse_cis_csv(kHeader + "A1,C1,Do\x01e,P1,x,DOM-FLAT\n");
    ASSERT_EQ(control.errors.size(), 1U);
    EXPECT_NE(control.errors[0].reason.find("control character"), std::string::npos);
    EXPECT_TRUE(control.records.empty());
}

}  // namespace
}  // namespace pev
