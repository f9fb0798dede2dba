//! Aliases, credentials and users (`ApiSecret`, any scope).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::auth::{AnySecret, AppKey};
use super::extract::{CompatJson, CompatQuery};
use crate::error::ApiResult;
use crate::service::users;
use crate::wire::{
    AliasItem, CountResponse, CredentialItem, DeleteCredentialRequest, ListResponse,
    SetAliasesRequest, UserIdRequest, UserItem,
};
use crate::AppState;

type Key = AppKey<AnySecret>;

pub async fn set_aliases(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<SetAliasesRequest>,
) -> ApiResult<StatusCode> {
    users::set_aliases(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_aliases(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<UserIdRequest>,
) -> ApiResult<Json<ListResponse<AliasItem>>> {
    let values = users::list_aliases(&s, &key.tenant, q.user_id).await?;
    Ok(Json(ListResponse { values }))
}

pub async fn list_credentials_get(
    State(s): State<AppState>,
    key: Key,
    CompatQuery(q): CompatQuery<UserIdRequest>,
) -> ApiResult<Json<ListResponse<CredentialItem>>> {
    let values = users::list_credentials(&s, &key.tenant, q.user_id).await?;
    Ok(Json(ListResponse { values }))
}

pub async fn list_credentials_post(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<UserIdRequest>,
) -> ApiResult<Json<ListResponse<CredentialItem>>> {
    // The POST form reports a missing id as a validation problem, like the original.
    let mut v = crate::service::Validator::default();
    let user_id = v.required("userId", "UserId", req.user_id.as_deref());
    v.finish()?;
    let values = users::list_credentials(&s, &key.tenant, Some(user_id)).await?;
    Ok(Json(ListResponse { values }))
}

pub async fn delete_credential(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<DeleteCredentialRequest>,
) -> ApiResult<StatusCode> {
    users::delete_credential(&s, &key.tenant, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_users(
    State(s): State<AppState>,
    key: Key,
) -> ApiResult<Json<ListResponse<UserItem>>> {
    let values = users::list_users(&s, &key.tenant).await?;
    Ok(Json(ListResponse { values }))
}

pub async fn count_users(State(s): State<AppState>, key: Key) -> ApiResult<Json<CountResponse>> {
    let count = users::count_users(&s, &key.tenant).await?;
    Ok(Json(CountResponse { count }))
}

/// 200 with an empty body, as the original answers.
pub async fn delete_user(
    State(s): State<AppState>,
    key: Key,
    CompatJson(req): CompatJson<UserIdRequest>,
) -> ApiResult<StatusCode> {
    users::delete_user(&s, &key.tenant, req.user_id).await?;
    Ok(StatusCode::OK)
}
