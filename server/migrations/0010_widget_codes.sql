-- The widget's fragment paths (issue 21.6): redirect mode and the return page carry a one-time
-- code, never the token. Such a code is redeemed by the tab holding its PKCE verifier and answers
-- the widget's result message (`widget`), which says whether the login created the user
-- (`new_user`). Codes of the OpenID Connect flow keep both FALSE.
ALTER TABLE oidc_codes ADD COLUMN widget BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE oidc_codes ADD COLUMN new_user BOOLEAN NOT NULL DEFAULT FALSE;
