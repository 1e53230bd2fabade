#include "pev/enrollment.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "pev/customer_records.hpp"
#include "pev/enrollment_routes.hpp"

namespace pev {
namespace {

using nlohmann::json;
namespace testing_support = headend::testing;

constexpr const char* kVin = "1HGCM82633A004352";
constexpr const char* kOtherVin = "1M8GDM9AXKP042788";

class EnrollmentTest : public ::testing::Test {
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
        enrollments_ = std::make_unique<Enrollments>(*database_, catalog_, clock_);
        add_customer_routes(routes_, *database_, clock_, catalog_);
        add_enrollment_routes(routes_, *enrollments_);
        const std::string csv = std::string(kCisHeader) +
                                "\nA1,C1,Jane Doe,P1,1 Main St,DOM-FLAT\nA1,C1,Jane Doe,P1B,1 Beach Rd,DOM-FLAT\n"
                                "A2,C2,John Roe,P2,2 Main St,DOM-FLAT\n";
        ASSERT_EQ(call("POST", "/api/v1/customers/import", csv).status, 200);
    }

    headend::http::Response call(const std::string& method, const std::string& pattern, const std::string& body = "",
                                 const std::map<std::string, std::string>& params = {},
                                 const std::map<std::string, std::string>& query = {}) {
        headend::http::Request request;
        request.method = method;
        request.body = body;
        request.params = params;
        request.query = query;
        return routes_.handlers.at(method + " " + pattern)(request);
    }
    headend::http::Response enroll(const json& body) { return call("POST", "/api/v1/enrollments", body.dump()); }

    static json jane(const std::string& vin = kVin) {
        return {{"account_id", "A1"},
                {"customer_id", "C1"},
                {"premises_id", "P1"},
                {"vin", vin},
                {"program_id", "EV-TOU"},
                {"allow_guest_charging", true},
                {"guest_charging_payer", "host"},
                {"channel", "operator"}};
    }

    std::int64_t count(const std::string& table) {
        std::int64_t rows = -1;
        EXPECT_TRUE(database_->read([&](headend::storage::Transaction& tx) -> headend::Result<void> {
            auto result = tx.query("SELECT count(*) FROM " + table);
            if (!result)
                return result.error();
            rows = result->front().integer(0);
            return {};
        }));
        return rows;
    }

    static std::string code_of(const headend::http::Response& response) {
        return json::parse(response.body)["error"]["code"];
    }

    testing_support::TempDir dir_;
    testing_support::FixedClock clock_{1'790'000'000};
    testing_support::FakeRoutes routes_;
    CatalogVersions catalog_{tariff::Versions()};
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    std::unique_ptr<Enrollments> enrollments_;
};

TEST_F(EnrollmentTest, EnrollsAVinWithPreferencesAndShowsIt) {
    auto created = enroll(jane());
    ASSERT_EQ(created.status, 201) << created.body;
    const json enrollment = json::parse(created.body)["enrollment"];
    EXPECT_EQ(enrollment["vin"], kVin);
    EXPECT_EQ(enrollment["premises_id"], "P1");
    EXPECT_EQ(enrollment["program_id"], "EV-TOU");
    EXPECT_EQ(enrollment["allow_guest_charging"], true);
    EXPECT_EQ(enrollment["guest_charging_payer"], "host");
    EXPECT_EQ(enrollment["allow_roaming"], false);
    EXPECT_EQ(enrollment["channel"], "operator");
    EXPECT_EQ(enrollment["enrolled_at"], 1'790'000'000);

    auto shown = call("GET", "/api/v1/enrollments/{vin}", "", {{"vin", "1hgcm82633a004352"}});
    ASSERT_EQ(shown.status, 200);
    EXPECT_EQ(json::parse(shown.body)["enrollment"], enrollment);
    EXPECT_EQ(count("enrollment_events WHERE action = 'enrolled'"), 1);
    EXPECT_EQ(count("pev_enrollments_v1"), 1);
}

TEST_F(EnrollmentTest, TheSameEnrollmentAgainChangesNothing) {
    ASSERT_EQ(enroll(jane()).status, 201);
    auto again = enroll(jane());
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(json::parse(again.body)["created"], false);
    EXPECT_EQ(count("enrollments"), 1);
    EXPECT_EQ(count("enrollment_events"), 1);
}

TEST_F(EnrollmentTest, RefusalsSayWhyAndStoreNothing) {
    struct Case {
        json change;
        int status;
        std::string code;
    };
    const std::vector<Case> cases = {
        {{{"account_id", "A9"}}, 422, "enrollment.unknown_account"},
        {{{"customer_id", "C2"}}, 422, "enrollment.customer_mismatch"},
        {{{"premises_id", "P2"}}, 422, "enrollment.premises_mismatch"},  // John's premises, not Jane's
        {{{"premises_id", "P9"}}, 422, "enrollment.unknown_premises"},
        {{{"vin", "1HGCM82643A004352"}}, 400, "vin.invalid"},  // check digit
        {{{"vin", "1HGCM82633A00435"}}, 400, "vin.invalid"},   // 16 characters
        {{{"vin", "1HGCM8263IA004352"}}, 400, "vin.invalid"},  // letter I
        {{{"program_id", "EV-XYZ"}}, 422, "enrollment.unknown_program"},
        {{{"program_id", "DOM-FLAT"}}, 422, "enrollment.program_not_enrollable"},
        {{{"guest_charging_payer", "neighbour"}}, 400, "request.invalid"},
        {{{"allow_roaming", "yes"}}, 400, "request.invalid"},
        {{{"colour", "red"}}, 400, "request.invalid"},
        {{{"account_id", ""}}, 400, "request.invalid"},
    };
    for (const auto& test : cases) {
        json body = jane();
        body.update(test.change);
        auto refused = enroll(body);
        EXPECT_EQ(refused.status, test.status) << test.change.dump() << " " << refused.body;
        EXPECT_EQ(code_of(refused), test.code) << test.change.dump();
        EXPECT_FALSE(json::parse(refused.body)["error"]["message"].get<std::string>().empty());
    }
    auto not_json = enroll(json("not an object"));
    EXPECT_EQ(not_json.status, 400);
    EXPECT_EQ(call("POST", "/api/v1/enrollments", "{\"vin\":").status, 400);
    EXPECT_EQ(count("enrollments"), 0);
    EXPECT_EQ(count("enrollment_events"), 0);
}

TEST_F(EnrollmentTest, AVinEnrolledElsewhereIsRefused) {
    ASSERT_EQ(enroll(jane()).status, 201);
    json john = {
        {"account_id", "A2"}, {"customer_id", "C2"}, {"premises_id", "P2"}, {"vin", kVin}, {"program_id", "EV-TOU"}};
    auto refused = enroll(john);
    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(code_of(refused), "enrollment.already_enrolled");
    EXPECT_EQ(count("enrollments"), 1);
}

TEST_F(EnrollmentTest, ChangesProgramOrPreferencesWithHistory) {
    ASSERT_EQ(enroll(jane()).status, 201);
    clock_.set(1'790'000'100);
    auto changed = call("PATCH", "/api/v1/enrollments/{vin}",
                        R"({"allow_roaming": true, "guest_charging_payer": "owner"})", {{"vin", kVin}});
    ASSERT_EQ(changed.status, 200) << changed.body;
    const json enrollment = json::parse(changed.body)["enrollment"];
    EXPECT_EQ(enrollment["allow_roaming"], true);
    EXPECT_EQ(enrollment["guest_charging_payer"], "owner");
    EXPECT_EQ(enrollment["allow_guest_charging"], true);  // untouched
    EXPECT_EQ(enrollment["updated_at"], 1'790'000'100);
    EXPECT_EQ(count("enrollment_events WHERE action = 'changed'"), 1);

    // The same values again: no new history entry.
    ASSERT_EQ(call("PATCH", "/api/v1/enrollments/{vin}", R"({"allow_roaming": true})", {{"vin", kVin}}).status, 200);
    EXPECT_EQ(count("enrollment_events WHERE action = 'changed'"), 1);

    auto refused = call("PATCH", "/api/v1/enrollments/{vin}", R"({"program_id": "DOM-FLAT"})", {{"vin", kVin}});
    EXPECT_EQ(refused.status, 422);
    EXPECT_EQ(enrollments_->find(kVin)->program_id, "EV-TOU");
    EXPECT_EQ(call("PATCH", "/api/v1/enrollments/{vin}", "{}", {{"vin", kOtherVin}}).status, 404);
    EXPECT_EQ(call("PATCH", "/api/v1/enrollments/{vin}", R"({"vin": "x"})", {{"vin", kVin}}).status, 400);
}

TEST_F(EnrollmentTest, UnenrollKeepsHistoryAndFreesTheVin) {
    ASSERT_EQ(enroll(jane()).status, 201);
    auto ended = call("DELETE", "/api/v1/enrollments/{vin}", "", {{"vin", kVin}}, {{"channel", "operator"}});
    ASSERT_EQ(ended.status, 200) << ended.body;
    EXPECT_EQ(call("GET", "/api/v1/enrollments/{vin}", "", {{"vin", kVin}}).status, 404);
    EXPECT_EQ(call("DELETE", "/api/v1/enrollments/{vin}", "", {{"vin", kVin}}).status, 404);
    EXPECT_EQ(count("pev_enrollments_v1"), 0);
    EXPECT_EQ(count("enrollments"), 1);
    EXPECT_EQ(count("enrollment_events WHERE action = 'unenrolled' AND channel = 'operator'"), 1);
    EXPECT_EQ(enroll(jane()).status, 201);
    EXPECT_EQ(count("pev_enrollments_v1"), 1);
}

TEST_F(EnrollmentTest, ListsFilterByAccountAndPremises) {
    ASSERT_EQ(enroll(jane()).status, 201);
    json second = jane(kOtherVin);
    second["premises_id"] = "P1B";
    ASSERT_EQ(enroll(second).status, 201);
    auto list = [&](const std::map<std::string, std::string>& query) {
        auto response = call("GET", "/api/v1/enrollments", "", {}, query);
        EXPECT_EQ(response.status, 200);
        return json::parse(response.body)["enrollments"];
    };
    EXPECT_EQ(list({}).size(), 2U);
    EXPECT_EQ(list({{"account", "A1"}}).size(), 2U);
    EXPECT_EQ(list({{"account", "A2"}}).size(), 0U);
    const auto beach = list({{"premises", "P1B"}});
    ASSERT_EQ(beach.size(), 1U);
    EXPECT_EQ(beach[0]["vin"], kOtherVin);
    EXPECT_EQ(call("GET", "/api/v1/enrollments", "", {}, {{"colour", "red"}}).status, 400);
}

}  // namespace
}  // namespace pev
