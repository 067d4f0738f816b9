//! OpenID Connect's authorization code flow with PKCE (issue 21), as pure functions over the
//! configuration and the stored code: what `http::oidc` calls, tested here without HTTP.
//!
//! - [`params`]: a query or form as a map that refuses a repeated or oversized parameter
//!   (RFC 6749 §3.1: "MUST NOT be included more than once").
//! - [`authorize`]: the authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1),
//!   with the split of §4.1.2.1: an unknown client or a redirect URI that is not registered is an
//!   error page, never a redirect; anything else goes back to the redirect URI.
//! - [`pkce`]: RFC 7636 with `S256` only (`plain` is refused: a PKCE downgrade).
//! - [`client`]: client authentication at the token endpoint (`client_secret_basic`,
//!   `client_secret_post`, or none for a public client).
//! - [`grant`]: the token request and the checks a redeemed code must pass (client, redirect URI,
//!   expiry, verifier).
//! - [`error`]: the error codes of both endpoints and the redirect that carries them.

pub mod authorize;
pub mod client;
pub mod error;
pub mod grant;
pub mod params;
pub mod pkce;

/// Scopes we grant (others asked for are ignored, OpenID Connect Core §3.1.2.1).
pub const SCOPES: &[&str] = &["openid", "profile"];

/// How long an authorization code lives (RFC 6749 §4.1.2: "a maximum … of 10 minutes is
/// RECOMMENDED"; ours is redeemed by a server a moment later).
pub const CODE_LIFETIME_SECS: i64 = 60;

/// How long a login's request (OpenID Connect's, or the widget's PKCE challenge) waits for its
/// login to end: the attempt's ten minutes and a binding step's ten, with room.
pub const REQUEST_LIFETIME_SECS: i64 = 3600;

/// How long an access token lives.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 600;

/// The `aud` of a pool's access tokens: its userinfo endpoint, never a client id, so no client
/// takes an access token for an id_token.
pub fn userinfo_audience(issuer: &str) -> String {
    format!("{issuer}/userinfo")
}
