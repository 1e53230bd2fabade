// The metering mirror against the whole daemon (pev-registration, pev-binding, interval-collection), spoken to with
// bare DTLS clients: who may create which mirror, readings stored once, every refusal leaving the data as it was,
// conflicting resends raising one alarm, and what each device may read back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cmep/cmep.hpp"
#include "han/device_client.hpp"
#include "sep/codec.hpp"
#include "sep/encode.hpp"
#include "support/database_file.hpp"
#include "support/full_disk.hpp"
#include "support/program_daemon.hpp"

namespace headend {
namespace {

using nlohmann::json;
using testing::kDeviceKey;

// Every database of this binary goes through a VFS that can play a full disk (it passes everything through
// otherwise); installed before any test opens one.
const bool kFullDiskInstalled = (testing::FullDisk::install(), true);
using testing::kGuestVin;

constexpr std::uint32_t kQuarter = 900;
constexpr std::uint16_t kPevRoles = sep::kRoleIsMirror | sep::kRoleIsPev | sep::kRoleIsSubmeter;
constexpr std::uint16_t kPremisesRoles = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;

sep::ReadingType energy_per(std::uint32_t interval) {
    sep::ReadingType type;
    type.accumulation_behaviour = 4;
    type.commodity = 1;
    type.flow_direction = 1;
    type.interval_length = interval;
    type.kind = 12;
    type.uom = 72;
    return type;
}

sep::MirrorUsagePoint mirror(const std::string& mrid, const std::string& lfdi, std::uint16_t roles) {
    sep::MirrorUsagePoint point;
    point.mrid = mrid;
    point.description = "EV circuit";
    point.role_flags = roles;
    point.status = 1;
    point.device_lfdi = lfdi;
    sep::MirrorMeterReading reading;
    reading.mrid = mrid.substr(0, 31) + "1";
    reading.reading_type = energy_per(kQuarter);
    point.mirror_meter_readings.push_back(reading);
    return point;
}

// One charging session's readings: `values` Wh per quarter hour from `start`.
sep::MirrorMeterReading readings(const std::string& mrid, std::int64_t start, const std::vector<std::int64_t>& values,
                                 std::uint16_t quality = 0) {
    sep::MirrorMeterReading document;
    document.mrid = mrid;
    sep::MirrorReadingSet set;
    set.mrid = "5E55" + std::to_string(start % 100000000).append(28 - std::to_string(start % 100000000).size(), '0');
    set.time_period = {static_cast<std::uint32_t>(values.size() * kQuarter), start};
    for (std::size_t i = 0; i < values.size(); ++i) {
        sep::Reading reading;
        reading.time_period = sep::DateTimeInterval{kQuarter, start + static_cast<std::int64_t>(i * kQuarter)};
        reading.value = values[i];
        if (quality != 0)
            reading.quality_flags = quality;
        set.readings.push_back(reading);
    }
    document.mirror_reading_sets.push_back(set);
    return document;
}

class IntervalTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(headend_.ok());
        auto codec = sep::Codec::load(HEADEND_SCHEMA_DIR);
        ASSERT_TRUE(codec);
        codec_ = *codec;
        esci_ = device("esci-1");
        eumd_ = device("eumd-1");
        ASSERT_TRUE(esci_ && eumd_);
        // The head-end's clock at 2026-03-01 12:00Z, a week before the spring-forward day, where the tests begin.
        clock_->advance(std::chrono::seconds(kMarchFirst - clock_->now()));
        // Jane's PEV bound at P1: the ESCI's binding request is enough for the EUMD to mirror it.
        pev_ = headend_.pev_certificate("pev", kGuestVin);
        auto car =
            han::DeviceClient::connect("127.0.0.1", headend_.coaps_port(),
                                       han::ClientCredentials::certificate(pev_.cert, pev_.key, headend_.server_ca()));
        ASSERT_TRUE(car) << car.error().message;  // its live session names its VIN for the binding
        car_ = std::move(*car);
        ASSERT_EQ(request_binding(*esci_), 201);
        // A charge from the quarter hour of the binding, three hours ago: the EUMD posts what it measured since.
        const std::int64_t bound_at = clock_->now();
        session_start_ = bound_at - bound_at % kQuarter;
        clock_->advance(std::chrono::hours(3));
    }

    std::unique_ptr<han::DeviceClient> device(const std::string& identity) {
        auto client = han::DeviceClient::connect("127.0.0.1", headend_.coaps_port(),
                                                 han::ClientCredentials::psk(identity, kDeviceKey));
        EXPECT_TRUE(client) << client.error().message;
        return client ? std::move(*client) : nullptr;
    }
    // Bodies larger than a datagram go blockwise (Block1 of 1024 bytes), as a device sends a day of readings.
    han::ClientResponse post(han::DeviceClient& client, const std::string& path, const std::string& body) {
        auto answer = body.size() > 1024 ? client.post_blockwise(path, body, 1024, true) : client.post(path, body);
        EXPECT_TRUE(answer) << answer.error().message;
        return answer ? *answer : han::ClientResponse{};
    }
    // The PEV mirror of the EUMD at P1; its location.
    std::string pev_mirror() {
        auto created = post(*eumd_, "/mup", sep::encode(mirror(kPevMirror, pev_.identity.lfdi, kPevRoles)));
        EXPECT_EQ(created.code, 201) << created.body;
        return created.location_path;
    }

    // Every row of the interval tables and the alarm log, read from the daemon's database file as it is on disk.
    std::vector<std::string> stored() {
        std::vector<std::string> rows;
        for (const char* sql :
             {"SELECT 'mup', mup_id, mrid, owner_device_id, premises_id, device_lfdi, role_flags FROM "
              "mirror_usage_points ORDER BY mup_id",
              "SELECT 'mmr', mmr_id, mup_id, mrid, interval_length FROM mirror_meter_readings ORDER BY mmr_id",
              "SELECT 'interval', mmr_id, start_at, value_wh, quality_flags, version, source, vee_flags FROM intervals "
              "ORDER BY mmr_id, start_at",
              "SELECT 'version', mmr_id, start_at, version, value_wh FROM interval_versions",
              "SELECT 'conflict', mmr_id, start_at, value_wh FROM interval_conflicts",
              "SELECT 'alarm', alarm_id, kind, alarm_key FROM alarms_log"}) {
            auto selected = testing::query_rows(headend_.root() / "data" / "headend.db", sql);
            EXPECT_TRUE(selected) << selected.error().message;
            if (selected)
                rows.insert(rows.end(), selected->begin(), selected->end());
        }
        return rows;
    }
    // The ESCI's binding request for the PEV (its EndDevice with the PEV category): the answer's code.
    int request_binding(han::DeviceClient& esci) {
        sep::EndDevice request;
        request.device_category = 0x00010000;
        request.lfdi = pev_.identity.lfdi;
        request.sfdi = pev_.identity.sfdi;
        return post(esci, "/edev", sep::encode(request)).code;
    }
    // A GET answered 2.05 with a document of type T.
    template <typename T>
    T read(han::DeviceClient& client, const std::string& path) {
        auto answer = client.get(path);
        EXPECT_TRUE(answer);
        if (!answer)
            return T{};
        EXPECT_EQ(answer->code, 205) << path << " " << answer->body;
        auto document = codec_->decode<T>(answer->body);
        EXPECT_TRUE(document) << path << " " << answer->body;
        return document ? *document : T{};
    }
    std::size_t count(const std::vector<std::string>& rows, const std::string& prefix) {
        return static_cast<std::size_t>(
            std::count_if(rows.begin(), rows.end(), [&](const std::string& row) { return row.starts_with(prefix); }));
    }

    static constexpr std::int64_t kMarchFirst = 1772366400;
    static constexpr const char* kPevMirror = "0A0B0C0D0E0F00000000000000000010";
    static constexpr const char* kPevReading = "0A0B0C0D0E0F00000000000000000011";

    // The head-end's clock, moved to a DST day where a test needs one (the territory is America/Los_Angeles).
    std::shared_ptr<testing::ShiftedClock> clock_ = std::make_shared<testing::ShiftedClock>();
    testing::ProgramDaemon headend_{
        testing::ProgramDaemonOptions{.binding_timeout_s = 2, .clock = clock_, .roaming_vins = {}}};
    std::shared_ptr<const sep::Codec> codec_;
    std::unique_ptr<han::DeviceClient> esci_;
    std::unique_ptr<han::DeviceClient> eumd_;
    pki::CertificateFiles pev_;
    std::unique_ptr<han::DeviceClient> car_;
    std::int64_t session_start_ = 0;
};

TEST_F(IntervalTest, TheEumdMirrorsItsBoundPevAndTheSameMridAgainAnswersTheSameLocation) {
    const std::string location = pev_mirror();
    EXPECT_EQ(location, "/mup/1");
    auto again = post(*eumd_, "/mup", sep::encode(mirror(kPevMirror, pev_.identity.lfdi, kPevRoles)));
    EXPECT_EQ(again.code, 204);
    EXPECT_EQ(again.location_path, location);
    EXPECT_EQ(count(stored(), "mup|"), 1U);
    EXPECT_EQ(count(stored(), "mmr|"), 1U);

    // Read back: first-level elements only, with the head-end's href.
    auto read = eumd_->get(location);
    ASSERT_TRUE(read);
    ASSERT_EQ(read->code, 205);
    auto document = codec_->decode<sep::MirrorUsagePoint>(read->body);
    ASSERT_TRUE(document) << read->body;
    EXPECT_EQ(document->href, location);
    EXPECT_EQ(document->device_lfdi, pev_.identity.lfdi);
    EXPECT_EQ(document->role_flags, kPevRoles);
    EXPECT_TRUE(document->mirror_meter_readings.empty());
    auto list = eumd_->get("/mup?l=10");
    ASSERT_TRUE(list);
    auto mirrors = codec_->decode<sep::MirrorUsagePointList>(list->body);
    ASSERT_TRUE(mirrors) << list->body;
    EXPECT_EQ(mirrors->all, 1U);
    ASSERT_EQ(mirrors->mirror_usage_points.size(), 1U);
    EXPECT_EQ(mirrors->mirror_usage_points[0].mrid, kPevMirror);
}

TEST_F(IntervalTest, ReadingsAreStoredOnceAndARepeatAnswersTheSame) {
    const std::string location = pev_mirror();
    const auto session = sep::encode(readings(kPevReading, session_start_, {1800, 1800, 1750, 900}));
    auto first = post(*eumd_, location, session);
    EXPECT_EQ(first.code, 201) << first.body;
    EXPECT_EQ(first.location_path, "/upt/1/mr/1");
    const auto after_first = stored();
    EXPECT_EQ(count(after_first, "interval|"), 4U);
    auto repeat = post(*eumd_, location, session);
    EXPECT_EQ(repeat.code, 201);
    EXPECT_EQ(repeat.location_path, first.location_path);
    EXPECT_EQ(stored(), after_first);

    // A list of meter readings answers the list's location.
    sep::MirrorMeterReadingList list;
    list.all = list.results = 1;
    list.mirror_meter_readings.push_back(readings(kPevReading, session_start_ + 4 * kQuarter, {600}));
    auto listed = post(*eumd_, location, sep::encode(list));
    EXPECT_EQ(listed.code, 201) << listed.body;
    EXPECT_EQ(listed.location_path, "/upt/1/mr");
    EXPECT_EQ(count(stored(), "interval|"), 5U);
}

TEST_F(IntervalTest, EveryRefusalAnswersBadRequestWithAReasonAndStoresNothing) {
    const std::string location = pev_mirror();
    post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1000})));
    const auto before = stored();
    const std::int64_t far_future = session_start_ + 100 * kQuarter;
    const std::int64_t too_old = session_start_ - 61 * 86400;
    auto off_grid = readings(kPevReading, session_start_ + kQuarter, {10});
    off_grid.mirror_reading_sets[0].readings[0].time_period->start += 60;
    auto wrong_length = readings(kPevReading, session_start_ + kQuarter, {10});
    wrong_length.mirror_reading_sets[0].readings[0].time_period->duration = 300;
    auto new_type = readings("0A0B0C0D0E0F00000000000000000012", session_start_ + kQuarter, {10});
    new_type.reading_type = energy_per(kQuarter);
    new_type.reading_type->uom = 38;
    auto new_kind = new_type;
    new_kind.reading_type = energy_per(kQuarter);
    new_kind.reading_type->kind = 37;
    auto not_configured = new_type;
    not_configured.reading_type = energy_per(300);
    not_configured.mirror_reading_sets[0].readings[0].time_period->duration = 300;
    auto untyped = readings("0A0B0C0D0E0F00000000000000000013", session_start_ + kQuarter, {10});
    const std::vector<std::pair<sep::MirrorMeterReading, std::string>> cases = {
        {readings(kPevReading, session_start_ + kQuarter, {10, -1}), "negative energy"},
        {readings(kPevReading, far_future, {10}), "ends in the future"},
        {readings(kPevReading, too_old, {10}), "older than the backfill window"},
        {off_grid, "interval grid"},
        {wrong_length, "not the interval of 900 s"},
        {new_type, "uom must be 72"},
        {new_kind, "kind must be 12"},
        {not_configured, "not the configured 900 s"},
        {untyped, "has no ReadingType"},
    };
    for (const auto& [document, reason] : cases) {
        auto refused = post(*eumd_, location, sep::encode(document));
        EXPECT_EQ(refused.code, 400) << reason;
        EXPECT_NE(refused.body.find(reason), std::string::npos) << reason << " / " << refused.body;
        EXPECT_EQ(stored(), before) << reason;
    }
    for (const std::string& body : {std::string("<MirrorMeterReading xmlns=\"urn:ieee:std:2030.5:ns\"><mRID>zz"),
                                    std::string("<Time xmlns=\"urn:ieee:std:2030.5:ns\"/>"), std::string()}) {
        auto refused = post(*eumd_, location, body);
        EXPECT_EQ(refused.code, 400) << body;
        EXPECT_EQ(stored(), before) << body;
    }
    auto json_body = eumd_->post(location, "{}", 50);
    ASSERT_TRUE(json_body);
    EXPECT_EQ(json_body->code, 415);
    EXPECT_EQ(stored(), before);
}

TEST_F(IntervalTest, AConflictingResendRaisesOneAlarmAndTheStoredValueStands) {
    const std::string location = pev_mirror();
    post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800})));
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1900}))).code, 201);
    const auto rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + std::to_string(session_start_) + "|1800|"), 1U);
    EXPECT_EQ(count(rows, "conflict|"), 1U);
    auto [status, alarms] = headend_.admin("GET", "/api/v1/alarms?kind=interval_conflict");
    EXPECT_EQ(status, 200);
    ASSERT_EQ(alarms["alarms"].size(), 1U);
    EXPECT_EQ(alarms["alarms"][0]["source"], "interval-collection");
    EXPECT_EQ(alarms["alarms"][0]["premises_id"], "P1");
    EXPECT_EQ(alarms["alarms"][0]["lfdi"], pev_.identity.lfdi);

    // The operator clears it; it no longer lists as open, and a second clear is refused.
    const std::string id = alarms["alarms"][0]["alarm_id"].dump();
    // A bad clearing body is refused and leaves the alarm open.
    for (const char* body : {R"({"note":5})", R"({"note":"x","extra":1})", "[]", "not json"})
        EXPECT_EQ(headend_.admin("POST", "/api/v1/alarms/" + id + "/clear", body).first, 400) << body;
    EXPECT_EQ(headend_.admin("GET", "/api/v1/alarms?kind=interval_conflict").second["alarms"].size(), 1U);
    EXPECT_EQ(headend_.admin("POST", "/api/v1/alarms/" + id + "/clear", R"({"note":"meter swapped"})").first, 200);
    EXPECT_TRUE(headend_.admin("GET", "/api/v1/alarms?kind=interval_conflict").second["alarms"].empty());
    auto cleared = headend_.admin("GET", "/api/v1/alarms?state=cleared").second["alarms"];
    ASSERT_EQ(cleared.size(), 1U);
    EXPECT_EQ(cleared[0]["cleared_note"], "meter swapped");
    EXPECT_EQ(headend_.admin("POST", "/api/v1/alarms/" + id + "/clear").first, 409);
    EXPECT_EQ(headend_.admin("POST", "/api/v1/alarms/999/clear").first, 404);
    EXPECT_EQ(headend_.admin("POST", "/api/v1/alarms/x/clear").first, 400);
}

TEST_F(IntervalTest, AnActualReplacesAnEstimateKeepingTheEstimateAsAVersion) {
    const std::string location = pev_mirror();
    post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1000}, 1U << 3)));
    EXPECT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1200}))).code, 201);
    const auto rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + std::to_string(session_start_) + "|1200|0|2|"), 1U);
    EXPECT_EQ(count(rows, "version|1|" + std::to_string(session_start_) + "|1|1000|"), 1U);
    EXPECT_EQ(count(rows, "alarm|"), 0U);
}

TEST_F(IntervalTest, ThePremisesMeterAndTheEumdPostingTheSameIntervalNeverCollide) {
    const std::string pev_location = pev_mirror();
    auto premises = post(*esci_, "/mup",
                         sep::encode(mirror("0A0B0C0D0E0F00000000000000000020", std::string(40, 'E'), kPremisesRoles)));
    ASSERT_EQ(premises.code, 201) << premises.body;
    EXPECT_EQ(premises.location_path, "/mup/2");
    EXPECT_EQ(post(*eumd_, pev_location, sep::encode(readings(kPevReading, session_start_, {1800}))).code, 201);
    EXPECT_EQ(post(*esci_, premises.location_path,
                   sep::encode(readings("0A0B0C0D0E0F00000000000000000021", session_start_, {2500})))
                  .code,
              201);
    const auto rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + std::to_string(session_start_) + "|1800|"), 1U);
    EXPECT_EQ(count(rows, "interval|2|" + std::to_string(session_start_) + "|2500|"), 1U);
    EXPECT_EQ(count(rows, "alarm|"), 0U);
}

TEST_F(IntervalTest, OnlyTheRightDeviceMirrorsAndReadsAndARefusalIsTheSameForAMissingMirror) {
    const std::string location = pev_mirror();
    const auto before = stored();
    auto other_eumd = device("eumd-2");
    auto esci_2 = device("esci-2");
    ASSERT_TRUE(other_eumd && esci_2);
    // An EUMD of another premises may not mirror a PEV bound at P1, nor an unbound PEV at its own.
    auto stranger = post(*other_eumd, "/mup",
                         sep::encode(mirror("0A0B0C0D0E0F00000000000000000030", pev_.identity.lfdi, kPevRoles)));
    EXPECT_EQ(stranger.code, 403);
    auto unbound =
        post(*eumd_, "/mup", sep::encode(mirror("0A0B0C0D0E0F00000000000000000031", std::string(40, '9'), kPevRoles)));
    EXPECT_EQ(unbound.code, 403);
    // Roles: an EUMD does not mirror the premises total, an ESCI not a PEV.
    EXPECT_EQ(post(*eumd_, "/mup",
                   sep::encode(mirror("0A0B0C0D0E0F00000000000000000032", std::string(40, 'E'), kPremisesRoles)))
                  .code,
              403);
    EXPECT_EQ(
        post(*esci_, "/mup", sep::encode(mirror("0A0B0C0D0E0F00000000000000000033", pev_.identity.lfdi, kPevRoles)))
            .code,
        403);
    // Someone else's mirror, and one that does not exist, answer alike.
    const auto reading = sep::encode(readings(kPevReading, session_start_, {1}));
    auto theirs = post(*other_eumd, location, reading);
    auto missing = post(*other_eumd, "/mup/99", reading);
    EXPECT_EQ(theirs.code, 403);
    EXPECT_EQ(missing.code, 403);
    EXPECT_EQ(theirs.body, missing.body);
    auto read_theirs = other_eumd->get(location);
    auto read_missing = other_eumd->get("/mup/99");
    ASSERT_TRUE(read_theirs && read_missing);
    EXPECT_EQ(read_theirs->code, 403);
    EXPECT_EQ(read_missing->code, 403);
    EXPECT_EQ(read_theirs->body, read_missing->body);
    // The same mRID from another device does not reach the existing mirror.
    EXPECT_EQ(post(*esci_2, "/mup", sep::encode(mirror(kPevMirror, pev_.identity.lfdi, kPremisesRoles))).code, 403);
    auto list = other_eumd->get("/mup");
    ASSERT_TRUE(list);
    EXPECT_EQ(codec_->decode<sep::MirrorUsagePointList>(list->body)->all, 0U);
    EXPECT_EQ(stored(), before);
}

// An ESCI's premises mirror names a meter the head-end cannot check: it may not name a PEV or another premises'
// device, and only the ESCI and the premises' displays see it. mRIDs are each device's own.
TEST_F(IntervalTest, AnEsciCannotMirrorIntoAnotherDevicesViewAndMridsAreEachDevicesOwn) {
    const std::string pev_location = pev_mirror();
    auto esci_2 = device("esci-2");
    ASSERT_TRUE(esci_2);
    const auto before = stored();
    const std::string eumd_1_lfdi =
        headend_.admin("GET", "/api/v1/devices?type=eumd&premises=P1").second["devices"][0]["lfdi"].get<std::string>();
    EXPECT_EQ(post(*esci_2, "/mup",
                   sep::encode(mirror("0A0B0C0D0E0F00000000000000000040", pev_.identity.lfdi, kPremisesRoles)))
                  .code,
              403);
    EXPECT_EQ(
        post(*esci_2, "/mup", sep::encode(mirror("0A0B0C0D0E0F00000000000000000041", eumd_1_lfdi, kPremisesRoles)))
            .code,
        403);
    EXPECT_EQ(stored(), before);
    // The same mRID as P1's PEV mirror, for P2's own meter: its own mirror, nothing of P1's reached or revealed.
    auto own = post(*esci_2, "/mup", sep::encode(mirror(kPevMirror, std::string(40, 'B'), kPremisesRoles)));
    EXPECT_EQ(own.code, 201);
    EXPECT_NE(own.location_path, pev_location);
    EXPECT_TRUE(read<sep::UsagePointList>(*car_, "/upt?l=10").all == 1U);  // the PEV sees only its own mirror
}

// Energy is the PEV's only while it was bound at the premises: before its binding, and after it was bound elsewhere,
// what the EUMD measured there is not the PEV's.
TEST_F(IntervalTest, ReadingsOutsideThePevsBindingAtThePremisesAreRefused) {
    const std::string location = pev_mirror();
    const auto before = stored();
    auto early = post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ - kQuarter, {100})));
    EXPECT_EQ(early.code, 400);
    EXPECT_NE(early.body.find("outside every binding"), std::string::npos) << early.body;
    EXPECT_EQ(stored(), before);
    // Bound at P2 (as a guest) half a minute before the end of the fourth quarter hour: P1's binding ends there.
    const std::int64_t back_later = clock_->now();
    clock_->advance(std::chrono::seconds(session_start_ + 4 * kQuarter - 30 - back_later));
    auto esci_2 = device("esci-2");
    ASSERT_TRUE(esci_2);
    ASSERT_EQ(request_binding(*esci_2), 201);
    clock_->advance(std::chrono::seconds(back_later - clock_->now()));
    EXPECT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {100, 100, 100, 100}))).code,
              201);
    auto late = post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 4 * kQuarter, {100})));
    EXPECT_EQ(late.code, 400) << late.body;
    EXPECT_EQ(count(stored(), "interval|"), 4U);
}

// Load correlation: in each interval of the premises meter, the PEVs cannot have taken more than the meter measured
// (beyond 2 %, at least 10 Wh). A mismatch raises one alarm and marks the session; either side may arrive first.
TEST_F(IntervalTest, PevEnergyAboveThePremisesMetersRaisesOneAlarmAndMarksTheSession) {
    const std::string location = pev_mirror();
    auto premises = post(*esci_, "/mup",
                         sep::encode(mirror("0A0B0C0D0E0F00000000000000000050", std::string(40, 'E'), kPremisesRoles)));
    ASSERT_EQ(premises.code, 201);
    const std::string meter_reading = "0A0B0C0D0E0F00000000000000000051";
    // Quarter 1: the meter first (1000 Wh), then the PEV (1800 Wh): a mismatch. Quarter 2: PEV 1800, meter 1780,
    // within tolerance. Quarter 3: PEV first (1750), meter 2500: consistent.
    ASSERT_EQ(post(*esci_, premises.location_path, sep::encode(readings(meter_reading, session_start_, {1000}))).code,
              201);
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1800, 1750}))).code, 201);
    ASSERT_EQ(post(*esci_, premises.location_path,
                   sep::encode(readings(meter_reading, session_start_ + kQuarter, {1780, 2500})))
                  .code,
              201);
    // The same readings again raise nothing more.
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800}))).code, 201);
    const auto alarms = headend_.admin("GET", "/api/v1/alarms?kind=load_mismatch").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U) << alarms.dump();
    EXPECT_EQ(alarms[0]["premises_id"], "P1");
    EXPECT_NE(alarms[0]["detail"].get<std::string>().find("PEVs took 1800 Wh, the premises meter measured 1000 Wh"),
              std::string::npos)
        << alarms[0].dump();
    const auto sessions = headend_.admin("GET", "/api/v1/sessions?premises=P1").second["sessions"];
    ASSERT_EQ(sessions.size(), 1U);
    EXPECT_EQ(sessions[0]["load_mismatches"], 1);
}

// VEE: a gap of up to two hours inside the binding is estimated on the line between its neighbours (qualityFlags bit 3)
// until the actual comes and replaces it; a reading above the circuit's power limit is flagged.
TEST_F(IntervalTest, GapsAreEstimatedUntilTheActualsComeAndSpikesAreFlagged) {
    const std::string location = pev_mirror();
    const auto at = [&](int quarter) { return std::to_string(session_start_ + quarter * kQuarter); };
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1800}))).code, 201);
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 4 * kQuarter, {600}))).code,
              201);
    auto rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + at(2) + "|1400|8|1|vee|2|"), 1U);
    EXPECT_EQ(count(rows, "interval|1|" + at(3) + "|1000|8|1|vee|2|"), 1U);
    EXPECT_EQ(count(rows, "interval|"), 5U);
    // The PEV sees the estimate as such.
    const auto day = read<sep::ReadingSetList>(*car_, "/upt/1/mr/1/rs?l=1").reading_sets.at(0);
    bool seen = false;
    for (const auto& reading : read<sep::ReadingList>(*car_, *day.href + "/r?l=100").readings) {
        if (reading.time_period->start == session_start_ + 2 * kQuarter) {
            EXPECT_EQ(reading.quality_flags, 1U << 3);
            EXPECT_EQ(reading.value, 1400);
            seen = true;
        }
    }
    EXPECT_TRUE(seen);
    // The actual replaces the estimate (kept as a version); a spike is flagged, not refused.
    ASSERT_EQ(
        post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 2 * kQuarter, {1700, 2500}))).code,
        201);
    rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + at(2) + "|1700|0|2|device|0|"), 1U);
    EXPECT_EQ(count(rows, "version|1|" + at(2) + "|1|1400|"), 1U);
    EXPECT_EQ(count(rows, "interval|1|" + at(3) + "|2500|0|2|device|1|"), 1U);  // 10 kW > 7.7 kW: flagged
    // More than two hours missing is not estimated.
    clock_->advance(std::chrono::hours(2));
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 14 * kQuarter, {500}))).code,
              201);
    EXPECT_EQ(count(stored(), "interval|"), 6U);
}

// The operator's charging sessions: each binding with the energy its premises' EUMD sent while it lasted.
TEST_F(IntervalTest, ChargingSessionsAreTheBindingsWithTheirEnergy) {
    const std::string location = pev_mirror();
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1750}))).code, 201);
    ASSERT_EQ(
        post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 2 * kQuarter, {600}, 1U << 3))).code,
        201);
    // Bound at P2 afterwards: P1's binding ends, P2's has no energy yet.
    auto esci_2 = device("esci-2");
    ASSERT_TRUE(esci_2);
    ASSERT_EQ(request_binding(*esci_2), 201);

    auto [status, body] = headend_.admin("GET", std::string("/api/v1/sessions?vin=") + kGuestVin);
    ASSERT_EQ(status, 200) << body.dump();
    const auto& sessions = body["sessions"];
    ASSERT_EQ(sessions.size(), 2U) << body.dump();
    EXPECT_EQ(sessions[0]["premises_id"], "P2");
    EXPECT_EQ(sessions[0]["kind"], "guest");
    EXPECT_EQ(sessions[0]["energy_wh"], 0);
    EXPECT_EQ(sessions[0]["quality"], "no data");
    EXPECT_EQ(sessions[1]["premises_id"], "P1");
    EXPECT_EQ(sessions[1]["binding_status"], "ended");
    EXPECT_EQ(sessions[1]["energy_wh"], 1800 + 1750 + 600);
    EXPECT_EQ(sessions[1]["intervals"], 3);
    EXPECT_EQ(sessions[1]["estimated_intervals"], 1);
    EXPECT_EQ(sessions[1]["quality"], "estimated");
    EXPECT_EQ(sessions[1]["from"], session_start_);
    EXPECT_EQ(sessions[1]["first_interval_start"], session_start_);
    EXPECT_EQ(sessions[1]["last_interval_end"], session_start_ + 3 * kQuarter);

    EXPECT_EQ(headend_.admin("GET", "/api/v1/sessions?premises=P1").second["sessions"].size(), 1U);
    const auto after = std::to_string(clock_->now() + 3600);
    EXPECT_EQ(headend_.admin("GET", "/api/v1/sessions?from=" + after).second["sessions"].size(), 1U);  // P2's, open
    for (const char* bad : {"?from=x", "?to=", "?from=10&to=5", "?Vin=1"})
        EXPECT_EQ(headend_.admin("GET", std::string("/api/v1/sessions") + bad).first, 400) << bad;
}

// One request naming a meter reading twice is one set of readings: two values for one interval refuse it whole.
TEST_F(IntervalTest, AMeterReadingTwiceInOneRequestIsCheckedAsOne) {
    const std::string location = pev_mirror();
    const auto before = stored();
    sep::MirrorMeterReadingList list;
    list.all = list.results = 2;
    list.mirror_meter_readings = {readings(kPevReading, session_start_, {5}),
                                  readings(kPevReading, session_start_, {6})};
    auto refused = post(*eumd_, location, sep::encode(list));
    EXPECT_EQ(refused.code, 400);
    EXPECT_NE(refused.body.find("twice with different values"), std::string::npos) << refused.body;
    // A second meter reading (another reading type) of the same mirror cannot carry energy for the same time again.
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {5}))).code, 201);
    const auto one_stored = stored();
    auto second = readings("0A0B0C0D0E0F00000000000000000019", session_start_, {5});
    second.reading_type = energy_per(kQuarter);
    second.reading_type->power_of_ten_multiplier = 0;
    auto twice = post(*eumd_, location, sep::encode(second));
    EXPECT_EQ(twice.code, 400);
    EXPECT_NE(twice.body.find("already measured by another meter reading"), std::string::npos) << twice.body;
    EXPECT_EQ(stored(), one_stored);
    // A repeated ReadingType that differs in any field is a change, refused.
    auto changed = readings(kPevReading, session_start_, {5});
    changed.reading_type = energy_per(kQuarter);
    changed.reading_type->flow_direction.reset();
    auto retyped = post(*eumd_, location, sep::encode(changed));
    EXPECT_EQ(retyped.code, 400);
    EXPECT_NE(retyped.body.find("cannot change"), std::string::npos) << retyped.body;
    EXPECT_EQ(stored(), one_stored);
}

TEST_F(IntervalTest, TheUtilitysViewServesTheReadingsToTheMirrorThePevAndNobodyElse) {
    const std::string location = pev_mirror();
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1750}, 0))).code, 201);
    ASSERT_EQ(
        post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 2 * kQuarter, {900}, 1U << 3))).code,
        201);

    const auto list = read<sep::UsagePointList>(*eumd_, "/upt?l=10");
    EXPECT_EQ(list.all, 1U);
    ASSERT_EQ(list.usage_points.size(), 1U);
    const auto& point = list.usage_points[0];
    EXPECT_EQ(point.href, "/upt/1");
    EXPECT_EQ(point.mrid, kPevMirror);
    EXPECT_EQ(point.role_flags, sep::kRoleIsPev | sep::kRoleIsSubmeter);  // the utility's view is not a mirror
    EXPECT_EQ(point.device_lfdi, pev_.identity.lfdi);
    ASSERT_TRUE(point.meter_reading_list_link);
    EXPECT_EQ(point.meter_reading_list_link->all, 1U);

    const auto meter_readings = read<sep::MeterReadingList>(*eumd_, "/upt/1/mr?l=10");
    ASSERT_EQ(meter_readings.meter_readings.size(), 1U);
    const auto& meter_reading = meter_readings.meter_readings[0];
    EXPECT_EQ(meter_reading.href, "/upt/1/mr/1");
    EXPECT_EQ(meter_reading.mrid, kPevReading);
    EXPECT_EQ(meter_reading.reading_type_link.href, "/upt/1/mr/1/rt");
    const auto type = read<sep::ReadingType>(*eumd_, "/upt/1/mr/1/rt");
    EXPECT_EQ(type.uom, 72);
    EXPECT_EQ(type.interval_length, kQuarter);
    const auto latest = read<sep::Reading>(*eumd_, "/upt/1/mr/1/r");
    EXPECT_EQ(latest.value, 900);
    EXPECT_EQ(latest.quality_flags, 1U << 3);  // estimated by interpolation, as the EUMD said
    ASSERT_TRUE(latest.time_period);
    EXPECT_EQ(latest.time_period->start, session_start_ + 2 * kQuarter);

    // Every reading under the local day(s) it starts on, each once.
    const auto sets = read<sep::ReadingSetList>(*eumd_, "/upt/1/mr/1/rs?l=10");
    ASSERT_GE(sets.reading_sets.size(), 1U);
    std::uint32_t total = 0;
    for (const auto& set : sets.reading_sets) {
        ASSERT_TRUE(set.reading_list_link && set.href);
        const auto day = read<sep::ReadingList>(*eumd_, *set.href + "/r?l=100");
        EXPECT_EQ(day.all, set.reading_list_link->all);
        for (const auto& reading : day.readings) {
            EXPECT_GE(reading.time_period->start, set.time_period.start);
            EXPECT_LT(reading.time_period->start, set.time_period.start + set.time_period.duration);
        }
        total += day.all;
    }
    EXPECT_EQ(total, 3U);

    // The PEV metered reads it too; another premises' devices get 4.03 alike for it and for a missing one.
    EXPECT_EQ(read<sep::UsagePoint>(*car_, "/upt/1").mrid, kPevMirror);
    auto other_eumd = device("eumd-2");
    ASSERT_TRUE(other_eumd);
    for (const std::string& path :
         {std::string("/upt/1"), std::string("/upt/1/mr/1/r"), std::string("/upt/1/mr/1/rs")}) {
        auto theirs = other_eumd->get(path);
        auto missing = other_eumd->get("/upt/99" + path.substr(6));
        ASSERT_TRUE(theirs && missing);
        EXPECT_EQ(theirs->code, 403) << path;
        EXPECT_EQ(missing->code, 403) << path;
        EXPECT_EQ(theirs->body, missing->body) << path;
    }
    EXPECT_EQ(read<sep::UsagePointList>(*other_eumd, "/upt").all, 0U);
    // Linked from /dcap.
    const auto dcap = read<sep::DeviceCapability>(*eumd_, "/dcap");
    ASSERT_TRUE(dcap.usage_point_list_link && dcap.mirror_usage_point_list_link);
    EXPECT_EQ(dcap.usage_point_list_link->href, "/upt");
    EXPECT_EQ(dcap.mirror_usage_point_list_link->href, "/mup");
    // And from the PEV's EndDevice's FunctionSetAssignments, with the program tariffs (the plugins serve both).
    const auto own = read<sep::EndDeviceList>(*car_, "/edev");
    ASSERT_EQ(own.end_devices.size(), 1U);
    ASSERT_TRUE(own.end_devices[0].function_set_assignments_list_link);
    const auto assignments =
        read<sep::FunctionSetAssignmentsList>(*car_, own.end_devices[0].function_set_assignments_list_link->href);
    ASSERT_EQ(assignments.function_set_assignments.size(), 1U);
    const auto& assigned = assignments.function_set_assignments[0];
    ASSERT_TRUE(assigned.usage_point_list_link && assigned.tariff_profile_list_link && assigned.time_link);
    EXPECT_EQ(assigned.usage_point_list_link->href, "/upt");
    EXPECT_EQ(assigned.tariff_profile_list_link->href, "/tp");
    EXPECT_EQ(assigned.time_link->href, "/tm");
    EXPECT_EQ(read<sep::FunctionSetAssignments>(*car_, *assigned.href), assigned);
}

TEST_F(IntervalTest, ThePevObservingItsLatestReadingIsToldOfEachNewInterval) {
    const std::string location = pev_mirror();
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800}))).code, 201);
    std::vector<sep::Reading> told;
    auto observation = car_->observe("/upt/1/mr/1/r", [&](const han::ClientResponse& notification) {
        if (auto reading = codec_->decode<sep::Reading>(notification.body))
            told.push_back(*reading);
    });
    ASSERT_TRUE(observation) << observation.error().message;
    EXPECT_EQ(observation->response.code, 205);
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + kQuarter, {1650}))).code, 201);
    for (int i = 0; i < 40 && told.empty(); ++i)
        car_->poll(std::chrono::milliseconds(50));
    ASSERT_EQ(told.size(), 1U);
    EXPECT_EQ(told[0].value, 1650);
    // The same readings again store nothing, and nobody is told.
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + kQuarter, {1650}))).code, 201);
    for (int i = 0; i < 6; ++i)
        car_->poll(std::chrono::milliseconds(50));
    EXPECT_EQ(told.size(), 1U);
}

// The territory's fall-back day (25 hours) and spring-forward day (23 hours) through ingest and /upt: one ReadingSet
// per local day as long as the day is, holding every interval of it once and nothing of the days around it.
TEST_F(IntervalTest, TheDstDaysAreReadingSetsOf25And23HoursWithEveryInterval) {
    const std::string location = pev_mirror();
    struct Day {
        const char* date;
        std::int64_t midnight;  // local midnight in UTC (Python's zoneinfo)
        int hours;
    };
    for (const Day& day : {Day{"2026-03-08", 1772956800, 23}, Day{"2026-11-01", 1793516400, 25}}) {
        const std::int64_t end = day.midnight + day.hours * 3600;
        clock_->advance(std::chrono::seconds(end + 12 * 3600 - clock_->now()));  // the next day at noon
        std::vector<std::int64_t> values(static_cast<std::size_t>(day.hours * 4 + 2));
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = static_cast<std::int64_t>(i);
        // From the last quarter hour of the day before to the first of the day after.
        auto posted = post(*eumd_, location, sep::encode(readings(kPevReading, day.midnight - kQuarter, values)));
        ASSERT_EQ(posted.code, 201) << day.date << " " << posted.body;

        const std::string set_path = "/upt/1/mr/1/rs/" + std::string(day.date);
        const auto set = read<sep::ReadingSet>(*eumd_, set_path);
        EXPECT_EQ(set.time_period.start, day.midnight) << day.date;
        EXPECT_EQ(set.time_period.duration, static_cast<std::uint32_t>(day.hours * 3600)) << day.date;
        ASSERT_TRUE(set.reading_list_link);
        EXPECT_EQ(set.reading_list_link->all, static_cast<std::uint32_t>(day.hours * 4)) << day.date;
        const auto list = read<sep::ReadingList>(*eumd_, set_path + "/r?l=100");
        ASSERT_EQ(list.readings.size(), static_cast<std::size_t>(day.hours * 4)) << day.date;
        for (std::size_t i = 0; i < list.readings.size(); ++i) {
            EXPECT_EQ(list.readings[i].time_period->start, day.midnight + static_cast<std::int64_t>(i * kQuarter));
            EXPECT_EQ(list.readings[i].value, static_cast<std::int64_t>(i + 1));  // value 0 was the day before
        }
    }
}

// A CMEP line of the AMI for premises `meter`: one value per interval of `interval` seconds ending at `ends`.
std::string cmep_line(const std::string& meter, std::uint32_t interval, const std::vector<std::int64_t>& ends,
                      const std::vector<std::int64_t>& wh, cmep::Flag flag = cmep::Flag::Actual) {
    cmep::Record record;
    record.sender_id = "AMI";
    record.receiver_id = "PEVHEADEND";
    record.timestamp = ends.back();
    record.meter_id = meter;
    record.purpose = "OK";
    record.interval_s = interval;
    for (std::size_t i = 0; i < ends.size(); ++i)
        record.values.push_back({ends[i], flag, wh[i]});
    return cmep::format_record(record) + "\r\n";
}

// The AMI's premises meter data by file: stored under the same keys and checks, correlated with the PEV's energy,
// the same file again a no-op.
TEST_F(IntervalTest, TheAmisCmepFileStoresPremisesIntervalsOnceAndCorrelatesThem) {
    const std::string location = pev_mirror();
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1800}))).code, 201);
    const std::string file =
        cmep_line("P1", kQuarter, {session_start_ + kQuarter, session_start_ + 2 * kQuarter}, {1000, 2600});
    auto [status, answer] = headend_.admin("POST", "/api/v1/intervals/import", file);
    ASSERT_EQ(status, 200) << answer.dump();
    EXPECT_EQ(answer["records"], 1);
    EXPECT_EQ(answer["stored"], 2);
    const auto rows = stored();
    EXPECT_EQ(count(rows, "interval|"), 4U);
    // The AMI's mirror: no device owns it, the premises is the MeterID.
    EXPECT_EQ(count(rows, "mup|2|"), 1U);
    EXPECT_NE(std::find_if(rows.begin(), rows.end(),
                           [](const std::string& row) {
                               return row.starts_with("mup|2|") && row.find("|0|P1||") != std::string::npos;
                           }),
              rows.end());
    const auto alarms = headend_.admin("GET", "/api/v1/alarms?kind=load_mismatch").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U) << alarms.dump();  // quarter 1: the PEV took 1800 Wh, the meter saw 1000

    auto [again_status, again] = headend_.admin("POST", "/api/v1/intervals/import", file);
    ASSERT_EQ(again_status, 200);
    EXPECT_EQ(again["stored"], 0);
    EXPECT_EQ(again["unchanged"], 2);
    EXPECT_EQ(stored(), rows);
}

// A record whose values are all "not available" holds no energy: it stores nothing and makes no mirror, so the
// premises' ESCI may still be its meter's source.
TEST_F(IntervalTest, ARecordOfOnlyUnavailableValuesMakesNoMirror) {
    const auto before = stored();
    const std::string file = cmep_line("P1", kQuarter, {session_start_ + kQuarter, session_start_ + 2 * kQuarter},
                                       {0, 0}, cmep::Flag::NotAvailable);
    auto [status, answer] = headend_.admin("POST", "/api/v1/intervals/import", file);
    ASSERT_EQ(status, 200) << answer.dump();
    EXPECT_EQ(answer["records"], 1);
    EXPECT_EQ(answer["stored"], 0);
    EXPECT_EQ(stored(), before);
    auto premises = post(*esci_, "/mup",
                         sep::encode(mirror("0A0B0C0D0E0F00000000000000000050", std::string(40, 'E'), kPremisesRoles)));
    EXPECT_EQ(premises.code, 201) << premises.body;
}

TEST_F(IntervalTest, AFileWithBadLinesImportsNothingAndNamesEveryBadLine) {
    const auto before = stored();
    const std::int64_t end = session_start_ + kQuarter;
    const std::string file = cmep_line("P1", kQuarter, {end}, {500}) +    // good
                             cmep_line("P404", kQuarter, {end}, {500}) +  // no such premises
                             "MEPMD01,19970819,AMI,,HE,,202603010000,P1,OK,E,KWH,1,00000015,1,x,A,1\r\n" +  // bad time
                             cmep_line("P1", kQuarter, {end + 3 * 86400}, {500}) +  // in the future
                             cmep_line("P1", kQuarter, {end + 450}, {500}) +        // off the grid
                             "\r\n" +                                               // blank: skipped
                             cmep_line("P1", kQuarter, {end}, {501});               // the same interval, another value
    auto [status, answer] = headend_.admin("POST", "/api/v1/intervals/import", file);
    ASSERT_EQ(status, 400) << answer.dump();
    EXPECT_EQ(answer["error"]["code"], "cmep.invalid");
    std::vector<int> lines;
    for (const auto& row : answer["rows"])
        lines.push_back(row["line"].get<int>());
    // Every bad line at once: what does not parse (3, 7) and what storage refuses in the lines that do (2, 4, 5).
    EXPECT_EQ(lines, (std::vector<int>{2, 3, 4, 5, 7})) << answer.dump();
    EXPECT_NE(answer["rows"][0]["reason"].get<std::string>().find("no premises"), std::string::npos);
    EXPECT_EQ(stored(), before);

    // Without the unparsable lines, the same lines as storage refuses them, and still nothing stored.
    const std::string parsed = cmep_line("P1", kQuarter, {end}, {500}) + cmep_line("P404", kQuarter, {end}, {500}) +
                               cmep_line("P1", kQuarter, {end + 3 * 86400}, {500}) +
                               cmep_line("P1", kQuarter, {end + 450}, {500});
    auto [refused_status, refused] = headend_.admin("POST", "/api/v1/intervals/import", parsed);
    ASSERT_EQ(refused_status, 400) << refused.dump();
    ASSERT_EQ(refused["rows"].size(), 3U) << refused.dump();
    EXPECT_EQ(refused["rows"][0]["line"], 2);
    EXPECT_NE(refused["rows"][0]["reason"].get<std::string>().find("no premises"), std::string::npos);
    EXPECT_EQ(refused["rows"][1]["line"], 3);
    EXPECT_EQ(refused["rows"][2]["line"], 4);
    EXPECT_EQ(stored(), before);
    EXPECT_EQ(headend_.admin("POST", "/api/v1/intervals/import?time=cet", parsed).first, 400);
}

// Local time: on the spring-forward day (2026-03-08 in Los Angeles) an hour ending "0300" follows one ending "0100",
// and a time the clocks skip is refused.
TEST_F(IntervalTest, TheAmisLocalTimesAreReadInTheTerritorysZone) {
    clock_->advance(std::chrono::seconds(1773050400 - clock_->now()));  // 2026-03-09T10:00Z
    const std::int64_t midnight = 1772956800;                           // 2026-03-08T00:00 PST as UTC
    const std::int64_t wall = midnight - 8 * 3600;                      // the same wall clock read as if UTC
    const std::string good = cmep_line("P1", 3600, {wall + 3600, wall + 7200 + 3600, wall + 4 * 3600}, {10, 20, 30});
    auto [status, answer] = headend_.admin("POST", "/api/v1/intervals/import?time=local", good);
    ASSERT_EQ(status, 200) << answer.dump();
    EXPECT_EQ(answer["stored"], 3);
    const auto rows = stored();
    // UTC starts 08:00, 09:00 and 10:00: three hours in a row.
    for (const std::int64_t start : {midnight, midnight + 3600, midnight + 7200})
        EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                                [&](const std::string& row) {
                                    return row.starts_with("interval|") &&
                                           row.find("|" + std::to_string(start) + "|") != std::string::npos;
                                }),
                  1)
            << start;
    const std::string skipped = cmep_line("P1", 3600, {wall + 2 * 3600 + 1800}, {5});
    auto [bad_status, bad] = headend_.admin("POST", "/api/v1/intervals/import?time=local", skipped);
    ASSERT_EQ(bad_status, 400);
    EXPECT_NE(bad["rows"][0]["reason"].get<std::string>().find("does not exist in local time"), std::string::npos)
        << bad.dump();
}

// A full disk (every write and growth failing with SQLITE_FULL): the EUMD gets 5.03, never a 2.xx, nothing is
// stored; once there is space again, its resend is stored, once.
TEST_F(IntervalTest, AFullDiskAnswersServiceUnavailableAndTheResendIsStoredOnceThereIsSpace) {
    ASSERT_TRUE(kFullDiskInstalled);
    const std::string location = pev_mirror();
    const auto before = stored();
    const std::string document = sep::encode(readings(kPevReading, session_start_, {1800, 1750, 1700}));
    testing::FullDisk::set(true);
    const auto refused = post(*eumd_, location, document);
    testing::FullDisk::set(false);
    EXPECT_EQ(refused.code, 503) << refused.body;
    EXPECT_EQ(stored(), before);
    const auto accepted = post(*eumd_, location, document);
    EXPECT_EQ(accepted.code, 201) << accepted.body;
    const auto after = stored();
    EXPECT_EQ(count(after, "interval|"), 3U);
    EXPECT_EQ(post(*eumd_, location, document).code, 201);
    EXPECT_EQ(stored(), after);
}

// A premises whose EV circuit is larger than the default gets its own limit: 10 kW is then no spike there.
TEST_F(IntervalTest, APremisesOwnEvLimitReplacesTheDefaultForTheSpikeCheck) {
    const std::string location = pev_mirror();
    auto [shown_status, shown] = headend_.admin("GET", "/api/v1/premises/P1/ev-limit");
    ASSERT_EQ(shown_status, 200);
    EXPECT_EQ(shown["max_power_w"], 7700);
    EXPECT_FALSE(shown["configured"].get<bool>());
    EXPECT_EQ(headend_.admin("PUT", "/api/v1/premises/P404/ev-limit", R"({"max_power_w": 11500})").first, 404);
    for (const char* bad : {R"({"max_power_w": 999})", R"({"max_power_w": "11500"})", R"({"kw": 11})", "[]", "{"})
        EXPECT_EQ(headend_.admin("PUT", "/api/v1/premises/P1/ev-limit", bad).first, 400) << bad;
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {2500}))).code, 201);
    auto [set_status, set] = headend_.admin("PUT", "/api/v1/premises/P1/ev-limit", R"({"max_power_w": 11500})");
    ASSERT_EQ(set_status, 200) << set.dump();
    EXPECT_TRUE(set["configured"].get<bool>());
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + kQuarter, {2500}))).code, 201);
    const auto rows = stored();
    EXPECT_EQ(count(rows, "interval|1|" + std::to_string(session_start_) + "|2500|0|1|device|1|"), 1U);  // default
    EXPECT_EQ(count(rows, "interval|1|" + std::to_string(session_start_ + kQuarter) + "|2500|0|1|device|0|"), 1U);
    auto [reset_status, reset] = headend_.admin("DELETE", "/api/v1/premises/P1/ev-limit");
    ASSERT_EQ(reset_status, 200);
    EXPECT_EQ(reset["max_power_w"], 7700);
}

// Clock check: a device whose lastUpdateTime is an hour off the head-end's clock raises one alarm; its readings,
// checked on their own, are stored.
TEST_F(IntervalTest, ADeviceClockFarOffRaisesOneAlarmAndItsGoodReadingsAreStored) {
    const std::string location = pev_mirror();
    auto document = readings(kPevReading, session_start_, {1800});
    document.last_update_time = clock_->now() + 3600;
    ASSERT_EQ(post(*eumd_, location, sep::encode(document)).code, 201);
    document = readings(kPevReading, session_start_ + kQuarter, {1700});
    document.last_update_time = clock_->now() - 3600;
    ASSERT_EQ(post(*eumd_, location, sep::encode(document)).code, 201);
    document = readings(kPevReading, session_start_ + 2 * kQuarter, {1600});
    document.last_update_time = clock_->now();
    ASSERT_EQ(post(*eumd_, location, sep::encode(document)).code, 201);
    const auto alarms = headend_.admin("GET", "/api/v1/alarms?kind=device_clock").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U) << alarms.dump();
    EXPECT_NE(alarms[0]["detail"].get<std::string>().find("3600 s from the head-end's clock"), std::string::npos)
        << alarms[0].dump();
    EXPECT_EQ(count(stored(), "interval|"), 3U);
}

// Sum check: the EUMD also sends its register (summation, in kWh here) with the intervals. Between two register
// readings the intervals must add up to the register's change, within its resolution and the tolerance; where they do
// not, the operator gets one alarm, the intervals are flagged and the session says so. The register is served back
// as the meter reading's latest Reading.
TEST_F(IntervalTest, IntervalsThatDoNotAddUpToTheRegisterRaiseOneSumCheckAlarmAndMarkTheSession) {
    const std::string location = pev_mirror();
    sep::MirrorMeterReading total;
    total.mrid = "0A0B0C0D0E0F00000000000000000012";
    total.reading_type = energy_per(kQuarter);
    total.reading_type->accumulation_behaviour = 9;
    total.reading_type->interval_length.reset();
    total.reading_type->power_of_ten_multiplier = 3;
    const auto register_at = [&](std::int64_t at, std::int64_t kwh) {
        sep::MirrorMeterReading document = total;
        sep::MirrorReadingSet set;
        set.mrid = "5E55000000000000000000000000" + std::to_string(1000 + at % 9000);
        set.time_period = {0, at};
        sep::Reading reading;
        reading.time_period = sep::DateTimeInterval{0, at};
        reading.value = kwh;
        set.readings.push_back(reading);
        document.mirror_reading_sets.push_back(set);
        return sep::encode(document);
    };
    // Quarters 0-3: 1800 Wh each, 7.2 kWh, and the register moves 12 → 19 kWh: within 1 kWh + 10 Wh, passes.
    ASSERT_EQ(post(*eumd_, location, register_at(session_start_, 12)).code, 201);
    ASSERT_EQ(post(*eumd_, location, sep::encode(readings(kPevReading, session_start_, {1800, 1800, 1800, 1800}))).code,
              201);
    ASSERT_EQ(post(*eumd_, location, register_at(session_start_ + 4 * kQuarter, 19)).code, 201);
    // Quarters 4-5: 3.6 kWh, but the register moves 19 → 24 kWh: 1.4 kWh more than the intervals, fails.
    ASSERT_EQ(post(*eumd_, location, register_at(session_start_ + 6 * kQuarter, 24)).code, 201);
    ASSERT_EQ(
        post(*eumd_, location, sep::encode(readings(kPevReading, session_start_ + 4 * kQuarter, {1800, 1800}))).code,
        201);
    // The same again changes nothing.
    ASSERT_EQ(post(*eumd_, location, register_at(session_start_ + 6 * kQuarter, 24)).code, 201);
    const auto alarms = headend_.admin("GET", "/api/v1/alarms?kind=sum_check").second["alarms"];
    ASSERT_EQ(alarms.size(), 1U) << alarms.dump();
    EXPECT_NE(
        alarms[0]["detail"].get<std::string>().find("5000 Wh from " + std::to_string(session_start_ + 4 * kQuarter)),
        std::string::npos)
        << alarms[0].dump();
    EXPECT_NE(alarms[0]["detail"].get<std::string>().find("intervals sum to 3600 Wh"), std::string::npos);
    auto checks = testing::query_rows(headend_.root() / "data" / "headend.db",
                                      "SELECT from_at, to_at, register_wh, interval_wh, passed FROM sum_checks "
                                      "ORDER BY from_at");
    ASSERT_TRUE(checks);
    EXPECT_EQ(*checks, (std::vector<std::string>{std::to_string(session_start_) + "|" +
                                                     std::to_string(session_start_ + 4 * kQuarter) + "|7000|7200|1|",
                                                 std::to_string(session_start_ + 4 * kQuarter) + "|" +
                                                     std::to_string(session_start_ + 6 * kQuarter) + "|5000|3600|0|"}));
    const auto sessions = headend_.admin("GET", "/api/v1/sessions?premises=P1").second["sessions"];
    ASSERT_EQ(sessions.size(), 1U);
    EXPECT_EQ(sessions[0]["sum_check_failed_intervals"], 2);
    EXPECT_EQ(sessions[0]["energy_wh"], 6 * 1800);
    // The PEV reads the register's latest total under /upt, in Wh.
    const auto latest = read<sep::Reading>(*car_, "/upt/1/mr/2/r");
    EXPECT_EQ(latest.value, 24000);
    EXPECT_EQ(latest.time_period, (sep::DateTimeInterval{0, session_start_ + 6 * kQuarter}));
    // A register off the interval grid is refused and stores nothing.
    const auto before = stored();
    auto off_grid = post(*eumd_, location, register_at(session_start_ + 6 * kQuarter + 60, 25));
    EXPECT_EQ(off_grid.code, 400);
    EXPECT_NE(off_grid.body.find("not on the 900 s grid"), std::string::npos) << off_grid.body;
    EXPECT_EQ(stored(), before);
}

// Whatever order a request names them in, a register off the grid of the mirror's interval series is refused: here
// the register comes first in the MirrorUsagePoint, its instant half an interval off, the series after it.
TEST_F(IntervalTest, ARegisterBeforeItsSeriesInOneRequestMustStillBeOnTheSeriesGrid) {
    auto point = mirror("0A0B0C0D0E0F00000000000000000060", std::string(40, 'E'), kPremisesRoles);
    sep::MirrorMeterReading total;
    total.mrid = "0A0B0C0D0E0F00000000000000000062";
    total.reading_type = energy_per(kQuarter);
    total.reading_type->accumulation_behaviour = 9;
    total.reading_type->interval_length.reset();
    sep::MirrorReadingSet set;
    set.mrid = "5E550000000000000000000000000062";
    set.time_period = {0, session_start_ + kQuarter / 2};
    sep::Reading reading;
    reading.time_period = sep::DateTimeInterval{0, session_start_ + kQuarter / 2};
    reading.value = 1000;
    set.readings.push_back(reading);
    total.mirror_reading_sets.push_back(set);
    point.mirror_meter_readings.insert(point.mirror_meter_readings.begin(), total);
    const auto before = stored();
    auto refused = post(*esci_, "/mup", sep::encode(point));
    EXPECT_EQ(refused.code, 400);
    EXPECT_NE(refused.body.find("not on the 900 s grid of the new interval series"), std::string::npos) << refused.body;
    EXPECT_EQ(stored(), before);
}

// A premises meter's energy comes from one source: the AMI's file or the ESCI's mirror, never both.
TEST_F(IntervalTest, APremisesMeterMirroredByItsEsciRefusesTheAmisDataAndTheOtherWayRound) {
    auto premises = post(*esci_, "/mup",
                         sep::encode(mirror("0A0B0C0D0E0F00000000000000000050", std::string(40, 'E'), kPremisesRoles)));
    ASSERT_EQ(premises.code, 201);
    const auto before = stored();
    auto [status, answer] =
        headend_.admin("POST", "/api/v1/intervals/import", cmep_line("P1", kQuarter, {session_start_ + kQuarter}, {5}));
    ASSERT_EQ(status, 400) << answer.dump();
    EXPECT_NE(answer["rows"][0]["reason"].get<std::string>().find("mirrored by its ESCI"), std::string::npos)
        << answer.dump();
    EXPECT_EQ(stored(), before);

    // P2's data comes from the AMI: its ESCI may not mirror the meter as well.
    ASSERT_EQ(
        headend_.admin("POST", "/api/v1/intervals/import", cmep_line("P2", kQuarter, {session_start_ + kQuarter}, {5}))
            .first,
        200);
    auto esci2 = device("esci-2");
    ASSERT_TRUE(esci2);
    auto refused = post(*esci2, "/mup",
                        sep::encode(mirror("0A0B0C0D0E0F00000000000000000060", std::string(40, 'F'), kPremisesRoles)));
    EXPECT_EQ(refused.code, 400) << refused.body;
    EXPECT_NE(refused.body.find("comes from the AMI"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace headend
