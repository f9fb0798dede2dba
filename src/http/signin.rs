use axum::extract::State;
use axum::Json;

use super::auth::{AppKey, Login, TokenVerify};
use super::extract::CompatJson;
use crate::ceremony::RequestOptions;
use crate::error::ApiResult;
use crate::service::{signin, ClientInfo};
use crate::wire::{
    BeginResponse, GenerateTokenRequest, SigninBeginRequest, SigninCompleteRequest, TokenResponse,
    VerifiedUser, VerifyRequest,
};
use crate::AppState;

pub async fn begin(
    State(s): State<AppState>,
    key: AppKey<Login>,
    CompatJson(req): CompatJson<SigninBeginRequest>,
) -> ApiResult<Json<BeginResponse<RequestOptions>>> {
    Ok(Json(signin::begin(&s, &key.tenant, req).await?))
}

pub async fn complete(
    State(s): State<AppState>,
    key: AppKey<Login>,
    client: ClientInfo,
    CompatJson(req): CompatJson<SigninCompleteRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(signin::complete(&s, &key.tenant, &client, req).await?))
}

pub async fn verify(
    State(s): State<AppState>,
    key: AppKey<TokenVerify>,
    CompatJson(req): CompatJson<VerifyRequest>,
) -> ApiResult<Json<VerifiedUser>> {
    Ok(Json(signin::verify(&s, &key.tenant, req).await?))
}

pub async fn generate_token(
    State(s): State<AppState>,
    key: AppKey<TokenVerify>,
    CompatJson(req): CompatJson<GenerateTokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(signin::generate_token(&s, &key.tenant, req).await?))
}
