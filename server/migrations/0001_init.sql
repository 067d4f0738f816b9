-- Users of a pool, their Xiaomi identities, login attempts and per-pool signing keys.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    pool            TEXT NOT NULL,
    nickname        TEXT NOT NULL,
    avatar          TEXT,
    username        TEXT,
    email           TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    phone           TEXT,
    phone_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash   TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX users_pool ON users (pool);
CREATE UNIQUE INDEX users_pool_username ON users (pool, username);
CREATE UNIQUE INDEX users_pool_email ON users (pool, email);
CREATE UNIQUE INDEX users_pool_phone ON users (pool, phone);

CREATE TABLE identities (
    pool        TEXT NOT NULL,
    connection  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    union_id    TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (pool, connection, subject)
);
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE attempts (
    state_hash    TEXT PRIMARY KEY,
    binding_hash  TEXT NOT NULL,
    pool          TEXT NOT NULL,
    connection    TEXT NOT NULL,
    app           TEXT NOT NULL,
    origin        TEXT,
    mode          TEXT NOT NULL,
    redirect_uri  TEXT,
    attempt       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    consumed_at   BIGINT
);
CREATE INDEX attempts_expires ON attempts (expires_at);

CREATE TABLE signing_keys (
    pool        TEXT PRIMARY KEY,
    kid         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
