//! What the endpoints do. Handlers decode the request and call one function here; these
//! functions apply the contract's rules using the store, the clock and the ceremony module.

pub mod admin;
pub mod apps;
pub mod authenticators;
pub mod console;
pub mod events;
pub mod flex;
pub mod magic;
pub mod maintenance;
pub mod origins;
pub mod passage;
pub mod purposes;
pub mod register;
pub mod reports;
pub mod sessions;
pub mod signin;
pub mod users;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ceremony::Origin;
use crate::error::{ApiError, ApiResult};
use crate::wire::{Caller, VerifiedUser};

/// The app a request acts for, and the key (its last four characters) it came with.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub app: crate::store::AppRecord,
    pub key_id: String,
    /// The request's time, read once when it was authenticated; everything it does uses it.
    pub now: DateTime<Utc>,
    /// Who acts when it is not the key's holder (the admin console): its events name it.
    pub actor: Option<&'static str>,
}

/// What passkeyd records about the device a ceremony came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    /// The `CF-IPCountry` header, or empty.
    pub country: String,
}

impl ClientInfo {
    /// `"<browser>, <OS> <major>"` in the style of the original's UA-Parser output.
    #[must_use]
    pub fn device(&self) -> String {
        describe_user_agent(self.user_agent.as_deref().unwrap_or_default())
    }
}

/// Times in responses: RFC 3339 in UTC with a `Z`, millisecond precision.
#[must_use]
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Aliases are stored as base64(SHA-256(appId + alias)), as in the original.
#[must_use]
pub fn alias_hash(app_id: &str, alias: &str) -> String {
    let mut h = Sha256::new();
    h.update(app_id.as_bytes());
    h.update(alias.as_bytes());
    STANDARD.encode(h.finalize())
}

/// Limits on what a caller may send, where the original has none (see the README's list).
pub mod limits {
    /// WebAuthn's user handle is at most 64 bytes, and passkeyd's user handle is the user id:
    /// a longer id could never register a passkey.
    pub const USER_ID_BYTES: usize = 64;
    pub const USERNAME_CHARS: usize = 256;
    pub const DISPLAY_NAME_CHARS: usize = 256;
    /// A DNS name.
    pub const RP_ID_CHARS: usize = 253;
    pub const ORIGIN_CHARS: usize = 2048;
    pub const PURPOSE_CHARS: usize = 255;
    pub const ALIAS_CHARS: usize = 250;
}

/// A user id within [`limits::USER_ID_BYTES`].
pub fn check_user_id(v: &mut Validator, field: &str, user_id: &str) {
    if user_id.len() > limits::USER_ID_BYTES {
        v.error(
            field,
            format!(
                "The field UserId must be at most {} bytes (the WebAuthn user handle limit).",
                limits::USER_ID_BYTES
            ),
        );
    }
}

/// A valid DNS name (letters, digits and hyphens in labels of 1–63, at most 253 in all) or an
/// IP address, as a relying party id must be.
fn is_valid_rp_id(rp_id: &str) -> bool {
    if rp_id.len() > limits::RP_ID_CHARS {
        return false;
    }
    if rp_id.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    rp_id.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

/// The `origin` of a browser call: required, and it must parse as a URI.
pub fn require_origin(caller: &Caller) -> ApiResult<(String, Origin)> {
    let raw = caller
        .origin
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .ok_or_else(ApiError::missing_origin)?;
    if raw.chars().count() > limits::ORIGIN_CHARS {
        return Err(ApiError::validation(
            "Origin",
            format!(
                "The field Origin must be at most {} characters.",
                limits::ORIGIN_CHARS
            ),
        ));
    }
    let origin = Origin::parse(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_origin",
            "The origin is not a valid absolute URI such as https://example.com.",
        )
    })?;
    Ok((raw.to_owned(), origin))
}

/// The `RPID` of a browser call. The original does not check it and fails later; passkeyd
/// says so at once.
pub fn require_rp_id(caller: &Caller) -> ApiResult<String> {
    let rp_id = caller
        .rp_id
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("missing_rpid", "RPID is required."))?;
    if !is_valid_rp_id(&rp_id) {
        return Err(ApiError::validation(
            "RPID",
            format!(
                "The field RPID must be a domain name of at most {} characters.",
                limits::RP_ID_CHARS
            ),
        ));
    }
    Ok(rp_id)
}

/// Collects field errors into one validation problem, as ASP.NET's model validation does.
#[derive(Default)]
pub struct Validator {
    errors: Map<String, Value>,
}

impl Validator {
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let entry = self
            .errors
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(message.into()));
        }
    }

    /// A required, non-empty string; returns it trimmed of nothing (ids are taken verbatim).
    pub fn required(&mut self, field: &str, display: &str, value: Option<&str>) -> String {
        match value {
            Some(v) if !v.is_empty() => v.to_owned(),
            _ => {
                self.error(field, format!("The {display} field is required."));
                String::new()
            }
        }
    }

    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(ApiError::validation_errors(self.errors))
    }
}

/// Validates the contract's alias rules: at most 10, each 1..=250 characters.
pub fn check_aliases(v: &mut Validator, aliases: &[String]) {
    if aliases.len() > 10 {
        v.error(
            "aliases",
            "The field Aliases must be a string or array type with a maximum length of '10'.",
        );
    }
    if aliases
        .iter()
        .any(|a| a.chars().count() > limits::ALIAS_CHARS)
    {
        v.error(
            "aliases",
            "The field Aliases must be a collection that contains strings with a maximum length of '250'.",
        );
    }
    if aliases.iter().any(String::is_empty) {
        v.error(
            "aliases",
            "The field Aliases must be a collection where every item is required.",
        );
    }
}

fn describe_user_agent(ua: &str) -> String {
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("HeadlessChrome/") {
        "HeadlessChrome"
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "Other"
    };
    let major = |marker: &str| -> String {
        ua.split(marker)
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    let os = if ua.contains("Windows NT 10") {
        "Windows 10".to_owned()
    } else if ua.contains("Windows") {
        "Windows".to_owned()
    } else if ua.contains("Android") {
        format!("Android {}", major("Android "))
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        format!("iOS {}", major("OS "))
    } else if ua.contains("Mac OS X") {
        format!("Mac OS X {}", major("Mac OS X "))
    } else if ua.contains("Linux") {
        "Linux ".to_owned()
    } else {
        "Other ".to_owned()
    };
    format!("{browser}, {os}")
}

/// 403 `user_inactive`: the user was deactivated and may not register or sign in.
pub(crate) fn user_inactive() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "user_inactive",
        "This user is deactivated: they cannot register passkeys, sign in or start sessions.",
    )
}

/// A token record for `payload` under a fresh token with `prefix`; returns the token too.
pub(crate) fn new_token<T: serde::Serialize>(
    app_id: &str,
    kind: crate::store::TokenKind,
    prefix: &str,
    payload: &T,
    expires_at: DateTime<Utc>,
) -> ApiResult<(String, crate::store::TokenRecord)> {
    let (token, hash) = crate::tokens::mint(prefix);
    let payload = serde_json::to_string(payload).map_err(|e| ApiError::internal(&e))?;
    Ok((
        token,
        crate::store::TokenRecord {
            hash,
            app_id: app_id.to_owned(),
            kind,
            payload,
            expires_at,
        },
    ))
}

/// Stores `payload` under a fresh token with `prefix`, valid until `expires_at`, and the
/// event that issuing it records, together.
pub(crate) async fn issue_token<T: serde::Serialize>(
    s: &crate::Services,
    tenant: &Tenant,
    kind: crate::store::TokenKind,
    prefix: &str,
    payload: &T,
    expires_at: DateTime<Utc>,
    event: Option<crate::store::EventRecord>,
) -> ApiResult<String> {
    let (token, record) = new_token(&tenant.app.id, kind, prefix, payload, expires_at)?;
    s.store.insert_token(record, event, tenant.now).await?;
    Ok(token)
}

/// Reads a token of this app and leaves it in place (register tokens may start several
/// ceremonies).
pub(crate) async fn read_token<T: serde::de::DeserializeOwned>(
    s: &crate::Services,
    tenant: &Tenant,
    kind: crate::store::TokenKind,
    prefix: &str,
    token: Option<&str>,
) -> ApiResult<T> {
    let hash = crate::tokens::parse(token, prefix)?;
    let record = s
        .store
        .find_token(&tenant.app.id, kind, &hash)
        .await?
        .ok_or_else(crate::tokens::unknown)?;
    crate::tokens::check_expiry(record.expires_at, tenant.now)?;
    serde_json::from_str(&record.payload).map_err(|e| ApiError::internal(&e))
}

/// Takes a token of this app: it works once. `event` builds the event the redemption records,
/// in the same transaction, from the token's payload.
pub(crate) async fn take_token<T, F>(
    s: &crate::Services,
    tenant: &Tenant,
    kind: crate::store::TokenKind,
    prefix: &str,
    token: Option<&str>,
    event: F,
) -> ApiResult<T>
where
    T: serde::de::DeserializeOwned,
    F: FnOnce(&T) -> Option<crate::store::EventRecord> + Send + 'static,
{
    let hash = crate::tokens::parse(token, prefix)?;
    let now = tenant.now;
    let logged = tenant.app.features.event_logging_enabled;
    let event: Option<crate::store::EventFromToken> = logged.then(|| {
        Box::new(move |record: &crate::store::TokenRecord| {
            // An expired token is refused below; it records nothing.
            if record.expires_at < now {
                return None;
            }
            serde_json::from_str::<T>(&record.payload)
                .ok()
                .and_then(|payload| event(&payload))
        }) as crate::store::EventFromToken
    });
    let record = s
        .store
        .redeem_token(crate::store::RedeemToken {
            app_id: tenant.app.id.clone(),
            kind,
            hash,
            event,
        })
        .await?
        .ok_or_else(crate::tokens::unknown)?;
    crate::tokens::check_expiry(record.expires_at, now)?;
    serde_json::from_str(&record.payload).map_err(|e| ApiError::internal(&e))
}

/// Opens this app's sealed ceremony session of `kind` and decodes its state.
pub(crate) fn open_session<T: serde::de::DeserializeOwned>(
    s: &crate::Services,
    tenant: &Tenant,
    kind: &str,
    token: Option<&str>,
) -> ApiResult<(crate::tokens::Sealed, T)> {
    let sealed = crate::tokens::open_sealed(&s.seal_key, &tenant.app.id, kind, token, tenant.now)?;
    let state = serde_json::from_str(&sealed.payload).map_err(|e| ApiError::internal(&e))?;
    Ok((sealed, state))
}

/// A ceremony refused after its session was opened: the session is used up, so the same
/// challenge cannot be tried again, and the refusal is returned. A session already used is
/// unknown. Only a storage failure during completion leaves a session for a retry.
pub(crate) async fn refuse(
    s: &crate::Services,
    tenant: &Tenant,
    sealed: &crate::tokens::Sealed,
    refusal: ApiError,
) -> ApiError {
    if refusal.status.is_server_error() {
        return refusal;
    }
    let spent = s.store.spend_session(&tenant.app.id, &sealed.id).await;
    after_spend(spent, refusal)
}

/// The answer to a refused ceremony once its session was (or could not be) used up: the
/// refusal; `invalid_token` when the session had been used before; the storage error.
pub(crate) fn after_spend(spent: crate::store::StoreResult<()>, refusal: ApiError) -> ApiError {
    match spent {
        Ok(()) => refusal,
        Err(crate::store::StoreError::Refused(_)) => crate::tokens::unknown(),
        Err(e) => e.into(),
    }
}

/// Seals a ceremony session of `kind` for this app into its token.
pub(crate) fn seal_session<T: serde::Serialize>(
    s: &crate::Services,
    tenant: &Tenant,
    kind: &str,
    state: &T,
    expires_at: DateTime<Utc>,
) -> ApiResult<String> {
    let payload = serde_json::to_string(state).map_err(|e| ApiError::internal(&e))?;
    Ok(crate::tokens::seal(
        &s.seal_key,
        &tenant.app.id,
        kind,
        expires_at,
        &payload,
    ))
}

/// What a verify token says, with the fields every kind shares filled in.
#[must_use]
pub fn verified_user(
    type_: &str,
    user_id: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> VerifiedUser {
    VerifiedUser {
        user_id,
        timestamp: format_time(now),
        rp_id: None,
        origin: None,
        success: true,
        device: None,
        country: None,
        nickname: None,
        credential_id: None,
        purpose: None,
        expires_at: format_time(expires_at),
        token_id: uuid::Uuid::new_v4().to_string(),
        type_: type_.to_owned(),
        identifier: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        assert_eq!(
            describe_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome, Mac OS X 10"
        );
        assert_eq!(
            describe_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome, Windows 10"
        );
        assert_eq!(describe_user_agent(""), "Other, Other ");
    }

    #[test]
    fn rp_ids() {
        for ok in [
            "example.com",
            "localhost",
            "a-b.example",
            "127.0.0.1",
            "xn--bcher-kva.ch",
        ] {
            assert!(is_valid_rp_id(ok), "{ok}");
        }
        let long = format!("{}.com", "a".repeat(250));
        for bad in [
            "",
            "exa mple.com",
            "-a.com",
            "a..com",
            "a.com/",
            "https://a.com",
            &long,
        ] {
            assert!(!is_valid_rp_id(bad), "{bad}");
        }
    }

    #[test]
    fn alias_hash_matches_the_original_scheme() {
        // base64(sha256("app" + "alice")), computed independently.
        assert_eq!(alias_hash("app", "alice").len(), 44);
        assert_ne!(alias_hash("app", "alice"), alias_hash("app2", "alice"));
    }
}
