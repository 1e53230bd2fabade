// Versions of the program catalog stored by pev-registration: seeded from the programs file, loaded by the operator,
// each checked against the latest; refusals change nothing.
#include "pev/catalog_versions.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "headend/storage/sqlite_database.hpp"
#include "headend/testing/fakes.hpp"
#include "pev/enrollment.hpp"

namespace pev {
namespace {

using nlohmann::json;

std::string shipped_catalog() {
    std::ifstream in(PROGRAMS_FILE);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The shipped catalog in force from `effective_from` (a local date or date and time), with `from` replaced by `to`.
std::string version_from(const std::string& effective_from, const std::string& from = "", const std::string& to = "") {
    std::string text = shipped_catalog();
    text.replace(text.find("time_zone = "), 0, "effective_from = \"" + effective_from + "\"\n");
    if (!from.empty())
        text.replace(text.find(from), from.size(), to);
    return text;
}

class CatalogVersionsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = headend::storage::SqliteDatabase::open(dir_.path() / "db.sqlite");
        ASSERT_TRUE(opened);
        database_ = std::move(*opened);
        const auto migrations = registration_migrations();
        ASSERT_TRUE(database_->migrate("pev-registration", migrations));
        write_programs(shipped_catalog());
    }

    void write_programs(const std::string& text) const { std::ofstream(programs_file()) << text; }
    std::filesystem::path programs_file() const { return dir_.path() / "programs.toml"; }

    headend::Result<tariff::Versions> open() const {
        return CatalogLoader::open(*database_, programs_file(), "America/Los_Angeles", clock_.now());
    }

    // Opens the store and registers the routes over it.
    void start() {
        auto versions = open();
        ASSERT_TRUE(versions) << versions.error().message;
        versions_.replace(std::move(*versions));
        loader_ = std::make_unique<CatalogLoader>(*database_, versions_, "America/Los_Angeles");
        add_tariff_routes(routes_, *database_, *loader_, versions_, clock_);
    }

    headend::http::Response call(const std::string& route, const std::string& body = "",
                                 const std::map<std::string, std::string>& params = {}) {
        headend::http::Request request;
        request.body = body;
        request.params = params;
        return routes_.handlers.at(route)(request);
    }
    json listed() { return json::parse(call("GET /api/v1/tariffs").body)["versions"]; }
    std::int64_t stored_count() {
        std::int64_t count = 0;
        EXPECT_TRUE(database_->read([&](headend::storage::Transaction& tx) -> headend::Result<void> {
            count = (*tx.query("SELECT COUNT(*) FROM pev_tariff_versions_v1")).front().integer(0);
            return {};
        }));
        return count;
    }

    headend::testing::TempDir dir_;
    headend::testing::FixedClock clock_{1'782'932'400};  // 2026-07-01 12:00 Los Angeles
    std::unique_ptr<headend::storage::SqliteDatabase> database_;
    CatalogVersions versions_{tariff::Versions()};
    std::unique_ptr<CatalogLoader> loader_;
    headend::testing::FakeRoutes routes_;
};

TEST_F(CatalogVersionsTest, TheProgramsFileSeedsVersionOneAndOpeningAgainChangesNothing) {
    auto first = open();
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first->size(), 1U);
    EXPECT_EQ(first->latest().number(), 1);
    EXPECT_NE(first->latest().catalog().find("EV-TOU"), nullptr);
    auto again = open();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->size(), 1U);
    EXPECT_EQ(stored_count(), 1);
}

TEST_F(CatalogVersionsTest, AnEditedProgramsFileBecomesTheNextVersionOnlyWhenItMayFollow) {
    ASSERT_TRUE(open());
    // Edited in place without a later effective_from: it would overlap version 1, and the start stops saying so.
    std::string edited = shipped_catalog();
    edited.replace(edited.find("\"0.56368\""), 9, "\"0.60000\"");
    write_programs(edited);
    auto refused = open();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "tariff.version");
    EXPECT_NE(refused.error().message.find("differs from every stored tariff version but cannot follow version 1"),
              std::string::npos)
        << refused.error().message;
    EXPECT_EQ(stored_count(), 1);
    // With a later effective_from it is version 2; the original file again is version 1, nothing new.
    write_programs(version_from("2026-08-01", "\"0.56368\"", "\"0.60000\""));
    auto second = open();
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_EQ(second->size(), 2U);
    EXPECT_EQ(second->in_force(clock_.now())->number(), 1);
    EXPECT_EQ(second->in_force(1'785'567'600)->number(), 2);  // 2026-08-01 00:00 PDT
    write_programs(shipped_catalog());
    auto back = open();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->size(), 2U);
    EXPECT_EQ(stored_count(), 2);
}

TEST_F(CatalogVersionsTest, TheOperatorLoadsANextVersionOnceAndListsAndShowsIt) {
    start();
    const std::string next = version_from("2026-07-15T16:00", "\"0.56368\"", "\"0.60000\"");
    auto loaded = call("POST /api/v1/tariffs", next);
    ASSERT_EQ(loaded.status, 201) << loaded.body;
    EXPECT_EQ(json::parse(loaded.body), (json{{"version", 2}, {"added", true}}));
    // The same file again (a retried command) is the version already stored.
    auto again = call("POST /api/v1/tariffs", next);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(again.body), (json{{"version", 2}, {"added", false}}));
    EXPECT_EQ(stored_count(), 2);

    const json versions = listed();
    ASSERT_EQ(versions.size(), 2U);
    EXPECT_EQ(versions[0]["version"], 1);
    EXPECT_EQ(versions[0]["in_force"], true);
    EXPECT_EQ(versions[1]["effective_from"], 1'784'156'400);  // 2026-07-15T23:00Z
    EXPECT_EQ(versions[1]["in_force"], false);
    EXPECT_EQ(versions[1]["origin"], "admin API");
    clock_.set(1'784'156'400);
    EXPECT_EQ(listed()[1]["in_force"], true);

    auto shown = call("GET /api/v1/tariffs/{version}", "", {{"version", "2"}});
    ASSERT_EQ(shown.status, 200) << shown.body;
    const json version = json::parse(shown.body);
    EXPECT_EQ(version["catalog"], next);
    EXPECT_EQ(version["programs"][0]["id"], "EV-TOU");
    EXPECT_EQ(version["programs"][0]["fixed_charge_per_day"], "0.516");
    EXPECT_EQ(version["programs"][0]["seasons"][0]["periods"][0], (json{{"name", "on-peak"},
                                                                        {"days", "weekdays"},
                                                                        {"from", "16:00"},
                                                                        {"to", "21:00"},
                                                                        {"price", "0.60"},
                                                                        {"tier", 5}}));  // the dearest of five prices
    for (const char* unknown : {"3", "0", "x", "1x", "99999999999"})
        EXPECT_EQ(call("GET /api/v1/tariffs/{version}", "", {{"version", unknown}}).status, 404) << unknown;
}

TEST_F(CatalogVersionsTest, OverlapsGapsAndBadFilesAreRefusedWithTheirReasonAndStoreNothing) {
    start();
    struct Case {
        std::string text;
        int status;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {version_from("1969-12-31"), 409, "they never overlap"},
        {version_from("2026-08-01", "id = \"DOM-FLAT\"", "id = \"DOM-FLAT-2\""), 409,
         "program 'DOM-FLAT' is missing: its customers would have no tariff"},
        {version_from("2026-08-01", "America/Los_Angeles", "Europe/Paris"), 422, "is not the territory's"},
        {version_from("2026-08-01", "\"0.56368\"", "\"0.563681\""), 422, "price"},
        {"time_zone = ", 422, "syntax"},
        {"", 422, "time_zone"},
    };
    for (const auto& bad : cases) {
        auto refused = call("POST /api/v1/tariffs", bad.text);
        EXPECT_EQ(refused.status, bad.status) << refused.body;
        EXPECT_NE(refused.body.find(bad.reason), std::string::npos) << refused.body;
    }
    EXPECT_EQ(stored_count(), 1);
    EXPECT_EQ(versions_.snapshot().size(), 1U);
}

TEST_F(CatalogVersionsTest, EnrollmentAcceptsAProgramFirstOfferedByALaterVersion) {
    start();
    std::string next = version_from("2026-08-01");
    next +=
        "\n[[programs]]\nid = \"EV-FLEX\"\nenrollable = true\n[[programs.seasons]]\nname = \"all year\"\n"
        "periods = [{ name = \"flat\", from = \"00:00\", to = \"24:00\", price = \"0.20\" }]\n";
    ASSERT_EQ(call("POST /api/v1/tariffs", next).status, 201);
    const Enrollments enrollments(*database_, versions_, clock_);
    EXPECT_TRUE(enrollments.check_program("EV-FLEX"));
    EXPECT_FALSE(enrollments.check_program("EV-NONE"));
}

}  // namespace
}  // namespace pev
