// The customer portal's routes (issue 12): sign-in with an operator's invitation, then the account's program and
// tariff, PEVs with live charging status, charging sessions, usage chart, bills and Green Button download, and
// self-service enrollment. Pages are rendered on the server and work without script. Every page is scoped to the
// signed-in account: another account's VIN or month answers exactly as one that does not exist.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "address_throttle.hpp"
#include "billing/catalog_cache.hpp"
#include "billing/customer_view.hpp"
#include "headend/plugin/plugin.hpp"
#include "logins.hpp"
#include "pev/enrollment.hpp"

namespace portal {

struct PortalSettings {
    std::string time_zone;          // the territory's
    std::string public_url;         // where customers reach the portal, e.g. "https://portal.example" (links)
    std::vector<std::uint8_t> key;  // HMAC key of form tokens
    int address_failures = 50;      // wrong passwords from one address within address_window_s before it waits
    std::int64_t address_window_s = 15 * 60;
    std::int64_t max_download_days = 400;
    std::size_t usage_cache_entries = 1024;  // usage pages kept rendered (0: none)
};

class Portal {
public:
    Portal(headend::plugin::Context& context, Logins& logins, PortalSettings settings);
    ~Portal();

    void add_routes(headend::http::RouteRegistry& routes);        // the portal's own listener
    void add_admin_routes(headend::http::RouteRegistry& routes);  // invitations, on the admin API

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portal
