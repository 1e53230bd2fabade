// Who may sign in to the portal, and who is signed in (issue 12): an operator's invitation (one use, 72 h) lets the
// customer of an account set a password; signing in opens a session; ten wrong passwords in a row close the account
// to signing in for a while. Everything secret is stored as a digest (credentials.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <semaphore>
#include <string>
#include <vector>

#include "credentials.hpp"
#include "headend/plugin/plugin.hpp"

namespace portal {

std::vector<headend::storage::Migration> portal_migrations();

struct LoginPolicy {
    std::int64_t invitation_s = 72 * 3600;
    std::int64_t session_idle_s = 30 * 60;
    std::int64_t session_max_s = 12 * 3600;
    int failures_before_throttle = 10;  // the tenth wrong password in a row is throttled
    std::int64_t throttle_s = 15 * 60;
    ScryptParameters scrypt;
    // Password hashes at once (each 128·N·r bytes and a core for ~0.1 s): the listener keeps threads for pages.
    int concurrent_hashes = 1;
};

struct Invitation {
    std::string account_id;
    std::string token;  // given once, to the operator; only its digest is kept
    std::int64_t expires_at = 0;
};

struct Session {
    std::string account_id;
    std::string token;  // the cookie's value
    std::int64_t expires_at = 0;
};

enum class SignInOutcome { SignedIn, Refused, Throttled, Busy };

struct SignInResult {
    SignInOutcome outcome = SignInOutcome::Refused;
    std::optional<Session> session;
    std::int64_t retry_after_s = 0;  // Throttled, Busy
};

// Error codes: "portal.unknown_account", "portal.invitation" (unknown, used, superseded or expired: one answer),
// "password.*" (check_new_password), "portal.busy" (every password hashing slot taken: try again in a second),
// "portal.wrong_password", "portal.throttled", storage errors.
//
// Throttling: the tenth wrong password in a row closes the account to sign-in for throttle_s, except from a browser
// that has signed in to it before (its visitor cookie, kept as a digest): so nobody can lock a customer out of their
// own browser by guessing wrong on purpose.
class Logins {
public:
    Logins(headend::storage::Database& database, const headend::plugin::Clock& clock, LoginPolicy policy);

    // A new invitation for an account of the customer records; earlier unused ones of the account stop working.
    headend::Result<Invitation> invite(const std::string& account_id);
    // The account an invitation is for, while it may still be used.
    headend::Result<std::string> invitation_account(const std::string& token);
    // Sets the password, uses up the invitation, ends the account's sessions and opens a new one.
    headend::Result<Session> activate(const std::string& token, const std::string& password);

    // `device`: the browser's visitor cookie (empty: none).
    SignInResult sign_in(const std::string& account_id, const std::string& password, const std::string& device = {});
    // The session's account while it is open; touches its idle time (at most one write a minute).
    headend::Result<std::optional<Session>> session(const std::string& token);
    headend::Result<void> sign_out(const std::string& token);
    // Checks the current password, sets the new one and ends the account's other sessions.
    headend::Result<void> change_password(const Session& session, const std::string& current,
                                          const std::string& password);

    const LoginPolicy& policy() const { return policy_; }

private:
    enum class Check { Matches, Wrong, Throttled, Busy, Failed };
    // Checks the password (counting a wrong one); on a match `on_match` runs in the same transaction.
    Check check_password(const std::string& account_id, const std::string& password, const std::string& device,
                         std::int64_t& retry_after_s,
                         const std::function<headend::Result<void>(headend::storage::Transaction&)>& on_match);
    headend::Result<Session> open_session(headend::storage::Transaction& tx, const std::string& account_id);

    headend::storage::Database& database_;
    const headend::plugin::Clock& clock_;
    LoginPolicy policy_;
    std::string dummy_hash_;  // checked for unknown accounts, so they answer as slowly as known ones
    std::counting_semaphore<64> hashing_;
};

}  // namespace portal
