-- OpenID Connect's authorization codes (issue 21): one row per code, only the SHA-256 of the code
-- kept, bound to the pool, the client, the redirect URI, the PKCE challenge and the nonce it was
-- issued for. A code is redeemed once, by one `UPDATE … WHERE consumed_at IS NULL RETURNING` (any
-- replica), within 60 s; the row stays an hour past expiry so a replay reads "already used".
CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    pool           TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    nonce          TEXT,
    scope          TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    connection     TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT,
    -- the login created the user (the widget's result message says so)
    new_user       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

-- The OpenID Connect request a login of mode `oidc` carries from authorize to its end (by the
-- attempt's id, which its binding ticket keeps): the client's state, nonce, PKCE challenge and
-- the scopes granted. Taken (deleted) when the login ends, whatever the result.
CREATE TABLE oidc_requests (
    attempt        TEXT PRIMARY KEY,
    pool           TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT,
    nonce          TEXT,
    code_challenge TEXT,
    scope          TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);
