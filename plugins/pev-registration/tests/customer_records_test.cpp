#include "pev/customer_records.hpp"
#include "pev/enrollment.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"

namespace pev {
namespace {

using nlohmann::json;
namespace testing_support = headend::testing;

class CustomerRecordsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto migrations = registration_migrations();
        ASSERT_TRUE(database_->migrate("pev-registration", migrations));
        auto catalog = tariff::load_catalog(PROGRAMS_FILE);
        ASSERT_TRUE(catalog) << catalog.error().message;
        catalog_.replace(tariff::Versions({std::make_shared<const tariff::Version>(1, std::move(*catalog))}));
        add_customer_routes(routes_, *database_, clock_, catalog_);
    }
    headend::http::Response import(const std::string& csv) {
        headend::http::Request request;
        request.body = csv;
        return routes_.handlers.at("POST /api/v1/customers/import")(request);
    }
    json premises(const std::map<std::string, std::string>& query = {}) {
        headend::http::Request request;
        request.query = query;
        return json::parse(routes_.handlers.at("GET /api/v1/premises")(request).body)["premises"];
    }

    CatalogVersions catalog_{tariff::Versions()};
    testing_support::TempDir dir_;
    testing_support::FixedClock clock_{1000};
    testing_support::FakeRoutes routes_;
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
};

const std::string kFile =
    std::string(kCisHeader) + "\nA1,C1,\"Doe, Jane\",P1,1 Main,DOM-FLAT\nA1,C1,\"Doe, Jane\",P2,2 Main,DOM-FLAT\n";

TEST_F(CustomerRecordsTest, ImportsAndReimportingChangesNothingWhileChangedRowsUpdate) {
    auto first = import(kFile);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(json::parse(first.body), (json{{"added", 2}, {"updated", 0}, {"unchanged", 0}}));
    EXPECT_EQ(json::parse(import(kFile).body), (json{{"added", 0}, {"updated", 0}, {"unchanged", 2}}));
    const std::string changed =
        std::string(kCisHeader) + "\nA1,C1,\"Doe, Jane\",P1,1 Main,EV-TOU\nA1,C1,\"Doe, Jane\",P2,2 Main,DOM-FLAT\n";
    EXPECT_EQ(json::parse(import(changed).body), (json{{"added", 0}, {"updated", 1}, {"unchanged", 1}}));
    const auto rows = premises();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0]["default_rate"], "EV-TOU");
    EXPECT_EQ(rows[0]["customer_name"], "Doe, Jane");
}

TEST_F(CustomerRecordsTest, AFileWithABadRowImportsNothingAndListsEveryBadRow) {
    ASSERT_EQ(import(kFile).status, 200);
    const std::string bad =
        std::string(kCisHeader) + "\nA9,C9,New,P9,9 Main,DOM-FLAT\nA1,C1,Doe,P1,1 Main\nA3,C3,,P3,3 Main,DOM-FLAT\n";
    auto refused = import(bad);
    EXPECT_EQ(refused.status, 400);
    const auto body = json::parse(refused.body);
    EXPECT_EQ(body["error"]["code"], "cis.invalid");
    ASSERT_EQ(body["rows"].size(), 2U);
    EXPECT_EQ(body["rows"][0]["line"], 3);
    EXPECT_EQ(body["rows"][1]["line"], 4);
    // Nothing of it was stored: P9 is not there and P1 kept its record.
    const auto rows = premises();
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0]["premises_id"], "P1");
    EXPECT_EQ(rows[1]["premises_id"], "P2");
}

TEST_F(CustomerRecordsTest, ARowWhoseDefaultRateIsNoProgramIsABadRow) {
    const std::string bad = std::string(kCisHeader) + "\nA1,C1,Doe,P1,1 Main,DOM-FLAT\nA2,C2,Roe,P2,2 Main,TOU-X\n";
    auto refused = import(bad);
    ASSERT_EQ(refused.status, 400);
    const auto body = json::parse(refused.body);
    ASSERT_EQ(body["rows"].size(), 1U);
    EXPECT_EQ(body["rows"][0]["line"], 3);
    EXPECT_EQ(body["rows"][0]["reason"], "default_rate 'TOU-X' is not a program");
    EXPECT_TRUE(premises().empty());
}

// The optional email column: the account's address for its bills. A file without the column leaves stored addresses
// alone; an empty cell removes one; a bad address or two addresses for one account refuse the file.
TEST_F(CustomerRecordsTest, TheEmailColumnSetsKeepsAndClearsTheAccountsAddress) {
    const std::string header = std::string(kCisHeader) + ",email\n";
    auto first = import(header +
                        "A1,C1,Doe,P1,1 Main,DOM-FLAT,jane@example.test\nA1,C1,Doe,P2,2 Main,DOM-FLAT,"
                        "jane@example.test\nA2,C2,Roe,P3,3 Main,DOM-FLAT,\n");
    ASSERT_EQ(first.status, 200) << first.body;
    auto rows = premises();
    EXPECT_EQ(rows[0]["email"], "jane@example.test");
    EXPECT_EQ(rows[1]["email"], "jane@example.test");
    EXPECT_TRUE(rows[2]["email"].is_null());
    // Without the column: unchanged, address kept.
    EXPECT_EQ(json::parse(import(std::string(kCisHeader) + "\nA1,C1,Doe,P1,1 Main,DOM-FLAT\n").body),
              (json{{"added", 0}, {"updated", 0}, {"unchanged", 1}}));
    EXPECT_EQ(premises()[0]["email"], "jane@example.test");
    // An empty cell removes it.
    EXPECT_EQ(json::parse(import(header + "A1,C1,Doe,P1,1 Main,DOM-FLAT,\n").body),
              (json{{"added", 0}, {"updated", 1}, {"unchanged", 0}}));
    EXPECT_TRUE(premises()[0]["email"].is_null());
    // Bad rows: nothing stored.
    auto refused = import(header +
                          "A1,C1,Doe,P1,1 Main,DOM-FLAT,jane@example.test\nA1,C1,Doe,P2,2 Main,DOM-FLAT,"
                          "other@example.test\nA2,C2,Roe,P3,3 Main,DOM-FLAT,Roe <roe@example.test>\n");
    ASSERT_EQ(refused.status, 400);
    const auto body = json::parse(refused.body);
    ASSERT_EQ(body["rows"].size(), 2U);
    EXPECT_EQ(body["rows"][0]["reason"],
              "account A1 has the e-mail address 'jane@example.test' on an earlier line, not 'other@example.test'");
    EXPECT_EQ(body["rows"][1]["reason"], "email 'Roe <roe@example.test>' is not an e-mail address (local@domain)");
    EXPECT_TRUE(premises()[0]["email"].is_null());
    // Billing reads the address through the accounts view.
    std::string seen;
    ASSERT_TRUE(database_->read([&](headend::storage::Transaction& tx) -> headend::Result<void> {
        auto found =
            tx.query("SELECT customer_name, COALESCE(email, '-') FROM pev_accounts_v1 WHERE account_id = 'A2'");
        if (!found)
            return found.error();
        seen = found->front().text(0) + " " + found->front().text(1);
        return {};
    }));
    EXPECT_EQ(seen, "Roe -");
}

TEST_F(CustomerRecordsTest, PremisesListShowsWhichHaveNoPevEnrolled) {
    ASSERT_EQ(import(kFile).status, 200);
    Enrollments enrollments(*database_, catalog_, clock_);
    ASSERT_TRUE(enrollments.enroll({"A1", "C1", "P2", "1HGCM82633A004352", "EV-TOU", {}, "operator"}));
    const auto all = premises();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0]["enrolled_pevs"], 0);
    EXPECT_EQ(all[1]["enrolled_pevs"], 1);
    const auto not_enrolled = premises({{"enrolled", "false"}});
    ASSERT_EQ(not_enrolled.size(), 1U);
    EXPECT_EQ(not_enrolled[0]["premises_id"], "P1");
    const auto enrolled = premises({{"enrolled", "true"}});
    ASSERT_EQ(enrolled.size(), 1U);
    EXPECT_EQ(enrolled[0]["premises_id"], "P2");
    headend::http::Request bad;
    bad.query = {{"enrolled", "maybe"}};
    EXPECT_EQ(routes_.handlers.at("GET /api/v1/premises")(bad).status, 400);
}

}  // namespace
}  // namespace pev
