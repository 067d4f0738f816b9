-- Signing-key rotation (`milogin keys rotate`, security.md X-96): a pool may hold several keys,
-- numbered in order (`seq`). A key is published in the JWKS from `created_at`, signs from
-- `activates_at` until the next key's `activates_at`, and then stays published until every token
-- it signed has expired (server/src/keys.rs). The table is rebuilt because SQLite cannot change a
-- primary key in place; each existing key becomes key 1 of its pool, signing since it was created,
-- so tokens it signed keep verifying.
CREATE TABLE signing_keys_rotation (
    pool          TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    kid           TEXT NOT NULL,
    private_pem   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    activates_at  BIGINT NOT NULL,
    PRIMARY KEY (pool, seq)
);
INSERT INTO signing_keys_rotation (pool, seq, kid, private_pem, created_at, activates_at)
    SELECT pool, 1, kid, private_pem, created_at, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_rotation RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_pool_kid ON signing_keys (pool, kid);
