//! Registration: `/register/token` (backend), `/register/begin` and `/register/complete`
//! (browser).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    alias_hash, check_aliases, check_user_id, issue_token, limits, new_token, open_session,
    read_token, refuse, require_origin, require_rp_id, seal_session, verified_user, ClientInfo,
    Validator,
};
use crate::ceremony::{
    self, Attachment, Attestation, AttestationResponse, CreationOptions, Hint, UserVerification,
};
use crate::error::{ApiError, ApiResult};
use crate::service::events::{self, EventType};
use crate::service::users::alias_conflict;
use crate::service::Tenant;
use crate::service::{authenticators, origins};
use crate::store::{
    AliasRecord, CompleteRegistration, Conflict, CredentialRecord, Refusal, StoreError, TokenKind,
};
use crate::tokens;
use crate::wire::{
    AttestationCredential, BeginResponse, RegisterBeginRequest, RegisterCompleteRequest,
    RegisterTokenRequest, TokenResponse, VerifiedUser,
};
use crate::Services;

const REGISTER_TOKEN_TTL: i64 = 120;
const VERIFY_TOKEN_TTL: i64 = 120;
/// A ceremony session outlives the browser's timeout by this margin, then it is refused.
pub const SESSION_MARGIN_MS: i64 = 60_000;

/// What a register token grants, stored server-side under the token.
#[derive(Serialize, Deserialize)]
struct RegisterGrant {
    user_id: String,
    username: String,
    display_name: Option<String>,
    attestation: String,
    authenticator_type: Option<String>,
    discoverable: bool,
    user_verification: String,
    aliases: Option<Vec<String>>,
    alias_hashing: bool,
    hints: Vec<String>,
}

/// The state of a registration between begin and complete.
#[derive(Serialize, Deserialize)]
struct RegisterSession {
    state: String,
    rp_id: String,
    user_id: String,
    /// The attestation asked for: `none` cannot satisfy an authenticator allow-list.
    attestation: String,
    aliases: Option<Vec<(String, Option<String>)>>,
}

pub async fn issue(
    s: &Services,
    tenant: &Tenant,
    req: RegisterTokenRequest,
) -> ApiResult<TokenResponse> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let now = tenant.now;
    let mut v = Validator::default();
    let user_id = v.required("userId", "UserId", req.user_id.as_deref());
    check_user_id(&mut v, "userId", &user_id);
    let username = v.required("username", "Username", req.username.as_deref());
    if username.chars().count() > limits::USERNAME_CHARS {
        v.error(
            "username",
            format!(
                "The field Username must be at most {} characters.",
                limits::USERNAME_CHARS
            ),
        );
    }
    if req
        .display_name
        .as_ref()
        .is_some_and(|d| d.chars().count() > limits::DISPLAY_NAME_CHARS)
    {
        v.error(
            "displayName",
            format!(
                "The field DisplayName must be at most {} characters.",
                limits::DISPLAY_NAME_CHARS
            ),
        );
    }
    let mut aliases = req.aliases.unwrap_or_default();
    check_aliases(&mut v, &aliases);
    // Aliases are a set.
    let mut seen = std::collections::HashSet::new();
    aliases.retain(|a| seen.insert(a.clone()));
    let hints = req.hints.unwrap_or_default();
    if hints.len() > 3 {
        v.error(
            "hints",
            "The field Hints must be a string or array type with a maximum length of '3'.",
        );
    }
    if hints.iter().any(|h| Hint::parse(h).is_none()) {
        v.error(
            "hints",
            "The field Hints may only contain 'security-key', 'client-device' or 'hybrid'.",
        );
    }
    let expires_at = match req.expires_at.as_deref() {
        None => None,
        Some(text) => {
            let parsed = parse_date_time(text);
            if parsed.is_none() {
                v.error(
                    "expiresAt",
                    "The field ExpiresAt must be an ISO 8601 date-time.",
                );
            }
            parsed
        }
    };
    v.finish()?;
    // .NET's default DateTime (year 1) means "not given".
    let expires_at = expires_at
        .filter(|t| t.timestamp() > 0)
        .unwrap_or(now + Duration::seconds(REGISTER_TOKEN_TTL));
    refuse_inactive(s, app_id, &user_id).await?;

    if let Some(max_users) = app.features.max_users {
        if !s.store.user_has_credentials(app_id, &user_id).await?
            && s.store.count_users(app_id).await? >= max_users
        {
            return Err(max_users_reached());
        }
    }
    let attestation =
        check_attestation(req.attestation.as_deref(), app.features.allow_attestation)?;

    let alias_hashing = req.alias_hashing.unwrap_or(true);
    let hashes: Vec<String> = aliases.iter().map(|a| alias_hash(app_id, a)).collect();
    let owners = s.store.alias_owners(app_id, &hashes).await?;
    if owners.iter().any(|(_, owner)| *owner != user_id) {
        return Err(alias_conflict());
    }

    let event = events::of_request(
        tenant,
        EventType::ApiAuthUserRegistered,
        &user_id,
        app_id,
        format!("Issued a register token for user {user_id}."),
    );
    let grant = RegisterGrant {
        user_id,
        username,
        display_name: req.display_name,
        attestation: attestation.as_str().to_owned(),
        authenticator_type: req.authenticator_type,
        discoverable: req.discoverable.unwrap_or(true),
        user_verification: req
            .user_verification
            .unwrap_or_else(|| "preferred".to_owned()),
        aliases: (!aliases.is_empty()).then_some(aliases),
        alias_hashing,
        hints,
    };
    let token = issue_token(
        s,
        tenant,
        TokenKind::Register,
        tokens::REGISTER,
        &grant,
        expires_at,
        event,
    )
    .await?;
    Ok(TokenResponse { token })
}

/// The user a sealed registration session is for (Flex binds it to its transaction).
pub(crate) fn session_user(
    s: &Services,
    tenant: &Tenant,
    session: Option<&str>,
) -> ApiResult<String> {
    let (_, session): (_, RegisterSession) = open_session(s, tenant, SESSION_KIND, session)?;
    Ok(session.user_id)
}

/// The user a register token is for.
pub(crate) async fn token_user(
    s: &Services,
    tenant: &Tenant,
    token: Option<&str>,
) -> ApiResult<String> {
    let grant: RegisterGrant =
        read_token(s, tenant, TokenKind::Register, tokens::REGISTER, token).await?;
    Ok(grant.user_id)
}

/// A deactivated user gets no register token and cannot begin a registration (completing one
/// is refused inside its transaction).
async fn refuse_inactive(s: &Services, app_id: &str, user_id: &str) -> ApiResult<()> {
    match s.store.find_user(app_id, user_id).await? {
        Some(user) if user.status == crate::store::UserStatus::Inactive => {
            Err(super::user_inactive())
        }
        _ => Ok(()),
    }
}

pub async fn begin(
    s: &Services,
    tenant: &Tenant,
    req: RegisterBeginRequest,
) -> ApiResult<BeginResponse<CreationOptions>> {
    begin_with(s, tenant, req, None).await
}

/// `/register/begin`, with the authenticator attachment chosen at this step rather than in the
/// token (Flex asks for it when the ceremony starts): `Some("platform")` etc. override.
pub(crate) async fn begin_with(
    s: &Services,
    tenant: &Tenant,
    req: RegisterBeginRequest,
    attachment: Option<String>,
) -> ApiResult<BeginResponse<CreationOptions>> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    // Register tokens stay valid until they expire, so a user who cancels the browser prompt
    // can start again with the same token.
    let grant: RegisterGrant = read_token(
        s,
        tenant,
        TokenKind::Register,
        tokens::REGISTER,
        req.token.as_deref(),
    )
    .await?;
    let (origin_text, _) = require_origin(&req.caller)?;
    let rp_id = require_rp_id(&req.caller)?;
    origins::check(app, &origin_text, Some(&rp_id))?;
    if grant.user_id.is_empty() {
        return Err(ApiError::bad_request(
            "missing_userid",
            "The token does not contain a valid userId",
        ));
    }
    refuse_inactive(s, app_id, &grant.user_id).await?;
    let user_verification = UserVerification::parse(&grant.user_verification).ok_or_else(|| {
        invalid_argument(&format!(
            "The userVerification '{}' is not one of required, preferred, discouraged.",
            grant.user_verification
        ))
    })?;
    let attachment = match attachment
        .or(grant.authenticator_type)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("" | "any") => None,
        Some("platform") => Some(Attachment::Platform),
        Some("cross-platform") => Some(Attachment::CrossPlatform),
        Some(other) => {
            return Err(invalid_argument(&format!(
                "The authenticatorType '{other}' is not one of any, platform, cross-platform."
            )))
        }
    };
    let attestation = check_attestation(Some(&grant.attestation), app.features.allow_attestation)?;
    let hints: Vec<Hint> = grant.hints.iter().filter_map(|h| Hint::parse(h)).collect();
    let exclude = s.store.credential_ids(app_id, &grant.user_id).await?;
    let display_name = grant
        .display_name
        .as_deref()
        .filter(|d| !d.is_empty())
        .unwrap_or(&grant.username);

    let (options, state) = ceremony::begin_registration(&ceremony::RegistrationRequest {
        rp_id: &rp_id,
        user_handle: grant.user_id.as_bytes(),
        username: &grant.username,
        display_name,
        user_verification,
        attachment,
        discoverable: grant.discoverable,
        attestation,
        hints: &hints,
        exclude,
    })
    .map_err(|e| invalid_argument(&e.0))?;

    let aliases = grant.aliases.map(|list| {
        list.iter()
            .map(|a| {
                (
                    alias_hash(app_id, a),
                    (!grant.alias_hashing).then(|| a.clone()),
                )
            })
            .collect()
    });
    events::note(
        s,
        tenant,
        EventType::ApiAuthPasskeyRegistrationBegan,
        &grant.user_id,
        app_id,
        format!("Began a passkey registration for user {}.", grant.user_id),
    )
    .await;
    let session = RegisterSession {
        state,
        rp_id,
        user_id: grant.user_id,
        attestation: attestation.as_str().to_owned(),
        aliases,
    };
    let expires_at =
        tenant.now + Duration::milliseconds(i64::from(ceremony::TIMEOUT_MS) + SESSION_MARGIN_MS);
    let session = seal_session(s, tenant, SESSION_KIND, &session, expires_at)?;
    Ok(BeginResponse {
        data: options,
        session,
    })
}

pub async fn complete(
    s: &Services,
    tenant: &Tenant,
    client: &ClientInfo,
    req: RegisterCompleteRequest,
) -> ApiResult<TokenResponse> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    // Everything that can be checked without the session is checked first, so a malformed
    // request does not use up a valid session.
    let mut v = Validator::default();
    if req.response.is_none() {
        v.error("response", "The Response field is required.");
    }
    if req
        .nickname
        .as_ref()
        .is_some_and(|n| n.chars().count() > 64)
    {
        v.error("nickname", "Nickname cannot be longer than 64 characters.");
    }
    v.finish()?;
    let (origin_text, origin) = require_origin(&req.caller)?;
    origins::check(app, &origin_text, None)?;
    let credential = req.response.unwrap_or_default();
    // Only the two values WebAuthn defines are kept; anything else reads as unknown.
    let attachment = credential
        .authenticator_attachment
        .as_deref()
        .filter(|a| matches!(*a, "platform" | "cross-platform"))
        .map(str::to_owned);
    let response = decode_attestation(credential)?;
    let now = tenant.now;
    let (sealed, session): (_, RegisterSession) =
        open_session(s, tenant, SESSION_KIND, req.session.as_deref())?;

    let checked = async {
        // Where the app keeps an allow-list, its AAGUIDs must be proven: the attestation has to
        // chain to a trust root (none configured refuses every such registration).
        let verify_chain = app.features.allow_attestation
            && s.store
                .authenticator_policy(app_id, authenticators::NIL_AAGUID)
                .await?
                .1;
        if verify_chain && session.attestation == Attestation::None.as_str() {
            // The original's answer when the register token asked for no attestation.
            return Err(ApiError::bad_request(
                "attestation_required",
                "Attestation 'none' was used for registration, but an allowlist was configured. \
                 Please use a supported attestation method.",
            ));
        }
        let trust = verify_chain.then_some(&s.trust_roots);
        let registered = ceremony::finish_registration(
            &session.state,
            &session.rp_id,
            &origin,
            &response,
            trust,
        )
        .map_err(|e| match e.0.strip_prefix(ceremony::UNTRUSTED) {
            Some(why) => ApiError::bad_request(
                "attestation_not_trusted",
                format!(
                    "This app accepts only authenticators on its allow-list, proven by an \
                     attestation that chains to a trusted root; this one does not ({why})."
                ),
            ),
            None => ApiError::bad_request("fido2_invalid_registration", e.0),
        })?;
        if verify_chain
            && registered
                .aaguid
                .as_deref()
                .is_none_or(|a| a == authenticators::NIL_AAGUID)
        {
            return Err(ApiError::bad_request(
                "authenticator_not_allowed",
                "An allowlist was configured, and the authenticator does not identify itself.",
            ));
        }
        let attestation = check_attestation(Some(&session.attestation), true)?;
        authenticators::check_registration(s, app, registered.aaguid.as_deref(), attestation)
            .await?;
        Ok(registered)
    }
    .await;
    let registered = match checked {
        Ok(registered) => registered,
        Err(refusal) => return Err(refuse(s, tenant, &sealed, refusal).await),
    };

    let device = client.device();
    let credential = CredentialRecord {
        app_id: app_id.to_owned(),
        credential_id: registered.credential_id.clone(),
        user_id: session.user_id.clone(),
        user_handle: session.user_id.as_bytes().to_vec(),
        public_key: registered.public_key,
        sign_count: registered.sign_count,
        attestation_fmt: registered.attestation_format,
        aaguid: registered.aaguid,
        rp_id: session.rp_id.clone(),
        origin: origin_text.clone(),
        country: Some(client.country.clone()),
        device: Some(device.clone()),
        nickname: req.nickname.clone(),
        backup_state: Some(registered.backup_state),
        backup_eligible: Some(registered.backup_eligible),
        discoverable: response.resident_key,
        webauthn: registered.record,
        created_at: now,
        last_used_at: now,
        usage_count: 0,
        attachment,
    };
    let aliases: Option<Vec<AliasRecord>> = session.aliases.map(|list| {
        list.into_iter()
            .map(|(hash, plaintext)| AliasRecord { hash, plaintext })
            .collect()
    });
    let expires_at = now + Duration::seconds(VERIFY_TOKEN_TTL);
    let verified = VerifiedUser {
        rp_id: Some(session.rp_id),
        origin: Some(origin_text),
        device: Some(device),
        country: Some(client.country.clone()),
        nickname: req.nickname,
        credential_id: Some(STANDARD.encode(&registered.credential_id)),
        ..verified_user("passkey_register", session.user_id.clone(), now, expires_at)
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
        EventType::ApiAuthPasskeyRegistrationCompleted,
        &session.user_id,
        app_id,
        format!(
            "Completed a passkey registration for user {}.",
            session.user_id
        ),
    );
    let completion = CompleteRegistration {
        session_id: sealed.id.clone(),
        credential,
        aliases,
        max_users: app.features.max_users,
        event,
        verify,
        now,
    };
    match s.store.complete_registration(completion).await {
        Ok(()) => Ok(TokenResponse { token }),
        Err(StoreError::Refused(Refusal::SessionUsed)) => Err(tokens::unknown()),
        Err(StoreError::Refused(Refusal::UserInactive)) => {
            Err(refuse(s, tenant, &sealed, super::user_inactive()).await)
        }
        Err(StoreError::Refused(_)) => Err(refuse(s, tenant, &sealed, max_users_reached()).await),
        Err(StoreError::Conflict(Conflict::Credential)) => {
            let refusal = ApiError::bad_request(
                "fido2_invalid_registration",
                "This credential is already registered.",
            );
            Err(refuse(s, tenant, &sealed, refusal).await)
        }
        Err(StoreError::Conflict(Conflict::Alias)) => {
            Err(refuse(s, tenant, &sealed, alias_conflict()).await)
        }
        Err(e) => Err(e.into()),
    }
}

fn max_users_reached() -> ApiError {
    ApiError::bad_request("max_users_reached", "Maximum number of users reached")
}

/// What sealed registration sessions are bound to, besides the app.
const SESSION_KIND: &str = "register";

fn invalid_argument(message: &str) -> ApiError {
    ApiError::bad_request("invalid_argument", message)
}

/// `none` (any case) or empty is always fine; `direct` and `indirect` (exactly) need the app's
/// `allowAttestation`; anything else is refused.
fn check_attestation(value: Option<&str>, allowed: bool) -> ApiResult<Attestation> {
    let value = value.unwrap_or_default();
    let attestation = if value.is_empty() || value.eq_ignore_ascii_case("none") {
        return Ok(Attestation::None);
    } else if value == "direct" {
        Attestation::Direct
    } else if value == "indirect" {
        Attestation::Indirect
    } else {
        return Err(ApiError::bad_request(
            "invalid_attestation",
            "Attestation type not supported",
        ));
    };
    if !allowed {
        return Err(ApiError::bad_request(
            "attestation_not_supported_on_plan",
            "Attestation type not supported on your plan",
        ));
    }
    Ok(attestation)
}

/// RFC 3339, or a date-time without offset, which is taken as UTC.
fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| t.and_utc())
}

/// Decodes base64url fields. Standard base64 (`+`, `/`) is refused, as in the original.
pub(crate) fn decode_b64url(field: &str, value: Option<&str>) -> ApiResult<Vec<u8>> {
    let value = value.unwrap_or_default();
    if value.is_empty() {
        return Err(ApiError::validation(
            field,
            format!("The {field} field is required."),
        ));
    }
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| ApiError::validation(field, format!("The {field} field must be base64url.")))
}

fn decode_attestation(c: AttestationCredential) -> ApiResult<AttestationResponse> {
    let body = c.response.unwrap_or_default();
    let raw_id = decode_b64url("response.rawId", c.raw_id.as_deref())?;
    let resident_key = c
        .client_extension_results
        .as_ref()
        .and_then(|e| e.get("credprops"))
        .and_then(|p| p.get("rk"))
        .and_then(serde_json::Value::as_bool);
    Ok(AttestationResponse {
        id: c.id.unwrap_or_default(),
        raw_id,
        client_data_json: decode_b64url(
            "response.response.clientDataJSON",
            body.client_data_json.as_deref(),
        )?,
        attestation_object: decode_b64url(
            "response.response.attestationObject",
            body.attestation_object.as_deref(),
        )?,
        transports: body.transports.unwrap_or_default(),
        resident_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::format_time;

    #[test]
    fn naive_times_are_utc() {
        let t = parse_date_time("2026-01-02T03:04:05").unwrap();
        assert_eq!(format_time(t), "2026-01-02T03:04:05.000Z");
        let t = parse_date_time("2026-01-02T03:04:05+01:00").unwrap();
        assert_eq!(format_time(t), "2026-01-02T02:04:05.000Z");
        assert!(parse_date_time("tomorrow").is_none());
    }

    #[test]
    fn attestation_rules() {
        assert_eq!(check_attestation(None, false).unwrap(), Attestation::None);
        assert_eq!(
            check_attestation(Some("None"), false).unwrap(),
            Attestation::None
        );
        assert_eq!(
            check_attestation(Some("direct"), false)
                .unwrap_err()
                .error_code,
            "attestation_not_supported_on_plan"
        );
        assert_eq!(
            check_attestation(Some("direct"), true).unwrap(),
            Attestation::Direct
        );
        assert_eq!(
            check_attestation(Some("enterprise"), true)
                .unwrap_err()
                .error_code,
            "invalid_attestation"
        );
    }
}
