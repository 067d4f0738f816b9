//! `GET|POST /oauth2/token`: the code exchange and the refresh (with rotation), then the token
//! faults, which bend the answer after the exchange was processed.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, ReadBuf};
use tower_http::services::fs::AsyncReadBody;

use super::{
    latency, number, parse_pairs, random_token, status_page, Faults, Held, Mock, TokenRequestRecord,
};

const PREFIX: &str = "&&&START&&&";
/// `expires_in` of an access token (legacy docs: 90 days; the H-1516 example shows it too).
const EXPIRES_IN: i64 = 7_776_000;
const HANG_FOR: Duration = Duration::from_secs(3600);
const DRIP_EVERY: Duration = Duration::from_secs(1);
const OVERSIZED_BYTES: usize = 10 << 20;

/// What a successful exchange hands out.
struct Issued {
    access_token: String,
    refresh_token: String,
    mac_key: String,
    scope: String,
    open_id: String,
    union_id: String,
}

/// A Xiaomi error: code and description.
type TokenError = (i64, &'static str);

pub(super) async fn handle_token(
    State(mock): State<Mock>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let faults = mock.count(|calls| &mut calls.token);
    let query = parse_pairs(uri.query().unwrap_or_default().as_bytes());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let is_form = content_type.as_deref().is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    // Parameters come from the form body and the query, the body winning (like a servlet's
    // getParameter, which sees both).
    let mut params = if method == Method::POST && is_form {
        parse_pairs(&body)
    } else {
        HashMap::new()
    };
    for (name, value) in &query {
        params.entry(name.clone()).or_insert_with(|| value.clone());
    }
    mock.lock().last_token_request = Some(TokenRequestRecord {
        method: method.as_str().to_owned(),
        content_type,
        client_secret_in_query: query.contains_key("client_secret"),
        client_id: params.get("client_id").cloned(),
        redirect_uri: params.get("redirect_uri").cloned(),
        grant_type: params.get("grant_type").cloned(),
    });

    let outcome = mock.exchange(&params);
    latency(&faults).await;
    let held = (faults.hang || faults.drip).then(|| Held::new(&mock));
    if faults.hang {
        // Dropped with the connection: axum drops this future when the client goes away.
        tokio::time::sleep(HANG_FOR).await;
    }
    respond(&faults, outcome, held)
}

impl Mock {
    fn exchange(&self, params: &HashMap<String, String>) -> Result<Issued, TokenError> {
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .filter(|value| !value.is_empty())
        };
        let (Some(client_id), Some(secret), Some(grant_type)) =
            (get("client_id"), get("client_secret"), get("grant_type"))
        else {
            return Err((
                96002,
                "missing parameter: client_id, client_secret and grant_type are required",
            ));
        };
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            return Err((96006, "unsupported grant_type"));
        }
        let client = self
            .client(client_id)
            .ok_or((96001, "client does not exist"))?;
        if client.client_secret != secret {
            return Err((96003, "invalid client_id or client_secret"));
        }

        let mut state = self.lock();
        let grant = if grant_type == "authorization_code" {
            let (Some(code), Some(redirect_uri)) = (get("code"), get("redirect_uri")) else {
                return Err((
                    96002,
                    "missing parameter: code and redirect_uri are required",
                ));
            };
            // Consumed when its own client presents it, whatever happens next.
            let grant = state
                .codes
                .get(code)
                .is_some_and(|grant| grant.client_id == client_id)
                .then(|| state.codes.remove(code))
                .flatten()
                .filter(|grant| grant.issued.elapsed() < self.inner.config.code_ttl)
                .ok_or((96013, "invalid or expired code"))?;
            if grant.redirect_uri != redirect_uri {
                return Err((96010, "redirect_uri does not match"));
            }
            grant
        } else {
            let Some(refresh_token) = get("refresh_token") else {
                return Err((96002, "missing parameter: refresh_token is required"));
            };
            state
                .refresh_tokens
                .get(refresh_token)
                .is_some_and(|grant| grant.client_id == client_id)
                .then(|| state.refresh_tokens.remove(refresh_token))
                .flatten()
                .ok_or((96009, "invalid or expired refresh token"))?
        };
        let account = self
            .account(&grant.account_id)
            .ok_or((96013, "invalid or expired code"))?;
        let issued = Issued {
            access_token: random_token(),
            refresh_token: random_token(),
            mac_key: random_token(),
            scope: grant.scope.clone(),
            open_id: account.open_id.clone(),
            union_id: account.union_id.clone(),
        };
        state.issued_secrets.extend([
            issued.access_token.clone(),
            issued.refresh_token.clone(),
            issued.mac_key.clone(),
        ]);
        state
            .access_tokens
            .insert(issued.access_token.clone(), grant.clone());
        state
            .refresh_tokens
            .insert(issued.refresh_token.clone(), grant);
        Ok(issued)
    }
}

fn respond(faults: &Faults, outcome: Result<Issued, TokenError>, held: Option<Held>) -> Response {
    if let Some(status) = faults.token_status {
        return status_page(status);
    }
    if let Some(location) = &faults.redirect_to {
        return (StatusCode::FOUND, [(header::LOCATION, location.as_str())]).into_response();
    }
    let (status, text) = if let Some(raw) = &faults.malformed {
        (StatusCode::OK, raw.clone())
    } else if faults.oversized {
        let padding = "x".repeat(OVERSIZED_BYTES);
        (
            StatusCode::OK,
            prefixed(faults, &format!("{{\"padding\":\"{padding}\"}}")),
        )
    } else {
        match outcome {
            Ok(issued) => (
                StatusCode::OK,
                prefixed(faults, &success_body(faults, issued)),
            ),
            Err((code, description)) => {
                let body = json!({
                    "error": number(faults, code),
                    "error_description": description,
                });
                let status = if faults.error_200 {
                    StatusCode::OK
                } else {
                    StatusCode::BAD_REQUEST
                };
                (status, prefixed(faults, &body.to_string()))
            }
        }
    };
    let body = match held {
        Some(held) if faults.drip => Body::new(AsyncReadBody::with_capacity(
            Drip {
                text: Bytes::from(text),
                sent: 0,
                tick: Box::pin(tokio::time::sleep(Duration::ZERO)),
                _held: held,
            },
            1,
        )),
        _ => Body::from(text),
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn success_body(faults: &Faults, issued: Issued) -> String {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": number(faults, EXPIRES_IN),
        "refresh_token": issued.refresh_token,
        "scope": issued.scope,
        "token_type": "mac",
        "mac_key": issued.mac_key,
        "mac_algorithm": "HmacSha1",
        "openId": issued.open_id,
    });
    if !faults.omit_union_id {
        body["union_id"] = Value::String(issued.union_id);
    }
    body.to_string()
}

fn prefixed(faults: &Faults, json: &str) -> String {
    let mut out = String::with_capacity(json.len() + PREFIX.len() + 2);
    if !faults.no_prefix {
        out.push_str(PREFIX);
        if faults.prefix_space {
            out.push(' ');
        }
        if faults.prefix_newline {
            out.push('\n');
        }
    }
    out.push_str(json);
    out
}

/// A reader that yields one byte per [`DRIP_EVERY`]. It is a reader rather than a stream because
/// `futures` is not a dependency; `AsyncReadBody` turns it into a response body. Dropping it (the
/// client went away) ends the drip and releases the [`Held`] count.
struct Drip {
    text: Bytes,
    sent: usize,
    tick: Pin<Box<tokio::time::Sleep>>,
    _held: Held,
}

impl AsyncRead for Drip {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.sent >= this.text.len() || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        ready!(this.tick.as_mut().poll(cx));
        buf.put_slice(&this.text[this.sent..=this.sent]);
        this.sent += 1;
        this.tick
            .as_mut()
            .reset(tokio::time::Instant::now() + DRIP_EVERY);
        Poll::Ready(Ok(()))
    }
}
