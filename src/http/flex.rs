//! Passkey Flex under `/v1/apps/{app_id}/`: the backend's transactions and nonce check
//! (`Authorization: Bearer <ApiSecret>`), and the browser's ceremony calls, which carry no
//! key: the app comes from the path and the caller from the `Origin` header, checked against
//! the app's origin policy.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;

use super::extract::OptionalJson;
use super::passage::{PassageApp, PassageError, PassageJson};
use super::rate_limit::Limiters;
use crate::error::ApiError;
use crate::service::{flex, ClientInfo, Tenant};
use crate::wire::{
    FlexAuthenticateFinishRequest, FlexNonceResponse, FlexRegisterFinishRequest, FlexStartRequest,
    FlexStartResponse, FlexTransactionRequest, FlexTransactionResponse, FlexVerifyRequest,
    FlexVerifyResponse,
};
use crate::AppState;

type FlexResult<T> = Result<Json<T>, PassageError>;

/// A browser call for the app in the path, and its `Origin` header.
pub struct FlexBrowser {
    tenant: Tenant,
    origin: Option<String>,
}

impl FromRequestParts<AppState> for FlexBrowser {
    type Rejection = PassageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PassageError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        let app_id = params.get("app_id").cloned().unwrap_or_default();
        let app = state
            .store
            .find_app(&app_id)
            .await
            .map_err(ApiError::from)?
            .filter(|a| !a.frozen && a.delete_at.is_none())
            .ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, "app_not_found", "App not found.")
            })?;
        // Browser traffic uses the app's allowance, as the ApiKey calls do.
        if let Some(Err(wait)) = parts
            .extensions
            .get::<Arc<Limiters>>()
            .map(|l| l.charge_app(&app.id))
        {
            return Err(ApiError::rate_limited(wait).into());
        }
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            tenant: Tenant {
                app,
                key_id: String::new(),
                now: state.clock.now(),
                actor: None,
            },
            origin,
        })
    }
}

pub async fn register_transaction(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    PassageJson(req): PassageJson<FlexTransactionRequest>,
) -> FlexResult<FlexTransactionResponse> {
    Ok(Json(flex::register_transaction(&s, &t, req).await?))
}

pub async fn authenticate_transaction(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    PassageJson(req): PassageJson<FlexTransactionRequest>,
) -> FlexResult<FlexTransactionResponse> {
    Ok(Json(flex::authenticate_transaction(&s, &t, req).await?))
}

pub async fn verify(
    State(s): State<AppState>,
    PassageApp(t): PassageApp,
    PassageJson(req): PassageJson<FlexVerifyRequest>,
) -> FlexResult<FlexVerifyResponse> {
    Ok(Json(flex::verify(&s, &t, req).await?))
}

pub async fn register_start(
    State(s): State<AppState>,
    b: FlexBrowser,
    PassageJson(req): PassageJson<FlexStartRequest>,
) -> FlexResult<FlexStartResponse> {
    Ok(Json(
        flex::register_start(&s, &b.tenant, b.origin, req).await?,
    ))
}

pub async fn register_finish(
    State(s): State<AppState>,
    b: FlexBrowser,
    client: ClientInfo,
    PassageJson(req): PassageJson<FlexRegisterFinishRequest>,
) -> FlexResult<FlexNonceResponse> {
    Ok(Json(
        flex::register_finish(&s, &b.tenant, &client, b.origin, req).await?,
    ))
}

pub async fn authenticate_start(
    State(s): State<AppState>,
    b: FlexBrowser,
    // Autofill may send no body at all.
    body: Result<OptionalJson<FlexStartRequest>, ApiError>,
) -> FlexResult<FlexStartResponse> {
    let OptionalJson(req) = body?;
    Ok(Json(
        flex::authenticate_start(&s, &b.tenant, b.origin, req).await?,
    ))
}

pub async fn authenticate_finish(
    State(s): State<AppState>,
    b: FlexBrowser,
    client: ClientInfo,
    PassageJson(req): PassageJson<FlexAuthenticateFinishRequest>,
) -> FlexResult<FlexNonceResponse> {
    Ok(Json(
        flex::authenticate_finish(&s, &b.tenant, &client, b.origin, req).await?,
    ))
}
