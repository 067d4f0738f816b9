-- A user signed in with Xiaomi has no username, email or phone. NULLs never conflict, so they
-- need no entry in the uniqueness indexes: partial indexes keep only the values that are set.
-- A new Xiaomi user then writes three index entries less (docs/performance.md, issue 12), and
-- the indexes hold only the local accounts' values instead of one row per user.
DROP INDEX users_pool_username;
DROP INDEX users_pool_email;
DROP INDEX users_pool_phone;
CREATE UNIQUE INDEX users_pool_username ON users (pool, username) WHERE username IS NOT NULL;
CREATE UNIQUE INDEX users_pool_email ON users (pool, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_pool_phone ON users (pool, phone) WHERE phone IS NOT NULL;
