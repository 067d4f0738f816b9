-- Pending attempts (not consumed yet) by expiry: the pending-attempt cap counts them every two
-- seconds, and without this index that count read every attempt of the last ten minutes, consumed
-- or not (tens of thousands of rows under load; docs/performance.md).
CREATE INDEX attempts_pending ON attempts (expires_at) WHERE consumed_at IS NULL;
