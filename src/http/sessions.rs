//! Session JWTs: `/signin/session` (ApiSecret), the public JWKS, and management.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::auth::{AppKey, ManagementKey, TokenVerify};
use super::extract::CompatJson;
use crate::error::{ApiError, ApiResult};
use crate::service::sessions;
use crate::wire::{SessionResponse, SessionSettings, SessionSettingsRequest, VerifyRequest};
use crate::AppState;

pub async fn create(
    State(s): State<AppState>,
    key: AppKey<TokenVerify>,
    CompatJson(req): CompatJson<VerifyRequest>,
) -> ApiResult<Json<SessionResponse>> {
    Ok(Json(sessions::create(&s, &key.tenant, req).await?))
}

/// Verifiers may cache the set this long. A rotated-in key signs at once, so a verifier that
/// meets an unknown `kid` fetches the set again (as jose, which passage-node uses, does).
const JWKS_CACHE: &str = "public, max-age=300";

pub async fn jwks(
    State(s): State<AppState>,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let set = sessions::jwks(&s, &app_id).await?;
    Ok(([(header::CACHE_CONTROL, JWKS_CACHE)], Json(set)))
}

#[derive(Deserialize)]
pub struct JwksQuery {
    #[serde(rename = "appId")]
    app_id: Option<String>,
}

/// `/.well-known/jwks.json?appId=…`: the same set, for verifiers that want the usual path.
pub async fn jwks_by_query(
    State(s): State<AppState>,
    Query(q): Query<JwksQuery>,
) -> ApiResult<impl IntoResponse> {
    let app_id = q
        .app_id
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::validation("appId", "The appId query parameter is required."))?;
    let set = sessions::jwks(&s, &app_id).await?;
    Ok(([(header::CACHE_CONTROL, JWKS_CACHE)], Json(set)))
}

pub async fn settings(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<SessionSettings>> {
    Ok(Json(sessions::settings(&s, &app_id).await?))
}

pub async fn set_lifetime(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    CompatJson(req): CompatJson<SessionSettingsRequest>,
) -> ApiResult<Json<SessionSettings>> {
    Ok(Json(sessions::set_lifetime(&s, &app_id, req).await?))
}

pub async fn rotate(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<SessionSettings>> {
    Ok(Json(sessions::rotate(&s, &app_id).await?))
}
