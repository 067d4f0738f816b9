-- The result channel is withdrawn (issue 10): a secret chosen by whoever starts a login does not
-- bind its reader to the app's registered origin, so a foreign page's server could read a
-- victim's token. A lost opener now reaches the app through its registered return page
-- (`pools.apps.return_uris`), which only the browser can open on that origin. Kept results go.
DROP TABLE results;
ALTER TABLE attempts DROP COLUMN channel;

-- An attempt id is used once: a second authorize with the id of a recorded attempt is refused,
-- so nobody can start a parallel attempt under an id that leaked (popup URL, window name).
-- Duplicates from before this rule are dropped (at worst a login in flight must be restarted).
DROP INDEX attempts_attempt;
DELETE FROM attempts WHERE attempt IN (SELECT attempt FROM attempts GROUP BY attempt HAVING COUNT(*) > 1);
CREATE UNIQUE INDEX attempts_attempt ON attempts (attempt);
