//! What handlers read from a request beyond axum's own extractors: the client address behind
//! trusted proxies ([`ClientIp`]) and a cookie's value.

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, HeaderMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client's address: the TCP peer, or what a trusted proxy says ([`TrustedProxies::client`]).
/// `0.0.0.0` when the socket is unknown (e.g. in `oneshot` tests).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
