//! The open API (open.account.xiaomi.com): `/user/profile`, `/user/openidV2` and
//! `/user/phoneAndEmail`, all `GET ?clientId=…&token=…`, answered in the
//! `{"result","description","data","code"}` envelope without a prefix.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{latency, number, parse_pairs, scope_ids, status_page, Calls, Faults, Grant, Mock};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Profile,
    OpenId,
    PhoneAndEmail,
}

pub(super) async fn get_profile(State(mock): State<Mock>, RawQuery(query): RawQuery) -> Response {
    open_api(mock, query, Api::Profile).await
}

pub(super) async fn get_openid(State(mock): State<Mock>, RawQuery(query): RawQuery) -> Response {
    open_api(mock, query, Api::OpenId).await
}

pub(super) async fn get_phone_and_email(
    State(mock): State<Mock>,
    RawQuery(query): RawQuery,
) -> Response {
    open_api(mock, query, Api::PhoneAndEmail).await
}

async fn open_api(mock: Mock, query: Option<String>, api: Api) -> Response {
    let counter: fn(&mut Calls) -> &mut u64 = match api {
        Api::Profile => |calls| &mut calls.profile,
        Api::OpenId => |calls| &mut calls.openid,
        Api::PhoneAndEmail => |calls| &mut calls.phone_and_email,
    };
    let faults = mock.count(counter);
    latency(&faults).await;

    if api == Api::Profile {
        if let Some(status) = faults.profile_status {
            return status_page(status);
        }
        if let Some(raw) = &faults.profile_malformed {
            return json_response(StatusCode::OK, raw.clone());
        }
        if let Some(code) = faults.profile_error {
            let status = faults
                .profile_error_status
                .and_then(|status| StatusCode::from_u16(status).ok())
                .unwrap_or(StatusCode::OK);
            return error(&faults, status, code, "mock profile error");
        }
    }

    let params = parse_pairs(query.unwrap_or_default().as_bytes());
    let grant = match authenticate(&mock, params.get("clientId"), params.get("token")) {
        Ok(grant) => grant,
        Err((code, description)) => return error(&faults, StatusCode::OK, code, description),
    };
    let Some(account) = mock.account(&grant.account_id) else {
        return error(&faults, StatusCode::OK, 96008, "invalid token");
    };

    let data = match api {
        Api::Profile => {
            let nickname = faults
                .nickname_override
                .as_ref()
                .unwrap_or(&account.nickname);
            let icon = |size: &str| match &faults.avatar_override {
                Some(avatar) => avatar.clone(),
                None => sized(&account.avatar, size),
            };
            json!({
                "miliaoNick": nickname,
                "miliaoIcon": icon(""),
                "miliaoIcon_75": icon("75"),
                "miliaoIcon_90": icon("90"),
                "miliaoIcon_120": icon("120"),
                "miliaoIcon_320": icon("320"),
                "miliaoIcon_orig": icon("orig"),
                "unionId": account.union_id,
            })
        }
        Api::OpenId => {
            let key = if faults.openid_key_lowercase {
                "openid"
            } else {
                "openId"
            };
            let open_id = faults.openid_override.as_ref().unwrap_or(&account.open_id);
            json!({ key: open_id })
        }
        Api::PhoneAndEmail => {
            let phone = scope_ids(&grant.scope).any(|id| id == "4");
            let email = scope_ids(&grant.scope).any(|id| id == "6");
            if faults.phone_email_refused || !(phone || email) {
                return error(
                    &faults,
                    StatusCode::OK,
                    96005,
                    "the app was not granted this permission",
                );
            }
            let granted = |granted: bool, value: &str| if granted { value } else { "" }.to_owned();
            json!({
                "phone": granted(phone, faults.phone_override.as_ref().unwrap_or(&account.phone)),
                "email": granted(email, faults.email_override.as_ref().unwrap_or(&account.email)),
            })
        }
    };
    let body = json!({
        "result": "ok",
        "description": "no error",
        "data": data,
        "code": number(&faults, 0),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// The grant behind `token`, if it was issued to `client_id`.
fn authenticate(
    mock: &Mock,
    client_id: Option<&String>,
    token: Option<&String>,
) -> Result<Grant, (i64, &'static str)> {
    let (Some(client_id), Some(token)) = (client_id, token) else {
        return Err((96002, "missing parameter: clientId and token are required"));
    };
    let grant = mock
        .lock()
        .access_tokens
        .get(token)
        .cloned()
        .ok_or((96008, "invalid token"))?;
    if &grant.client_id != client_id {
        return Err((96012, "token and client do not match"));
    }
    Ok(grant)
}

/// `…/avatar.jpg` → `…/avatar_75.jpg`, as in the sizes seen in real bodies.
fn sized(avatar: &str, size: &str) -> String {
    match avatar.strip_suffix(".jpg") {
        Some(stem) if !size.is_empty() => format!("{stem}_{size}.jpg"),
        _ => avatar.to_owned(),
    }
}

fn error(faults: &Faults, status: StatusCode, code: i64, description: &str) -> Response {
    let body = json!({
        "result": "error",
        "description": description,
        "code": number(faults, code),
    });
    json_response(status, body.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
