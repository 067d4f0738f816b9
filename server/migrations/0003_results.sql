-- The result channel for a lost opener (COOP, in-app browsers): the widget commits to a secret at
-- authorize (`channel` = base64url SHA-256 of it; the secret never travels in a URL), and reads the
-- finished result once, with the secret, within 2 minutes.
ALTER TABLE attempts ADD COLUMN channel TEXT;
CREATE INDEX attempts_attempt ON attempts (attempt);

CREATE TABLE results (
    attempt     TEXT PRIMARY KEY,   -- the widget's attempt id; the first result wins
    channel     TEXT NOT NULL,      -- base64url SHA-256 of the widget's secret
    origin      TEXT NOT NULL,      -- the app origin recorded at authorize (CORS)
    result      TEXT NOT NULL,      -- the result message, JSON
    created_at  BIGINT NOT NULL,
    read_at     BIGINT
);
CREATE INDEX results_created ON results (created_at);
