//! The SQL text of the store, written once for both backends: PostgreSQL runs it through sqlx
//! ([`super::pg`]), SQLite through rusqlite on the store's thread ([`super::sqlite`]). Only what
//! both understand is used: `$n` placeholders (SQLite reads `$1` as a named parameter, bound by
//! name), `ON CONFLICT`, `RETURNING`, `IS DISTINCT FROM`. Column lists are macros so that every
//! query is one `&'static str` built at compile time (nothing is formatted per call).

/// The user columns, qualified by the alias `u`.
macro_rules! user_columns {
    () => {
        "u.id, u.pool, u.nickname, u.avatar, u.username, u.email, u.email_verified, u.phone, u.phone_verified, u.disabled, u.created_at"
    };
}

/// [`user_columns`] unqualified, for `INSERT … RETURNING` (SQLite refuses qualified names there).
macro_rules! user_returning {
    () => {
        "id, pool, nickname, avatar, username, email, email_verified, phone, phone_verified, disabled, created_at"
    };
}

macro_rules! attempt_columns {
    () => {
        "state_hash, binding_hash, pool, connection, app, origin, mode, redirect_uri, attempt, created_at, expires_at"
    };
}

macro_rules! code_columns {
    () => {
        "code_hash, pool, client_id, redirect_uri, code_challenge, nonce, scope, user_id, connection, auth_time, created_at, expires_at, widget, new_user"
    };
}

macro_rules! ticket_columns {
    () => {
        "ticket_hash, csrf_hash, pool, connection, subject, client_id, union_id, nickname, avatar, app, attempt, origin, mode, redirect_uri, matched, failures, created_at, expires_at, consumed_at"
    };
}

/// Attempts are kept this long after they expire (so a late replay reads "already used").
pub const ATTEMPT_GRACE_SECS: i64 = 3600;

/// Binding tickets are kept this long after they expire (so a late replay reads "already used").
pub const TICKET_GRACE_SECS: i64 = 3600;

pub const PING: &str = "SELECT 1";

// Attempts.
pub const SWEEP_ATTEMPTS: &str = "DELETE FROM attempts WHERE expires_at < $1";
pub const INSERT_ATTEMPT: &str = concat!(
    "INSERT INTO attempts (",
    attempt_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
pub const CONSUME_ATTEMPT: &str = concat!(
    "UPDATE attempts SET consumed_at = $2 WHERE state_hash = $1 AND consumed_at IS NULL RETURNING ",
    attempt_columns!()
);
pub const ATTEMPT_SEEN: &str = "SELECT 1 FROM attempts WHERE state_hash = $1";
pub const PENDING_ATTEMPTS: &str =
    "SELECT COUNT(*) AS n FROM attempts WHERE consumed_at IS NULL AND expires_at >= $1";

// Authorization codes (swept with the attempts).
pub const SWEEP_CODES: &str = "DELETE FROM oidc_codes WHERE expires_at < $1";
pub const INSERT_CODE: &str = concat!(
    "INSERT INTO oidc_codes (",
    code_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
);
pub const REDEEM_CODE: &str = concat!(
    "UPDATE oidc_codes SET consumed_at = $2 WHERE code_hash = $1 AND consumed_at IS NULL RETURNING ",
    code_columns!()
);
pub const CODE: &str = concat!(
    "SELECT ",
    code_columns!(),
    " FROM oidc_codes WHERE code_hash = $1"
);

pub const SWEEP_OIDC_REQUESTS: &str = "DELETE FROM oidc_requests WHERE expires_at < $1";
pub const INSERT_OIDC_REQUEST: &str = "INSERT INTO oidc_requests (attempt, pool, client_id, redirect_uri, state, nonce, code_challenge, scope, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub const TAKE_OIDC_REQUEST: &str = "DELETE FROM oidc_requests WHERE attempt = $1 AND expires_at >= $2
     RETURNING attempt, pool, client_id, redirect_uri, state, nonce, code_challenge, scope, expires_at";

// Users and identities.
pub const USER_BY_IDENTITY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM identities i JOIN users u ON u.id = i.user_id WHERE i.pool = $1 AND i.connection = $2 AND i.subject = $3"
);
pub const INSERT_USER: &str = concat!(
    "INSERT INTO users (id, pool, nickname, avatar, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING ",
    user_returning!()
);
/// A new identity; a taken `(pool, connection, subject)` inserts nothing.
pub const INSERT_IDENTITY: &str =
    "INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pool, connection, subject) DO NOTHING";
pub const UPDATE_PROFILE: &str = "UPDATE users SET nickname = $2, avatar = $3, updated_at = $4
     WHERE id = $1 AND (nickname <> $2 OR avatar IS DISTINCT FROM $3)";
pub const USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.pool = $1 AND u.id = $2"
);
pub const USERS_OF_POOL: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.pool = $1 ORDER BY u.created_at, u.id"
);
pub const IDENTITIES_OF_POOL: &str = "SELECT user_id, connection, subject, client_id, union_id, created_at FROM identities WHERE pool = $1 ORDER BY created_at, connection, subject";
pub const BOUND_CONNECTIONS: &str = "SELECT DISTINCT pool, connection FROM identities";
pub const INSERT_LOCAL_USER: &str = "INSERT INTO users (id, pool, nickname, username, email, email_verified, phone, phone_verified, password_hash, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
pub const USER_BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash FROM users u WHERE u.pool = $1 AND u.email = $2"
);
pub const USER_BY_PHONE: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash FROM users u WHERE u.pool = $1 AND u.phone = $2"
);
pub const USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash FROM users u WHERE u.pool = $1 AND u.username = $2"
);
pub const MATCH_CANDIDATES: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash FROM users u
     WHERE u.pool = $1 AND ((u.email IS NOT NULL AND u.email = $2) OR (u.phone IS NOT NULL AND u.phone = $3))
     ORDER BY u.created_at, u.id"
);
pub const BOUND_HERE: &str =
    "SELECT 1 FROM identities WHERE pool = $1 AND connection = $2 AND user_id = $3";
/// Binds an identity to an existing user of the pool. No conflict target: the identity's key and
/// "one identity per user and connection" both make it a no-op, told apart by the caller.
pub const LINK_IDENTITY: &str =
    "INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at)
     SELECT $1, $2, $3, u.id, $5, $6, $7 FROM users u WHERE u.id = $4 AND u.pool = $1
     ON CONFLICT DO NOTHING";
pub const IDENTITY_OWNER: &str =
    "SELECT user_id FROM identities WHERE pool = $1 AND connection = $2 AND subject = $3";
pub const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = $1 AND pool = $2";
pub const IDENTITIES_OF_USER: &str = "SELECT connection, subject, client_id, union_id, created_at FROM identities WHERE pool = $1 AND user_id = $2 ORDER BY created_at, connection";
pub const SET_DISABLED: &str =
    "UPDATE users SET disabled = $3, updated_at = $4 WHERE pool = $1 AND id = $2";
pub const DELETE_IDENTITIES_OF_USER: &str =
    "DELETE FROM identities WHERE pool = $1 AND user_id = $2";
pub const DELETE_FAILURES_OF_USER: &str =
    "DELETE FROM account_failures WHERE user_id IN (SELECT id FROM users WHERE pool = $1 AND id = $2)";
pub const DELETE_USER: &str = "DELETE FROM users WHERE pool = $1 AND id = $2";
pub const UNLINK_IDENTITY: &str =
    "DELETE FROM identities WHERE pool = $1 AND user_id = $2 AND connection = $3";
pub const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM identities) AS i, (SELECT COUNT(*) FROM attempts) AS a";

// Signing keys.
/// Racing replicas on an empty table both insert number 1: the primary key keeps one.
pub const ENSURE_SIGNING_KEY: &str =
    "INSERT INTO signing_keys (pool, seq, kid, private_pem, created_at, activates_at)
     SELECT $1, 1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE pool = $1)
     ON CONFLICT (pool, seq) DO NOTHING";
pub const SIGNING_KEYS: &str = "SELECT kid, private_pem, seq, created_at, activates_at FROM signing_keys WHERE pool = $1 ORDER BY seq";
pub const ADD_SIGNING_KEY: &str = "INSERT INTO signing_keys (pool, seq, kid, private_pem, created_at, activates_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (pool, seq) DO NOTHING";
pub const DELETE_SIGNING_KEY: &str = "DELETE FROM signing_keys WHERE pool = $1 AND kid = $2";
/// Compare-and-set: only when the stored form is still the one that was read.
pub const REPLACE_SIGNING_KEY_PEM: &str =
    "UPDATE signing_keys SET private_pem = $4 WHERE pool = $1 AND kid = $2 AND private_pem = $3";

// Binding tickets, experience-login tickets, failed sign-ins.
pub const SWEEP_TICKETS: &str = "DELETE FROM binding_tickets WHERE expires_at < $1";
pub const INSERT_TICKET: &str = "INSERT INTO binding_tickets (ticket_hash, csrf_hash, pool, connection, subject, client_id, union_id, nickname, avatar, app, attempt, origin, mode, redirect_uri, matched, failures, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
pub const TICKET: &str = concat!(
    "SELECT ",
    ticket_columns!(),
    " FROM binding_tickets WHERE ticket_hash = $1"
);
pub const TICKET_TRY: &str = "UPDATE binding_tickets SET failures = failures + 1
     WHERE ticket_hash = $1 AND consumed_at IS NULL AND failures < $2 AND expires_at >= $3
     RETURNING failures";
pub const CONSUME_TICKET: &str =
    "UPDATE binding_tickets SET consumed_at = $2 WHERE ticket_hash = $1 AND consumed_at IS NULL";
pub const SWEEP_TRY_TICKETS: &str = "DELETE FROM try_tickets WHERE expires_at < $1";
pub const INSERT_TRY_TICKET: &str =
    "INSERT INTO try_tickets (ticket_hash, pool, connection, expires_at) VALUES ($1, $2, $3, $4)";
/// One `DELETE`: of two concurrent redeems (any replicas) only one sees the row.
pub const REDEEM_TRY_TICKET: &str = "DELETE FROM try_tickets WHERE ticket_hash = $1 AND pool = $2 AND connection = $3 AND expires_at >= $4";
pub const ACCOUNT_FAILURES: &str =
    "SELECT failures FROM account_failures WHERE user_id = $1 AND window_start > $2";
pub const RECORD_ACCOUNT_FAILURE: &str = "INSERT INTO account_failures (user_id, window_start, failures) VALUES ($1, $2, 1)
     ON CONFLICT (user_id) DO UPDATE SET
       failures = CASE WHEN account_failures.window_start <= $3 THEN 1 ELSE account_failures.failures + 1 END,
       window_start = CASE WHEN account_failures.window_start <= $3 THEN $2 ELSE account_failures.window_start END
     RETURNING failures";
pub const CLEAR_ACCOUNT_FAILURES: &str = "DELETE FROM account_failures WHERE user_id = $1";

/// The query that finds a user by a sign-in identifier (the column is chosen here, never
/// formatted into the text).
pub fn user_for_login(id: &crate::domain::contact::LoginId) -> (&'static str, &str) {
    use crate::domain::contact::LoginId;
    match id {
        LoginId::Email(v) => (USER_BY_EMAIL, v),
        LoginId::Phone(v) => (USER_BY_PHONE, v),
        LoginId::Username(v) => (USER_BY_USERNAME, v),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn returning_columns_are_the_user_columns_unqualified() {
        assert_eq!(user_columns!().replace("u.", ""), user_returning!());
    }
}
