//! The per-app event log (`GET /events`), written when the app has event logging on.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::format_time;
use crate::error::{ApiError, ApiResult};
use crate::store::{AppRecord, EventRecord};
use crate::wire::{EventItem, EventsResponse};
use crate::Services;

/// The contract's event types; `/events` reports them by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ApiAuthUserRegistered,
    ApiAuthPasskeyRegistrationBegan,
    ApiAuthPasskeyRegistrationCompleted,
    ApiAuthInvalidSecretKeyUsed,
    ApiAuthInvalidPublicKeyUsed,
    ApiAuthDisabledSecretKeyUsed,
    ApiAuthDisabledPublicKeyUsed,
    ApiUserSetAliases,
    ApiUserDeleteCredential,
    ApiUserSignInCompleted,
    ApiUserSignInVerified,
    ApiUserDeleted,
    ApiUserSigninTokenCreated,
    ApiUserMagicLinkCreated,
    /// passkeyd's own: a user's profile or status changed (the Passage-style API).
    ApiUserUpdated,
    ApiManagementAppMarkedForDeletion,
    ApiManagementAppDeletionCancelled,
    ApiManagementAppCreated,
    ApiManagementAppFrozen,
    ApiManagementAppUnfrozen,
    ApiAuthenticatorsAllowlisted,
    ApiAuthenticatorsBlacklisted,
    ApiAuthenticatorsDelisted,
    ApiAuthenticationConfigurationCreated,
    ApiAuthenticationConfigurationUpdated,
    ApiAuthenticationConfigurationDeleted,
    AdminApiKeyCreated,
    AdminApiKeyDeleted,
    AdminApiKeyLocked,
    AdminApiKeyUnlocked,
    AdminApiKeysEnumerated,
    AdminGenerateSignInTokenEndpointEnabled,
    AdminGenerateSignInTokenEndpointDisabled,
    AdminMagicLinksEnabled,
    AdminMagicLinksDisabled,
    /// passkeyd's own: the management features changed (the admin console).
    AdminAppFeaturesChanged,
}

impl EventType {
    /// The wire and stored name: the contract's enum member names, spelled out so that a
    /// rename in the code cannot change them.
    #[must_use]
    pub fn name(self) -> String {
        self.as_str().to_owned()
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiAuthUserRegistered => "ApiAuthUserRegistered",
            Self::ApiAuthPasskeyRegistrationBegan => "ApiAuthPasskeyRegistrationBegan",
            Self::ApiAuthPasskeyRegistrationCompleted => "ApiAuthPasskeyRegistrationCompleted",
            Self::ApiAuthInvalidSecretKeyUsed => "ApiAuthInvalidSecretKeyUsed",
            Self::ApiAuthInvalidPublicKeyUsed => "ApiAuthInvalidPublicKeyUsed",
            Self::ApiAuthDisabledSecretKeyUsed => "ApiAuthDisabledSecretKeyUsed",
            Self::ApiAuthDisabledPublicKeyUsed => "ApiAuthDisabledPublicKeyUsed",
            Self::ApiUserSetAliases => "ApiUserSetAliases",
            Self::ApiUserDeleteCredential => "ApiUserDeleteCredential",
            Self::ApiUserSignInCompleted => "ApiUserSignInCompleted",
            Self::ApiUserSignInVerified => "ApiUserSignInVerified",
            Self::ApiUserDeleted => "ApiUserDeleted",
            Self::ApiUserSigninTokenCreated => "ApiUserSigninTokenCreated",
            Self::ApiUserMagicLinkCreated => "ApiUserMagicLinkCreated",
            Self::ApiUserUpdated => "ApiUserUpdated",
            Self::ApiManagementAppMarkedForDeletion => "ApiManagementAppMarkedForDeletion",
            Self::ApiManagementAppDeletionCancelled => "ApiManagementAppDeletionCancelled",
            Self::ApiManagementAppCreated => "ApiManagementAppCreated",
            Self::ApiManagementAppFrozen => "ApiManagementAppFrozen",
            Self::ApiManagementAppUnfrozen => "ApiManagementAppUnfrozen",
            Self::ApiAuthenticatorsAllowlisted => "ApiAuthenticatorsAllowlisted",
            Self::ApiAuthenticatorsBlacklisted => "ApiAuthenticatorsBlacklisted",
            Self::ApiAuthenticatorsDelisted => "ApiAuthenticatorsDelisted",
            Self::ApiAuthenticationConfigurationCreated => "ApiAuthenticationConfigurationCreated",
            Self::ApiAuthenticationConfigurationUpdated => "ApiAuthenticationConfigurationUpdated",
            Self::ApiAuthenticationConfigurationDeleted => "ApiAuthenticationConfigurationDeleted",
            Self::AdminApiKeyCreated => "AdminApiKeyCreated",
            Self::AdminApiKeyDeleted => "AdminApiKeyDeleted",
            Self::AdminApiKeyLocked => "AdminApiKeyLocked",
            Self::AdminApiKeyUnlocked => "AdminApiKeyUnlocked",
            Self::AdminApiKeysEnumerated => "AdminApiKeysEnumerated",
            Self::AdminGenerateSignInTokenEndpointEnabled => {
                "AdminGenerateSignInTokenEndpointEnabled"
            }
            Self::AdminGenerateSignInTokenEndpointDisabled => {
                "AdminGenerateSignInTokenEndpointDisabled"
            }
            Self::AdminMagicLinksEnabled => "AdminMagicLinksEnabled",
            Self::AdminMagicLinksDisabled => "AdminMagicLinksDisabled",
            Self::AdminAppFeaturesChanged => "AdminAppFeaturesChanged",
        }
    }

    fn severity(self) -> &'static str {
        use EventType::*;
        match self {
            ApiAuthInvalidSecretKeyUsed
            | ApiAuthInvalidPublicKeyUsed
            | ApiAuthDisabledSecretKeyUsed
            | ApiAuthDisabledPublicKeyUsed
            | ApiManagementAppFrozen
            | ApiManagementAppUnfrozen => "Alert",
            _ => "Informational",
        }
    }
}

/// One event to record.
pub struct Event<'a> {
    pub kind: EventType,
    pub message: String,
    pub performed_by: &'a str,
    pub subject: &'a str,
    pub api_key_id: &'a str,
}

/// Records `event` for `app` when its event log is on. A failure to record is logged and does
/// not fail the request that caused it.
pub async fn record(s: &Services, app: &AppRecord, event: Event<'_>) {
    let Some(record) = prepare(app, event, s.clock.now()) else {
        return;
    };
    if let Err(e) = s.store.insert_event(&record).await {
        tracing::warn!(error = %e, app_id = %app.id, "recording an event failed");
    }
}

/// The record of `event` when `app`'s event log is on, for a step that writes it in its own
/// transaction.
#[must_use]
pub fn prepare(app: &AppRecord, event: Event<'_>, now: DateTime<Utc>) -> Option<EventRecord> {
    app.features.event_logging_enabled.then(|| EventRecord {
        // Time-ordered ids keep events of the same instant in the order they happened.
        id: uuid::Uuid::now_v7().to_string(),
        app_id: app.id.clone(),
        performed_at: now,
        event_type: event.kind.name(),
        severity: event.kind.severity().to_owned(),
        message: event.message,
        performed_by: event.performed_by.to_owned(),
        subject: event.subject.to_owned(),
        api_key_id: event.api_key_id.to_owned(),
    })
}

/// The record of an event caused by a request authenticated with an app key, if logged.
#[must_use]
pub fn of_request(
    tenant: &super::Tenant,
    kind: EventType,
    performed_by: &str,
    subject: &str,
    message: String,
) -> Option<EventRecord> {
    let event = Event {
        kind,
        message,
        performed_by: tenant.actor.unwrap_or(performed_by),
        subject,
        api_key_id: &tenant.key_id,
    };
    prepare(&tenant.app, event, tenant.now)
}

/// Records an event caused by a request authenticated with an app key.
pub async fn note(
    s: &Services,
    tenant: &super::Tenant,
    kind: EventType,
    performed_by: &str,
    subject: &str,
    message: String,
) {
    let Some(record) = of_request(tenant, kind, performed_by, subject, message) else {
        return;
    };
    if let Err(e) = s.store.insert_event(&record).await {
        tracing::warn!(error = %e, app_id = %tenant.app.id, "recording an event failed");
    }
}

pub async fn list(
    s: &Services,
    app: &AppRecord,
    page: Option<i64>,
    per_page: Option<i64>,
) -> ApiResult<EventsResponse> {
    if !app.features.event_logging_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "event_logging_disabled",
            "Event logging is not enabled for this application.",
        ));
    }
    let page = page.ok_or_else(|| {
        ApiError::unreadable(
            "Required parameter \"int pageNumber\" was not provided from query string.",
        )
    })?;
    let per_page = per_page.unwrap_or(100);
    let mut v = super::Validator::default();
    if page < 1 {
        v.error(
            "pageNumber",
            "The field PageNumber must be between 1 and 2147483647.",
        );
    }
    if !(1..=1000).contains(&per_page) {
        v.error(
            "numberOfResults",
            "The field NumberOfResults must be between 1 and 1000.",
        );
    }
    v.finish()?;
    let offset = (page - 1).saturating_mul(per_page);
    let (events, total) = s.store.list_events(&app.id, offset, per_page).await?;
    Ok(EventsResponse {
        tenant_id: app.id.clone(),
        events: events
            .into_iter()
            .map(|e| EventItem {
                performed_at: format_time(e.performed_at),
                message: e.message,
                performed_by: e.performed_by,
                tenant_id: e.app_id,
                event_type: e.event_type,
                severity: e.severity,
                subject: e.subject,
                api_key_id: e.api_key_id,
            })
            .collect(),
        total_event_count: total,
    })
}

/// Deletes events past each app's retention period; maintenance runs it every 10 minutes.
pub async fn purge(s: &Services, now: DateTime<Utc>) {
    match s.store.purge_events(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "old events purged"),
        Err(e) => tracing::warn!(error = %e, "purging old events failed"),
    }
}
