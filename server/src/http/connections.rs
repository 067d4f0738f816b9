//! `GET /api/v1/pools/{pool}/apps/{app}/connections`: what the button shows by default. CORS only
//! for the app's registered origins (an unregistered page cannot read it, which the widget
//! reports as "origin not registered").
//!
//! CORS is written out here rather than with tower-http's `CorsLayer`: the allowed origins depend
//! on the path's pool and app (a `CorsLayer` predicate would need the configuration and a second
//! parse of the path), and unknown pools and apps answer `*` on purpose (see [`unknown`]).

use super::error::ApiError;
use crate::domain::Origin;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use milogin_shared::ConnectionInfo;

/// The connections list.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/pools/{pool}/apps/{app}/connections",
        get(get_connections),
    )
}

/// Unknown pool or app: readable by any page (`Access-Control-Allow-Origin: *`), so the widget
/// can name the mistake instead of guessing at CORS; it reveals nothing a page does not hold.
fn unknown(what: &'static str) -> Response {
    let mut r = ApiError::NotFound(what).into_response();
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

async fn get_connections(
    State(st): State<AppState>,
    Path((pool_id, app_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(pool) = st.config.pool(&pool_id) else {
        return Ok(unknown("unknown pool"));
    };
    let Some(app) = pool.app(&app_id) else {
        return Ok(unknown("unknown app in this pool"));
    };
    let list: Vec<ConnectionInfo> = app
        .connections
        .iter()
        .filter_map(|uid| pool.connection(uid))
        .map(|c| ConnectionInfo {
            unique_id: c.unique_id.to_string(),
            kind: "xiaomi".into(),
            display_name: c.display_name.clone(),
        })
        .collect();
    let mut r = Json(list).into_response();
    let h = r.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        if Origin::parse(origin).is_ok_and(|o| app.allows_origin(&o)) {
            if let Ok(v) = HeaderValue::from_str(origin) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            }
        }
    }
    Ok(r)
}
