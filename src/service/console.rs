//! The admin console's operations: its sign-in sessions, and what its pages show and change.
//!
//! Changes go through the same service functions as the management and backend APIs, acting
//! as [`ACTOR`], so that every one lands in the app's event log under that name.

use std::collections::BTreeSet;
use std::time::Instant;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

use super::events::{self, Event, EventType};
use super::{admin, alias_hash, apps, authenticators, purposes, reports, users, Tenant};
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, SCOPE_LOGIN, SCOPE_REGISTER, SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY};
use crate::store::{AppRecord, ConsoleSession, KeyKind, PoolStats};
use crate::wire::{
    ActiveUserReportItem, AppFeaturesResponse, AuthConfigItem, AuthConfigRequest,
    AuthenticatorItem, AuthenticatorsRequest, CreateAppRequest, CreateAppResponse,
    CreateKeyRequest, CredentialReportItem, DeleteCredentialRequest, DeletionResponse, EventItem,
    ManageFeaturesRequest, PeriodQuery,
};
use crate::Services;

/// Who the event log names for a change made in the console.
pub const ACTOR: &str = "console";
/// A console sign-in lasts a working day.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// Lists in the console stop here; the search narrows them.
const LIST_LIMIT: i64 = 200;
/// Events read for one view of the log, before filtering.
const EVENT_WINDOW: i64 = 1000;

/// What the sign-in cookie and the forms carry.
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// The console is there only when a management key is configured.
#[must_use]
pub fn enabled(s: &Services) -> bool {
    s.management_key.is_some()
}

/// A session for the right management key, else `None`. The key is compared in constant time.
pub async fn sign_in(s: &Services, presented: &str) -> ApiResult<Option<NewSession>> {
    let Some(expected) = &s.management_key else {
        return Ok(None);
    };
    if presented.is_empty() || !keys::same(expected.expose(), presented) {
        return Ok(None);
    }
    let (token, token_hash) = crate::tokens::mint("console_");
    let (csrf, _) = crate::tokens::mint("");
    let now = s.clock.now();
    s.store
        .insert_console_session(&ConsoleSession {
            token_hash,
            csrf: csrf.clone(),
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
        })
        .await?;
    tracing::info!("console sign-in");
    Ok(Some(NewSession { token, csrf }))
}

/// The live session a cookie's token names.
pub async fn session(s: &Services, token: &str) -> ApiResult<Option<ConsoleSession>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(s.store
        .find_console_session(&token_hash(token), s.clock.now())
        .await?)
}

pub async fn sign_out(s: &Services, token: &str) -> ApiResult<()> {
    Ok(s.store.delete_console_session(&token_hash(token)).await?)
}

fn token_hash(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether a form's token is the session's.
#[must_use]
pub fn csrf_ok(session: &ConsoleSession, given: Option<&str>) -> bool {
    given.is_some_and(|g| !g.is_empty() && keys::same(&session.csrf, g))
}

// ---- apps ------------------------------------------------------------------------------

pub async fn apps(s: &Services, search: &str) -> ApiResult<Vec<AppRecord>> {
    let search = search.trim().to_ascii_lowercase();
    // App ids are lower-case letters and digits: anything else matches no app.
    if !search.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(Vec::new());
    }
    Ok(s.store.list_apps(&search, LIST_LIMIT).await?)
}

pub async fn app(s: &Services, app_id: &str) -> ApiResult<AppRecord> {
    s.store.find_app(app_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "app_not_found",
            format!("The app '{app_id}' does not exist."),
        )
    })
}

async fn note(s: &Services, app: &AppRecord, kind: EventType, message: String) {
    let event = Event {
        kind,
        message,
        performed_by: ACTOR,
        subject: &app.id,
        api_key_id: "",
    };
    events::record(s, app, event).await;
}

pub async fn create_app(
    s: &Services,
    app_id: &str,
    admin_email: Option<String>,
    event_logging: bool,
) -> ApiResult<CreateAppResponse> {
    let req = CreateAppRequest {
        admin_email: admin_email.filter(|e| !e.trim().is_empty()),
        event_logging_enabled: Some(event_logging),
        ..CreateAppRequest::default()
    };
    let created = apps::create(s, app_id, req).await?;
    let app = app(s, app_id).await?;
    let message = "The app was created in the console.".to_owned();
    note(s, &app, EventType::ApiManagementAppCreated, message).await;
    Ok(created)
}

pub async fn freeze(s: &Services, app_id: &str, frozen: bool) -> ApiResult<()> {
    admin::freeze(s, app_id, frozen, ACTOR).await
}

pub async fn mark_delete(s: &Services, app_id: &str) -> ApiResult<DeletionResponse> {
    admin::mark_delete(s, app_id, Some(ACTOR.to_owned())).await
}

pub async fn cancel_delete(s: &Services, app_id: &str) -> ApiResult<()> {
    admin::cancel_delete(s, app_id, ACTOR).await
}

pub async fn features(s: &Services, app_id: &str) -> ApiResult<AppFeaturesResponse> {
    admin::features(s, app_id).await
}

pub async fn set_features(
    s: &Services,
    app_id: &str,
    mut req: ManageFeaturesRequest,
) -> ApiResult<()> {
    // A retention left as it was is no change, so the 0..90 rule for new values does not
    // refuse an app created with a longer one.
    let current = app(s, app_id).await?.features.event_logging_retention_days;
    if req.event_logging_retention_period == Some(current) {
        req.event_logging_retention_period = None;
    }
    admin::set_features(s, app_id, req).await?;
    // Read again: the log follows the new event-logging setting.
    let app = app(s, app_id).await?;
    let message = "The app's features were changed in the console.".to_owned();
    note(s, &app, EventType::AdminAppFeaturesChanged, message).await;
    Ok(())
}

// ---- keys ------------------------------------------------------------------------------

/// A key as the console lists it: a public key in full, a secret only by its last four
/// characters (the rest is not stored).
pub struct KeyView {
    pub id: String,
    pub secret: bool,
    pub shown: String,
    pub scopes: Vec<String>,
    pub locked: bool,
    pub created_at: DateTime<Utc>,
}

/// Reads the store directly rather than `admin::list_keys`, which records an enumeration
/// event: looking at a page is not a change.
pub async fn keys(s: &Services, app_id: &str) -> ApiResult<Vec<KeyView>> {
    app(s, app_id).await?;
    Ok(s.store
        .list_api_keys(app_id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            secret: k.kind == KeyKind::Secret,
            shown: match k.kind {
                KeyKind::Public => k.value,
                KeyKind::Secret => format!("{}:secret:…{}", k.app_id, k.key_id),
            },
            id: k.key_id,
            scopes: k.scopes,
            locked: k.locked,
            created_at: k.created_at,
        })
        .collect())
}

/// A new key with both scopes of its kind; the key is in the answer, once.
pub async fn create_key(s: &Services, app_id: &str, secret: bool) -> ApiResult<String> {
    let (kind, scopes) = if secret {
        (KeyKind::Secret, [SCOPE_TOKEN_REGISTER, SCOPE_TOKEN_VERIFY])
    } else {
        (KeyKind::Public, [SCOPE_REGISTER, SCOPE_LOGIN])
    };
    let req = CreateKeyRequest {
        scopes: Some(scopes.iter().map(|s| (*s).to_owned()).collect()),
    };
    Ok(admin::create_key(s, app_id, kind, req, ACTOR)
        .await?
        .api_key)
}

pub async fn lock_key(s: &Services, app_id: &str, key_id: &str, locked: bool) -> ApiResult<()> {
    admin::lock_key(s, app_id, key_id, locked, ACTOR).await
}

pub async fn delete_key(s: &Services, app_id: &str, key_id: &str) -> ApiResult<()> {
    admin::delete_key(s, app_id, key_id, ACTOR).await
}

// ---- users and passkeys ----------------------------------------------------------------

/// The app as the console acts for it through the backend API's functions.
fn tenant(s: &Services, app: AppRecord) -> Tenant {
    Tenant {
        app,
        key_id: String::new(),
        now: s.clock.now(),
        actor: Some(ACTOR),
    }
}

pub struct UserRow {
    pub user_id: String,
    pub aliases: Vec<String>,
    pub credentials: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Users of the app; with a query, the user with that alias or id (an alias is stored only as
/// a hash, so it must match exactly).
pub async fn users(s: &Services, app_id: &str, query: &str) -> ApiResult<Vec<UserRow>> {
    app(s, app_id).await?;
    let query = query.trim();
    let all = s.store.list_users(app_id, LIST_LIMIT).await?;
    let rows = all.into_iter().map(|u| UserRow {
        user_id: u.user_id,
        aliases: u.aliases.into_iter().flatten().collect(),
        credentials: u.credentials_count,
        last_used_at: u.last_used_at,
    });
    if query.is_empty() {
        return Ok(rows.collect());
    }
    // No id or alias holds a NUL, and PostgreSQL cannot even compare one.
    if query.contains('\0') {
        return Ok(Vec::new());
    }
    let found = s
        .store
        .find_user_by_identifier(app_id, &alias_hash(app_id, query), query)
        .await?;
    let wanted = found.map(|u| u.user_id);
    let mut rows: Vec<UserRow> = rows
        .filter(|r| Some(&r.user_id) == wanted.as_ref() || r.user_id.contains(query))
        .collect();
    // A user past the list's limit is still found by an exact match.
    if let Some(id) = wanted.filter(|id| !rows.iter().any(|r| &r.user_id == id)) {
        rows.push(UserRow {
            user_id: id,
            aliases: Vec::new(),
            credentials: 0,
            last_used_at: None,
        });
    }
    Ok(rows)
}

pub struct PasskeyView {
    /// base64url, as the API names credentials.
    pub id: String,
    pub nickname: Option<String>,
    /// The authenticator's name in the FIDO metadata, when it is known.
    pub authenticator: Option<String>,
    pub aaguid: Option<String>,
    /// `Some(true)` for a synced passkey, `Some(false)` for a device-bound one.
    pub synced: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub counter: u32,
    pub device: Option<String>,
}

pub async fn passkeys(s: &Services, app_id: &str, user_id: &str) -> ApiResult<Vec<PasskeyView>> {
    app(s, app_id).await?;
    Ok(s.store
        .list_credentials(app_id, user_id)
        .await?
        .into_iter()
        .map(|c| {
            let authenticator = c
                .aaguid
                .as_deref()
                .and_then(|a| uuid::Uuid::parse_str(a).ok())
                .and_then(|a| s.metadata.as_ref()?.description(&a).map(str::to_owned));
            PasskeyView {
                id: URL_SAFE_NO_PAD.encode(&c.credential_id),
                nickname: c.nickname.filter(|n| !n.is_empty()),
                authenticator,
                aaguid: c.aaguid,
                synced: c.backup_eligible,
                created_at: c.created_at,
                last_used_at: c.last_used_at,
                counter: c.sign_count,
                device: c.device.filter(|d| !d.is_empty()),
            }
        })
        .collect())
}

pub async fn delete_passkey(s: &Services, app_id: &str, credential_id: &str) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    let req = DeleteCredentialRequest {
        credential_id: Some(credential_id.to_owned()),
    };
    users::delete_credential(s, &tenant, req).await
}

pub async fn delete_user(s: &Services, app_id: &str, user_id: &str) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    users::delete_user(s, &tenant, Some(user_id.to_owned())).await
}

// ---- events and reports ----------------------------------------------------------------

pub struct EventsView {
    /// The types present, for the filter.
    pub types: BTreeSet<String>,
    /// Newest first.
    pub events: Vec<EventItem>,
}

/// The newest events, filtered by type and by text in the message, actor or subject.
/// `None` when the app does not log events.
pub async fn events(
    s: &Services,
    app_id: &str,
    kind: &str,
    text: &str,
) -> ApiResult<Option<EventsView>> {
    let app = app(s, app_id).await?;
    if !app.features.event_logging_enabled {
        return Ok(None);
    }
    // Newest first.
    let mut list = events::list(s, &app, Some(1), Some(EVENT_WINDOW))
        .await?
        .events;
    let types = list.iter().map(|e| e.event_type.clone()).collect();
    let text = text.trim().to_lowercase();
    let kind = kind.trim();
    list.retain(|e| {
        (kind.is_empty() || e.event_type == kind)
            && (text.is_empty()
                || e.message.to_lowercase().contains(&text)
                || e.performed_by.to_lowercase().contains(&text)
                || e.subject.to_lowercase().contains(&text))
    });
    Ok(Some(EventsView {
        types,
        events: list,
    }))
}

pub struct Reports {
    pub credentials: Vec<CredentialReportItem>,
    pub active: Vec<ActiveUserReportItem>,
}

/// The last `days` days (at most a year) of both reports.
pub async fn reports(s: &Services, app_id: &str, days: i64) -> ApiResult<Reports> {
    let tenant = tenant(s, app(s, app_id).await?);
    let days = days.clamp(7, 366);
    let from = (tenant.now - Duration::days(days - 1))
        .format("%Y-%m-%d")
        .to_string();
    let q = || PeriodQuery {
        from: Some(from.clone()),
        to: None,
    };
    Ok(Reports {
        credentials: reports::credentials(s, &tenant, q()).await?,
        active: reports::active_users(s, &tenant, q()).await?,
    })
}

// ---- purposes and authenticator lists --------------------------------------------------

pub async fn purposes(s: &Services, app_id: &str) -> ApiResult<Vec<AuthConfigItem>> {
    let tenant = tenant(s, app(s, app_id).await?);
    Ok(purposes::list(s, &tenant, None).await?.configurations)
}

pub async fn add_purpose(s: &Services, app_id: &str, mut req: AuthConfigRequest) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    req.performed_by = Some(ACTOR.to_owned());
    purposes::add(s, &tenant, req).await
}

pub async fn delete_purpose(s: &Services, app_id: &str, purpose: &str) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    let req = AuthConfigRequest {
        purpose: Some(purpose.to_owned()),
        performed_by: Some(ACTOR.to_owned()),
        ..AuthConfigRequest::default()
    };
    purposes::delete(s, &tenant, req).await
}

/// Both lists, or `None` when the app does not have attestation (the lists need it).
pub async fn authenticators(
    s: &Services,
    app_id: &str,
) -> ApiResult<Option<(Vec<AuthenticatorItem>, Vec<AuthenticatorItem>)>> {
    let tenant = tenant(s, app(s, app_id).await?);
    if !tenant.app.features.allow_attestation {
        return Ok(None);
    }
    let allowed = authenticators::list(s, &tenant, Some(true)).await?;
    let blocked = authenticators::list(s, &tenant, Some(false)).await?;
    Ok(Some((allowed, blocked)))
}

/// The name of an authenticator model in the FIDO metadata, when it is known.
#[must_use]
pub fn authenticator_name(s: &Services, aaguid: &str) -> Option<String> {
    let id = uuid::Uuid::parse_str(aaguid).ok()?;
    s.metadata.as_ref()?.description(&id).map(str::to_owned)
}

pub async fn add_authenticator(
    s: &Services,
    app_id: &str,
    aaguid: &str,
    allowed: bool,
) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    let req = AuthenticatorsRequest {
        aaguids: Some(vec![aaguid.to_owned()]),
        is_allowed: Some(allowed),
    };
    authenticators::add(s, &tenant, req).await
}

pub async fn remove_authenticator(s: &Services, app_id: &str, aaguid: &str) -> ApiResult<()> {
    let tenant = tenant(s, app(s, app_id).await?);
    let req = AuthenticatorsRequest {
        aaguids: Some(vec![aaguid.to_owned()]),
        is_allowed: None,
    };
    authenticators::remove(s, &tenant, req).await
}

// ---- health ----------------------------------------------------------------------------

pub struct Health {
    pub version: &'static str,
    /// The storage round trip, or why it failed.
    pub storage: Result<std::time::Duration, String>,
    pub pools: Vec<PoolStats>,
    pub apps: usize,
    pub pending_deletion: usize,
    pub metadata_entries: Option<usize>,
}

pub async fn health(s: &Services) -> Health {
    let started = Instant::now();
    let storage = match s.store.ping().await {
        Ok(()) => Ok(started.elapsed()),
        Err(e) => Err(e.to_string()),
    };
    let apps = s.store.list_apps("", i64::MAX).await.map_or(0, |a| a.len());
    let pending_deletion = s.store.apps_pending_deletion().await.map_or(0, |a| a.len());
    Health {
        version: env!("CARGO_PKG_VERSION"),
        storage,
        pools: s.store.pool_stats(),
        apps,
        pending_deletion,
        metadata_entries: s.metadata.as_ref().map(crate::mds::Metadata::len),
    }
}
