//! Passkey Flex: the backend asks for a transaction for one of its users, the browser runs the
//! ceremony with it and gets a nonce, and the backend exchanges the nonce for the user.
//!
//! It is passkeyd's own model under other names: a registration transaction is a register
//! token, an authentication transaction a `transaction` token naming the user, a handshake
//! the sealed ceremony session, and a nonce a verify token. The ceremonies are the
//! Passwordless.dev ones; the RP ID and origins come from the app's origin policy, since the
//! browser calls carry neither.

use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{
    check_user_id, issue_token, register, signin, take_token, ClientInfo, Tenant, Validator,
};
use crate::ceremony::UserVerification;
use crate::error::{ApiError, ApiResult};
use crate::store::TokenKind;
use crate::tokens;
use crate::wire::{
    Caller, FlexAuthenticateFinishRequest, FlexChallenge, FlexHandshake, FlexNonceResponse,
    FlexRegisterFinishRequest, FlexStartRequest, FlexStartResponse, FlexTransactionRequest,
    FlexTransactionResponse, FlexVerifyRequest, FlexVerifyResponse, RegisterBeginRequest,
    RegisterCompleteRequest, RegisterTokenRequest, SigninBeginRequest, SigninCompleteRequest,
    VerifiedUser,
};
use crate::Services;

/// How long a transaction waits for its ceremony.
const TRANSACTION_SECONDS: i64 = 300;
const DISPLAY_NAME_CHARS: usize = 64;

/// What an authentication transaction stores.
#[derive(Serialize, Deserialize)]
struct AuthTransaction {
    user_id: String,
    user_verification: Option<String>,
}

fn parse_uv(v: &mut Validator, value: Option<&str>) -> Option<UserVerification> {
    let text = value.filter(|t| !t.is_empty())?;
    let parsed = UserVerification::parse(text);
    if parsed.is_none() {
        v.error(
            "user_verification",
            "The user_verification field must be required, preferred or discouraged.",
        );
    }
    parsed
}

fn external_id(v: &mut Validator, req: &FlexTransactionRequest) -> String {
    let id = v.required("external_id", "external_id", req.external_id.as_deref());
    check_user_id(v, "external_id", &id);
    id
}

/// `POST transactions/register` (backend).
pub async fn register_transaction(
    s: &Services,
    tenant: &Tenant,
    req: FlexTransactionRequest,
) -> ApiResult<FlexTransactionResponse> {
    let mut v = Validator::default();
    let user_id = external_id(&mut v, &req);
    let name = req
        .passkey_display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| user_id.clone());
    if name.chars().count() > DISPLAY_NAME_CHARS {
        v.error(
            "passkey_display_name",
            format!(
                "The passkey_display_name field must be at most {DISPLAY_NAME_CHARS} characters."
            ),
        );
    }
    let uv = parse_uv(&mut v, req.user_verification.as_deref());
    v.finish()?;
    let expires_at = tenant.now + Duration::seconds(TRANSACTION_SECONDS);
    let token = register::issue(
        s,
        tenant,
        RegisterTokenRequest {
            user_id: Some(user_id),
            username: Some(name.clone()),
            display_name: Some(name),
            discoverable: Some(true),
            user_verification: uv.map(|u| u.as_str().to_owned()),
            expires_at: Some(super::format_time(expires_at)),
            ..RegisterTokenRequest::default()
        },
    )
    .await?
    .token;
    Ok(FlexTransactionResponse {
        transaction_id: token,
    })
}

/// `POST transactions/authenticate` (backend).
pub async fn authenticate_transaction(
    s: &Services,
    tenant: &Tenant,
    req: FlexTransactionRequest,
) -> ApiResult<FlexTransactionResponse> {
    let mut v = Validator::default();
    let user_id = external_id(&mut v, &req);
    let uv = parse_uv(&mut v, req.user_verification.as_deref());
    v.finish()?;
    let expires_at = tenant.now + Duration::seconds(TRANSACTION_SECONDS);
    let payload = AuthTransaction {
        user_id,
        user_verification: uv.map(|u| u.as_str().to_owned()),
    };
    let token = issue_token(
        s,
        tenant,
        TokenKind::Transaction,
        tokens::TRANSACTION,
        &payload,
        expires_at,
        None,
    )
    .await?;
    Ok(FlexTransactionResponse {
        transaction_id: token,
    })
}

/// The caller of a browser call: its `Origin` header, and the app's first RP ID. Flex sends no
/// RP ID, so an app must say which one it uses.
fn caller(tenant: &Tenant, origin: Option<String>) -> ApiResult<Caller> {
    let features = &tenant.app.features;
    let Some(rp_id) = features.allowed_rp_ids.first() else {
        return Err(ApiError::bad_request(
            "origin_policy_missing",
            "Passkey Flex needs the app's origin policy: set allowedRpIds and allowedOrigins with \
             POST /admin/apps/{appId}/features.",
        ));
    };
    if features.allowed_origins.is_empty() {
        return Err(ApiError::bad_request(
            "origin_policy_missing",
            "Passkey Flex needs the app's origin policy: set allowedOrigins with \
             POST /admin/apps/{appId}/features.",
        ));
    }
    Ok(Caller {
        origin,
        rp_id: Some(rp_id.clone()),
    })
}

fn handshake<T: Serialize>(options: T, session: String) -> ApiResult<FlexStartResponse> {
    Ok(FlexStartResponse {
        handshake: FlexHandshake {
            id: session,
            challenge: FlexChallenge {
                public_key: serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?,
            },
        },
    })
}

fn unknown_transaction() -> ApiError {
    ApiError::bad_request(
        "invalid_transaction",
        "The transaction is unknown, used, expired, or of another kind.",
    )
}

fn transaction_required() -> ApiError {
    ApiError::validation("transaction_id", "The transaction_id field is required.")
}

/// The browser's `register/transactions/webauthn/start`.
pub async fn register_start(
    s: &Services,
    tenant: &Tenant,
    origin: Option<String>,
    req: FlexStartRequest,
) -> ApiResult<FlexStartResponse> {
    let caller = caller(tenant, origin)?;
    let transaction = req.transaction_id.filter(|t| !t.is_empty());
    if transaction.is_none() {
        return Err(transaction_required());
    }
    let attachment = req
        .authenticator_attachment
        .filter(|a| !a.is_empty() && a != "any");
    let begun = register::begin_with(
        s,
        tenant,
        RegisterBeginRequest {
            token: transaction,
            caller,
        },
        attachment,
    )
    .await
    .map_err(transaction_error)?;
    handshake(begun.data, begun.session)
}

/// Errors about the token a ceremony started from are about the transaction here.
fn transaction_error(e: ApiError) -> ApiError {
    if matches!(
        e.error_code,
        "invalid_token" | "invalid_token_format" | "expired_token" | "missing_token"
    ) {
        unknown_transaction()
    } else {
        e
    }
}

/// The browser's `register/transactions/webauthn/finish`: the transaction is used up, and the
/// ceremony's verify token becomes the nonce.
pub async fn register_finish(
    s: &Services,
    tenant: &Tenant,
    client: &ClientInfo,
    origin: Option<String>,
    req: FlexRegisterFinishRequest,
) -> ApiResult<FlexNonceResponse> {
    let caller = caller(tenant, origin)?;
    let Some(transaction) = req.transaction_id.filter(|t| !t.is_empty()) else {
        return Err(transaction_required());
    };
    // The handshake must be for the transaction's user, and the transaction works once.
    let user = register::token_user(s, tenant, Some(&transaction))
        .await
        .map_err(transaction_error)?;
    if register::session_user(s, tenant, req.handshake_id.as_deref())? != user {
        return Err(unknown_transaction());
    }
    let grant_name = take_transaction(
        s,
        tenant,
        TokenKind::Register,
        tokens::REGISTER,
        &transaction,
    )
    .await?
    .and_then(|v: serde_json::Value| v["display_name"].as_str().map(str::to_owned));
    let done = register::complete(
        s,
        tenant,
        client,
        RegisterCompleteRequest {
            session: req.handshake_id,
            response: req.handshake_response,
            nickname: grant_name,
            caller,
        },
    )
    .await?;
    Ok(FlexNonceResponse { nonce: done.token })
}

/// Uses a transaction up; returns its payload.
async fn take_transaction<T: serde::de::DeserializeOwned + Send + 'static>(
    s: &Services,
    tenant: &Tenant,
    kind: TokenKind,
    prefix: &str,
    token: &str,
) -> ApiResult<Option<T>> {
    take_token(s, tenant, kind, prefix, Some(token), |_: &T| None)
        .await
        .map(Some)
        .map_err(transaction_error)
}

/// The browser's `authenticate/transactions/webauthn/start`; without a transaction, a
/// discoverable sign-in (autofill).
pub async fn authenticate_start(
    s: &Services,
    tenant: &Tenant,
    origin: Option<String>,
    req: FlexStartRequest,
) -> ApiResult<FlexStartResponse> {
    let caller = caller(tenant, origin)?;
    let (user_id, uv) = match req.transaction_id.filter(|t| !t.is_empty()) {
        Some(transaction) => {
            let t: AuthTransaction = super::read_token(
                s,
                tenant,
                TokenKind::Transaction,
                tokens::TRANSACTION,
                Some(&transaction),
            )
            .await
            .map_err(transaction_error)?;
            let uv = t
                .user_verification
                .as_deref()
                .and_then(UserVerification::parse);
            (Some(t.user_id), uv)
        }
        None => (None, None),
    };
    let begun = signin::begin_with(
        s,
        tenant,
        SigninBeginRequest {
            user_id,
            caller,
            ..SigninBeginRequest::default()
        },
        uv,
    )
    .await?;
    handshake(begun.data, begun.session)
}

/// The browser's `authenticate/transactions/webauthn/finish`.
pub async fn authenticate_finish(
    s: &Services,
    tenant: &Tenant,
    client: &ClientInfo,
    origin: Option<String>,
    req: FlexAuthenticateFinishRequest,
) -> ApiResult<FlexNonceResponse> {
    let caller = caller(tenant, origin)?;
    let named = signin::session_user(s, tenant, req.handshake_id.as_deref())?;
    match (req.transaction_id.filter(|t| !t.is_empty()), named) {
        (Some(transaction), Some(user)) => {
            let t: Option<AuthTransaction> = take_transaction(
                s,
                tenant,
                TokenKind::Transaction,
                tokens::TRANSACTION,
                &transaction,
            )
            .await?;
            if t.is_none_or(|t| t.user_id != user) {
                return Err(unknown_transaction());
            }
        }
        // A discoverable handshake needs no transaction; a named one always has one.
        (None, None) => {}
        _ => return Err(unknown_transaction()),
    }
    let done = signin::complete(
        s,
        tenant,
        client,
        SigninCompleteRequest {
            session: req.handshake_id,
            response: req.handshake_response,
            caller,
        },
    )
    .await?;
    Ok(FlexNonceResponse { nonce: done.token })
}

/// `POST authenticate/verify` (backend): a nonce works once, for the app that issued it.
pub async fn verify(
    s: &Services,
    tenant: &Tenant,
    req: FlexVerifyRequest,
) -> ApiResult<FlexVerifyResponse> {
    let verified: VerifiedUser = take_token(
        s,
        tenant,
        TokenKind::Verify,
        tokens::VERIFY,
        req.nonce.as_deref(),
        |_: &VerifiedUser| None,
    )
    .await
    .map_err(|e| {
        if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::FORBIDDEN {
            ApiError::bad_request("invalid_nonce", "The nonce is unknown, used or expired.")
        } else {
            e
        }
    })?;
    let ceremony = match verified.type_.as_str() {
        "passkey_register" => "register",
        "passkey_signin" => "authenticate",
        _ => {
            return Err(ApiError::bad_request(
                "invalid_nonce",
                "This token is not a Flex nonce.",
            ))
        }
    };
    Ok(FlexVerifyResponse {
        external_id: verified.user_id,
        ceremony,
        credential_id: verified
            .credential_id
            .and_then(|c| STANDARD.decode(c).ok())
            .map(|c| URL_SAFE_NO_PAD.encode(c)),
        used_at: verified.timestamp,
    })
}
