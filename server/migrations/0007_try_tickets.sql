-- One-time tickets of the experience-login page (issue 10): the page, behind the admin token,
-- mints one; authorize for the reserved app `__try__` redeems it. Only the SHA-256 of the value is
-- kept; a redeemed ticket is deleted, so it works once.
CREATE TABLE try_tickets (
    ticket_hash TEXT PRIMARY KEY,
    pool        TEXT NOT NULL,
    connection  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX try_tickets_expires ON try_tickets (expires_at);
