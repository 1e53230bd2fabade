#include "web.hpp"

#include <fmt/format.h>

#include <array>

#include "headend/http/url.hpp"
#include "markup/escape.hpp"

namespace portal {

std::optional<std::string> cookie(const headend::http::Request& request, std::string_view name) {
    const auto header = request.headers.find("cookie");
    if (header == request.headers.end())
        return std::nullopt;
    std::string_view rest = header->second;
    while (!rest.empty()) {
        const auto end = rest.find_first_of(";,");
        std::string_view pair = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        while (!pair.empty() && pair.front() == ' ')
            pair.remove_prefix(1);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name)
            return std::string(pair.substr(equals + 1));
    }
    return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, std::int64_t max_age_s) {
    return fmt::format("{}={}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict", name, value, max_age_s);
}

std::optional<std::map<std::string, std::string>> form_of(const headend::http::Request& request) {
    const auto type = request.headers.find("content-type");
    if (type == request.headers.end() || type->second.rfind("application/x-www-form-urlencoded", 0) != 0)
        return std::nullopt;
    return headend::http::parse_query(request.body);
}

std::string escaped(std::string_view text) {
    return markup::escaped(text);
}

std::string csrf_field(std::string_view token) {
    return fmt::format("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escaped(token));
}

std::string scroll_open(std::string_view caption_id) {
    return fmt::format("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"{}\">", caption_id);
}

std::string page(std::string_view title, std::string_view current, std::string_view content,
                 const std::optional<std::string>& csrf, bool heading) {
    static const std::array<NavItem, 8> kMenu = {{{"/overview", "Overview"},
                                                  {"/program", "Program and tariff"},
                                                  {"/pevs", "My PEVs"},
                                                  {"/sessions", "Charging sessions"},
                                                  {"/usage", "Usage"},
                                                  {"/bills", "Bills"},
                                                  {"/download", "Download my data"},
                                                  {"/password", "Password"}}};
    std::string header;
    if (csrf) {
        header = "<nav aria-label=\"Main\"><ul>";
        for (const auto& item : kMenu)
            header += fmt::format("<li><a href=\"{}\"{}>{}</a></li>", item.href,
                                  item.href == current ? " aria-current=\"page\"" : "", escaped(item.label));
        header += "</ul></nav>\n<form class=\"signout\" method=\"post\" action=\"/signout\">" + csrf_field(*csrf) +
                  "<button type=\"submit\">Sign out</button></form>\n";
    }
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — PEV charging "
        "program</title>\n<link rel=\"stylesheet\" href=\"/static/portal.css\">\n</head>\n<body>\n"
        "<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n<p class=\"brand\">PEV charging "
        "program</p>\n{}</header>\n<main id=\"main\">\n{}{}</main>\n</body>\n</html>\n",
        escaped(title), header, heading ? "<h1>" + escaped(title) + "</h1>\n" : std::string(), content);
}

const std::map<std::string, std::string>& security_headers() {
    static const std::map<std::string, std::string> headers = {
        {"Content-Security-Policy",
         "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
         "base-uri 'none'"},
        {"Strict-Transport-Security", "max-age=31536000"},
        {"X-Frame-Options", "DENY"},
        {"X-Content-Type-Options", "nosniff"},
        // Not no-referrer: under it Chromium sends "Origin: null" with the portal's own forms, which are refused.
        {"Referrer-Policy", "same-origin"},
        {"Cache-Control", "no-store"},
    };
    return headers;
}

headend::http::Response html(int status, std::string body) {
    headend::http::Response response;
    response.status = status;
    response.body = std::move(body);
    response.content_type = "text/html; charset=utf-8";
    return response;
}

headend::http::Response redirect(std::string location, std::string cookie) {
    headend::http::Response response;
    response.status = 303;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "See " + location + "\n";
    response.headers["Location"] = std::move(location);
    if (!cookie.empty())
        response.headers["Set-Cookie"] = std::move(cookie);
    return response;
}

}  // namespace portal
