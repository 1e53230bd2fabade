// The customer portal as a customer's browser and an attacker meet it: the daemon as its own process with every
// plugin the portal reads, the operator's invitation through headendctl, and libcurl as the HTTPS client (its cookie
// engine keeps the session, the head-end's CA verifies the listener). Interval data is written into the database the
// way interval collection stores it.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "daemon_process.hpp"
#include "headend/testing/fakes.hpp"
#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;
using headend::testing::DaemonProcess;
using headend::testing::run;
using headend::testing::TempDir;

constexpr const char* kVinA = "1HGCM82633A004352";  // valid check digits
constexpr const char* kVinB = "1M8GDM9AXKP042788";

struct Answer {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names; Set-Cookie lines joined by "\n"
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// One browser: its own cookie jar, the portal's host name resolved to loopback, the head-end's CA trusted.
class Browser {
public:
    Browser(int port, fs::path ca) : port_(port), ca_(std::move(ca)), curl_(curl_easy_init()) {
        curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // cookies on, in memory
        resolve_ = curl_slist_append(nullptr, ("headend:" + std::to_string(port_) + ":127.0.0.1").c_str());
        curl_easy_setopt(curl_, CURLOPT_RESOLVE, resolve_);
        curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_.c_str());
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    }
    ~Browser() {
        curl_slist_free_all(resolve_);
        curl_easy_cleanup(curl_);
    }
    Browser(const Browser&) = delete;
    Browser& operator=(const Browser&) = delete;

    std::string url(const std::string& path) const { return "https://headend:" + std::to_string(port_) + path; }

    Answer get(const std::string& path) { return send(path, nullptr, {}); }
    Answer post(const std::string& path, const std::string& body, std::vector<std::string> headers = {}) {
        return send(path, &body, std::move(headers));
    }
    // Forms of the last page carry this token.
    static std::string csrf_of(const std::string& page) {
        std::smatch match;
        const std::regex token("name=\"csrf\" value=\"([^\"]+)\"");
        return std::regex_search(page, match, token) ? match[1].str() : std::string();
    }
    static std::string encoded(const std::string& text) {
        char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
        std::string out(escaped);
        curl_free(escaped);
        return out;
    }
    // The cookie engine's view, for checks of what a browser would keep.
    std::string cookies() {
        struct curl_slist* list = nullptr;
        curl_easy_getinfo(curl_, CURLINFO_COOKIELIST, &list);
        std::string out;
        for (auto* item = list; item; item = item->next)
            out += std::string(item->data) + "\n";
        curl_slist_free_all(list);
        return out;
    }
    void forget_cookies() { curl_easy_setopt(curl_, CURLOPT_COOKIELIST, "ALL"); }
    void add_cookie(const std::string& line) { curl_easy_setopt(curl_, CURLOPT_COOKIELIST, line.c_str()); }

private:
    static size_t on_body(char* data, size_t size, size_t count, void* user) {
        static_cast<Answer*>(user)->body.append(data, size * count);
        return size * count;
    }
    static size_t on_header(char* data, size_t size, size_t count, void* user) {
        std::string line(data, size * count);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            value.erase(value.find_last_not_of("\r\n") + 1);
            auto& headers = static_cast<Answer*>(user)->headers;
            headers[name] += (headers[name].empty() ? "" : "\n") + value;
        }
        return size * count;
    }
    Answer send(const std::string& path, const std::string* body, std::vector<std::string> extra) {
        Answer answer;
        curl_easy_setopt(curl_, CURLOPT_URL, url(path).c_str());
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Browser::on_body);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Browser::on_header);
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &answer);
        struct curl_slist* headers = nullptr;
        for (const auto& header : extra)
            headers = curl_slist_append(headers, header.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
        if (body) {
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->c_str());
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
        } else {
            curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
        }
        const CURLcode code = curl_easy_perform(curl_);
        curl_slist_free_all(headers);
        EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code) << " " << path;
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &answer.status);
        return answer;
    }

    int port_;
    fs::path ca_;
    CURL* curl_;
    struct curl_slist* resolve_ = nullptr;
};

class PortalTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::ofstream(dir_.path() / "headend.toml")
            << "[[plugins]]\nname = \"pev-registration\"\nlibrary = \"" << PEV_REGISTRATION_PLUGIN
            << "\"\n[[plugins]]\nname = \"pev-binding\"\nlibrary = \"" << PEV_BINDING_PLUGIN
            << "\"\n[[plugins]]\nname = \"interval-collection\"\nlibrary = \"" << INTERVAL_COLLECTION_PLUGIN
            << "\"\n[[plugins]]\nname = \"billing\"\nlibrary = \"" << BILLING_PLUGIN
            << "\"\n[[plugins]]\nname = \"customer-portal\"\nlibrary = \"" << CUSTOMER_PORTAL_PLUGIN
            << "\"\n[plugin.pev-registration]\nprograms_file = \"" << PROGRAMS_FILE
            << "\"\n[plugin.customer-portal]\nlisten_address = \"127.0.0.1\"\nlisten_port = 0\nscrypt_log_n = 10\n";
        daemon_ = std::make_unique<DaemonProcess>(dir_.path(), dir_.path() / "headend.toml");
        ASSERT_GT(daemon_->coaps_port(), 0) << daemon_->stderr_text();
        const std::regex listening("PORTAL_LISTENING.* customer portal on https://127\\.0\\.0\\.1:(\\d+)");
        for (const char* log : {"daemon.out", "daemon.err"}) {
            std::ifstream in(dir_.path() / log);
            std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            std::smatch match;
            if (std::regex_search(text, match, listening))
                port_ = std::stoi(match[1]);
        }
        ASSERT_GT(port_, 0) << daemon_->stderr_text();
        const fs::path csv = dir_.path() / "customers.csv";
        std::ofstream(csv) << "account_id,customer_id,customer_name,premises_id,service_address,default_rate,email\n"
                              "A1,C1,<script>alert(1)</script> Doe,P1,1 Main St,DOM-FLAT,\n"
                              "A2,C2,Bea Other,P2,2 Side St,DOM-FLAT,\n";
        const auto imported = run(daemon_->ctl("import customers " + csv.string()));
        ASSERT_EQ(imported.exit_code, 0) << imported.output;
        for (const auto& [vin, account] : {std::pair{kVinA, "1"}, std::pair{kVinB, "2"}}) {
            const auto enrolled =
                run(daemon_->ctl(std::string("enroll --vin ") + vin + " --account A" + account + " --customer C" +
                                 account + " --premises P" + account + " --program EV-TOU"));
            ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
        }
    }

    std::string invitation_link(const std::string& account) {
        const auto invited = run(daemon_->ctl("portal invite --account " + account + " --json"));
        EXPECT_EQ(invited.exit_code, 0) << invited.output;
        const auto answer = nlohmann::json::parse(invited.output, nullptr, false);
        EXPECT_TRUE(answer.is_object()) << invited.output;
        return answer.value("link", "");
    }

    // Activates the account's invitation in `browser`; returns the overview page.
    Answer activate(Browser& browser, const std::string& account, const std::string& password) {
        const std::string link = invitation_link(account);
        const std::string path = link.substr(link.find("/activate"));
        const Answer form = browser.get(path);
        EXPECT_EQ(form.status, 200) << form.body;
        const std::string token = path.substr(path.find("token=") + 6);
        const Answer done = browser.post(
            "/activate", "csrf=" + Browser::encoded(Browser::csrf_of(form.body)) + "&token=" + token +
                             "&password=" + Browser::encoded(password) + "&confirm=" + Browser::encoded(password));
        EXPECT_EQ(done.status, 303) << done.body;
        return done;
    }

    Answer sign_in(Browser& browser, const std::string& account, const std::string& password) {
        const Answer form = browser.get("/signin");
        return browser.post("/signin", "csrf=" + Browser::encoded(Browser::csrf_of(form.body)) + "&account=" + account +
                                           "&password=" + Browser::encoded(password));
    }

    fs::path ca() const { return dir_.path() / "data" / "tls" / "ca.pem"; }

    TempDir dir_;
    std::unique_ptr<DaemonProcess> daemon_;
    int port_ = 0;
};

TEST_F(PortalTest, AnInvitedCustomerSignsInSeesOnlyTheirOwnAccountAndSignsOut) {
    Browser alice(port_, ca());
    const Answer activated = activate(alice, "A1", "alice's long password");
    EXPECT_EQ(activated.header("location"), "/overview");
    const std::string set_cookie = activated.header("set-cookie");
    EXPECT_NE(set_cookie.find("__Host-pevportal="), std::string::npos) << set_cookie;
    for (const char* attribute : {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"})
        EXPECT_NE(set_cookie.find(attribute), std::string::npos) << attribute << " in " << set_cookie;

    const Answer overview = alice.get("/overview");
    ASSERT_EQ(overview.status, 200) << overview.body;
    // Markup in the customer's name is text, never markup.
    EXPECT_NE(overview.body.find("&lt;script&gt;alert(1)&lt;/script&gt; Doe"), std::string::npos) << overview.body;
    EXPECT_EQ(overview.body.find("<script>"), std::string::npos);
    EXPECT_NE(overview.body.find(kVinA), std::string::npos);
    EXPECT_EQ(overview.body.find(kVinB), std::string::npos);
    EXPECT_NE(overview.header("content-security-policy").find("default-src 'none'"), std::string::npos);
    EXPECT_NE(overview.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(overview.header("x-frame-options"), "DENY");
    EXPECT_EQ(overview.header("strict-transport-security"), "max-age=31536000");
    EXPECT_EQ(overview.header("cache-control"), "no-store");
    // Not no-referrer: Chromium then sends "Origin: null" with same-site forms (the browser test submits them).
    EXPECT_EQ(overview.header("referrer-policy"), "same-origin");

    // Bob's PEV, Bob's bill month, and things that do not exist answer alike.
    const std::string csrf = Browser::csrf_of(alice.get("/pevs").body);
    ASSERT_FALSE(csrf.empty());
    const std::string preferences = "csrf=" + Browser::encoded(csrf) + "&guest_charging_payer=host&allow_roaming=1";
    const Answer bobs = alice.post(std::string("/pevs/") + kVinB + "/preferences", preferences);
    const Answer nobodys = alice.post("/pevs/1HGCM82633A999999/preferences", preferences);
    EXPECT_EQ(bobs.status, 404);
    EXPECT_EQ(bobs.body, nobodys.body);
    EXPECT_EQ(run("sqlite3 " + (dir_.path() / "data" / "headend.db").string() +
                  " \"SELECT allow_roaming, guest_charging_payer FROM enrollments WHERE vin = '" + kVinB + "'\"")
                  .output,
              "0|owner\n");
    EXPECT_EQ(alice.get("/bills/2026-01").status, 404);

    // Enrolling Bob's VIN is refused without saying where it is enrolled.
    const Answer squat =
        alice.post("/pevs", "csrf=" + Browser::encoded(csrf) + "&vin=" + kVinB + "&premises=P1&program=EV-TOU");
    EXPECT_EQ(squat.status, 400);
    EXPECT_NE(squat.body.find("enrolled already"), std::string::npos) << squat.body;
    EXPECT_EQ(squat.body.find("P2"), std::string::npos);

    // The listener's own errors carry the portal's headers too.
    const Answer nowhere = alice.get("/no/such/page");
    EXPECT_EQ(nowhere.status, 404);
    EXPECT_NE(nowhere.header("content-security-policy").find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(nowhere.header("x-frame-options"), "DENY");

    // Alice's own preferences change, through the enrollment service.
    const Answer saved = alice.post(std::string("/pevs/") + kVinA + "/preferences", preferences);
    EXPECT_EQ(saved.status, 200) << saved.body;
    EXPECT_EQ(
        run("sqlite3 " + (dir_.path() / "data" / "headend.db").string() +
            " \"SELECT allow_roaming, guest_charging_payer, channel FROM enrollments WHERE vin = '" + kVinA + "'\"")
            .output,
        "1|host|operator\n");

    // Sign-out ends the session on the server: the old cookie does not work again.
    const std::string cookie_line = alice.cookies();
    const Answer signed_out = alice.post("/signout", "csrf=" + Browser::encoded(csrf));
    EXPECT_EQ(signed_out.status, 303);
    EXPECT_NE(signed_out.header("set-cookie").find("Max-Age=0"), std::string::npos);
    EXPECT_EQ(alice.get("/overview").status, 303);
    Browser replay(port_, ca());
    std::istringstream lines(cookie_line);
    for (std::string line; std::getline(lines, line);)
        replay.add_cookie(line);
    const Answer replayed = replay.get("/overview");
    EXPECT_EQ(replayed.status, 303);
    EXPECT_EQ(replayed.header("location"), "/signin");
}

TEST_F(PortalTest, FormsWithoutTheSessionsTokenOrFromAnotherSiteAreRefusedAndChangeNothing) {
    Browser alice(port_, ca());
    activate(alice, "A1", "alice's long password");
    Browser bob(port_, ca());
    activate(bob, "A2", "bob's long password here");
    const std::string bobs_token = Browser::csrf_of(bob.get("/pevs").body);
    const std::string alices_token = Browser::csrf_of(alice.get("/pevs").body);
    const std::string path = std::string("/pevs/") + kVinA + "/preferences";
    const std::string rest = "&guest_charging_payer=host&allow_roaming=1";
    EXPECT_EQ(alice.post(path, "guest_charging_payer=host&allow_roaming=1").status, 403);
    EXPECT_EQ(alice.post(path, "csrf=" + Browser::encoded(bobs_token) + rest).status, 403);
    EXPECT_EQ(
        alice.post(path, "csrf=" + Browser::encoded(alices_token) + rest, {"Origin: https://evil.example"}).status,
        403);
    EXPECT_EQ(alice.post(path, "csrf=" + Browser::encoded(alices_token) + rest, {"Content-Type: text/plain"}).status,
              403);
    EXPECT_EQ(run("sqlite3 " + (dir_.path() / "data" / "headend.db").string() +
                  " \"SELECT allow_roaming, guest_charging_payer FROM enrollments WHERE vin = '" + kVinA + "'\"")
                  .output,
              "0|owner\n");
    // Sign-in forms are bound to the visitor's cookie too.
    Browser stranger(port_, ca());
    EXPECT_EQ(stranger.post("/signin", "csrf=x&account=A1&password=alice%27s+long+password").status, 403);
}

TEST_F(PortalTest, TheTenthWrongPasswordIsThrottledAndUsedInvitationsAreRefused) {
    Browser alice(port_, ca());
    const std::string link = invitation_link("A1");
    const std::string path = link.substr(link.find("/activate"));
    const std::string token = path.substr(path.find("token=") + 6);
    const Answer form = alice.get(path);
    const std::string body = "csrf=" + Browser::encoded(Browser::csrf_of(form.body)) + "&token=" + token +
                             "&password=alice%27s+long+password&confirm=alice%27s+long+password";
    EXPECT_EQ(alice.post("/activate", body).status, 303);
    EXPECT_EQ(alice.post("/activate", body).status, 410);
    EXPECT_EQ(alice.get(path).status, 410);

    Browser mallory(port_, ca());
    for (int i = 1; i <= 9; ++i)
        EXPECT_EQ(sign_in(mallory, "A1", "guess number " + std::to_string(i)).status, 401) << i;
    const Answer tenth = sign_in(mallory, "A1", "guess number 10");
    EXPECT_EQ(tenth.status, 429);
    EXPECT_EQ(tenth.header("retry-after"), "900");
    EXPECT_EQ(sign_in(mallory, "A1", "alice's long password").status, 429);
    // Unknown accounts answer as wrong passwords do.
    const Answer unknown = sign_in(mallory, "NOPE", "anything at all");
    EXPECT_EQ(unknown.status, 401);
}

// Both premises get a premises channel and a PEV channel with a day of quarters (2026-11-01, 25 hours local), as
// interval collection stores them.
void seed_intervals(const fs::path& database) {
    std::string sql = "PRAGMA busy_timeout = 10000; BEGIN;";
    const std::int64_t start = 1'793'516'400;  // 2026-11-01 00:00 America/Los_Angeles (PDT)
    for (int premises = 1; premises <= 2; ++premises) {
        const std::string p = std::to_string(premises);
        sql +=
            "INSERT INTO mirror_usage_points(mup_id, mrid, owner_device_id, premises_id, device_lfdi, role_flags, "
            "service_category_kind, status, created_at) VALUES (" +
            std::to_string(premises * 10) + ", 'UP" + p + "PREM', 1, 'P" + p + "', 'E" + p + "', 3, 0, 1, 0), (" +
            std::to_string(premises * 10 + 1) + ", 'UP" + p + "PEV', 1, 'P" + p + "', 'V" + p + "', 5, 0, 1, 0);";
        for (int channel = 0; channel < 2; ++channel) {
            const std::string mmr = std::to_string(premises * 10 + channel);
            sql +=
                "INSERT INTO mirror_meter_readings(mmr_id, mup_id, mrid, accumulation_behaviour, interval_length, "
                "kind, power_of_ten_multiplier, uom, created_at) VALUES (" +
                mmr + ", " + mmr + ", 'MR" + mmr + "', 4, 900, 12, 0, 72, 0);";
            for (int quarter = 0; quarter < 100; ++quarter)
                sql +=
                    "INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, "
                    "source, received_at) VALUES (" +
                    mmr + ", " + std::to_string(start + quarter * 900) + ", 900, 20758, " +
                    std::to_string(channel == 0 ? 100 * premises : 40) + ", " + (quarter == 5 ? "8" : "0") +
                    ", 1, 'test', 0);";
        }
    }
    const auto done = run("sqlite3 " + database.string() + " \"" + sql + " COMMIT;\"");
    ASSERT_EQ(done.exit_code, 0) << done.output;
}

TEST_F(PortalTest, DownloadsAndTheUsageChartCarryOnlyTheAccountsChannelsAndTheFeedValidates) {
    seed_intervals(dir_.path() / "data" / "headend.db");
    Browser alice(port_, ca());
    activate(alice, "A1", "alice's long password");
    const Answer espi = alice.get("/download/data?from=2026-11-01&to=2026-11-01&format=espi");
    ASSERT_EQ(espi.status, 200) << espi.body;
    EXPECT_NE(espi.header("content-disposition").find("attachment"), std::string::npos);
    const fs::path feed = dir_.path() / "feed.xml";
    std::ofstream(feed) << espi.body;
    const auto valid =
        run("xmllint --noout --schema " + std::string(HEADEND_SCHEMA_DIR) + "/espi.xsd " + feed.string());
    EXPECT_EQ(valid.exit_code, 0) << valid.output;
    EXPECT_NE(espi.body.find("UP1PREM"), std::string::npos);
    EXPECT_EQ(espi.body.find("UP2PREM"), std::string::npos);  // Bob's premises
    EXPECT_EQ(espi.body.find("UP2PEV"), std::string::npos);
    EXPECT_NE(espi.body.find("<quality>9</quality>"), std::string::npos);  // estimated by linear interpolation
    EXPECT_NE(espi.body.find("<currency>840</currency>"), std::string::npos);
    EXPECT_NE(espi.body.find("<IntervalReading><cost>3200</cost>"), std::string::npos);

    const Answer csv = alice.get("/download/data?from=2026-11-01&to=2026-11-01&format=csv");
    ASSERT_EQ(csv.status, 200);
    EXPECT_EQ(csv.body.rfind(
                  "usage_point,meter_reading,premises,channel,start_utc,start_local,duration_s,wh,quality,cost\r\n", 0),
              0U);
    EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 1 + 2 * 100);
    EXPECT_NE(
        csv.body.find("\"UP1PEV\",\"MR11\",\"P1\",pev,2026-11-01T07:00:00Z,2026-11-01T00:00:00-07:00,900,40,0,0.00000"),
        std::string::npos)
        << csv.body.substr(0, 400);
    // The repeated hour: 01:00 twice in local time, once in summer time and once in winter time.
    EXPECT_NE(csv.body.find("2026-11-01T01:00:00-07:00"), std::string::npos);
    EXPECT_NE(csv.body.find("2026-11-01T01:00:00-08:00"), std::string::npos);
    EXPECT_EQ(csv.body.find("P2"), std::string::npos);
    // Each interval's cost is what it adds to the bill: the meter's 100 Wh at DOM-FLAT ($0.32000/kWh); the PEV's
    // energy outside any binding adds nothing (it is in the premises total).
    EXPECT_NE(csv.body.find("\"UP1PREM\",\"MR10\",\"P1\",premises,2026-11-01T07:00:00Z,2026-11-01T00:00:00-07:00,900,"
                            "100,0,0.03200"),
              std::string::npos);

    const Answer day = alice.get("/usage?view=day&date=2026-11-01");
    ASSERT_EQ(day.status, 200);
    std::size_t bars = 0;
    for (auto at = day.body.find("<rect class=\"premises\""); at != std::string::npos;
         at = day.body.find("<rect class=\"premises\"", at + 1))
        ++bars;
    EXPECT_EQ(bars, 25U);
    EXPECT_NE(day.body.find("whole premises 10.000 kWh, of which PEV charging 4.000 kWh"), std::string::npos);

    // Bob's bill for the month: Alice asking for that month gets what she gets for a month nobody was billed.
    const auto billed = run(daemon_->ctl("bill run --month 2026-11 --account A2"));
    ASSERT_EQ(billed.exit_code, 0) << billed.output;
    const Answer bobs_month = alice.get("/bills/2026-11");
    const Answer no_month = alice.get("/bills/2025-01");
    EXPECT_EQ(bobs_month.status, 404);
    EXPECT_EQ(bobs_month.body, no_month.body);
    EXPECT_EQ(alice.get("/bills/2026-11/pdf").status, 404);
    EXPECT_EQ(alice.get("/bills").body.find("2026-11"), std::string::npos);
    Browser bob(port_, ca());
    activate(bob, "A2", "bob's long password here");
    const Answer bobs_bill = bob.get("/bills/2026-11");
    EXPECT_EQ(bobs_bill.status, 200);
    EXPECT_NE(bobs_bill.body.find("Bea Other"), std::string::npos);
    const Answer pdf = bob.get("/bills/2026-11/pdf");
    EXPECT_EQ(pdf.status, 200);
    EXPECT_EQ(pdf.body.rfind("%PDF-", 0), 0U);

    // Bad ranges are refused with a message.
    EXPECT_EQ(alice.get("/download/data?from=2026-11-02&to=2026-11-01&format=csv").status, 400);
    EXPECT_EQ(alice.get("/download/data?from=2025-01-01&to=2026-11-01&format=csv").status, 400);
    EXPECT_EQ(alice.get("/download/data?from=2026-11-01&to=2026-11-01&format=pdf").status, 400);
    EXPECT_EQ(alice.get("/usage?view=year").status, 400);
    // Days and months outside what a calendar month can be made of (before 1970, after 9998): refused, and the
    // portal goes on answering (a month before 1970 once sent a reader thread into a loop).
    for (const char* range : {"from=1900-01-01&to=1900-01-01", "from=1969-12-01&to=1969-12-31",
                              "from=9999-12-01&to=9999-12-31", "from=0000-01-01&to=0000-01-02"})
        EXPECT_EQ(alice.get(std::string("/download/data?format=csv&") + range).status, 400) << range;
    for (const char* month : {"1969-12", "9999-12", "0000-01"})
        EXPECT_EQ(alice.get(std::string("/sessions?month=") + month).status, 400) << month;
    EXPECT_EQ(alice.get("/health").status, 200);
    EXPECT_EQ(alice.get("/usage?date=2026-13-01").status, 400);
}

TEST_F(PortalTest, MadeUpInvitationLinksCountAgainstTheAddressLikeWrongPasswords) {
    // 50 in 15 minutes by default; none of them costs a password hash.
    Browser guesser(port_, ca());
    const std::string guess_csrf = Browser::csrf_of(guesser.get("/signin").body);  // bound to the visitor cookie
    int refused = 0;
    for (int i = 0; i < 50; ++i)
        refused += guesser
                       .post("/activate", "csrf=" + Browser::encoded(guess_csrf) + "&token=guess" + std::to_string(i) +
                                              "&password=alice%27s+long+password" + "&confirm=alice%27s+long+password")
                       .status == 410;
    EXPECT_EQ(refused, 50);
    EXPECT_EQ(guesser
                  .post("/activate", "csrf=" + Browser::encoded(guess_csrf) +
                                         "&token=guess51&password=alice%27s+long+password" +
                                         "&confirm=alice%27s+long+password")
                  .status,
              429);
}

TEST_F(PortalTest, TlsBelowOnePointTwoIsRefused) {
    const std::string address = "127.0.0.1:" + std::to_string(port_);
    // The client allows the old protocol (security level 0), so a failure is the server's refusal.
    const auto old =
        run("echo | timeout 10 openssl s_client -connect " + address + " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1");
    EXPECT_NE(old.exit_code, 0) << old.output;
    EXPECT_NE(old.output.find("alert protocol version"), std::string::npos) << old.output;
    // The handshake's summary, not s_client's exit code: that also reports how the closed stdin ended the session.
    const auto current = run("echo | timeout 10 openssl s_client -connect " + address + " -tls1_2 2>&1");
    EXPECT_NE(current.output.find("New, TLSv1.2, Cipher is ECDHE-"), std::string::npos) << current.output;
}

}  // namespace
