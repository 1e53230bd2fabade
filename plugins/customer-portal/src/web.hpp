// The portal's HTTP plumbing: the page around every screen, security headers, cookies and form bodies.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "headend/plugin/http.hpp"

namespace portal {

inline constexpr std::string_view kSessionCookie = "__Host-pevportal";
inline constexpr std::string_view kVisitorCookie = "__Host-pevportal-visitor";  // CSRF binding before sign-in

// The value of cookie `name` in the request's Cookie header.
std::optional<std::string> cookie(const headend::http::Request& request, std::string_view name);
// A Set-Cookie value: Secure, HttpOnly, SameSite=Strict, Path=/ (the __Host- prefix demands them); max_age 0 clears.
std::string set_cookie(std::string_view name, std::string_view value, std::int64_t max_age_s);

// A urlencoded form body; nullopt when it is not one or is malformed.
std::optional<std::map<std::string, std::string>> form_of(const headend::http::Request& request);

struct NavItem {
    std::string href;
    std::string label;
};

// A whole HTML page: title, the main menu (with the current page marked) and a sign-out button when `csrf` is given,
// and `content` (markup, already escaped) inside <main>, under the title as its h1 unless the content has its own.
std::string page(std::string_view title, std::string_view current, std::string_view content,
                 const std::optional<std::string>& csrf, bool heading = true);

// Opens a box in which a wide table scrolls sideways on a small screen: focusable, so keyboards can scroll it, and
// named by the table's caption (`caption_id`). Closed with "</div>".
std::string scroll_open(std::string_view caption_id);

// The headers every portal answer carries, the listener's own errors included (ListenerOptions::response_headers):
// CSP without inline script or style, HSTS, frame denial, no sniffing, the referrer kept on the site, and no caching
// (the stylesheet sets its own Cache-Control).
const std::map<std::string, std::string>& security_headers();

headend::http::Response html(int status, std::string body);
headend::http::Response redirect(std::string location, std::string cookie = {});

// "<input type=hidden name=csrf ...>".
std::string csrf_field(std::string_view token);

std::string escaped(std::string_view text);

}  // namespace portal
