//! Per-app settings over `ApiSecret`: features, purposes (auth configs) and the event log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::auth::{AnySecret, AppKey};
use super::extract::{CompatJson, CompatQuery};
use super::wire::{
    AuthConfigRequest, AuthConfigsResponse, EventsQuery, EventsResponse, PurposeQuery,
    SetFeaturesRequest,
};
use crate::error::ApiResult;
use crate::service::{apps, events, purposes};
use crate::AppState;

type Key = AppKey<AnySecret>;

pub async fn set_features(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<SetFeaturesRequest>,
) -> ApiResult<StatusCode> {
    apps::set_features(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_events(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<EventsQuery>,
) -> ApiResult<Json<EventsResponse>> {
    let page = events::list(&s, &key.tenant.app, q.page_number, q.number_of_results).await?;
    Ok(Json(page))
}

pub async fn list_auth_configs(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<PurposeQuery>,
) -> ApiResult<Json<AuthConfigsResponse>> {
    Ok(Json(purposes::list(&s, &key.tenant, q.purpose).await?))
}

/// 201 with no body, as the original answers.
pub async fn add_auth_config(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<AuthConfigRequest>,
) -> ApiResult<StatusCode> {
    purposes::add(&s, &key.tenant, req).await?;
    Ok(StatusCode::CREATED)
}

pub async fn update_auth_config(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<AuthConfigRequest>,
) -> ApiResult<StatusCode> {
    purposes::update(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_auth_config(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<AuthConfigRequest>,
) -> ApiResult<StatusCode> {
    purposes::delete(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}
