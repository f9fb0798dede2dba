use axum::extract::State;
use axum::Json;

use super::auth::{AppKey, Register, TokenRegister};
use super::extract::CompatJson;
use crate::ceremony::CreationOptions;
use crate::error::ApiResult;
use crate::service::{register, ClientInfo};
use crate::wire::{
    BeginResponse, RegisterBeginRequest, RegisterCompleteRequest, RegisterTokenRequest,
    TokenResponse,
};
use crate::AppState;

pub async fn token(
    State(s): State<AppState>,
    key: AppKey<TokenRegister>,
    CompatJson(req): CompatJson<RegisterTokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(register::issue(&s, &key.tenant, req).await?))
}

pub async fn begin(
    State(s): State<AppState>,
    key: AppKey<Register>,
    CompatJson(req): CompatJson<RegisterBeginRequest>,
) -> ApiResult<Json<BeginResponse<CreationOptions>>> {
    Ok(Json(register::begin(&s, &key.tenant, req).await?))
}

pub async fn complete(
    State(s): State<AppState>,
    key: AppKey<Register>,
    client: ClientInfo,
    CompatJson(req): CompatJson<RegisterCompleteRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(
        register::complete(&s, &key.tenant, &client, req).await?,
    ))
}
