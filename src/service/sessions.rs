//! Session JWTs: `POST /signin/session` turns a verify token into an RS256 JWT signed with
//! the app's own key; the JWKS publishes the keys; management sets the lifetime and rotates.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use super::events::{self, EventType};
use super::{format_time, take_token, user_inactive, Tenant};
use crate::error::{ApiError, ApiResult};
use crate::jwt;
use crate::store::{SessionKeyRecord, TokenKind, UserStatus};
use crate::tokens;
use crate::wire::{
    SessionKeyInfo, SessionResponse, SessionSettings, SessionSettingsRequest, VerifiedUser,
    VerifyRequest,
};
use crate::Services;

pub const DEFAULT_LIFETIME_SECONDS: i64 = 3_600;
/// Thirty days: a JWT cannot be revoked before it expires, so it should not live for long.
pub const MAX_LIFETIME_SECONDS: i64 = 2_592_000;
/// The `iss` of every session JWT; `aud` names the app.
pub const ISSUER: &str = "passkeyd";
/// Verifiers' clocks may lag ours: a retired key stays published this much longer.
const PUBLISH_MARGIN_SECONDS: i64 = 300;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'static str,
    sub: &'a str,
    aud: [&'a str; 1],
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// Redeems a verify token once, as `/signin/verify` does, and adds a session JWT.
pub async fn create(
    s: &Services,
    tenant: &Tenant,
    req: VerifyRequest,
) -> ApiResult<SessionResponse> {
    let event_tenant = tenant.clone();
    let verified: VerifiedUser = take_token(
        s,
        tenant,
        TokenKind::Verify,
        tokens::VERIFY,
        req.token.as_deref(),
        move |verified: &VerifiedUser| {
            events::of_request(
                &event_tenant,
                EventType::ApiUserSignInVerified,
                &verified.user_id,
                &event_tenant.app.id,
                format!("User {} started a session.", verified.user_id),
            )
        },
    )
    .await?;
    let app_id = tenant.app.id.as_str();
    if let Some(user) = s.store.find_user(app_id, &verified.user_id).await? {
        if user.status == UserStatus::Inactive {
            return Err(user_inactive());
        }
        let signed_in = DateTime::parse_from_rfc3339(&verified.timestamp)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| ApiError::internal(&e))?;
        if user.tokens_revoked_at.is_some_and(|at| at >= signed_in) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "token_revoked",
                "The user's tokens were revoked after this sign-in.",
            ));
        }
    }
    super::passage::note_redeemed(s, tenant, &verified).await?;
    let now = tenant.now;
    let expires_at = now + Duration::seconds(tenant.app.session_lifetime_seconds);
    let key = signing_key(s, app_id, now).await?;
    let signer =
        jwt::Signer::new(&key.kid, &key.private_key).map_err(|e| ApiError::internal(&e))?;
    let token = signer
        .sign(&Claims {
            iss: ISSUER,
            sub: &verified.user_id,
            aud: [app_id],
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        })
        .map_err(|e| ApiError::internal(&e))?;
    Ok(SessionResponse {
        verified,
        auth_token: token,
        auth_token_expires_at: format_time(expires_at),
    })
}

/// Serialises this process's first-key creations: many first requests for one app make one
/// key, not one each. (Two replicas may still both make one; both are published.)
static FIRST_KEY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The key that signs now: the newest unretired one, made if the app has none (apps created
/// before sessions existed).
async fn signing_key(
    s: &Services,
    app_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<SessionKeyRecord> {
    let active = |keys: Vec<SessionKeyRecord>| keys.into_iter().find(|k| k.retired_at.is_none());
    if let Some(key) = active(s.store.session_keys(app_id, now).await?) {
        return Ok(key);
    }
    let _one_at_a_time = FIRST_KEY.lock().await;
    if let Some(key) = active(s.store.session_keys(app_id, now).await?) {
        return Ok(key);
    }
    new_key(s, app_id, now, None).await
}

/// Makes sure the app has a signing key.
async fn ensure_key(s: &Services, app_id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    signing_key(s, app_id, now).await.map(|_| ())
}

async fn new_key(
    s: &Services,
    app_id: &str,
    now: DateTime<Utc>,
    retire: Option<DateTime<Utc>>,
) -> ApiResult<SessionKeyRecord> {
    let generated = tokio::task::spawn_blocking(jwt::generate)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let key = SessionKeyRecord {
        kid: generated.kid,
        private_key: generated.private_key,
        public_jwk: generated.public_jwk,
        created_at: now,
        retired_at: None,
        published_until: None,
    };
    s.store.add_session_key(app_id, &key, retire).await?;
    Ok(key)
}

/// `{"keys": [...]}` for an app: every key whose tokens may still be valid.
pub async fn jwks(s: &Services, app_id: &str) -> ApiResult<Value> {
    if s.store.find_app(app_id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "app_not_found",
            "No app has this id.",
        ));
    }
    let now = s.clock.now();
    // The first fetch makes the app's first key, so a verifier that fetches early does not
    // cache an empty set. (Not at app creation: RSA key generation is slow, and most apps
    // never use sessions.)
    ensure_key(s, app_id, now).await?;
    let keys = s.store.session_keys(app_id, now).await?;
    let keys = keys
        .iter()
        .map(|k| serde_json::from_str::<Value>(&k.public_jwk).map_err(|e| ApiError::internal(&e)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(serde_json::json!({ "keys": keys }))
}

fn app_not_found(app_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "app_not_found",
        format!("App '{app_id}' does not exist."),
    )
}

/// Management: the lifetime and the published keys (never their private halves).
pub async fn settings(s: &Services, app_id: &str) -> ApiResult<SessionSettings> {
    let app = s
        .store
        .find_app(app_id)
        .await?
        .ok_or_else(|| app_not_found(app_id))?;
    let keys = s.store.session_keys(app_id, s.clock.now()).await?;
    Ok(SessionSettings {
        lifetime_seconds: app.session_lifetime_seconds,
        keys: keys
            .into_iter()
            .map(|k| SessionKeyInfo {
                kid: k.kid,
                created_at: format_time(k.created_at),
                retired_at: k.retired_at.map(format_time),
                published_until: k.published_until.map(format_time),
            })
            .collect(),
    })
}

pub async fn set_lifetime(
    s: &Services,
    app_id: &str,
    req: SessionSettingsRequest,
) -> ApiResult<SessionSettings> {
    let mut v = super::Validator::default();
    match req.lifetime_seconds {
        Some(n) if (1..=MAX_LIFETIME_SECONDS).contains(&n) => {}
        _ => v.error(
            "lifetimeSeconds",
            format!("The field LifetimeSeconds must be between 1 and {MAX_LIFETIME_SECONDS}."),
        ),
    }
    v.finish()?;
    let seconds = req.lifetime_seconds.unwrap_or(DEFAULT_LIFETIME_SECONDS);
    if !s.store.set_session_lifetime(app_id, seconds).await? {
        return Err(app_not_found(app_id));
    }
    settings(s, app_id).await
}

/// A new signing key; the old ones stay published until every token they signed (at the
/// longest lifetime the app has now) has expired.
pub async fn rotate(s: &Services, app_id: &str) -> ApiResult<SessionSettings> {
    let app = s
        .store
        .find_app(app_id)
        .await?
        .ok_or_else(|| app_not_found(app_id))?;
    let now = s.clock.now();
    let until = now + Duration::seconds(app.session_lifetime_seconds + PUBLISH_MARGIN_SECONDS);
    new_key(s, app_id, now, Some(until)).await?;
    settings(s, app_id).await
}
