//! Per-app endpoints over `ApiSecret` beyond ceremonies and users: features, purposes (auth
//! configs), the event log, magic links, authenticator lists and reports.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::auth::{AnySecret, AppKey};
use super::extract::{CompatJson, CompatQuery};
use crate::error::ApiResult;
use crate::service::{apps, authenticators, events, magic, purposes, reports};
use crate::wire::{
    ActiveUserReportItem, AuthConfigRequest, AuthConfigsResponse, AuthenticatorItem,
    AuthenticatorsQuery, AuthenticatorsRequest, CredentialReportItem, EventsQuery, EventsResponse,
    MagicLinkRequest, PeriodQuery, PurposeQuery, SetFeaturesRequest,
};
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

pub async fn send_magic_link(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<MagicLinkRequest>,
) -> ApiResult<StatusCode> {
    magic::send(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_authenticators(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<AuthenticatorsQuery>,
) -> ApiResult<Json<Vec<AuthenticatorItem>>> {
    Ok(Json(
        authenticators::list(&s, &key.tenant, q.is_allowed).await?,
    ))
}

pub async fn add_authenticators(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<AuthenticatorsRequest>,
) -> ApiResult<StatusCode> {
    authenticators::add(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_authenticators(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<AuthenticatorsRequest>,
) -> ApiResult<StatusCode> {
    authenticators::remove(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn credentials_report(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<PeriodQuery>,
) -> ApiResult<Json<Vec<CredentialReportItem>>> {
    Ok(Json(reports::credentials(&s, &key.tenant, q).await?))
}

pub async fn active_users_report(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<PeriodQuery>,
) -> ApiResult<Json<Vec<ActiveUserReportItem>>> {
    Ok(Json(reports::active_users(&s, &key.tenant, q).await?))
}
