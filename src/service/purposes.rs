//! Authentication configurations ("purposes"): per-purpose user verification, verify-token
//! lifetime and hints, chosen by `purpose` at `/signin/begin`.

use axum::http::StatusCode;
use chrono::Duration;

use super::events::{self, EventType};
use super::{format_time, Tenant, Validator};
use crate::ceremony::{Hint, UserVerification};
use crate::error::{ApiError, ApiResult};
use crate::store::{AuthConfigRecord, Conflict, PresetDefaults, PurposeTouch, StoreError};
use crate::wire::{AuthConfigItem, AuthConfigRequest, AuthConfigsResponse};
use crate::Services;

pub const SIGN_IN: &str = "sign-in";
pub const STEP_UP: &str = "step-up";
const PRESETS: [&str; 2] = [SIGN_IN, STEP_UP];
const DEFAULT_TTL_SECONDS: i64 = 120;
const MAX_TTL_SECONDS: i64 = 604_800;
/// `lastUsedOn` is refreshed at most this often, so that sign-ins do not each cost a write.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// What `/signin/begin` needs from a purpose.
pub struct Purpose {
    pub name: String,
    pub user_verification: UserVerification,
    pub time_to_live: Duration,
    pub hints: Vec<Hint>,
    /// Whether a successful sign-in should refresh `lastUsedOn`.
    pub needs_touch: bool,
}

fn preset(app_id: &str, purpose: &str) -> AuthConfigRecord {
    AuthConfigRecord {
        app_id: app_id.to_owned(),
        purpose: purpose.to_owned(),
        user_verification: "preferred".to_owned(),
        ttl_seconds: DEFAULT_TTL_SECONDS,
        hints: Vec::new(),
        created_by: "System".to_owned(),
        created_at: None,
        edited_by: None,
        edited_at: None,
        last_used_at: None,
    }
}

/// The purpose a sign-in asked for. Blank or `null` means `sign-in`; an unknown purpose falls
/// back to `sign-in`, as in the original.
pub async fn resolve(s: &Services, tenant: &Tenant, name: Option<&str>) -> ApiResult<Purpose> {
    let app_id = tenant.app.id.as_str();
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(SIGN_IN);
    let record = match s.store.find_auth_config(app_id, name).await? {
        Some(r) => r,
        None if PRESETS.contains(&name) => preset(app_id, name),
        None => match s.store.find_auth_config(app_id, SIGN_IN).await? {
            Some(r) => r,
            None => preset(app_id, SIGN_IN),
        },
    };
    let now = tenant.now;
    Ok(Purpose {
        user_verification: UserVerification::parse(&record.user_verification)
            .unwrap_or(UserVerification::Preferred),
        time_to_live: Duration::seconds(record.ttl_seconds),
        hints: record.hints.iter().filter_map(|h| Hint::parse(h)).collect(),
        needs_touch: record
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_RESOLUTION),
        name: record.purpose,
    })
}

/// What completing a sign-in for `purpose` records: its last use, and for a preset that has
/// no row yet, its defaults.
#[must_use]
pub fn touch(purpose: &str) -> PurposeTouch {
    PurposeTouch {
        purpose: purpose.to_owned(),
        preset: PRESETS.contains(&purpose).then(|| PresetDefaults {
            user_verification: "preferred".to_owned(),
            ttl_seconds: DEFAULT_TTL_SECONDS,
        }),
    }
}

pub async fn list(
    s: &Services,
    tenant: &Tenant,
    purpose: Option<String>,
) -> ApiResult<AuthConfigsResponse> {
    let app_id = tenant.app.id.as_str();
    let mut records = s.store.list_auth_configs(app_id).await?;
    for name in PRESETS {
        if !records.iter().any(|r| r.purpose == name) {
            records.push(preset(app_id, name));
        }
    }
    records.sort_by(|a, b| a.purpose.cmp(&b.purpose));
    if let Some(wanted) = purpose.filter(|p| !p.is_empty()) {
        records.retain(|r| r.purpose == wanted);
    }
    Ok(AuthConfigsResponse {
        configurations: records.into_iter().map(item).collect(),
    })
}

fn item(r: AuthConfigRecord) -> AuthConfigItem {
    AuthConfigItem {
        purpose: r.purpose,
        user_verification_requirement: r.user_verification,
        time_to_live: r.ttl_seconds,
        hints: r
            .hints
            .iter()
            .filter_map(|h| Hint::parse(h))
            .map(|h| match h {
                Hint::SecurityKey => "SecurityKey",
                Hint::ClientDevice => "ClientDevice",
                Hint::Hybrid => "Hybrid",
            })
            .collect::<Vec<_>>()
            .join(", "),
        created_by: r.created_by,
        created_on: r.created_at.map(format_time),
        edited_by: r.edited_by,
        edited_on: r.edited_at.map(format_time),
        last_used_on: r.last_used_at.map(format_time),
    }
}

/// A validated add/update request.
struct Valid {
    purpose: String,
    user_verification: String,
    ttl_seconds: i64,
    hints: Vec<String>,
    performed_by: String,
}

fn validate(req: AuthConfigRequest) -> ApiResult<Valid> {
    let mut v = Validator::default();
    let purpose = v.required("purpose", "Purpose", req.purpose.as_deref());
    if purpose.chars().count() > 255 {
        v.error(
            "purpose",
            "The field Purpose must be a string or array type with a maximum length of '255'.",
        );
    }
    if !purpose
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        v.error("purpose", "Characters are limited to A-z, 0-9, -, or _.");
    }
    let performed_by = v.required("performedBy", "PerformedBy", req.performed_by.as_deref());
    let user_verification = match req.user_verification.as_deref() {
        None | Some("") => UserVerification::Preferred,
        Some(text) => UserVerification::parse(text).unwrap_or_else(|| {
            v.error(
                "userVerificationRequirement",
                "The field UserVerificationRequirement must be required, preferred or discouraged.",
            );
            UserVerification::Preferred
        }),
    };
    let ttl_seconds = match req.time_to_live.as_deref() {
        None | Some("") => DEFAULT_TTL_SECONDS,
        Some(text) => parse_time_span(text).unwrap_or(0),
    };
    if !(1..=MAX_TTL_SECONDS).contains(&ttl_seconds) {
        v.error(
            "timeToLive",
            "The field TimeToLive must be a positive time span of at most 7 days, such as 00:02:00.",
        );
    }
    let mut hints = Vec::new();
    for text in req.hints.unwrap_or_default() {
        let normal = match text.to_ascii_lowercase().replace('-', "").as_str() {
            "securitykey" => Some(Hint::SecurityKey),
            "clientdevice" => Some(Hint::ClientDevice),
            "hybrid" => Some(Hint::Hybrid),
            _ => None,
        };
        match normal {
            Some(h) if !hints.contains(&h.as_str().to_owned()) => hints.push(h.as_str().to_owned()),
            Some(_) => {}
            None => v.error(
                "hints",
                "The field Hints may only contain security-key, client-device or hybrid.",
            ),
        }
    }
    v.finish()?;
    Ok(Valid {
        purpose,
        user_verification: user_verification.as_str().to_owned(),
        ttl_seconds,
        hints,
        performed_by,
    })
}

/// `[d.]hh:mm:ss[.fffffff]` as .NET writes a TimeSpan, or a plain number of seconds.
fn parse_time_span(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let (days, rest) = match text.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<i64>().ok()?, rest),
        _ => (0, text),
    };
    let rest = rest.split('.').next()?;
    let parts: Vec<i64> = rest
        .split(':')
        .map(|p| p.parse::<i64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    if !(0..24).contains(h) || !(0..60).contains(m) || !(0..60).contains(sec) {
        return None;
    }
    // Checked: a huge day count is refused as out of range, not wrapped.
    days.checked_mul(86_400)?
        .checked_add(h * 3_600 + m * 60 + sec)
}

pub async fn add(s: &Services, tenant: &Tenant, req: AuthConfigRequest) -> ApiResult<()> {
    let app_id = tenant.app.id.as_str();
    let valid = validate(req)?;
    let now = tenant.now;
    if PRESETS.contains(&valid.purpose.as_str()) {
        return Err(exists(&valid.purpose));
    }
    let record = AuthConfigRecord {
        app_id: app_id.to_owned(),
        purpose: valid.purpose.clone(),
        user_verification: valid.user_verification,
        ttl_seconds: valid.ttl_seconds,
        hints: valid.hints,
        created_by: valid.performed_by.clone(),
        created_at: Some(now),
        edited_by: None,
        edited_at: None,
        last_used_at: None,
    };
    match s.store.insert_auth_config(&record).await {
        Err(StoreError::Conflict(Conflict::AuthConfig)) => return Err(exists(&valid.purpose)),
        other => other?,
    }
    changed(
        s,
        tenant,
        EventType::ApiAuthenticationConfigurationCreated,
        &valid.performed_by,
        &valid.purpose,
    )
    .await;
    Ok(())
}

pub async fn update(s: &Services, tenant: &Tenant, req: AuthConfigRequest) -> ApiResult<()> {
    let app_id = tenant.app.id.as_str();
    let valid = validate(req)?;
    let now = tenant.now;
    let existing = match s.store.find_auth_config(app_id, &valid.purpose).await? {
        Some(r) => r,
        None if PRESETS.contains(&valid.purpose.as_str()) => preset(app_id, &valid.purpose),
        None => return Err(missing(&valid.purpose)),
    };
    let record = AuthConfigRecord {
        user_verification: valid.user_verification,
        ttl_seconds: valid.ttl_seconds,
        hints: valid.hints,
        edited_by: Some(valid.performed_by.clone()),
        edited_at: Some(now),
        ..existing
    };
    s.store.save_auth_config(&record).await?;
    changed(
        s,
        tenant,
        EventType::ApiAuthenticationConfigurationUpdated,
        &valid.performed_by,
        &valid.purpose,
    )
    .await;
    Ok(())
}

pub async fn delete(s: &Services, tenant: &Tenant, req: AuthConfigRequest) -> ApiResult<()> {
    let app_id = tenant.app.id.as_str();
    let mut v = Validator::default();
    let purpose = v.required("purpose", "Purpose", req.purpose.as_deref());
    let performed_by = v.required("performedBy", "PerformedBy", req.performed_by.as_deref());
    v.finish()?;
    if PRESETS.contains(&purpose.as_str()) {
        return Err(ApiError::bad_request(
            "auth_config_preset",
            format!("The {purpose} configuration cannot be deleted."),
        ));
    }
    if !s.store.delete_auth_config(app_id, &purpose).await? {
        return Err(missing(&purpose));
    }
    changed(
        s,
        tenant,
        EventType::ApiAuthenticationConfigurationDeleted,
        &performed_by,
        &purpose,
    )
    .await;
    Ok(())
}

async fn changed(
    s: &Services,
    tenant: &Tenant,
    kind: EventType,
    performed_by: &str,
    purpose: &str,
) {
    let verb = match kind {
        EventType::ApiAuthenticationConfigurationCreated => "created",
        EventType::ApiAuthenticationConfigurationUpdated => "updated",
        _ => "deleted",
    };
    let message = format!("The authentication configuration {purpose} was {verb}.");
    events::note(s, tenant, kind, performed_by, &tenant.app.id, message).await;
}

fn exists(purpose: &str) -> ApiError {
    ApiError::bad_request(
        "auth_config_exists",
        format!("The configuration {purpose} already exists."),
    )
}

fn missing(purpose: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "auth_config_not_found",
        format!("The configuration {purpose} does not exist."),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_time_span;

    #[test]
    fn time_spans() {
        assert_eq!(parse_time_span("00:02:00"), Some(120));
        assert_eq!(parse_time_span("1.00:00:01"), Some(86_401));
        assert_eq!(parse_time_span("00:00:30.5000000"), Some(30));
        assert_eq!(parse_time_span("300"), Some(300));
        assert_eq!(parse_time_span("25:00:00"), None);
        assert_eq!(parse_time_span("soon"), None);
    }
}
