//! `GET /oauth2/authorize` (checks, then the consent page) and `POST /oauth2/authorize/decision`
//! (the user's choice, answered with a 302 to the app's `redirect_uri`).

use std::time::Instant;

use axum::extract::{Form, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use url::Url;

use super::pages::{consent_page, error_page, Consent};
use super::{
    parse_pairs, random_token, scope_ids, Grant, Mock, MockClient, Pending, DEFAULT_SCOPE,
    PENDING_TTL,
};

pub(super) async fn get_authorize(State(mock): State<Mock>, RawQuery(query): RawQuery) -> Response {
    let faults = mock.count(|calls| &mut calls.authorize);
    let params = parse_pairs(query.unwrap_or_default().as_bytes());

    let Some(client) = params.get("client_id").and_then(|id| mock.client(id)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            96001,
            "the app does not exist or has not enabled Xiaomi Account",
        );
    };
    let Some(redirect_uri) = params.get("redirect_uri").filter(|uri| !uri.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            96002,
            "missing parameter redirect_uri",
        );
    };
    let Some(uri) = Url::parse(redirect_uri)
        .ok()
        .filter(|uri| redirect_uri_allowed(client, uri))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            96010,
            "redirect_uri does not match a callback registered for this app",
        );
    };
    let state = params.get("state").cloned();
    if params.get("response_type").map(String::as_str) != Some("code") {
        return redirect(
            &uri,
            &[
                ("error", "96011"),
                ("error_description", "unsupported response_type"),
            ],
            state.as_deref(),
        );
    }

    let requested: Vec<&str> = params
        .get("scope")
        .map(|scope| scope_ids(scope).collect())
        .unwrap_or_default();
    let scope = if requested.is_empty() {
        DEFAULT_SCOPE.to_owned()
    } else {
        requested.join(" ")
    };
    let req = random_token();
    {
        let mut locked = mock.lock();
        mock.prune(&mut locked);
        locked.pending.insert(
            req.clone(),
            Pending {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                state,
                scope: scope.clone(),
                created: Instant::now(),
            },
        );
    }
    consent_page(
        &Consent {
            req: &req,
            client_id: &client.client_id,
            redirect_uri,
            scope: &scope,
            accounts: &mock.inner.config.accounts,
        },
        faults.consent_coop,
    )
}

/// The consent form: one submit button per account (`account=<id>`) and one `decision=deny`.
#[derive(Deserialize)]
pub(super) struct DecisionForm {
    req: Option<String>,
    account: Option<String>,
    decision: Option<String>,
}

pub(super) async fn post_decision(
    State(mock): State<Mock>,
    Form(form): Form<DecisionForm>,
) -> Response {
    mock.count(|calls| &mut calls.decision);
    let deny = form.decision.as_deref() == Some("deny");
    let account = form.account.filter(|id| mock.account(id).is_some());
    if !deny && account.is_none() {
        return error_page(
            StatusCode::BAD_REQUEST,
            96002,
            "choose one of the accounts, or deny",
        );
    }
    let pending = form
        .req
        .and_then(|req| mock.lock().pending.remove(&req))
        .filter(|pending| pending.created.elapsed() < PENDING_TTL);
    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            96002,
            "this sign-in request is unknown, expired or already answered; start again from the app",
        );
    };
    let Ok(uri) = Url::parse(&pending.redirect_uri) else {
        // Checked when the consent page was shown.
        return error_page(StatusCode::BAD_REQUEST, 96010, "invalid redirect_uri");
    };
    let state = pending.state.as_deref();
    match account {
        Some(account_id) if !deny => {
            let code = mock.insert_code(Grant {
                account_id,
                client_id: pending.client_id.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                scope: pending.scope.clone(),
                issued: Instant::now(),
            });
            redirect(&uri, &[("code", &code)], state)
        }
        _ => redirect(
            &uri,
            &[("error", "96012"), ("error_description", "user denied")],
            state,
        ),
    }
}

/// Whether `uri` may receive codes for `client`, by the rules of xiaomi-oauth.md §2.4: same scheme
/// and port, same host or a sub-domain of it, same path or a sub-path of it; the query is free.
/// A client with no registered URI accepts any `http`/`https` URI.
pub(super) fn redirect_uri_allowed(client: &MockClient, uri: &Url) -> bool {
    if !matches!(uri.scheme(), "http" | "https")
        || uri.host_str().is_none()
        || !uri.username().is_empty()
        || uri.password().is_some()
    {
        return false;
    }
    let mut registered = client
        .redirect_uris
        .iter()
        .flat_map(|entry| entry.split(';'))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .peekable();
    if registered.peek().is_none() {
        return true;
    }
    registered
        .filter_map(|entry| Url::parse(entry).ok())
        .any(|registered| matches_registered(&registered, uri))
}

fn matches_registered(registered: &Url, uri: &Url) -> bool {
    let (Some(registered_host), Some(host)) = (registered.host_str(), uri.host_str()) else {
        return false;
    };
    // A sub-domain of an IP address is not a valid host, so a suffix match is enough here.
    let host_ok = host == registered_host
        || host
            .strip_suffix(registered_host)
            .is_some_and(|sub| sub.ends_with('.'));
    let registered_path = registered.path();
    let path_ok = uri.path() == registered_path
        || uri
            .path()
            .strip_prefix(registered_path)
            .is_some_and(|rest| registered_path.ends_with('/') || rest.starts_with('/'));
    registered.scheme() == uri.scheme()
        && registered.port_or_known_default() == uri.port_or_known_default()
        && host_ok
        && path_ok
}

/// 302 to `uri` with `pairs` (and `state`, when the app sent one) appended to its query.
fn redirect(uri: &Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let location = with_params(uri, pairs, state);
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location.as_str()),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

/// Appends the pairs to any query `uri` already has; spaces become `%20`.
fn with_params(uri: &Url, pairs: &[(&str, &str)], state: Option<&str>) -> String {
    let encode = |value: &str| -> String {
        // byte_serialize writes a space as `+` and a literal `+` as `%2B`.
        form_urlencoded::byte_serialize(value.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let added = pairs
        .iter()
        .copied()
        .chain(state.map(|state| ("state", state)))
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let query = match uri.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{added}"),
        _ => added,
    };
    let mut uri = uri.clone();
    uri.set_query(Some(&query));
    uri.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(uris: &[&str]) -> MockClient {
        MockClient {
            client_id: "1".to_owned(),
            client_secret: "s".to_owned(),
            redirect_uris: uris.iter().map(|uri| (*uri).to_owned()).collect(),
        }
    }

    fn allowed(registered: &[&str], uri: &str) -> bool {
        redirect_uri_allowed(&client(registered), &Url::parse(uri).unwrap())
    }

    #[test]
    fn redirect_rules_follow_the_documented_table() {
        let registered = ["https://abc.com/oauth"];
        assert!(allowed(&registered, "https://abc.com/oauth"));
        assert!(allowed(&registered, "https://abc.com/oauth?x=1&y=2"));
        assert!(allowed(&registered, "https://x.abc.com/oauth?x=1&y=2"));
        assert!(allowed(&registered, "https://x.abc.com/oauth/path?x=1&y=2"));
        assert!(!allowed(&registered, "http://abc.com/oauth?x=1"));
        assert!(!allowed(&registered, "https://abc.com:8080/oauth?x=1"));
        assert!(!allowed(&registered, "https://abc.com/oauthx"));
        assert!(!allowed(&registered, "https://xabc.com/oauth"));
        assert!(!allowed(&registered, "https://abc.com.evil.com/oauth"));
        assert!(!allowed(&registered, "https://abc.com@evil.com/oauth"));
        assert!(!allowed(&registered, "https://evil.com/oauth"));
        assert!(allowed(&registered, "https://abc.com:443/oauth"));
    }

    #[test]
    fn several_uris_in_one_entry_and_empty_list() {
        let registered = ["https://mi.com/;https://id.mi.com/"];
        assert!(allowed(&registered, "https://id.mi.com/cb"));
        assert!(!allowed(&registered, "http://id.mi.com/cb"));
        assert!(allowed(&[], "http://127.0.0.1:9/anything"));
        assert!(!allowed(&[], "javascript:alert(1)"));
        assert!(!allowed(
            &["http://127.0.0.1:8080/cb"],
            "http://127.0.0.2:8080/cb"
        ));
    }

    #[test]
    fn params_are_appended_to_an_existing_query() {
        let uri = Url::parse("https://app.example/cb?next=%2Fhome#frag").unwrap();
        assert_eq!(
            with_params(&uri, &[("code", "abc")], Some("s t+&")),
            "https://app.example/cb?next=%2Fhome&code=abc&state=s%20t%2B%26#frag"
        );
        let bare = Url::parse("http://127.0.0.1:8080/cb").unwrap();
        assert_eq!(
            with_params(&bare, &[("error_description", "user denied")], None),
            "http://127.0.0.1:8080/cb?error_description=user%20denied"
        );
    }
}
