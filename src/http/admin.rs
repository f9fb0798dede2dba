//! Management endpoints (`ManagementKey`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;

use super::auth::ManagementKey;
use super::extract::decode;
use super::wire::{AvailableResponse, CreateAppRequest, CreateAppResponse};
use crate::error::{ApiError, ApiResult};
use crate::service::apps;
use crate::AppState;

pub async fn create_app(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<CreateAppResponse>> {
    // The body is optional here: every field has a default.
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        CreateAppRequest::default()
    } else {
        let value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::unreadable(format!("The request body is not valid JSON: {e}"))
        })?;
        decode(value)?
    };
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
