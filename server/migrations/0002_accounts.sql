-- Accounts: the one-time tickets of the "link your Xiaomi account" step, failed sign-ins per
-- account (a brute-force limit every replica sees), and one Xiaomi identity per user and connection.

CREATE TABLE binding_tickets (
    ticket_hash   TEXT PRIMARY KEY,          -- SHA-256 of the ticket (it lives only in the browser's cookie)
    csrf_hash     TEXT NOT NULL,             -- SHA-256 of the form's CSRF token
    pool          TEXT NOT NULL,
    connection    TEXT NOT NULL,
    subject       TEXT NOT NULL,             -- the Xiaomi openId this ticket may bind, nothing else
    client_id     TEXT NOT NULL,
    union_id      TEXT,
    nickname      TEXT NOT NULL,
    avatar        TEXT,
    app           TEXT NOT NULL,
    attempt       TEXT NOT NULL,
    origin        TEXT,
    mode          TEXT NOT NULL,
    redirect_uri  TEXT,
    matched       BOOLEAN NOT NULL DEFAULT FALSE,
    failures      BIGINT NOT NULL DEFAULT 0, -- password tries, counted before each verification
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    consumed_at   BIGINT
);
CREATE INDEX binding_tickets_expires ON binding_tickets (expires_at);

CREATE TABLE account_failures (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    window_start  BIGINT NOT NULL,
    failures      BIGINT NOT NULL
);

CREATE UNIQUE INDEX identities_user_connection ON identities (user_id, connection);
