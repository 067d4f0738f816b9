//! What handlers read from a request beyond axum's own extractors: the client address behind
//! trusted proxies ([`ClientIp`]), the page language ([`Lang`]), a per-client rate limit whose
//! refusal is the 429 page ([`RateLimit`]), and a cookie's value. (Parameters: `super::params`.)

use super::pages::{self, Lang};
use super::respond::{retry_after, take};
use crate::limits::RateLimiter;
use crate::state::{AppState, Limiters};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use milogin_shared::ErrorCode;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client's address: the TCP peer, or what a trusted proxy says ([`TrustedProxies::client`]).
/// `0.0.0.0` when the socket is unknown (e.g. in `oneshot` tests).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Self(
            st.config
                .server
                .trusted_proxies
                .client(peer, &parts.headers),
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// A route's per-client rate limit: which limiter, the route's name in logs and metrics, and
/// its 429 (the page in the reader's language unless the route says otherwise).
pub trait Limited {
    /// The `route` label of `milogin_rate_limited_total` and of the log line.
    const ROUTE: &'static str;
    /// The route's limiter.
    fn limiter(limiters: &Limiters) -> &RateLimiter;
    /// The 429 answer (`Retry-After` is added).
    fn refused(parts: &Parts) -> Response {
        pages::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            Lang::from_headers(&parts.headers),
            ErrorCode::InvalidRequest,
            "Too many login attempts from your network. Please wait a minute and try again.",
        )
    }
}

macro_rules! limited_routes {
    ($($name:ident => $field:ident, $route:literal;)*) => {$(
        pub enum $name {}
        impl Limited for $name {
            const ROUTE: &'static str = $route;
            fn limiter(limiters: &Limiters) -> &RateLimiter {
                &limiters.$field
            }
        }
    )*};
}

// The routes whose 429 is the page: type => its limiter in `Limiters`, its `route` label.
limited_routes! {
    AuthorizeRoute => authorize, "authorize";
    CallbackRoute => callback, "callback";
    BindingRoute => binding, "binding";
    TryRoute => try_pages, "try";
}

/// `/pools/{pool}/userinfo`: a JSON API, so its 429 is JSON.
pub enum UserinfoRoute {}

impl Limited for UserinfoRoute {
    const ROUTE: &'static str = "userinfo";
    fn limiter(limiters: &Limiters) -> &RateLimiter {
        &limiters.userinfo
    }
    fn refused(_: &Parts) -> Response {
        let body = serde_json::json!({ "error": "rate_limited", "message": "too many requests; retry later" });
        (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
    }
}

/// Takes a token from route `R`'s limiter for this client; without one the request is refused
/// with `R`'s 429 and `Retry-After`, counted and logged.
pub struct RateLimit<R>(PhantomData<R>);

impl<R: Limited> FromRequestParts<AppState> for RateLimit<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, st).await;
        let Err(wait) = take(st, R::limiter(&st.limiters), R::ROUTE, ip) else {
            return Ok(Self(PhantomData));
        };
        let mut r = R::refused(parts);
        retry_after(&mut r, wait);
        Err(r)
    }
}

/// The value of cookie `name` from the request's `Cookie` headers (parsed by the `cookie` crate;
/// values are taken as sent, not percent-decoded: ours are base64url).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}
