//! The Passage-style backend API under `/v1/apps/{app_id}/`, with
//! `Authorization: Bearer <the app's ApiSecret>`.
//!
//! Errors are the usual problem documents with two more members, `code` and `error`, which
//! are what Passage's SDKs read.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::auth::{authenticate, AnySecret};
use super::extract::CompatJson;
use crate::error::ApiError;
use crate::service::{passage, Tenant};
use crate::store::UserStatus;
use crate::wire::{
    AppEnvelope, DeviceEnvelope, DevicesEnvelope, MagicLinkEnvelope, PassageDeviceRequest,
    PassageListQuery, PassageMagicLinkRequest, PassageUserList, PassageUserRequest, UserEnvelope,
};
use crate::AppState;

/// An [`ApiError`] answered with Passage's `code` and `error` members too.
pub struct PassageError(ApiError);

impl From<ApiError> for PassageError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

/// Passage's code for an error: its own where passkeyd has the same one, else by status.
fn passage_code(e: &ApiError) -> &'static str {
    match (e.status, e.error_code) {
        (_, code @ ("user_not_found" | "device_not_found" | "app_not_found")) => code,
        (StatusCode::UNAUTHORIZED, _) => "invalid_access_token",
        (StatusCode::FORBIDDEN, _) => "operation_not_allowed",
        (StatusCode::NOT_FOUND, _) => "not_found",
        (StatusCode::CONFLICT, _) => "identifier_already_exists",
        (StatusCode::TOO_MANY_REQUESTS, _) => "too_many_requests",
        (s, _) if s.is_server_error() => "internal_server_error",
        _ => "invalid_request",
    }
}

impl IntoResponse for PassageError {
    fn into_response(self) -> Response {
        let mut e = self.0;
        let code = passage_code(&e);
        let message = e.detail.clone().unwrap_or_else(|| e.title.clone());
        e.extensions.insert("code".into(), code.into());
        e.extensions.insert("error".into(), message.into());
        e.into_response()
    }
}

type PassageResult<T> = Result<T, PassageError>;

/// A JSON body read as [`CompatJson`] reads it, refused with Passage's members too.
pub struct PassageJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for PassageJson<T> {
    type Rejection = PassageError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> PassageResult<Self> {
        let CompatJson(value) = CompatJson::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// A request authenticated by `Authorization: Bearer <ApiSecret>` of the app in the path.
pub struct PassageApp(pub Tenant);

fn invalid_token() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_access_token",
        "A valid 'Authorization: Bearer <ApiSecret>' header for this app is required.",
    );
    e.www_authenticate = Some("Bearer");
    e
}

impl FromRequestParts<AppState> for PassageApp {
    type Rejection = PassageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> PassageResult<Self> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let tenant =
            authenticate::<AnySecret>(parts, state, bearer.as_deref(), invalid_token).await?;
        // Another app's secret is no key for this one.
        if params.get("app_id") != Some(&tenant.app.id) {
            return Err(invalid_token().into());
        }
        Ok(Self(tenant))
    }
}

pub async fn get_app(PassageApp(t): PassageApp) -> PassageResult<Json<AppEnvelope>> {
    Ok(Json(AppEnvelope {
        app: passage::app_info(&t),
    }))
}

pub async fn list_users(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    query: Result<Query<PassageListQuery>, axum::extract::rejection::QueryRejection>,
) -> PassageResult<Json<PassageUserList>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))?;
    Ok(Json(passage::list_users(&s, &t, q).await?))
}

pub async fn create_user(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    PassageJson(req): PassageJson<PassageUserRequest>,
) -> PassageResult<(StatusCode, Json<UserEnvelope>)> {
    let user = passage::create_user(&s, &t, req).await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope { user })))
}

pub async fn get_user(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<UserEnvelope>> {
    let user = passage::get_user(&s, &t, &user_id).await?;
    Ok(Json(UserEnvelope { user }))
}

pub async fn update_user(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
    PassageJson(req): PassageJson<PassageUserRequest>,
) -> PassageResult<Json<UserEnvelope>> {
    let user = passage::update_user(&s, &t, &user_id, req).await?;
    Ok(Json(UserEnvelope { user }))
}

pub async fn delete_user(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<Value>> {
    passage::delete_user(&s, &t, &user_id).await?;
    Ok(Json(json!({})))
}

pub async fn activate(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<UserEnvelope>> {
    let user = passage::set_status(&s, &t, &user_id, UserStatus::Active).await?;
    Ok(Json(UserEnvelope { user }))
}

pub async fn deactivate(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<UserEnvelope>> {
    let user = passage::set_status(&s, &t, &user_id, UserStatus::Inactive).await?;
    Ok(Json(UserEnvelope { user }))
}

pub async fn list_devices(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<DevicesEnvelope>> {
    let devices = passage::list_devices(&s, &t, &user_id).await?;
    Ok(Json(DevicesEnvelope { devices }))
}

pub async fn update_device(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id, device_id)): Path<(String, String, String)>,
    PassageJson(req): PassageJson<PassageDeviceRequest>,
) -> PassageResult<Json<DeviceEnvelope>> {
    let device = passage::update_device(&s, &t, &user_id, &device_id, req).await?;
    Ok(Json(DeviceEnvelope { device }))
}

pub async fn revoke_device(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id, device_id)): Path<(String, String, String)>,
) -> PassageResult<Json<Value>> {
    passage::revoke_device(&s, &t, &user_id, &device_id).await?;
    Ok(Json(json!({})))
}

pub async fn revoke_tokens(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    Path((_, user_id)): Path<(String, String)>,
) -> PassageResult<Json<Value>> {
    passage::revoke_tokens(&s, &t, &user_id).await?;
    Ok(Json(json!({})))
}

pub async fn create_magic_link(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    PassageJson(req): PassageJson<PassageMagicLinkRequest>,
) -> PassageResult<(StatusCode, Json<MagicLinkEnvelope>)> {
    let magic_link = passage::create_magic_link(&s, &t, req).await?;
    Ok((StatusCode::CREATED, Json(MagicLinkEnvelope { magic_link })))
}
