//! Management endpoints (`ManagementKey`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::auth::ManagementKey;
use super::extract::{CompatJson, OptionalJson};
use crate::error::ApiResult;
use crate::service::{admin, apps};
use crate::store::KeyKind;
use crate::wire::{
    ApiKeyItem, AppFeaturesResponse, AvailableResponse, CreateAppRequest, CreateAppResponse,
    CreateKeyRequest, CreateKeyResponse, DeletionResponse, ManageFeaturesRequest,
    MarkDeleteRequest, MessageResponse,
};
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

pub async fn list_keys(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<Vec<ApiKeyItem>>> {
    Ok(Json(admin::list_keys(&s, &app_id).await?))
}

pub async fn create_public_key(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    CompatJson(req): CompatJson<CreateKeyRequest>,
) -> ApiResult<Json<CreateKeyResponse>> {
    Ok(Json(
        admin::create_key(&s, &app_id, KeyKind::Public, req, "System").await?,
    ))
}

pub async fn create_secret_key(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    CompatJson(req): CompatJson<CreateKeyRequest>,
) -> ApiResult<Json<CreateKeyResponse>> {
    Ok(Json(
        admin::create_key(&s, &app_id, KeyKind::Secret, req, "System").await?,
    ))
}

pub async fn lock_key(
    State(s): State<AppState>,
    _: ManagementKey,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    admin::lock_key(&s, &app_id, &key_id, true, "System").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unlock_key(
    State(s): State<AppState>,
    _: ManagementKey,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    admin::lock_key(&s, &app_id, &key_id, false, "System").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_key(
    State(s): State<AppState>,
    _: ManagementKey,
    Path((app_id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    admin::delete_key(&s, &app_id, &key_id, "System").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn freeze(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<StatusCode> {
    admin::freeze(&s, &app_id, true, "System").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unfreeze(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<StatusCode> {
    admin::freeze(&s, &app_id, false, "System").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_features(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<AppFeaturesResponse>> {
    Ok(Json(admin::features(&s, &app_id).await?))
}

pub async fn set_features(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    CompatJson(req): CompatJson<ManageFeaturesRequest>,
) -> ApiResult<StatusCode> {
    admin::set_features(&s, &app_id, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn can_delete_immediately(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<bool>> {
    Ok(Json(admin::can_delete_immediately(&s, &app_id).await?))
}

pub async fn mark_delete(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
    OptionalJson(req): OptionalJson<MarkDeleteRequest>,
) -> ApiResult<Json<DeletionResponse>> {
    Ok(Json(admin::mark_delete(&s, &app_id, req.deleted_by).await?))
}

pub async fn cancel_delete(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<MessageResponse>> {
    admin::cancel_delete(&s, &app_id, "System").await?;
    Ok(Json(MessageResponse {
        message: "Your account will not be deleted since the process was aborted with the cancellation link",
    }))
}

pub async fn delete_app(
    State(s): State<AppState>,
    _: ManagementKey,
    Path(app_id): Path<String>,
) -> ApiResult<Json<DeletionResponse>> {
    Ok(Json(admin::delete(&s, &app_id).await?))
}

pub async fn pending_deletion(
    State(s): State<AppState>,
    _: ManagementKey,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(admin::pending_deletion(&s).await?))
}
