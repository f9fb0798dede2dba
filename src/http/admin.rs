//! Management endpoints (`ManagementKey`).

use axum::extract::{Path, State};
use axum::Json;

use super::auth::ManagementKey;
use super::extract::OptionalJson;
use super::wire::{AvailableResponse, CreateAppRequest, CreateAppResponse};
use crate::error::ApiResult;
use crate::service::apps;
use crate::AppState;

pub async fn create_app(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    // Every field has a default, so the body may be left out.
    OptionalJson(req): OptionalJson<CreateAppRequest>,
) -> ApiResult<Json<CreateAppResponse>> {
    Ok(Json(apps::create(&s, &app_id, req).await?))
}

pub async fn app_available(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<AvailableResponse>> {
    let available = apps::available(&s, &app_id).await?;
    Ok(Json(AvailableResponse { available }))
}
