//! `GET /api/v1/pools/{pool}/apps/{app}/connections`: what the button shows by default. CORS only
//! for the app's registered origins (an unregistered page cannot read it, which the widget
//! reports as "origin not registered").

use crate::error::ApiError;
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

async fn get_connections(
    State(st): State<AppState>,
    Path((pool_id, app_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pool = st
        .config
        .pool(&pool_id)
        .ok_or(ApiError::NotFound("unknown pool"))?;
    let app = pool
        .app(&app_id)
        .ok_or(ApiError::NotFound("unknown app in this pool"))?;
    let list: Vec<ConnectionInfo> = app
        .connections
        .iter()
        .filter_map(|uid| pool.connection(uid))
        .map(|c| ConnectionInfo {
            unique_id: c.unique_id.clone(),
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
        if app.allows_origin(origin) {
            if let Ok(v) = HeaderValue::from_str(origin) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            }
        }
    }
    Ok(r)
}
