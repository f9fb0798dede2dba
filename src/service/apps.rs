//! Apps (tenants) and their keys.

use std::collections::HashSet;

use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::keys::{self, SCOPE_LOGIN, SCOPE_REGISTER, SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY};
use crate::service::events::{self, EventType};
use crate::service::Tenant;
use crate::store::{
    ApiKeyRecord, AppFeatures, AppRecord, Conflict, FeatureChange, KeyKind, StoreError,
};
use crate::wire::{CreateAppRequest, CreateAppResponse, SetFeaturesRequest};
use crate::Services;

/// Magic links a new app may send in 30 days. The original defaults to 0 (none until an
/// operator raises it); passkeyd starts apps with a working quota.
pub const DEFAULT_MAGIC_LINK_QUOTA: i64 = 2_000;

/// Event retention an app may be created with (ten years); later changes allow 0 to 90.
pub const MAX_RETENTION_DAYS: i64 = 3_650;

pub use crate::keys::is_valid_app_id;

fn invalid_app_id() -> ApiError {
    ApiError::bad_request(
        "invalid_app_id",
        "accountName needs to be alphanumeric and start with a letter",
    )
}

pub async fn available(s: &Services, app_id: &str) -> ApiResult<bool> {
    if !is_valid_app_id(app_id) {
        return Err(invalid_app_id());
    }
    Ok(s.store.find_app(app_id).await?.is_none())
}

/// Creates an app with two public keys (`register`, `login`) and two secrets
/// (`token_register`, `token_verify`). The keys are returned once and never again.
pub async fn create(
    s: &Services,
    app_id: &str,
    req: CreateAppRequest,
) -> ApiResult<CreateAppResponse> {
    if !is_valid_app_id(app_id) {
        return Err(invalid_app_id());
    }
    // Every app's retention enters the event purge's arithmetic, so an unbounded one could
    // break the purge for all apps.
    if req
        .event_logging_retention_period
        .is_some_and(|d| !(0..=MAX_RETENTION_DAYS).contains(&d))
    {
        return Err(ApiError::validation(
            "eventLoggingRetentionPeriod",
            format!(
                "The field EventLoggingRetentionPeriod must be between 0 and {MAX_RETENTION_DAYS}."
            ),
        ));
    }
    let now = s.clock.now();
    let app = AppRecord {
        session_lifetime_seconds: crate::service::sessions::DEFAULT_LIFETIME_SECONDS,
        id: app_id.to_owned(),
        admin_email: req.admin_email,
        created_at: now,
        frozen: false,
        delete_at: None,
        features: AppFeatures {
            event_logging_enabled: req.event_logging_enabled.unwrap_or(false),
            event_logging_retention_days: req.event_logging_retention_period.unwrap_or(365),
            magic_link_monthly_quota: req
                .magic_link_monthly_quota
                .unwrap_or(DEFAULT_MAGIC_LINK_QUOTA),
            max_users: req.max_users,
            allow_attestation: req.allow_attestation.unwrap_or(false),
            generate_token_enabled: true,
            magic_links_enabled: true,
            allowed_origins: Vec::new(),
            allowed_rp_ids: Vec::new(),
        },
    };

    // Key ids are the last four characters and must differ within an app.
    let mut seen = HashSet::new();
    let mut fresh = |kind| loop {
        let key = keys::generate(app_id, kind);
        if seen.insert(keys::key_id(&key)) {
            break key;
        }
    };
    let (public1, public2) = (fresh(KeyKind::Public), fresh(KeyKind::Public));
    let (secret1, secret2) = (fresh(KeyKind::Secret), fresh(KeyKind::Secret));

    let record = |key: &str, kind: KeyKind, scopes: [&str; 2]| ApiKeyRecord {
        app_id: app_id.to_owned(),
        key_id: keys::key_id(key),
        kind,
        value: match kind {
            KeyKind::Public => key.to_owned(),
            KeyKind::Secret => keys::hash_secret(&s.instance_key, key),
        },
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        locked: false,
        created_at: now,
        last_locked_at: None,
    };
    let records = [
        record(&public1, KeyKind::Public, [SCOPE_REGISTER, SCOPE_LOGIN]),
        record(&public2, KeyKind::Public, [SCOPE_REGISTER, SCOPE_LOGIN]),
        record(
            &secret1,
            KeyKind::Secret,
            [SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY],
        ),
        record(
            &secret2,
            KeyKind::Secret,
            [SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY],
        ),
    ];
    match s.store.insert_app(&app, &records).await {
        Ok(()) => {}
        Err(StoreError::Conflict(Conflict::App)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "app_exists",
                format!("accountName '{app_id}' is not available"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(app_id, "app created");
    Ok(CreateAppResponse {
        message: "Store keys safely. They will only be shown to you once.",
        api_key1: public1,
        api_key2: public2,
        api_secret1: secret1,
        api_secret2: secret2,
    })
}

/// `POST /apps/features`: a partial update; absent fields keep their value.
pub async fn set_features(s: &Services, tenant: &Tenant, req: SetFeaturesRequest) -> ApiResult<()> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    if let Some(days) = req.event_logging_retention_period {
        if !(0..=90).contains(&days) {
            return Err(ApiError::validation(
                "eventLoggingRetentionPeriod",
                "The field EventLoggingRetentionPeriod must be between 0 and 90.",
            ));
        }
    }
    let change = FeatureChange {
        event_logging_retention_days: req.event_logging_retention_period,
        generate_token_enabled: req.enable_generated_tokens,
        magic_links_enabled: req.enable_magic_links,
    };
    s.store.update_features(app_id, &change).await?;
    let performed_by = req.performed_by.as_deref().unwrap_or("Api");
    let switches = [
        (
            change.generate_token_enabled,
            EventType::AdminGenerateSignInTokenEndpointEnabled,
            EventType::AdminGenerateSignInTokenEndpointDisabled,
            "the sign-in token endpoint",
        ),
        (
            change.magic_links_enabled,
            EventType::AdminMagicLinksEnabled,
            EventType::AdminMagicLinksDisabled,
            "magic links",
        ),
    ];
    for (value, on, off, what) in switches {
        if let Some(enabled) = value {
            let (kind, verb) = if enabled {
                (on, "enabled")
            } else {
                (off, "disabled")
            };
            let message = format!("{performed_by} {verb} {what}.");
            events::note(s, tenant, kind, performed_by, app_id, message).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_valid_app_id;

    #[test]
    fn app_ids() {
        assert!(is_valid_app_id("abc"));
        assert!(is_valid_app_id("shop42"));
        assert!(!is_valid_app_id("ab"));
        assert!(!is_valid_app_id("1abc"));
        assert!(!is_valid_app_id("Abc"));
        assert!(!is_valid_app_id("ab-c"));
        assert!(!is_valid_app_id(&"a".repeat(63)));
    }
}
