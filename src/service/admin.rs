//! Management operations on apps and their keys (`ManagementKey`).

use axum::http::StatusCode;
use chrono::Duration;

use super::events::{self, Event, EventType};
use super::{format_time, Validator};
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, SCOPE_LOGIN, SCOPE_REGISTER, SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY};
use crate::store::{ApiKeyRecord, AppFeatures, AppRecord, Conflict, KeyKind, StoreError};
use crate::wire::{
    ApiKeyItem, AppFeaturesResponse, CreateKeyRequest, CreateKeyResponse, DeletionResponse,
    ManageFeaturesRequest,
};
use crate::Services;

/// An app younger than this, or without credentials, is deleted at once; others after a month.
const IMMEDIATE_DELETION_AGE: Duration = Duration::days(3);
const DELETION_DELAY: Duration = Duration::days(30);

async fn app(s: &Services, app_id: &str) -> ApiResult<AppRecord> {
    s.store.find_app(app_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "app_not_found",
            format!("The app '{app_id}' does not exist."),
        )
    })
}

async fn log(s: &Services, app: &AppRecord, kind: EventType, by: &str, message: String) {
    let event = Event {
        kind,
        message,
        performed_by: by,
        subject: &app.id,
        api_key_id: "",
    };
    events::record(s, app, event).await;
}

fn key_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "api_key_not_found",
        "Apikey was not found",
    )
}

pub async fn list_keys(s: &Services, app_id: &str) -> ApiResult<Vec<ApiKeyItem>> {
    let app = app(s, app_id).await?;
    let keys = s.store.list_api_keys(app_id).await?;
    log(
        s,
        &app,
        EventType::AdminApiKeysEnumerated,
        "System",
        "API keys were listed.".into(),
    )
    .await;
    Ok(keys
        .into_iter()
        .map(|k| {
            let mut scopes = k.scopes.clone();
            scopes.sort();
            ApiKeyItem {
                api_key: match k.kind {
                    KeyKind::Public => k.value,
                    // Only the last four characters of a secret are known, and shown.
                    KeyKind::Secret => {
                        format!("{}:secret:{}{}", k.app_id, "*".repeat(28), k.key_id)
                    }
                },
                id: k.key_id,
                created_at: format_time(k.created_at),
                type_: match k.kind {
                    KeyKind::Public => 1,
                    KeyKind::Secret => 2,
                },
                scopes,
                is_locked: k.locked,
                last_locked_at: k.last_locked_at.map(format_time),
            }
        })
        .collect())
}

/// Creates a key of `kind` with the scopes given as the original's integers (or names).
pub async fn create_key(
    s: &Services,
    app_id: &str,
    kind: KeyKind,
    req: CreateKeyRequest,
    by: &str,
) -> ApiResult<CreateKeyResponse> {
    let app = app(s, app_id).await?;
    let names: [&str; 2] = match kind {
        KeyKind::Public => [SCOPE_REGISTER, SCOPE_LOGIN],
        KeyKind::Secret => [SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY],
    };
    let mut scopes: Vec<String> = Vec::new();
    for given in req.scopes.unwrap_or_default() {
        let scope = match given.parse::<usize>() {
            Ok(i) => names.get(i).copied(),
            Err(_) => names
                .iter()
                .copied()
                .find(|n| n.eq_ignore_ascii_case(&given)),
        };
        let Some(scope) = scope else {
            return Err(ApiError::validation(
                "scopes",
                format!("'{given}' is not a scope of this kind of key."),
            ));
        };
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::bad_request(
            "create_api_key_scopes_required",
            "Please select at least one scope.",
        ));
    }
    let now = s.clock.now();
    // A new key's id (its last four characters) must differ from the app's other keys.
    loop {
        let key = keys::generate(app_id, kind);
        let record = ApiKeyRecord {
            app_id: app_id.to_owned(),
            key_id: keys::key_id(&key),
            kind,
            value: match kind {
                KeyKind::Public => key.clone(),
                KeyKind::Secret => keys::hash_secret(&s.instance_key, &key),
            },
            scopes: scopes.clone(),
            locked: false,
            created_at: now,
            last_locked_at: None,
        };
        match s.store.insert_api_key(&record).await {
            Err(StoreError::Conflict(Conflict::ApiKey)) => continue,
            other => other?,
        }
        let message = format!("API key {} was created.", record.key_id);
        log(s, &app, EventType::AdminApiKeyCreated, by, message).await;
        return Ok(CreateKeyResponse { api_key: key });
    }
}

/// `by` names who acted in the event: `System` for the management API, `console` for the
/// admin console.
pub async fn lock_key(
    s: &Services,
    app_id: &str,
    key_id: &str,
    locked: bool,
    by: &str,
) -> ApiResult<()> {
    let app = app(s, app_id).await?;
    if !s
        .store
        .set_api_key_locked(app_id, key_id, locked, s.clock.now())
        .await?
    {
        return Err(key_not_found());
    }
    let (kind, verb) = if locked {
        (EventType::AdminApiKeyLocked, "locked")
    } else {
        (EventType::AdminApiKeyUnlocked, "unlocked")
    };
    log(s, &app, kind, by, format!("API key {key_id} was {verb}.")).await;
    Ok(())
}

pub async fn delete_key(s: &Services, app_id: &str, key_id: &str, by: &str) -> ApiResult<()> {
    let app = app(s, app_id).await?;
    if !s.store.delete_api_key(app_id, key_id).await? {
        return Err(key_not_found());
    }
    let message = format!("API key {key_id} was deleted.");
    log(s, &app, EventType::AdminApiKeyDeleted, by, message).await;
    Ok(())
}

/// Freezing refuses every key of the app at once; unfreezing also cancels a pending deletion.
pub async fn freeze(s: &Services, app_id: &str, frozen: bool, by: &str) -> ApiResult<()> {
    let app = app(s, app_id).await?;
    s.store.set_app_frozen(app_id, frozen).await?;
    let kind = if frozen {
        EventType::ApiManagementAppFrozen
    } else {
        s.store.set_app_deletion(app_id, None, None).await?;
        EventType::ApiManagementAppUnfrozen
    };
    let verb = if frozen { "frozen" } else { "unfrozen" };
    log(s, &app, kind, by, format!("The app was {verb}.")).await;
    Ok(())
}

pub async fn features(s: &Services, app_id: &str) -> ApiResult<AppFeaturesResponse> {
    let f = app(s, app_id).await?.features;
    Ok(AppFeaturesResponse {
        event_logging_is_enabled: f.event_logging_enabled,
        event_logging_retention_period: f.event_logging_retention_days,
        developer_logging_ends_at: None,
        max_users: f.max_users,
        allow_attestation: f.allow_attestation,
        is_generate_sign_in_token_endpoint_enabled: f.generate_token_enabled,
        is_magic_links_enabled: f.magic_links_enabled,
        magic_link_email_monthly_quota: f.magic_link_monthly_quota,
        allowed_origins: f.allowed_origins,
        allowed_rp_ids: f.allowed_rp_ids,
    })
}

/// Replaces the five management-controlled features.
pub async fn set_features(s: &Services, app_id: &str, req: ManageFeaturesRequest) -> ApiResult<()> {
    let current = app(s, app_id).await?.features;
    let mut v = Validator::default();
    let retention = req
        .event_logging_retention_period
        .unwrap_or(current.event_logging_retention_days);
    // The 0..90 rule applies to a value given here; the creation default (365) may stay.
    if req
        .event_logging_retention_period
        .is_some_and(|r| !(0..=90).contains(&r))
    {
        v.error(
            "eventLoggingRetentionPeriod",
            "The field EventLoggingRetentionPeriod must be between 0 and 90.",
        );
    }
    if req.magic_link_monthly_quota.is_some_and(|q| q < 0) {
        v.error(
            "magicLinkEmailMonthlyQuota",
            "The field MagicLinkEmailMonthlyQuota must not be negative.",
        );
    }
    if req.max_users.is_some_and(|m| m < 0) {
        v.error("maxUsers", "The field MaxUsers must not be negative.");
    }
    let allowed_origins = match req.allowed_origins {
        None => current.allowed_origins.clone(),
        Some(list) => list
            .iter()
            .filter_map(|o| {
                let normal = super::origins::normalize_allowed(o);
                if normal.is_none() {
                    v.error(
                        "allowedOrigins",
                        format!("'{o}' is not an origin such as https://example.com, android:apk-key-hash:… or ios:bundle-id:…"),
                    );
                }
                normal
            })
            .collect(),
    };
    let allowed_rp_ids = match req.allowed_rp_ids {
        None => current.allowed_rp_ids.clone(),
        Some(list) => list
            .iter()
            .filter_map(|r| {
                let normal = super::origins::normalize_rp_id(r);
                if normal.is_none() {
                    v.error("allowedRpIds", format!("'{r}' is not a domain name."));
                }
                normal
            })
            .collect(),
    };
    v.finish()?;
    let features = AppFeatures {
        event_logging_enabled: req.event_logging_enabled.unwrap_or(false),
        event_logging_retention_days: retention,
        magic_link_monthly_quota: req
            .magic_link_monthly_quota
            .unwrap_or(current.magic_link_monthly_quota),
        max_users: req.max_users,
        allow_attestation: req.allow_attestation.unwrap_or(false),
        allowed_origins,
        allowed_rp_ids,
        ..current
    };
    s.store.replace_features(app_id, &features).await?;
    Ok(())
}

pub async fn can_delete_immediately(s: &Services, app_id: &str) -> ApiResult<bool> {
    let app = app(s, app_id).await?;
    deletable_now(s, &app).await
}

async fn deletable_now(s: &Services, app: &AppRecord) -> ApiResult<bool> {
    Ok(s.clock.now() - app.created_at < IMMEDIATE_DELETION_AGE
        || s.store.count_credentials(&app.id).await? == 0)
}

fn admin_emails(app: &AppRecord) -> Vec<String> {
    app.admin_email.iter().cloned().collect()
}

/// Deletes the app now when that is safe, else schedules it in a month (its keys stop working
/// at once).
pub async fn mark_delete(
    s: &Services,
    app_id: &str,
    deleted_by: Option<String>,
) -> ApiResult<DeletionResponse> {
    let app = app(s, app_id).await?;
    if app.delete_at.is_some() {
        return Err(ApiError::bad_request(
            "app_pending_deletion",
            "The app is already scheduled for deletion.",
        ));
    }
    let by = deleted_by
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "System".to_owned());
    if deletable_now(s, &app).await? {
        s.store.delete_app(app_id).await?;
        tracing::info!(app_id, "app deleted");
        return Ok(DeletionResponse {
            message: "The app was deleted.".to_owned(),
            is_deleted: true,
            delete_at: None,
            admin_emails: admin_emails(&app),
        });
    }
    let delete_at = s.clock.now() + DELETION_DELAY;
    s.store
        .set_app_deletion(app_id, Some(delete_at), Some(&by))
        .await?;
    log(
        s,
        &app,
        EventType::ApiManagementAppMarkedForDeletion,
        &by,
        "The app was marked for deletion.".into(),
    )
    .await;
    Ok(DeletionResponse {
        message: format!("The app will be deleted on {}.", format_time(delete_at)),
        is_deleted: false,
        delete_at: Some(format_time(delete_at)),
        admin_emails: admin_emails(&app),
    })
}

pub async fn cancel_delete(s: &Services, app_id: &str, by: &str) -> ApiResult<()> {
    let app = app(s, app_id).await?;
    s.store.set_app_deletion(app_id, None, None).await?;
    log(
        s,
        &app,
        EventType::ApiManagementAppDeletionCancelled,
        by,
        "The app's deletion was cancelled.".into(),
    )
    .await;
    Ok(())
}

/// Deletes an app whose scheduled deletion is due.
pub async fn delete(s: &Services, app_id: &str) -> ApiResult<DeletionResponse> {
    let Some(app) = s.store.find_app(app_id).await? else {
        return Err(ApiError::bad_request("app_not_found", "App was not found."));
    };
    match app.delete_at {
        Some(at) if at <= s.clock.now() => {}
        _ => {
            return Err(ApiError::bad_request(
                "app_not_pending_deletion",
                "App cannot be deleted yet.",
            ))
        }
    }
    s.store.delete_app(app_id).await?;
    tracing::info!(app_id, "app deleted");
    Ok(DeletionResponse {
        message: "The app was deleted.".to_owned(),
        is_deleted: true,
        delete_at: app.delete_at.map(format_time),
        admin_emails: admin_emails(&app),
    })
}

pub async fn pending_deletion(s: &Services) -> ApiResult<Vec<String>> {
    Ok(s.store.apps_pending_deletion().await?)
}
