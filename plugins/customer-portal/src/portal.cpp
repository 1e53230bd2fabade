#include "portal.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>

#include "account_data.hpp"
#include "admin/json_reply.hpp"
#include "billing/bill.hpp"
#include "billing/rating.hpp"
#include "calendar/local_days.hpp"
#include "charts.hpp"
#include "greenbutton.hpp"
#include "nlohmann/json.hpp"
#include "page_cache.hpp"
#include "pev/catalog_versions.hpp"
#include "pev/vin.hpp"
#include "style.hpp"
#include "web.hpp"

namespace portal {
namespace {

using headend::make_error;
using headend::Result;
using headend::http::Request;
using headend::http::Response;
using headend::storage::Transaction;

using Form = std::map<std::string, std::string>;

std::string field(const Form& form, const std::string& name) {
    const auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
}

std::string power_text(const sep::ActivePower& power) {
    double watts = power.value;
    for (int i = 0; i < power.multiplier; ++i)
        watts *= 10;
    for (int i = 0; i > power.multiplier; --i)
        watts /= 10;
    return fmt::format("{:.1f} kW", watts / 1000);
}

std::string energy_text(const sep::RealEnergy& energy) {
    double wh = static_cast<double>(energy.value);
    for (int i = 0; i < energy.multiplier; ++i)
        wh *= 10;
    for (int i = 0; i > energy.multiplier; --i)
        wh /= 10;
    return fmt::format("{:.1f} kWh", wh / 1000);
}

const char* binding_words(const std::string& status) {
    if (status == "active")
        return "bound: the program rate applies";
    if (status == "requested" || status == "confirmed" || status == "acknowledged")
        return "binding in progress";
    if (status == "ended")
        return "last session ended";
    if (status == "fallback")
        return "charged without binding: the premises rate applied";
    if (status == "refused")
        return "binding refused";
    return "unknown";
}

std::string kind_words(const std::string& kind) {
    if (kind == "home")
        return "at home";
    if (kind == "guest")
        return "as a guest";
    return "away (roaming)";
}

bool session_line(billing::LineKind kind) {
    using billing::LineKind;
    return kind == LineKind::HomeSession || kind == LineKind::GuestSession || kind == LineKind::HostCredit ||
           kind == LineKind::FallbackSession || kind == LineKind::HeldSession || kind == LineKind::Roaming;
}

}  // namespace

struct Portal::Impl {
    headend::plugin::Context& context;
    Logins& logins;
    PortalSettings settings;
    calendar::LocalDays days;
    AddressThrottle throttle;
    billing::CatalogCache catalog;
    billing::CustomerView billing_view;
    pev::CatalogVersions enrollment_catalog;
    pev::Enrollments enrollments;
    PageCache usage_cache;

    Impl(headend::plugin::Context& c, Logins& l, PortalSettings s)
        : context(c),
          logins(l),
          settings(std::move(s)),
          days(settings.time_zone),
          throttle(settings.address_failures, settings.address_window_s),
          billing_view(c.database, settings.time_zone),
          enrollment_catalog(tariff::Versions()),
          enrollments(c.database, enrollment_catalog, c.clock),
          usage_cache(settings.usage_cache_entries) {}

    std::string local_time(std::int64_t utc, const char* format = "%Y-%m-%d %H:%M %Z") const {
        const date::zoned_seconds local(date::locate_zone(settings.time_zone),
                                        date::sys_seconds(std::chrono::seconds(utc)));
        return date::format(format, local);
    }

    // ---- the plumbing around every page

    std::string form_token(std::string_view purpose, std::string_view cookie_value) const {
        return hmac_token(settings.key, std::string(purpose) + ":" + std::string(cookie_value));
    }

    // A request from another site (its Origin is not this host) is refused before anything else.
    static bool same_origin(const Request& request) {
        const auto origin = request.headers.find("origin");
        if (origin == request.headers.end())
            return true;
        const auto host = request.headers.find("host");
        return host != request.headers.end() && origin->second == "https://" + host->second;
    }

    Response refused(int status, std::string_view title, std::string_view message,
                     const std::optional<std::string>& csrf = std::nullopt) const {
        return html(status, page(title, "", "<p>" + escaped(message) + "</p>\n", csrf));
    }

    Response not_found(const std::string& csrf) const {
        return refused(404, "Not found", "There is no such page in your account.", csrf);
    }

    using SignedPage = std::function<Response(const Request&, const Session&, const std::string& csrf, const Form&)>;

    // Pages for a signed-in customer. Without a session: GET goes to the sign-in page, anything else is refused.
    // POST needs the session's form token.
    headend::http::Handler signed_in(SignedPage handler) {
        return [this, handler = std::move(handler)](const Request& request) {
            return [&] {
                const bool post = request.method == "POST";
                if (post && !same_origin(request))
                    return refused(403, "Refused", "This form was sent from another site.");
                const auto token = cookie(request, kSessionCookie);
                std::optional<Session> session;
                if (token) {
                    auto found = logins.session(*token);
                    if (!found)
                        return refused(500, "Sorry", "The portal cannot answer now. Please try again later.");
                    session = *found;
                }
                if (!session)
                    return post ? refused(403, "Signed out", "Your session has ended. Please sign in again.")
                                : redirect("/signin");
                const std::string csrf = form_token("session", session->token);
                Form form;
                if (post) {
                    auto parsed = form_of(request);
                    if (!parsed || !same_secret(field(*parsed, "csrf"), csrf))
                        return refused(403, "Refused", "This form has expired. Go back, reload the page and try again.",
                                       csrf);
                    form = std::move(*parsed);
                }
                return handler(request, *session, csrf, form);
            }();
        };
    }

    using VisitorPage = std::function<Response(const Request&, const std::string& csrf, const Form&)>;

    // Pages before sign-in (sign-in, activation): their forms are bound to a visitor cookie the GET sets.
    headend::http::Handler visitor(VisitorPage handler) {
        return [this, handler = std::move(handler)](const Request& request) {
            return [&] {
                const bool post = request.method == "POST";
                if (post && !same_origin(request))
                    return refused(403, "Refused", "This form was sent from another site.");
                auto visitor_id = cookie(request, kVisitorCookie);
                std::string set;
                if (!visitor_id) {
                    if (post)
                        return refused(403, "Refused",
                                       "Your browser did not send the portal's cookie. Allow cookies for this site "
                                       "and try again.");
                    visitor_id = random_token();
                    set = set_cookie(kVisitorCookie, *visitor_id, 3600);
                }
                const std::string csrf = form_token("visitor", *visitor_id);
                Form form;
                if (post) {
                    auto parsed = form_of(request);
                    if (!parsed || !same_secret(field(*parsed, "csrf"), csrf))
                        return refused(403, "Refused",
                                       "This form has expired. Go back, reload the page and try again.");
                    form = std::move(*parsed);
                }
                Response answer = handler(request, csrf, form);
                if (!set.empty() && !answer.headers.contains("Set-Cookie"))
                    answer.headers["Set-Cookie"] = set;
                return answer;
            }();
        };
    }

    // ---- sign-in, activation, sign-out, password

    Response signin_page(const std::string& csrf, int status, std::string_view problem, std::string_view account) {
        std::string content;
        if (!problem.empty())
            content += "<p class=\"problem\" role=\"alert\">" + escaped(problem) + "</p>\n";
        content += "<form method=\"post\" action=\"/signin\">" + csrf_field(csrf) +
                   "\n<p><label for=\"account\">Account number</label>\n<input id=\"account\" name=\"account\" "
                   "autocomplete=\"username\" required value=\"" +
                   escaped(account) +
                   "\"></p>\n<p><label for=\"password\">Password</label>\n<input id=\"password\" name=\"password\" "
                   "type=\"password\" autocomplete=\"current-password\" required></p>\n<p><button "
                   "type=\"submit\">Sign in</button></p>\n</form>\n<p>No password yet, or forgot it? Ask customer "
                   "service for an invitation link.</p>\n";
        return html(status, page("Sign in", "", content, std::nullopt));
    }

    Response sign_in(const Request& request, const std::string& csrf, const Form& form) {
        const std::string account = field(form, "account");
        const std::int64_t now = context.clock.now();
        if (const auto wait = throttle.wait(request.remote_address, now); wait > 0) {
            Response response = signin_page(
                csrf, 429,
                "Too many attempts from your network. Try again in " + std::to_string((wait + 59) / 60) + " minutes.",
                account);
            response.headers["Retry-After"] = std::to_string(wait);
            return response;
        }
        const auto result =
            logins.sign_in(account, field(form, "password"), cookie(request, kVisitorCookie).value_or(""));
        if (result.outcome == SignInOutcome::Busy)
            return busy_page("Sign in");
        if (result.outcome == SignInOutcome::SignedIn) {
            context.logger.info("PORTAL_SIGNED_IN", "account " + account + " from " + request.remote_address);
            return redirect("/overview",
                            set_cookie(kSessionCookie, result.session->token, logins.policy().session_max_s));
        }
        throttle.failed(request.remote_address, now);
        if (result.outcome == SignInOutcome::Throttled) {
            context.logger.warn("PORTAL_THROTTLED", "account " + account + " from " + request.remote_address);
            Response response = signin_page(csrf, 429,
                                            "Too many wrong passwords. Try again in " +
                                                std::to_string((result.retry_after_s + 59) / 60) + " minutes.",
                                            account);
            response.headers["Retry-After"] = std::to_string(result.retry_after_s);
            return response;
        }
        return signin_page(csrf, 401, "The account number or password is not right.", account);
    }

    Response activation_page(const std::string& csrf, const std::string& token, int status, std::string_view problem) {
        auto account = logins.invitation_account(token);
        if (!account)
            return refused(account.error().code == "portal.invitation" ? 410 : 500, "Invitation",
                           account.error().code == "portal.invitation"
                               ? account.error().message
                               : "The portal cannot answer now. Please try again later.");
        std::string content = "<p>Set a password for account <strong>" + escaped(*account) +
                              "</strong>. You sign in with the account number and this password.</p>\n";
        if (!problem.empty())
            content += "<p class=\"problem\" role=\"alert\">" + escaped(problem) + "</p>\n";
        content += "<form method=\"post\" action=\"/activate\">" + csrf_field(csrf) +
                   "<input type=\"hidden\" name=\"token\" value=\"" + escaped(token) +
                   "\">\n<p><label for=\"password\">New password (at least 12 characters)</label>\n<input "
                   "id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" "
                   "required></p>\n<p><label for=\"confirm\">The same password again</label>\n<input id=\"confirm\" "
                   "name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required></p>\n<p><button "
                   "type=\"submit\">Set password and sign in</button></p>\n</form>\n";
        return html(status, page("Activate your portal account", "", content, std::nullopt));
    }

    Response busy_page(std::string_view title, const std::optional<std::string>& csrf = std::nullopt) const {
        Response response = refused(503, title, "The portal is busy. Please try again in a moment.", csrf);
        response.headers["Retry-After"] = "1";
        return response;
    }

    Response activate(const Request& request, const std::string& csrf, const Form& form) {
        // Made-up invitation links count against the address as wrong passwords do.
        const std::int64_t now = context.clock.now();
        if (const auto wait = throttle.wait(request.remote_address, now); wait > 0) {
            Response response = refused(
                429, "Invitation",
                "Too many attempts from your network. Try again in " + std::to_string((wait + 59) / 60) + " minutes.");
            response.headers["Retry-After"] = std::to_string(wait);
            return response;
        }
        const std::string token = field(form, "token");
        const std::string password = field(form, "password");
        if (password != field(form, "confirm"))
            return activation_page(csrf, token, 400, "The two passwords differ.");
        auto session = logins.activate(token, password);
        if (!session) {
            if (session.error().code.rfind("password.", 0) == 0)
                return activation_page(csrf, token, 400, session.error().message);
            if (session.error().code == "portal.invitation") {
                throttle.failed(request.remote_address, now);
                return refused(410, "Invitation", session.error().message);
            }
            if (session.error().code == "portal.busy")
                return busy_page("Invitation");
            return refused(500, "Sorry", "The portal cannot answer now. Please try again later.");
        }
        context.logger.info("PORTAL_ACTIVATED", "account " + session->account_id);
        return redirect("/overview", set_cookie(kSessionCookie, session->token, logins.policy().session_max_s));
    }

    Response password_page(const std::string& csrf, int status, std::string_view message, bool problem) {
        std::string content;
        if (!message.empty())
            content += std::string("<p class=\"") + (problem ? "problem\" role=\"alert" : "done\" role=\"status") +
                       "\">" + escaped(message) + "</p>\n";
        content += "<form method=\"post\" action=\"/password\">" + csrf_field(csrf) +
                   "\n<p><label for=\"current\">Current password</label>\n<input id=\"current\" name=\"current\" "
                   "type=\"password\" autocomplete=\"current-password\" required></p>\n<p><label "
                   "for=\"password\">New password (at least 12 characters)</label>\n<input id=\"password\" "
                   "name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" "
                   "required></p>\n<p><label for=\"confirm\">The same password again</label>\n<input id=\"confirm\" "
                   "name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required></p>\n<p><button "
                   "type=\"submit\">Change password</button></p>\n</form>\n<p>Changing it signs out your other "
                   "browsers.</p>\n";
        return html(status, page("Password", "/password", content, csrf));
    }

    Response change_password(const Session& session, const std::string& csrf, const Form& form) {
        if (field(form, "password") != field(form, "confirm"))
            return password_page(csrf, 400, "The two new passwords differ.", true);
        auto changed = logins.change_password(session, field(form, "current"), field(form, "password"));
        if (!changed) {
            const auto& code = changed.error().code;
            if (code == "portal.throttled")
                return password_page(csrf, 429, changed.error().message, true);
            if (code == "portal.busy")
                return busy_page("Password", csrf);
            if (code == "portal.wrong_password" || code.rfind("password.", 0) == 0)
                return password_page(csrf, 400, changed.error().message, true);
            return refused(500, "Sorry", "The portal cannot answer now. Please try again later.", csrf);
        }
        return password_page(csrf, 200, "Your password is changed.", false);
    }

    // ---- pages of the account

    Result<AccountInfo> account_of(const Session& session) {
        std::optional<AccountInfo> info;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = read_account(tx, session.account_id);
            if (!found)
                return found.error();
            info = std::move(*found);
            return {};
        });
        if (!read)
            return read.error();
        if (!info)
            return make_error("portal.account_gone", "the account is no longer in the customer records");
        return std::move(*info);
    }

    Result<std::vector<PevState>> pevs_of(const Session& session) {
        std::vector<PevState> pevs;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = read_pevs(tx, session.account_id, context.sep);
            if (!found)
                return found.error();
            pevs = std::move(*found);
            return {};
        });
        if (!read)
            return read.error();
        return pevs;
    }

    Response unavailable(const std::string& csrf, const headend::Error& error) {
        context.logger.error("PORTAL_READ_FAILED", error.code + ": " + error.message);
        return refused(500, "Sorry", "The portal cannot show this now. Please try again later.", csrf);
    }

    std::string this_month() const { return local_time(context.clock.now(), "%Y-%m"); }

    Response overview(const Session& session, const std::string& csrf) {
        auto account = account_of(session);
        if (!account)
            return unavailable(csrf, account.error());
        auto pevs = pevs_of(session);
        if (!pevs)
            return unavailable(csrf, pevs.error());
        std::string content = "<p>Welcome, " + escaped(account->customer_name) + ". Account " +
                              escaped(account->account_id) + ".</p>\n<h2>Premises</h2>\n<ul>\n";
        for (const auto& premises : account->premises)
            content += "<li>" + escaped(premises.address) + " (premises " + escaped(premises.id) + ", rate " +
                       escaped(premises.default_rate) + ")</li>\n";
        content += "</ul>\n<h2>PEVs</h2>\n";
        if (pevs->empty())
            content += "<p>No PEV is enrolled. <a href=\"/pevs\">Enroll one</a>.</p>\n";
        else {
            content += "<ul>\n";
            for (const auto& pev : *pevs)
                content += "<li>" + escaped(pev.vin) + ": " +
                           (pev.binding ? std::string(binding_words(pev.binding->status)) : "not yet bound") +
                           "</li>\n";
            content += "</ul>\n<p><a href=\"/pevs\">Charging status and preferences</a></p>\n";
        }
        const std::string month = this_month();
        auto lines = billing_view.month_so_far(session.account_id, month);
        if (lines) {
            // Energy only: the month's fixed charges are per day of the whole month and belong to its bill.
            std::int64_t total = 0;
            for (const auto& line : *lines)
                if (line.kind != billing::LineKind::FixedCharge)
                    total += line.amount;
            content += "<h2>This month so far</h2>\n<p>Energy charges in " + escaped(month) + ": " +
                       billing::format_money(total) + " (not yet billed; the bill adds the month's fixed charges). " +
                       "<a href=\"/sessions\">Charging sessions</a></p>\n";
        }
        auto bills = billing_view.bills(session.account_id);
        if (bills && !bills->empty())
            content += "<h2>Latest bill</h2>\n<p><a href=\"/bills/" + escaped(bills->front().month) + "\">Bill for " +
                       escaped(bills->front().month) + "</a>: " + billing::format_money(bills->front().total) + " " +
                       escaped(bills->front().currency) + "</p>\n";
        return html(200, page("Overview", "/overview", content, csrf));
    }

    Response program(const Session& session, const std::string& csrf) {
        auto account = account_of(session);
        if (!account)
            return unavailable(csrf, account.error());
        auto pevs = pevs_of(session);
        if (!pevs)
            return unavailable(csrf, pevs.error());
        std::optional<tariff::Versions> versions;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = catalog.versions(tx);
            if (!found)
                return found.error();
            versions = std::move(*found);
            return {};
        });
        if (!read)
            return unavailable(csrf, read.error());
        const tariff::Version* version = versions->in_force(context.clock.now());
        if (!version)
            version = &(*versions)[0];
        const tariff::Catalog& catalog_now = version->catalog();
        std::vector<std::string> ids;
        for (const auto& pev : *pevs)
            if (std::find(ids.begin(), ids.end(), pev.program_id) == ids.end())
                ids.push_back(pev.program_id);
        for (const auto& premises : account->premises)
            if (std::find(ids.begin(), ids.end(), premises.default_rate) == ids.end())
                ids.push_back(premises.default_rate);
        int tables = 0;
        std::string content = "<p>Prices per kWh in force now, in the territory's local time (" +
                              escaped(settings.time_zone) + ").</p>\n";
        for (const auto& id : ids) {
            const tariff::Program* program = catalog_now.find(id);
            if (!program)
                continue;
            content += "<section>\n<h2>" + escaped(program->id) + ": " + escaped(program->description) + "</h2>\n";
            content += std::string("<p>") +
                       (program->enrollable ? "The PEV charging program: its rate applies to your PEV's energy "
                                              "while it is bound."
                                            : "Your premises' rate: it applies to the rest of your energy.") +
                       (program->fixed_charge_per_day
                            ? " Fixed charge " + tariff::format_price(program->fixed_charge_per_day) + " per day."
                            : std::string()) +
                       "</p>\n";
            for (const auto& season : program->seasons) {
                content += fmt::format("<h3>{} ({}/{} to {}/{})</h3>\n", escaped(season.name), season.from_month,
                                       season.from_day, season.to_month, season.to_day);
                bool split = false;
                for (const auto& period : season.periods)
                    split = split || period.days != tariff::DaySet::All;
                const std::vector<std::pair<tariff::DaySet, const char*>> kinds =
                    split
                        ? std::vector<std::pair<tariff::DaySet, const char*>>{{tariff::DaySet::Weekdays, "Weekdays"},
                                                                              {tariff::DaySet::WeekendsAndHolidays,
                                                                               "Weekends and holidays"}}
                        : std::vector<std::pair<tariff::DaySet, const char*>>{{tariff::DaySet::Weekdays, "Every day"}};
                for (const auto& [kind, label] : kinds)
                    content +=
                        "<figure>\n" +
                        timeline_svg(season, kind, std::string(label) + ", " + season.name + ", " + program->id) +
                        "<figcaption>" + escaped(label) + "</figcaption>\n</figure>\n";
                const std::string caption_id = "periods-" + std::to_string(++tables);
                content += scroll_open(caption_id) + "<table>\n<caption id=\"" + caption_id + "\">Periods of " +
                           escaped(season.name) +
                           "</caption>\n<thead><tr><th scope=\"col\">Period</th><th scope=\"col\">Days</th><th "
                           "scope=\"col\">From</th><th scope=\"col\">To</th><th scope=\"col\" class=\"n\">Price per "
                           "kWh</th></tr></thead>\n<tbody>\n";
                for (const auto& period : season.periods)
                    content += fmt::format(
                        "<tr><td>{}</td><td>{}</td><td>{:02}:{:02}</td><td>{:02}:{:02}</td><td class=\"n\">{}</td>"
                        "</tr>\n",
                        escaped(period.name),
                        period.days == tariff::DaySet::All        ? "every day"
                        : period.days == tariff::DaySet::Weekdays ? "weekdays"
                                                                  : "weekends and holidays",
                        period.from_minute / 60, period.from_minute % 60, period.to_minute / 60 % 24,
                        period.to_minute % 60, tariff::format_price(period.price));
                content += "</tbody>\n</table></div>\n";
            }
            content += "</section>\n";
        }
        return html(200, page("Program and tariff", "/program", content, csrf));
    }

    std::string pev_section(const PevState& pev, const std::string& csrf) const {
        std::string out = "<section class=\"pev\">\n<h2>PEV " + escaped(pev.vin) + "</h2>\n<dl>\n<dt>Program</dt><dd>" +
                          escaped(pev.program_id) + "</dd>\n<dt>Home premises</dt><dd>" + escaped(pev.premises_id) +
                          "</dd>\n<dt>Enrolled</dt><dd>" + escaped(local_time(pev.enrolled_at)) + "</dd>\n";
        out += "<dt>Binding</dt><dd>";
        if (pev.binding)
            out += escaped(std::string(binding_words(pev.binding->status)) + ", " + kind_words(pev.binding->kind) +
                           " at premises " + pev.binding->premises_id + ", " + local_time(pev.binding->updated_at));
        else
            out += "not yet bound: plug it in at home once";
        out += "</dd>\n<dt>Charging now</dt><dd>";
        const sep::PEVInfo* info = nullptr;
        if (pev.live && pev.live->power_status && pev.live->power_status->pev_info)
            info = &*pev.live->power_status->pev_info;
        if (!pev.live)
            out += "no status from the PEV yet";
        else if (!pev.live->plugged_in)
            out += "unplugged since " + escaped(local_time(pev.live->changed_at));
        else if (info)
            out += "plugged in, charging at " + power_text(info->charging_power_now);
        else
            out += "plugged in";
        out += "</dd>\n";
        if (info && pev.live->plugged_in) {
            out += "<dt>Energy requested</dt><dd>" + energy_text(info->energy_request_now) +
                   "</dd>\n<dt>Target state of charge</dt><dd>" +
                   fmt::format("{}.{:02} %", info->target_state_of_charge / 100, info->target_state_of_charge % 100) +
                   "</dd>\n<dt>Charge needed by</dt><dd>" + escaped(local_time(info->time_charge_is_needed)) +
                   "</dd>\n<dt>Status as of</dt><dd>" + escaped(local_time(pev.live->power_status->changed_time)) +
                   "</dd>\n";
        }
        out += "</dl>\n";
        const std::string id = pev.vin;
        out += "<form method=\"post\" action=\"/pevs/" + escaped(id) + "/preferences\">" + csrf_field(csrf) +
               "\n<fieldset><legend>Preferences for " + escaped(id) +
               "</legend>\n<p><input type=\"checkbox\" id=\"guest-" + escaped(id) +
               "\" name=\"allow_guest_charging\" value=\"1\"" + (pev.allow_guest_charging ? " checked" : "") +
               "> <label for=\"guest-" + escaped(id) +
               "\">It may charge at other program customers' premises (guest charging)</label></p>\n<p><label "
               "for=\"payer-" +
               escaped(id) + "\">Who pays for guest charging</label>\n<select id=\"payer-" + escaped(id) +
               "\" name=\"guest_charging_payer\"><option value=\"owner\"" +
               (pev.guest_charging_payer == "owner" ? " selected" : "") +
               ">I do (the PEV's owner)</option><option value=\"host\"" +
               (pev.guest_charging_payer == "host" ? " selected" : "") +
               ">The host premises</option></select></p>\n<p><input type=\"checkbox\" id=\"roaming-" + escaped(id) +
               "\" name=\"allow_roaming\" value=\"1\"" + (pev.allow_roaming ? " checked" : "") +
               "> <label for=\"roaming-" + escaped(id) +
               "\">It may charge in other utilities' territories (roaming)</label></p>\n<p><button "
               "type=\"submit\">Save preferences</button></p>\n</fieldset>\n</form>\n";
        out += "<form method=\"post\" action=\"/pevs/" + escaped(id) + "/unenroll\">" + csrf_field(csrf) +
               "\n<p><input type=\"checkbox\" id=\"confirm-" + escaped(id) +
               "\" name=\"confirm\" value=\"1\" required> <label for=\"confirm-" + escaped(id) +
               "\">End this PEV's enrollment</label> <button type=\"submit\">Unenroll</button></p>\n</form>\n"
               "</section>\n";
        return out;
    }

    Response pevs_page(const Session& session, const std::string& csrf, int status = 200, std::string_view message = {},
                       bool problem = false) {
        auto account = account_of(session);
        if (!account)
            return unavailable(csrf, account.error());
        auto pevs = pevs_of(session);
        if (!pevs)
            return unavailable(csrf, pevs.error());
        std::string content;
        if (!message.empty())
            content += std::string("<p class=\"") + (problem ? "problem\" role=\"alert" : "done\" role=\"status") +
                       "\">" + escaped(message) + "</p>\n";
        if (pevs->empty())
            content += "<p>No PEV is enrolled yet.</p>\n";
        for (const auto& pev : *pevs)
            content += pev_section(pev, csrf);
        std::optional<tariff::Versions> versions;
        (void)context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = catalog.versions(tx);
            if (found)
                versions = std::move(*found);
            return {};
        });
        content += "<section>\n<h2>Enroll a PEV</h2>\n<form method=\"post\" action=\"/pevs\">" + csrf_field(csrf) +
                   "\n<p><label for=\"vin\">Vehicle identification number (VIN, 17 characters)</label>\n<input "
                   "id=\"vin\" name=\"vin\" required minlength=\"17\" maxlength=\"17\" autocomplete=\"off\"></p>\n"
                   "<p><label for=\"premises\">Home premises</label>\n<select id=\"premises\" name=\"premises\">";
        for (const auto& premises : account->premises)
            content += "<option value=\"" + escaped(premises.id) + "\">" + escaped(premises.address) + "</option>";
        content += "</select></p>\n<p><label for=\"program\">Program</label>\n<select id=\"program\" name=\"program\">";
        if (versions && !versions->empty())
            for (const auto& program : versions->latest().catalog().programs)
                if (program.enrollable)
                    content += "<option value=\"" + escaped(program.id) + "\">" + escaped(program.id) + ": " +
                               escaped(program.description) + "</option>";
        content += "</select></p>\n<p><button type=\"submit\">Enroll</button></p>\n</form>\n</section>\n";
        return html(status, page("My PEVs", "/pevs", content, csrf));
    }

    // The catalog pev-registration stored, as enrollment checks programs against it.
    void refresh_catalog() {
        (void)context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = catalog.versions(tx);
            if (found)
                enrollment_catalog.replace(std::move(*found));
            return {};
        });
    }

    Response enroll(const Session& session, const std::string& csrf, const Form& form) {
        auto account = account_of(session);
        if (!account)
            return unavailable(csrf, account.error());
        refresh_catalog();
        pev::EnrollmentRequest request;
        request.account_id = session.account_id;
        request.customer_id = account->customer_id;
        request.premises_id = field(form, "premises");
        request.vin = field(form, "vin");
        request.program_id = field(form, "program");
        request.channel = "portal";
        auto enrolled = enrollments.enroll(request);
        if (!enrolled) {
            const auto& code = enrolled.error().code;
            if (code.rfind("storage.", 0) == 0)
                return unavailable(csrf, enrolled.error());
            // Whose enrollment holds a VIN is not this customer's business (and names a premises).
            if (code == "enrollment.already_enrolled")
                return pevs_page(session, csrf, 400,
                                 "This VIN is enrolled already. If it is your vehicle, please call customer service.",
                                 true);
            return pevs_page(session, csrf, 400, "Not enrolled: " + enrolled.error().message, true);
        }
        context.logger.info("PORTAL_ENROLLED", "account " + session.account_id + " enrolled " + request.vin);
        return pevs_page(session, csrf, enrolled->created ? 201 : 200, "Enrolled " + request.vin + ".");
    }

    // The PEV's enrollment when it is this account's; otherwise nothing (the same as a VIN never enrolled).
    std::optional<pev::Enrollment> own_enrollment(const Session& session, const std::string& vin) {
        auto found = enrollments.find(vin);
        if (!found || found->account_id != session.account_id)
            return std::nullopt;
        return *found;
    }

    Response preferences(const Request& request, const Session& session, const std::string& csrf, const Form& form) {
        const std::string& vin = request.params.at("vin");
        if (!own_enrollment(session, vin))
            return not_found(csrf);
        const auto payer = pev::parse_guest_payer(field(form, "guest_charging_payer"));
        if (!payer)
            return pevs_page(session, csrf, 400, "Choose who pays for guest charging.", true);
        pev::EnrollmentChange change;
        change.allow_guest_charging = field(form, "allow_guest_charging") == "1";
        change.guest_charging_payer = *payer;
        change.allow_roaming = field(form, "allow_roaming") == "1";
        change.channel = "portal";
        auto changed = enrollments.change(vin, change);
        if (!changed)
            return unavailable(csrf, changed.error());
        context.logger.info("PORTAL_PREFERENCES", "account " + session.account_id + " changed " + vin);
        return pevs_page(session, csrf, 200, "Saved the preferences of " + vin + ".");
    }

    Response unenroll(const Request& request, const Session& session, const std::string& csrf, const Form& form) {
        const std::string& vin = request.params.at("vin");
        if (!own_enrollment(session, vin))
            return not_found(csrf);
        if (field(form, "confirm") != "1")
            return pevs_page(session, csrf, 400, "Tick the box to confirm ending the enrollment.", true);
        auto ended = enrollments.unenroll(vin, "portal");
        if (!ended)
            return unavailable(csrf, ended.error());
        context.logger.info("PORTAL_UNENROLLED", "account " + session.account_id + " unenrolled " + vin);
        return pevs_page(session, csrf, 200, "The enrollment of " + vin + " has ended.");
    }

    std::optional<std::string> month_param(const Request& request) const {
        const auto it = request.query.find("month");
        if (it == request.query.end())
            return this_month();
        if (!calendar::LocalDays::parse(it->second + "-01"))
            return std::nullopt;
        return it->second;
    }

    static std::string shifted_month(const std::string& month, int by) {
        int year = std::stoi(month.substr(0, 4));
        int number = std::stoi(month.substr(5, 2)) - 1 + by;
        year += number >= 0 ? number / 12 : (number - 11) / 12;
        number = ((number % 12) + 12) % 12;
        return fmt::format("{:04}-{:02}", year, number + 1);
    }

    std::string when_text(const billing::BillLine& line) const {
        if (!line.start)
            return {};
        std::string text = local_time(*line.start, "%a %d %b %H:%M");
        if (line.end)
            text += " to " + local_time(*line.end, "%H:%M %Z");
        return text;
    }

    Response sessions(const Request& request, const Session& session, const std::string& csrf) {
        const auto month = month_param(request);
        if (!month)
            return refused(400, "Charging sessions", "The month must look like 2026-07.", csrf);
        auto lines = billing_view.month_so_far(session.account_id, *month);
        if (!lines && lines.error().code == "billing.month")
            return refused(400, "Charging sessions", "There are no charging sessions in that month.", csrf);
        if (!lines)
            return unavailable(csrf, lines.error());
        std::string content =
            "<nav aria-label=\"Months\" class=\"pager\"><a href=\"/sessions?month=" + shifted_month(*month, -1) +
            "\">Previous month</a> <a href=\"/sessions?month=" + shifted_month(*month, 1) + "\">Next month</a></nav>\n";
        std::string rows;
        std::int64_t wh = 0;
        std::int64_t amount = 0;
        for (const auto& line : *lines) {
            if (!session_line(line.kind))
                continue;
            // A credit is for energy a session line shows already (or a guest's): counted once, in money only.
            if (line.kind != billing::LineKind::HostCredit)
                wh += line.wh;
            amount += line.amount;
            rows += "<tr><td>" + escaped(when_text(line)) + "</td><td>" + escaped(line.description) + "</td><td>" +
                    escaped(line.place) + "</td><td class=\"n\">" + billing::format_kwh(line.wh) +
                    "</td><td class=\"n\">" + billing::format_money(line.amount) + "</td></tr>\n";
            for (const auto& period : line.periods)
                rows += "<tr class=\"period\"><td></td><td>" + escaped(period.period) +
                        "</td><td></td><td class=\"n\">" + billing::format_kwh(period.wh) + "</td><td class=\"n\">" +
                        billing::format_money(billing::round_to_cents(period.amount)) + "</td></tr>\n";
        }
        if (rows.empty())
            content += "<p>No charging session in " + escaped(*month) + " so far.</p>\n";
        else
            content +=
                scroll_open("sessions-caption") +
                "<table class=\"sessions\">\n<caption id=\"sessions-caption\">Charging sessions in " + escaped(*month) +
                ", each with its energy per time-of-use period</caption>\n<thead><tr><th "
                "scope=\"col\">When</th><th scope=\"col\">What</th><th scope=\"col\">Where</th><th scope=\"col\" "
                "class=\"n\">kWh</th><th scope=\"col\" class=\"n\">Cost</th></tr></thead>\n<tbody>\n" +
                rows + "</tbody>\n<tfoot><tr><th scope=\"row\" colspan=\"3\">Total</th><td class=\"n\">" +
                billing::format_kwh(wh) + "</td><td class=\"n\">" + billing::format_money(amount) +
                "</td></tr></tfoot>\n</table></div>\n<p>Amounts are what the bill will say as the data stand "
                "now; the bill for the month is final.</p>\n";
        return html(200, page("Charging sessions", "/sessions", content, csrf));
    }

    // The usage page's content: links, the chart and its table (nothing of the session, so it may be cached).
    Result<std::string> usage_content(const Session& session, UsageView view, const std::string& view_name,
                                      std::int32_t day) {
        auto empty = usage_buckets(days, settings.time_zone, view, day, {});
        std::vector<UsageInterval> intervals;
        auto read = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = read_usage(tx, session.account_id, empty.front().start, empty.back().end);
            if (!found)
                return found.error();
            intervals = std::move(*found);
            return {};
        });
        if (!read)
            return read.error();
        const auto buckets = usage_buckets(days, settings.time_zone, view, day, intervals);
        const std::int32_t step = view == UsageView::Day ? 1 : view == UsageView::Week ? 7 : 0;
        const auto link = [&](std::int32_t to_day, std::string_view to_view) {
            return fmt::format("/usage?view={}&amp;date={}", to_view, calendar::LocalDays::format(to_day));
        };
        std::int32_t previous = day - step;
        std::int32_t next = day + step;
        if (view == UsageView::Month) {
            previous = days.day_of(buckets.front().start - 1);
            next = days.day_of(buckets.back().end);
        }
        const std::string range = view == UsageView::Day ? local_time(buckets.front().start, "%A %d %B %Y")
                                  : view == UsageView::Week
                                      ? "the week from " + local_time(buckets.front().start, "%A %d %B %Y")
                                      : local_time(buckets.front().start, "%B %Y");
        std::string content = "<nav aria-label=\"Views\" class=\"pager\"><a href=\"" + link(day, "day") + "\"" +
                              (view == UsageView::Day ? " aria-current=\"page\"" : "") + ">Day</a> <a href=\"" +
                              link(day, "week") + "\"" + (view == UsageView::Week ? " aria-current=\"page\"" : "") +
                              ">Week</a> <a href=\"" + link(day, "month") + "\"" +
                              (view == UsageView::Month ? " aria-current=\"page\"" : "") + ">Month</a> | <a href=\"" +
                              link(previous, view_name) + "\">Earlier</a> <a href=\"" + link(next, view_name) +
                              "\">Later</a></nav>\n<form method=\"get\" action=\"/usage\"><input "
                              "type=\"hidden\" name=\"view\" value=\"" +
                              escaped(view_name) + "\"><label for=\"date\">Show the " + escaped(view_name) +
                              " of</label> <input type=\"date\" id=\"date\" "
                              "name=\"date\" value=\"" +
                              calendar::LocalDays::format(day) +
                              "\"> <button type=\"submit\">Show</button></form>\n<h2>" + escaped(range) + "</h2>\n";
        content += "<figure>\n" + usage_svg(buckets, "Energy used, " + range) + "</figure>\n";
        std::string rows;
        std::int64_t premises_total = 0;
        std::int64_t pev_total = 0;
        for (const auto& bucket : buckets) {
            premises_total += bucket.premises_wh;
            pev_total += bucket.pev_wh;
            rows += "<tr><th scope=\"row\">" + escaped(bucket.label) + "</th><td class=\"n\">" +
                    billing::format_kwh(bucket.premises_wh) + "</td><td class=\"n\">" +
                    billing::format_kwh(bucket.pev_wh) + "</td></tr>\n";
        }
        content += scroll_open("usage-caption") + "<table class=\"usage\">\n<caption id=\"usage-caption\">Energy per " +
                   std::string(view == UsageView::Day ? "hour" : "day") + ", " + escaped(range) + " (" +
                   escaped(settings.time_zone) +
                   ")</caption>\n<thead><tr><th scope=\"col\">Time</th><th scope=\"col\" class=\"n\">Whole premises "
                   "kWh</th><th scope=\"col\" class=\"n\">PEV charging kWh</th></tr></thead>\n<tbody>\n" +
                   rows + "</tbody>\n<tfoot><tr><th scope=\"row\">Total</th><td class=\"n\">" +
                   billing::format_kwh(premises_total) + "</td><td class=\"n\">" + billing::format_kwh(pev_total) +
                   "</td></tr></tfoot>\n</table></div>\n";
        return content;
    }

    Response usage(const Request& request, const Session& session, const std::string& csrf) {
        const auto view_it = request.query.find("view");
        const std::string view_name = view_it == request.query.end() ? "day" : view_it->second;
        UsageView view = UsageView::Day;
        if (view_name == "week")
            view = UsageView::Week;
        else if (view_name == "month")
            view = UsageView::Month;
        else if (view_name != "day")
            return refused(400, "Usage", "The view is day, week or month.", csrf);
        const auto date_it = request.query.find("date");
        const std::int32_t today = days.day_of(context.clock.now());
        const auto day =
            date_it == request.query.end() ? std::optional(today) : calendar::LocalDays::parse(date_it->second);
        if (!day)
            return refused(400, "Usage", "The date must look like 2026-07-31.", csrf);
        const std::string key = session.account_id + "\n" + view_name + "\n" + std::to_string(*day);
        std::int64_t version = 0;
        std::optional<std::string> cached;
        auto head = context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = read_data_version(tx);
            if (!found)
                return found.error();
            version = *found;
            return {};
        });
        if (!head)
            return unavailable(csrf, head.error());
        std::string content;
        if (auto hit = usage_cache.find(key, version)) {
            content = std::move(*hit);
        } else {
            auto made = usage_content(session, view, view_name, *day);
            if (!made)
                return unavailable(csrf, made.error());
            content = std::move(*made);
            usage_cache.put(key, version, content);
        }
        return html(200, page("Usage", "/usage", content, csrf));
    }

    Response bills(const Session& session, const std::string& csrf) {
        auto issued = billing_view.bills(session.account_id);
        if (!issued)
            return unavailable(csrf, issued.error());
        std::string content;
        if (issued->empty())
            content = "<p>No bill has been issued yet.</p>\n";
        else {
            content =
                scroll_open("bills-caption") +
                "<table>\n<caption id=\"bills-caption\">Your bills</caption>\n<thead><tr><th "
                "scope=\"col\">Month</th><th scope=\"col\" class=\"n\">Total</th><th scope=\"col\">Issued</th><th "
                "scope=\"col\">PDF</th></tr></thead>\n<tbody>\n";
            for (const auto& bill : *issued)
                content += "<tr><td><a href=\"/bills/" + escaped(bill.month) + "\">" + escaped(bill.month) +
                           "</a></td><td class=\"n\">" + billing::format_money(bill.total) + " " +
                           escaped(bill.currency) + "</td><td>" + escaped(local_time(bill.issued_at, "%Y-%m-%d")) +
                           "</td><td><a href=\"/bills/" + escaped(bill.month) + "/pdf\">Bill for " +
                           escaped(bill.month) + " (PDF)</a></td></tr>\n";
            content += "</tbody>\n</table></div>\n";
        }
        return html(200, page("Bills", "/bills", content, csrf));
    }

    Response bill(const Request& request, const Session& session, const std::string& csrf, bool pdf) {
        auto found = billing_view.bill(session.account_id, request.params.at("month"));
        if (!found)
            return unavailable(csrf, found.error());
        if (!*found)
            return not_found(csrf);
        if (pdf) {
            Response response;
            response.body = billing::render_pdf(**found);
            response.content_type = "application/pdf";
            response.headers["Content-Disposition"] = "inline; filename=\"bill-" + (*found)->month + ".pdf\"";
            return response;
        }
        // The bill's own heading is the page's (one h1); wide tables scroll in their region on a phone.
        return html(200, page("Bill for " + (*found)->month, "/bills",
                              "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Bill\">" +
                                  billing::render_html_content(**found) + "</div>\n<p><a href=\"/bills/" +
                                  escaped((*found)->month) + "/pdf\">The same bill as PDF</a></p>\n",
                              csrf, false));
    }

    Response download_page(const std::string& csrf, int status = 200, std::string_view problem = {}) {
        const std::int32_t today = days.day_of(context.clock.now());
        std::string content;
        if (!problem.empty())
            content += "<p class=\"problem\" role=\"alert\">" + escaped(problem) + "</p>\n";
        content +=
            "<p>Your interval energy (whole premises and PEV charging) with its quality and what each interval adds "
            "to your bill, as Green Button data (ESPI "
            "XML, for energy apps) or as CSV (for spreadsheets). Days are local days in " +
            escaped(settings.time_zone) +
            ".</p>\n<form method=\"get\" action=\"/download/data\">\n<p><label "
            "for=\"from\">First day</label>\n<input type=\"date\" id=\"from\" name=\"from\" required value=\"" +
            calendar::LocalDays::format(today - 30) +
            "\"></p>\n<p><label for=\"to\">Last day</label>\n<input type=\"date\" id=\"to\" name=\"to\" required "
            "value=\"" +
            calendar::LocalDays::format(today) +
            "\"></p>\n<fieldset><legend>Format</legend>\n<p><input type=\"radio\" id=\"espi\" name=\"format\" "
            "value=\"espi\" checked> <label for=\"espi\">Green Button (ESPI XML)</label></p>\n<p><input "
            "type=\"radio\" id=\"csv\" name=\"format\" value=\"csv\"> <label for=\"csv\">CSV</label></p>\n"
            "</fieldset>\n<p><button type=\"submit\">Download</button></p>\n</form>\n";
        return html(status, page("Download my data", "/download", content, csrf));
    }

    // The currency of the account's charges: its (first) premises' rate's, as the catalog in force now says.
    std::uint16_t currency_of(const Session& session) {
        std::uint16_t currency = 840;
        (void)context.database.read([&](Transaction& tx) -> Result<void> {
            auto found = catalog.versions(tx);
            auto account = read_account(tx, session.account_id);
            if (!found || !account || !*account || (*account)->premises.empty())
                return {};
            const tariff::Version* version = found->in_force(context.clock.now());
            const tariff::Program* program =
                version ? version->catalog().find((*account)->premises.front().default_rate) : nullptr;
            if (program)
                currency = program->currency;
            return {};
        });
        return currency;
    }

    Response download(const Request& request, const Session& session, const std::string& csrf) {
        const auto param = [&](const char* name) {
            const auto it = request.query.find(name);
            return it == request.query.end() ? std::string() : it->second;
        };
        const auto first = calendar::LocalDays::parse(param("from"));
        const auto last = calendar::LocalDays::parse(param("to"));
        const std::string format = param("format");
        if (!first || !last || *last < *first)
            return download_page(csrf, 400, "Choose a first day and a last day on or after it.");
        // Metered data has no day before 1970; the years after 9998 have no month end a calendar reads.
        if (*first < 0 || *last > *calendar::LocalDays::parse("9998-12-31"))
            return download_page(csrf, 400, "Choose days from 1970 to 9998.");
        if (*last - *first + 1 > settings.max_download_days)
            return download_page(csrf, 400,
                                 "Choose at most " + std::to_string(settings.max_download_days) + " days at a time.");
        if (format != "espi" && format != "csv")
            return download_page(csrf, 400, "Choose Green Button or CSV.");
        const std::int64_t from = days.bounds(*first).first;
        const std::int64_t to = days.bounds(*last).second;
        DownloadRequest download{session.account_id, from, to, calendar::LocalDays::format(*first),
                                 calendar::LocalDays::format(*last)};
        auto costs = billing_view.interval_costs(session.account_id, from, to);
        if (!costs)
            return unavailable(csrf, costs.error());
        const DownloadSettings where{settings.time_zone, settings.public_url + "/espi/1_1/resource",
                                     currency_of(session)};
        auto body = format == "espi" ? green_button_xml(context.database, where, download, *costs, context.clock.now())
                                     : green_button_csv(context.database, where, download, *costs);
        if (!body)
            return unavailable(csrf, body.error());
        Response response;
        response.body = std::move(*body);
        response.content_type = format == "espi" ? "application/atom+xml" : "text/csv; charset=utf-8";
        response.headers["Content-Disposition"] = "attachment; filename=\"usage-" + download.first_day + "-to-" +
                                                  download.last_day + (format == "espi" ? ".xml" : ".csv") + "\"";
        return response;
    }

    // ---- the operator's invitations

    Response invite(const Request& request) {
        nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
        if (!body.is_object() || !body.contains("account") || !body["account"].is_string())
            return admin_replies::error_reply(
                400, make_error("portal.bad_request", "expected {\"account\": \"<account id>\"}"));
        const std::string account = body["account"].get<std::string>();
        auto invitation = logins.invite(account);
        if (!invitation)
            return admin_replies::error_reply(invitation.error().code == "portal.unknown_account" ? 404 : 500,
                                              invitation.error());
        context.logger.info("PORTAL_INVITED",
                            "account " + account + ", valid until " + local_time(invitation->expires_at));
        return admin_replies::json_reply(201, {{"account", account},
                                               {"link", settings.public_url + "/activate?token=" + invitation->token},
                                               {"expires_at", invitation->expires_at}});
    }
};

Portal::Portal(headend::plugin::Context& context, Logins& logins, PortalSettings settings)
    : impl_(std::make_unique<Impl>(context, logins, std::move(settings))) {}

Portal::~Portal() = default;

void Portal::add_routes(headend::http::RouteRegistry& routes) {
    using headend::http::Access;
    Impl& p = *impl_;
    const auto add = [&](const char* method, const char* pattern, headend::http::Handler handler) {
        routes.add(method, pattern, std::move(handler), Access::Public);
    };
    add("GET", "/", p.signed_in([](const Request&, const Session&, const std::string&, const Form&) {
        return redirect("/overview");
    }));
    add("GET", "/signin", p.visitor([&p](const Request&, const std::string& csrf, const Form&) {
        return p.signin_page(csrf, 200, {}, {});
    }));
    add("POST", "/signin", p.visitor([&p](const Request& request, const std::string& csrf, const Form& form) {
        return p.sign_in(request, csrf, form);
    }));
    add("GET", "/activate", p.visitor([&p](const Request& request, const std::string& csrf, const Form&) {
        const auto token = request.query.find("token");
        return p.activation_page(csrf, token == request.query.end() ? std::string() : token->second, 200, {});
    }));
    add("POST", "/activate", p.visitor([&p](const Request& request, const std::string& csrf, const Form& form) {
        return p.activate(request, csrf, form);
    }));
    add("POST", "/signout", p.signed_in([&p](const Request&, const Session& session, const std::string&, const Form&) {
        if (auto ended = p.logins.sign_out(session.token); !ended)
            p.context.logger.error("PORTAL_SIGNOUT_FAILED", ended.error().message);
        return redirect("/signin", set_cookie(kSessionCookie, "", 0));
    }));
    add("GET", "/password", p.signed_in([&p](const Request&, const Session&, const std::string& csrf, const Form&) {
        return p.password_page(csrf, 200, {}, false);
    }));
    add("POST", "/password",
        p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form& form) {
            return p.change_password(session, csrf, form);
        }));
    add("GET", "/overview",
        p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form&) {
            return p.overview(session, csrf);
        }));
    add("GET", "/program",
        p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form&) {
            return p.program(session, csrf);
        }));
    add("GET", "/pevs", p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form&) {
        return p.pevs_page(session, csrf);
    }));
    add("POST", "/pevs",
        p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form& form) {
            return p.enroll(session, csrf, form);
        }));
    add("POST", "/pevs/{vin}/preferences",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form& form) {
            return p.preferences(request, session, csrf, form);
        }));
    add("POST", "/pevs/{vin}/unenroll",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form& form) {
            return p.unenroll(request, session, csrf, form);
        }));
    add("GET", "/sessions",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form&) {
            return p.sessions(request, session, csrf);
        }));
    add("GET", "/usage",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form&) {
            return p.usage(request, session, csrf);
        }));
    add("GET", "/bills",
        p.signed_in([&p](const Request&, const Session& session, const std::string& csrf, const Form&) {
            return p.bills(session, csrf);
        }));
    add("GET", "/bills/{month}",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form&) {
            return p.bill(request, session, csrf, false);
        }));
    add("GET", "/bills/{month}/pdf",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form&) {
            return p.bill(request, session, csrf, true);
        }));
    add("GET", "/download", p.signed_in([&p](const Request&, const Session&, const std::string& csrf, const Form&) {
        return p.download_page(csrf);
    }));
    add("GET", "/download/data",
        p.signed_in([&p](const Request& request, const Session& session, const std::string& csrf, const Form&) {
            return p.download(request, session, csrf);
        }));
    // The static pages: what a load balancer probes, and the one stylesheet.
    add("GET", "/health", [](const Request&) {
        return html(200,
                    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Portal "
                    "health</title></head><body><p>ok</p></body></html>\n");
    });
    add("GET", "/static/portal.css", [](const Request&) {
        return Response{
            200, std::string(kStylesheet), "text/css; charset=utf-8", {{"Cache-Control", "public, max-age=3600"}}, {}};
    });
}

void Portal::add_admin_routes(headend::http::RouteRegistry& routes) {
    routes.add("POST", "/api/v1/portal/invitations", [this](const Request& request) { return impl_->invite(request); });
}

}  // namespace portal
