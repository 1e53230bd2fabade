#include "csv/csv.hpp"

#include <gtest/gtest.h>

namespace csv {
namespace {

TEST(Csv, SplitsQuotedFieldsAndRemembersLines) {
    const auto result = split("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,row");
    ASSERT_FALSE(result.error);
    ASSERT_EQ(result.rows.size(), 4U);
    EXPECT_EQ(result.rows[1].fields, (std::vector<std::string>{"x, y", "say \"hi\""}));
    EXPECT_EQ(result.rows[2].fields, (std::vector<std::string>{"two\nlines", "z"}));
    EXPECT_EQ(result.rows[2].line, 3U);
    EXPECT_EQ(result.rows[3].line, 5U);
}

TEST(Csv, MalformedQuotesAreErrorsWithTheirLine) {
    EXPECT_EQ(split("a\n\"open").error->line, 2U);
    EXPECT_EQ(split("a\n\"x\"y").error->reason, "text after a closing quote");
    EXPECT_EQ(split("a\nb\"c").error->reason, "a quote inside an unquoted field");
    EXPECT_TRUE(split("").rows.empty());
}

}  // namespace
}  // namespace csv
