//! Sign-in: `/signin/begin` and `/signin/complete` (browser), `/signin/verify` and
//! `/signin/generate-token` (backend).

use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::register::{decode_b64url, SESSION_MARGIN_MS};
use super::{
    after_spend, alias_hash, check_user_id, issue_token, limits, new_token, open_session, refuse,
    require_origin, require_rp_id, seal_session, take_token, verified_user, ClientInfo, Validator,
};
use crate::ceremony::{self, AssertionResponse, RequestOptions};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::service::events::{self, EventType};
use crate::service::Tenant;
use crate::service::{origins, purposes, reports};
use crate::store::{Named, Refusal, SigninCompletion, StoreError, TokenKind};
use crate::tokens;
use crate::wire::{
    AssertionCredential, BeginResponse, GenerateTokenRequest, SigninBeginRequest,
    SigninCompleteRequest, TokenResponse, VerifiedUser, VerifyRequest,
};
use crate::Services;

const MAX_TIME_TO_LIVE: i64 = 604_800;

/// The state of a sign-in between begin and complete.
#[derive(Serialize, Deserialize)]
struct SigninSession {
    state: String,
    rp_id: String,
    /// Set when the sign-in named a user (by id or alias): only their credentials may answer.
    user_id: Option<String>,
    purpose: String,
    ttl_seconds: i64,
    /// Whether completing should refresh the purpose's `lastUsedOn`.
    touch_purpose: bool,
}

pub async fn begin(
    s: &Services,
    tenant: &Tenant,
    req: SigninBeginRequest,
) -> ApiResult<BeginResponse<RequestOptions>> {
    begin_with(s, tenant, req, None).await
}

/// `/signin/begin`, optionally asking for user verification whatever the purpose says (a Flex
/// transaction that is a second factor).
pub(crate) async fn begin_with(
    s: &Services,
    tenant: &Tenant,
    req: SigninBeginRequest,
    user_verification: Option<ceremony::UserVerification>,
) -> ApiResult<BeginResponse<RequestOptions>> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let (origin_text, _) = require_origin(&req.caller)?;
    let rp_id = require_rp_id(&req.caller)?;
    origins::check(app, &origin_text, Some(&rp_id))?;
    let mut v = Validator::default();
    if let Some(user_id) = &req.user_id {
        check_user_id(&mut v, "userId", user_id);
    }
    if req
        .alias
        .as_ref()
        .is_some_and(|a| a.chars().count() > limits::ALIAS_CHARS)
    {
        v.error("alias", "The field Alias must be at most 250 characters.");
    }
    if req
        .purpose
        .as_ref()
        .is_some_and(|p| p.chars().count() > limits::PURPOSE_CHARS)
    {
        v.error(
            "purpose",
            format!(
                "The field Purpose must be at most {} characters.",
                limits::PURPOSE_CHARS
            ),
        );
    }
    v.finish()?;
    let mut purpose = purposes::resolve(s, tenant, req.purpose.as_deref()).await?;
    if let Some(uv) = user_verification {
        purpose.user_verification = uv;
    }

    // The user the sign-in names (by id, else by alias), and the text that named them.
    let named = match req.user_id.filter(|u| !u.is_empty()) {
        Some(user_id) => Some((Named::User(user_id.clone()), user_id)),
        None => req
            .alias
            .filter(|a| !a.is_empty())
            .map(|alias| (Named::Alias(alias_hash(app_id, &alias)), alias)),
    };
    let (user_id, allow) = match named {
        Some((named, identifier)) => {
            // An unknown alias still names someone: no credential will satisfy the sign-in.
            let (user_id, ids) = s.store.signin_candidates(app_id, named).await?;
            let allow = if ids.is_empty() {
                // No passkey (or no such user): answer as for a user with one, so that the
                // response does not reveal which users exist.
                let shapes = s.store.credential_shapes(app_id).await?;
                keys::stand_in_ids(&s.instance_key, app_id, &identifier, &shapes)
            } else {
                ids
            };
            (Some(user_id), allow)
        }
        None => (None, Vec::new()),
    };

    let (options, state) = ceremony::begin_authentication(&ceremony::AuthenticationRequest {
        rp_id: &rp_id,
        user_verification: purpose.user_verification,
        hints: &purpose.hints,
        allow: &allow,
    })
    .map_err(|e| ApiError::bad_request("invalid_argument", e.0))?;
    let session = SigninSession {
        state,
        rp_id,
        user_id,
        purpose: purpose.name,
        ttl_seconds: purpose.time_to_live.num_seconds(),
        touch_purpose: purpose.needs_touch,
    };
    let expires_at =
        tenant.now + Duration::milliseconds(i64::from(ceremony::TIMEOUT_MS) + SESSION_MARGIN_MS);
    let session = seal_session(s, tenant, SESSION_KIND, &session, expires_at)?;
    Ok(BeginResponse {
        data: options,
        session,
    })
}

/// The user a sealed sign-in session names, if it named one (Flex binds it to its
/// transaction).
pub(crate) fn session_user(
    s: &Services,
    tenant: &Tenant,
    session: Option<&str>,
) -> ApiResult<Option<String>> {
    let (_, session): (_, SigninSession) = open_session(s, tenant, SESSION_KIND, session)?;
    Ok(session.user_id)
}

/// What sealed sign-in sessions are bound to, besides the app.
const SESSION_KIND: &str = "signin";

fn signin_error(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("signin_complete_error", message)
}

pub async fn complete(
    s: &Services,
    tenant: &Tenant,
    client: &ClientInfo,
    req: SigninCompleteRequest,
) -> ApiResult<TokenResponse> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let now = tenant.now;
    let (origin_text, origin) = require_origin(&req.caller)?;
    origins::check(app, &origin_text, None)?;
    let Some(credential) = req.response else {
        return Err(ApiError::validation(
            "response",
            "The Response field is required.",
        ));
    };
    let response = decode_assertion(credential)?;
    let (sealed, session): (_, SigninSession) =
        open_session(s, tenant, SESSION_KIND, req.session.as_deref())?;

    // The credential is read in the transaction that the completion or refusal then ends.
    let (stored, rest) = s.store.open_signin(app_id, &response.raw_id).await?;
    let checked = (|| {
        let Some(stored) = stored else {
            return Err(ApiError::bad_request(
                "unknown_credential",
                "We don't recognize the passkey you sent us.",
            )
            .with_extension("credentialId", response.id.clone()));
        };
        if session
            .user_id
            .as_ref()
            .is_some_and(|u| *u != stored.user_id)
        {
            return Err(signin_error(
                "The passkey does not belong to the user this sign-in was started for.",
            ));
        }
        if response
            .user_handle
            .as_ref()
            .is_some_and(|h| *h != stored.user_handle)
        {
            return Err(signin_error(
                "The userHandle does not match the owner of the passkey.",
            ));
        }
        let asserted = ceremony::finish_authentication(
            &session.state,
            &session.rp_id,
            &origin,
            &response,
            &stored.webauthn,
            stored.sign_count,
        )
        .map_err(|e| signin_error(e.0))?;
        Ok((stored, asserted))
    })();
    let (stored, asserted) = match checked {
        Ok(checked) => checked,
        Err(refusal) => return Err(after_spend(rest.spend(app_id, &sealed.id).await, refusal)),
    };

    let device = client.device();
    let expires_at = now + Duration::seconds(session.ttl_seconds);
    let verified = VerifiedUser {
        rp_id: Some(session.rp_id),
        origin: Some(origin_text),
        device: Some(device.clone()),
        country: Some(client.country.clone()),
        nickname: stored.nickname.clone(),
        credential_id: Some(STANDARD.encode(&stored.credential_id)),
        purpose: Some(session.purpose.clone()),
        ..verified_user("passkey_signin", stored.user_id.clone(), now, expires_at)
    };
    let (token, verify) = new_token(
        app_id,
        TokenKind::Verify,
        tokens::VERIFY,
        &verified,
        expires_at,
    )?;
    let event = events::of_request(
        tenant,
        EventType::ApiUserSignInCompleted,
        &stored.user_id,
        app_id,
        format!("User {} completed a sign-in.", stored.user_id),
    );
    let completion = SigninCompletion {
        app_id: app_id.to_owned(),
        session_id: sealed.id.clone(),
        credential_id: stored.credential_id,
        user_id: stored.user_id,
        new_count: asserted.sign_count,
        backup_state: asserted.backup_state,
        record: asserted.updated_record,
        device,
        country: client.country.clone(),
        day: reports::day_number(now),
        touch_purpose: session
            .touch_purpose
            .then(|| purposes::touch(&session.purpose)),
        event,
        verify,
        now,
    };
    match rest.complete(completion).await {
        Ok(()) => Ok(TokenResponse { token }),
        Err(StoreError::Refused(Refusal::SessionUsed)) => Err(tokens::unknown()),
        Err(StoreError::Refused(Refusal::UserInactive)) => {
            Err(refuse(s, tenant, &sealed, super::user_inactive()).await)
        }
        // Another sign-in with this counter value won the race: one of them is a clone.
        Err(StoreError::Refused(_)) => {
            let refusal =
                signin_error("The credential may have be compromised and should be inspected");
            Err(refuse(s, tenant, &sealed, refusal).await)
        }
        Err(e) => Err(e.into()),
    }
}

/// Verify tokens work once: the token is removed as it is read.
pub async fn verify(s: &Services, tenant: &Tenant, req: VerifyRequest) -> ApiResult<VerifiedUser> {
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
                format!("User {} verified a sign-in token.", verified.user_id),
            )
        },
    )
    .await?;
    super::passage::note_redeemed(s, tenant, &verified).await?;
    Ok(verified)
}

pub async fn generate_token(
    s: &Services,
    tenant: &Tenant,
    req: GenerateTokenRequest,
) -> ApiResult<TokenResponse> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    if !app.features.generate_token_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "generate_token_disabled",
            "The 'POST /signin/generate-token' endpoint is disabled",
        ));
    }
    let mut v = Validator::default();
    let user_id = v.required("userId", "UserId", req.user_id.as_deref());
    let ttl = req.time_to_live.unwrap_or(120);
    if !(1..=MAX_TIME_TO_LIVE).contains(&ttl) {
        v.error(
            "timeToLive",
            format!("The field TimeToLive must be between 1 and {MAX_TIME_TO_LIVE}."),
        );
    }
    v.finish()?;

    let event = events::of_request(
        tenant,
        EventType::ApiUserSigninTokenCreated,
        &user_id,
        app_id,
        format!("Generated a sign-in token for user {user_id}."),
    );
    let now = tenant.now;
    let expires_at = now + Duration::seconds(ttl);
    let verified = VerifiedUser {
        rp_id: req.caller.rp_id,
        origin: req.caller.origin,
        device: Some(String::new()),
        country: Some(String::new()),
        purpose: Some(
            req.purpose
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| purposes::SIGN_IN.to_owned()),
        ),
        ..verified_user("generated_signin", user_id, now, expires_at)
    };
    let token = issue_token(
        s,
        tenant,
        TokenKind::Verify,
        tokens::VERIFY,
        &verified,
        expires_at,
        event,
    )
    .await?;
    Ok(TokenResponse { token })
}

fn decode_assertion(c: AssertionCredential) -> ApiResult<AssertionResponse> {
    let body = c.response.unwrap_or_default();
    let raw_id = decode_b64url("response.rawId", c.raw_id.as_deref())?;
    let id = c.id.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(&raw_id));
    let user_handle = match body.user_handle.as_deref() {
        None | Some("") => None,
        handle => Some(decode_b64url("response.response.userHandle", handle)?),
    };
    Ok(AssertionResponse {
        id,
        raw_id,
        client_data_json: decode_b64url(
            "response.response.clientDataJSON",
            body.client_data_json.as_deref(),
        )?,
        authenticator_data: decode_b64url(
            "response.response.authenticatorData",
            body.authenticator_data.as_deref(),
        )?,
        signature: decode_b64url("response.response.signature", body.signature.as_deref())?,
        user_handle,
    })
}
