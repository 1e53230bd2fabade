#include "logins.hpp"

namespace portal {
namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

headend::Error invitation_refused() {
    return make_error("portal.invitation", "This invitation link is not valid any more. Ask for a new one.");
}

}  // namespace

std::vector<headend::storage::Migration> portal_migrations() {
    return {{1, "portal sign-ins, invitations and sessions",
             R"(CREATE TABLE portal_logins(
                  account_id TEXT PRIMARY KEY,
                  password_hash TEXT NOT NULL,
                  failed_in_row INTEGER NOT NULL DEFAULT 0,
                  throttled_until INTEGER NOT NULL DEFAULT 0,
                  created_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL);
                CREATE TABLE portal_invitations(
                  token_sha256 TEXT PRIMARY KEY,
                  account_id TEXT NOT NULL,
                  created_at INTEGER NOT NULL,
                  expires_at INTEGER NOT NULL,
                  closed_at INTEGER,
                  closed_by TEXT CHECK (closed_by IN ('used', 'superseded')));
                CREATE INDEX portal_invitations_by_account ON portal_invitations(account_id);
                CREATE TABLE portal_sessions(
                  token_sha256 TEXT PRIMARY KEY,
                  account_id TEXT NOT NULL,
                  created_at INTEGER NOT NULL,
                  last_seen_at INTEGER NOT NULL,
                  expires_at INTEGER NOT NULL);
                CREATE INDEX portal_sessions_by_account ON portal_sessions(account_id);)"}};
}

Logins::Logins(headend::storage::Database& database, const headend::plugin::Clock& clock, LoginPolicy policy)
    : database_(database), clock_(clock), policy_(policy), dummy_hash_(hash_password(random_token(), policy.scrypt)) {}

Result<Invitation> Logins::invite(const std::string& account_id) {
    Invitation invitation{account_id, random_token(), clock_.now() + policy_.invitation_s};
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto known = tx.query("SELECT 1 FROM pev_accounts_v1 WHERE account_id = ?", std::vector<Value>{account_id});
        if (!known)
            return known.error();
        if (known->empty())
            return make_error("portal.unknown_account", "no account " + account_id + " in the customer records");
        const std::int64_t now = clock_.now();
        auto closed = tx.execute(
            "UPDATE portal_invitations SET closed_at = ?, closed_by = 'superseded' "
            "WHERE account_id = ? AND closed_at IS NULL",
            std::vector<Value>{now, account_id});
        if (!closed)
            return closed.error();
        auto added = tx.execute(
            "INSERT INTO portal_invitations(token_sha256, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            std::vector<Value>{token_digest(invitation.token), account_id, now, invitation.expires_at});
        if (!added)
            return added.error();
        return {};
    });
    if (!written)
        return written.error();
    return invitation;
}

Result<std::string> Logins::invitation_account(const std::string& token) {
    std::optional<std::string> account;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT account_id FROM portal_invitations WHERE token_sha256 = ? AND closed_at IS NULL AND expires_at > ?",
            std::vector<Value>{token_digest(token), clock_.now()});
        if (!rows)
            return rows.error();
        if (!rows->empty())
            account = rows->front().text(0);
        return {};
    });
    if (!read)
        return read.error();
    if (!account)
        return invitation_refused();
    return *account;
}

Result<Session> Logins::activate(const std::string& token, const std::string& password) {
    if (auto checked = check_new_password(password); !checked)
        return checked.error();
    const std::string hash = hash_password(password, policy_.scrypt);
    std::optional<Session> session;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        const std::int64_t now = clock_.now();
        // Claiming the invitation and setting the password commit together: a second use finds it closed.
        auto rows = tx.query(
            "UPDATE portal_invitations SET closed_at = ?, closed_by = 'used' "
            "WHERE token_sha256 = ? AND closed_at IS NULL AND expires_at > ? RETURNING account_id",
            std::vector<Value>{now, token_digest(token), now});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return invitation_refused();
        const std::string account = rows->front().text(0);
        auto stored = tx.execute(
            "INSERT INTO portal_logins(account_id, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(account_id) DO UPDATE SET password_hash = excluded.password_hash, failed_in_row = 0, "
            "throttled_until = 0, updated_at = excluded.updated_at",
            std::vector<Value>{account, hash, now, now});
        if (!stored)
            return stored.error();
        auto ended = tx.execute("DELETE FROM portal_sessions WHERE account_id = ?", std::vector<Value>{account});
        if (!ended)
            return ended.error();
        auto opened = open_session(tx, account);
        if (!opened)
            return opened.error();
        session = *opened;
        return {};
    });
    if (!written)
        return written.error();
    return *session;
}

SignInResult Logins::sign_in(const std::string& account_id, const std::string& password) {
    std::optional<std::string> hash;
    std::int64_t throttled_until = 0;
    const std::int64_t now = clock_.now();
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT password_hash, throttled_until FROM portal_logins WHERE account_id = ?",
                             std::vector<Value>{account_id});
        if (!rows)
            return rows.error();
        if (!rows->empty()) {
            hash = rows->front().text(0);
            throttled_until = rows->front().integer(1);
        }
        return {};
    });
    if (!read)
        return {};
    if (throttled_until > now)
        return {SignInOutcome::Throttled, std::nullopt, throttled_until - now};
    const bool matches = verify_password(password, hash ? *hash : dummy_hash_) && hash;
    if (!hash)
        return {};
    SignInResult result;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        if (matches) {
            auto reset =
                tx.execute("UPDATE portal_logins SET failed_in_row = 0, throttled_until = 0 WHERE account_id = ?",
                           std::vector<Value>{account_id});
            if (!reset)
                return reset.error();
            auto opened = open_session(tx, account_id);
            if (!opened)
                return opened.error();
            result = {SignInOutcome::SignedIn, *opened, 0};
            return {};
        }
        // Counted in the database, so a restart does not forgive; the throttling attempt itself is refused.
        auto rows = tx.query(
            "UPDATE portal_logins SET failed_in_row = failed_in_row + 1, "
            "throttled_until = CASE WHEN failed_in_row + 1 >= ? THEN ? ELSE throttled_until END "
            "WHERE account_id = ? RETURNING failed_in_row",
            std::vector<Value>{std::int64_t{policy_.failures_before_throttle}, now + policy_.throttle_s, account_id});
        if (!rows)
            return rows.error();
        const bool throttled = !rows->empty() && rows->front().integer(0) >= policy_.failures_before_throttle;
        if (throttled) {
            auto reset = tx.execute("UPDATE portal_logins SET failed_in_row = 0 WHERE account_id = ?",
                                    std::vector<Value>{account_id});
            if (!reset)
                return reset.error();
            result = {SignInOutcome::Throttled, std::nullopt, policy_.throttle_s};
        }
        return {};
    });
    if (!written)
        return {};
    return result;
}

Result<Session> Logins::open_session(Transaction& tx, const std::string& account_id) {
    const std::int64_t now = clock_.now();
    Session session{account_id, random_token(), now + policy_.session_max_s};
    auto added = tx.execute(
        "INSERT INTO portal_sessions(token_sha256, account_id, created_at, last_seen_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        std::vector<Value>{token_digest(session.token), account_id, now, now, session.expires_at});
    if (!added)
        return added.error();
    // Sessions that ended long ago go when a new one opens: the table holds the open ones and a few more.
    auto swept = tx.execute("DELETE FROM portal_sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                            std::vector<Value>{now, now - policy_.session_idle_s});
    if (!swept)
        return swept.error();
    return session;
}

Result<std::optional<Session>> Logins::session(const std::string& token) {
    const std::int64_t now = clock_.now();
    const std::string digest = token_digest(token);
    std::optional<Session> found;
    std::int64_t last_seen = 0;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query(
            "SELECT account_id, expires_at, last_seen_at FROM portal_sessions "
            "WHERE token_sha256 = ? AND expires_at > ? AND last_seen_at > ?",
            std::vector<Value>{digest, now, now - policy_.session_idle_s});
        if (!rows)
            return rows.error();
        if (!rows->empty()) {
            found = Session{rows->front().text(0), token, rows->front().integer(1)};
            last_seen = rows->front().integer(2);
        }
        return {};
    });
    if (!read)
        return read.error();
    if (found && now - last_seen >= 60) {
        auto touched = database_.write_sync([&](Transaction& tx) -> Result<void> {
            auto updated = tx.execute("UPDATE portal_sessions SET last_seen_at = ? WHERE token_sha256 = ?",
                                      std::vector<Value>{now, digest});
            if (!updated)
                return updated.error();
            return {};
        });
        if (!touched)
            return touched.error();
    }
    return found;
}

Result<void> Logins::sign_out(const std::string& token) {
    return database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto ended =
            tx.execute("DELETE FROM portal_sessions WHERE token_sha256 = ?", std::vector<Value>{token_digest(token)});
        if (!ended)
            return ended.error();
        return {};
    });
}

Result<void> Logins::change_password(const Session& session, const std::string& current, const std::string& password) {
    const auto checked = sign_in(session.account_id, current);
    if (checked.outcome == SignInOutcome::Throttled)
        return make_error("portal.throttled", "Too many wrong passwords. Try again later.");
    if (checked.outcome != SignInOutcome::SignedIn)
        return make_error("portal.wrong_password", "The current password is not right.");
    if (auto valid = check_new_password(password); !valid)
        return valid.error();
    const std::string hash = hash_password(password, policy_.scrypt);
    return database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto stored = tx.execute("UPDATE portal_logins SET password_hash = ?, updated_at = ? WHERE account_id = ?",
                                 std::vector<Value>{hash, clock_.now(), session.account_id});
        if (!stored)
            return stored.error();
        // Every other session ends (a password changed because it leaked); this one stays.
        auto ended = tx.execute("DELETE FROM portal_sessions WHERE account_id = ? AND token_sha256 != ?",
                                std::vector<Value>{session.account_id, token_digest(session.token)});
        if (!ended)
            return ended.error();
        return {};
    });
}

}  // namespace portal
