#include "logins.hpp"

#include <algorithm>

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
                CREATE INDEX portal_sessions_by_account ON portal_sessions(account_id);)"},
            {2, "browsers that have signed in to an account (they pass its throttle)",
             R"(CREATE TABLE portal_known_devices(
                  account_id TEXT NOT NULL,
                  device_sha256 TEXT NOT NULL,
                  last_seen_at INTEGER NOT NULL,
                  PRIMARY KEY (account_id, device_sha256));)"}};
}

Logins::Logins(headend::storage::Database& database, const headend::plugin::Clock& clock, LoginPolicy policy)
    : database_(database),
      clock_(clock),
      policy_(policy),
      dummy_hash_(hash_password(random_token(), policy.scrypt)),
      hashing_(std::clamp(policy.concurrent_hashes, 1, 64)) {}

namespace {

// A slot of the hashing semaphore, held while one password is hashed; none free: the caller answers busy.
class HashingSlot {
public:
    explicit HashingSlot(std::counting_semaphore<64>& slots) : slots_(slots), held_(slots.try_acquire()) {}
    ~HashingSlot() {
        if (held_)
            slots_.release();
    }
    HashingSlot(const HashingSlot&) = delete;
    HashingSlot& operator=(const HashingSlot&) = delete;
    bool held() const { return held_; }

private:
    std::counting_semaphore<64>& slots_;
    bool held_;
};

headend::Error busy() {
    return make_error("portal.busy", "The portal is busy. Please try again in a moment.");
}

}  // namespace

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
    // A made-up token costs a SELECT, never a password hash.
    if (auto account = invitation_account(token); !account)
        return account.error();
    std::string hash;
    {
        const HashingSlot slot(hashing_);
        if (!slot.held())
            return busy();
        hash = hash_password(password, policy_.scrypt);
    }
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

Logins::Check Logins::check_password(const std::string& account_id, const std::string& password,
                                     const std::string& device, std::int64_t& retry_after_s,
                                     const std::function<Result<void>(Transaction&)>& on_match) {
    std::optional<std::string> hash;
    std::int64_t throttled_until = 0;
    bool known_device = false;
    const std::int64_t now = clock_.now();
    const std::string device_digest = device.empty() ? std::string() : token_digest(device);
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT password_hash, throttled_until FROM portal_logins WHERE account_id = ?",
                             std::vector<Value>{account_id});
        if (!rows)
            return rows.error();
        if (!rows->empty()) {
            hash = rows->front().text(0);
            throttled_until = rows->front().integer(1);
        }
        if (!device_digest.empty()) {
            auto known = tx.query("SELECT 1 FROM portal_known_devices WHERE account_id = ? AND device_sha256 = ?",
                                  std::vector<Value>{account_id, device_digest});
            if (!known)
                return known.error();
            known_device = !known->empty();
        }
        return {};
    });
    if (!read)
        return Check::Failed;
    if (throttled_until > now && !known_device) {
        retry_after_s = throttled_until - now;
        return Check::Throttled;
    }
    bool matches = false;
    {
        const HashingSlot slot(hashing_);
        if (!slot.held()) {
            retry_after_s = 1;
            return Check::Busy;
        }
        matches = verify_password(password, hash ? *hash : dummy_hash_) && hash;
    }
    if (!hash)
        return Check::Wrong;
    Check outcome = Check::Wrong;
    auto written = database_.write_sync([&](Transaction& tx) -> Result<void> {
        if (matches) {
            // A known browser let in through the throttle leaves it standing for the others.
            const bool bypassed = throttled_until > now;
            auto reset = tx.execute(
                "UPDATE portal_logins SET failed_in_row = 0, "
                "throttled_until = CASE WHEN ? = 1 THEN throttled_until ELSE 0 END WHERE account_id = ?",
                std::vector<Value>{std::int64_t{bypassed}, account_id});
            if (!reset)
                return reset.error();
            if (!device_digest.empty()) {
                auto remembered = tx.execute(
                    "INSERT INTO portal_known_devices(account_id, device_sha256, last_seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(account_id, device_sha256) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                    std::vector<Value>{account_id, device_digest, now});
                if (!remembered)
                    return remembered.error();
            }
            outcome = Check::Matches;
            return on_match(tx);
        }
        // Counted in the database, so a restart does not forgive; the throttling attempt itself is refused.
        auto rows = tx.query(
            "UPDATE portal_logins SET failed_in_row = failed_in_row + 1, "
            "throttled_until = CASE WHEN failed_in_row + 1 >= ? THEN ? ELSE throttled_until END "
            "WHERE account_id = ? RETURNING failed_in_row",
            std::vector<Value>{std::int64_t{policy_.failures_before_throttle}, now + policy_.throttle_s, account_id});
        if (!rows)
            return rows.error();
        if (!rows->empty() && rows->front().integer(0) >= policy_.failures_before_throttle) {
            auto reset = tx.execute("UPDATE portal_logins SET failed_in_row = 0 WHERE account_id = ?",
                                    std::vector<Value>{account_id});
            if (!reset)
                return reset.error();
            outcome = Check::Throttled;
            retry_after_s = policy_.throttle_s;
        }
        return {};
    });
    if (!written)
        return Check::Failed;
    return outcome;
}

SignInResult Logins::sign_in(const std::string& account_id, const std::string& password, const std::string& device) {
    SignInResult result;
    std::optional<Session> session;
    const Check check =
        check_password(account_id, password, device, result.retry_after_s, [&](Transaction& tx) -> Result<void> {
            auto opened = open_session(tx, account_id);
            if (!opened)
                return opened.error();
            session = *opened;
            return {};
        });
    switch (check) {
        case Check::Matches:
            result.outcome = SignInOutcome::SignedIn;
            result.session = session;
            break;
        case Check::Throttled:
            result.outcome = SignInOutcome::Throttled;
            break;
        case Check::Busy:
            result.outcome = SignInOutcome::Busy;
            break;
        case Check::Wrong:
        case Check::Failed:
            result.outcome = SignInOutcome::Refused;
            break;
    }
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
    if (auto valid = check_new_password(password); !valid)
        return valid.error();
    std::string hash;
    {
        const HashingSlot slot(hashing_);
        if (!slot.held())
            return busy();
        hash = hash_password(password, policy_.scrypt);
    }
    std::int64_t retry_after_s = 0;
    // The new password is stored in the transaction that found the current one right; every other session ends
    // (a password changed because it leaked); this one stays.
    const Check check =
        check_password(session.account_id, current, {}, retry_after_s, [&](Transaction& tx) -> Result<void> {
            auto stored = tx.execute("UPDATE portal_logins SET password_hash = ?, updated_at = ? WHERE account_id = ?",
                                     std::vector<Value>{hash, clock_.now(), session.account_id});
            if (!stored)
                return stored.error();
            auto ended = tx.execute("DELETE FROM portal_sessions WHERE account_id = ? AND token_sha256 != ?",
                                    std::vector<Value>{session.account_id, token_digest(session.token)});
            if (!ended)
                return ended.error();
            return {};
        });
    switch (check) {
        case Check::Matches:
            return {};
        case Check::Throttled:
            return make_error("portal.throttled", "Too many wrong passwords. Try again later.");
        case Check::Busy:
            return busy();
        case Check::Wrong:
            return make_error("portal.wrong_password", "The current password is not right.");
        case Check::Failed:
            break;
    }
    return make_error("storage.error", "the password could not be changed");
}

}  // namespace portal
