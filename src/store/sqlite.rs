//! The embedded SQLite backend.
//!
//! Writes go through a pool of exactly one connection: SQLite has a single writer anyway, and
//! serialising writes in-process avoids lock contention between connections. Reads use a
//! separate pool and, thanks to WAL, never wait for the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

use super::{
    AliasRecord, ApiKeyRecord, AppFeatures, AppRecord, AuthConfigRecord, AuthenticatorRecord,
    Conflict, CredentialRecord, EventRecord, FeatureChange, KeyKind, SignCountUpdate, Store,
    StoreError, StoreResult, TokenKind, TokenRecord, UserSummary,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create folder {}: {e}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { reader, writer })
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn db_error(e: sqlx::Error, conflict: Conflict) -> StoreError {
    match e {
        sqlx::Error::Database(ref d) if d.is_unique_violation() => StoreError::Conflict(conflict),
        other => classify(other),
    }
}

fn classify(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

#[derive(FromRow)]
struct AppRow {
    id: String,
    admin_email: Option<String>,
    created_at: i64,
    frozen: bool,
    event_logging_enabled: bool,
    event_logging_retention_days: i64,
    magic_link_monthly_quota: i64,
    max_users: Option<i64>,
    allow_attestation: bool,
    generate_token_enabled: bool,
    magic_links_enabled: bool,
    delete_at: Option<i64>,
}

const APP_COLUMNS: &str = "apps.id, apps.admin_email, apps.created_at, apps.frozen, \
    apps.event_logging_enabled, apps.event_logging_retention_days, apps.magic_link_monthly_quota, \
    apps.max_users, apps.allow_attestation, apps.generate_token_enabled, apps.magic_links_enabled, \
    apps.delete_at";

impl From<AppRow> for AppRecord {
    fn from(r: AppRow) -> Self {
        Self {
            id: r.id,
            admin_email: r.admin_email,
            created_at: time(r.created_at),
            frozen: r.frozen,
            delete_at: r.delete_at.map(time),
            features: AppFeatures {
                event_logging_enabled: r.event_logging_enabled,
                event_logging_retention_days: r.event_logging_retention_days,
                magic_link_monthly_quota: r.magic_link_monthly_quota,
                max_users: r.max_users,
                allow_attestation: r.allow_attestation,
                generate_token_enabled: r.generate_token_enabled,
                magic_links_enabled: r.magic_links_enabled,
            },
        }
    }
}

#[derive(FromRow)]
struct ApiKeyRow {
    app_id: String,
    key_id: String,
    kind: String,
    key_value: String,
    scopes: String,
    locked: bool,
    created_at: i64,
    last_locked_at: Option<i64>,
}

impl From<ApiKeyRow> for ApiKeyRecord {
    fn from(r: ApiKeyRow) -> Self {
        Self {
            app_id: r.app_id,
            key_id: r.key_id,
            kind: if r.kind == "secret" {
                KeyKind::Secret
            } else {
                KeyKind::Public
            },
            value: r.key_value,
            scopes: r
                .scopes
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            locked: r.locked,
            created_at: time(r.created_at),
            last_locked_at: r.last_locked_at.map(time),
        }
    }
}

const KEY_COLUMNS: &str = "api_keys.app_id, api_keys.key_id, api_keys.kind, \
    api_keys.key_value, api_keys.scopes, api_keys.locked, api_keys.created_at, \
    api_keys.last_locked_at";

const AUTH_CONFIG_COLUMNS: &str = "app_id, purpose, user_verification, ttl_seconds, hints, \
    created_by, created_at, edited_by, edited_at, last_used_at";

#[derive(FromRow)]
struct AuthConfigRow {
    app_id: String,
    purpose: String,
    user_verification: String,
    ttl_seconds: i64,
    hints: String,
    created_by: String,
    created_at: Option<i64>,
    edited_by: Option<String>,
    edited_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl From<AuthConfigRow> for AuthConfigRecord {
    fn from(r: AuthConfigRow) -> Self {
        Self {
            app_id: r.app_id,
            purpose: r.purpose,
            user_verification: r.user_verification,
            ttl_seconds: r.ttl_seconds,
            hints: r
                .hints
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
            created_by: r.created_by,
            created_at: r.created_at.map(time),
            edited_by: r.edited_by,
            edited_at: r.edited_at.map(time),
            last_used_at: r.last_used_at.map(time),
        }
    }
}

fn bind_auth_config<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    c: &'q AuthConfigRecord,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(&c.app_id)
        .bind(&c.purpose)
        .bind(&c.user_verification)
        .bind(c.ttl_seconds)
        .bind(c.hints.join(","))
        .bind(&c.created_by)
        .bind(c.created_at.map(millis))
        .bind(&c.edited_by)
        .bind(c.edited_at.map(millis))
        .bind(c.last_used_at.map(millis))
}

#[derive(FromRow)]
struct TokenRow {
    token_hash: Vec<u8>,
    app_id: String,
    payload: String,
    expires_at: i64,
}

impl TokenRow {
    fn into_record(self, kind: TokenKind) -> TokenRecord {
        TokenRecord {
            hash: self.token_hash,
            app_id: self.app_id,
            kind,
            payload: self.payload,
            expires_at: time(self.expires_at),
        }
    }
}

#[derive(FromRow)]
struct CredentialRow {
    app_id: String,
    credential_id: Vec<u8>,
    user_id: String,
    user_handle: Vec<u8>,
    public_key: Vec<u8>,
    sign_count: i64,
    attestation_fmt: String,
    aaguid: Option<String>,
    rp_id: String,
    origin: String,
    country: Option<String>,
    device: Option<String>,
    nickname: Option<String>,
    backup_state: Option<bool>,
    backup_eligible: Option<bool>,
    discoverable: Option<bool>,
    webauthn: String,
    created_at: i64,
    last_used_at: i64,
}

impl From<CredentialRow> for CredentialRecord {
    fn from(r: CredentialRow) -> Self {
        Self {
            app_id: r.app_id,
            credential_id: r.credential_id,
            user_id: r.user_id,
            user_handle: r.user_handle,
            public_key: r.public_key,
            sign_count: u32::try_from(r.sign_count).unwrap_or(u32::MAX),
            attestation_fmt: r.attestation_fmt,
            aaguid: r.aaguid,
            rp_id: r.rp_id,
            origin: r.origin,
            country: r.country,
            device: r.device,
            nickname: r.nickname,
            backup_state: r.backup_state,
            backup_eligible: r.backup_eligible,
            discoverable: r.discoverable,
            webauthn: r.webauthn,
            created_at: time(r.created_at),
            last_used_at: time(r.last_used_at),
        }
    }
}

const CREDENTIAL_COLUMNS: &str = "app_id, credential_id, user_id, user_handle, public_key, \
    sign_count, attestation_fmt, aaguid, rp_id, origin, country, device, nickname, backup_state, \
    backup_eligible, discoverable, webauthn, created_at, last_used_at";

/// Replaces a user's aliases inside `tx`. A hash held by another user is a conflict.
async fn write_aliases(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    app_id: &str,
    user_id: &str,
    aliases: &[AliasRecord],
) -> StoreResult<()> {
    sqlx::query("delete from aliases where app_id = $1 and user_id = $2")
        .bind(app_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    for alias in aliases {
        sqlx::query(
            "insert into aliases (app_id, alias_hash, user_id, plaintext, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(app_id)
        .bind(&alias.hash)
        .bind(user_id)
        .bind(&alias.plaintext)
        .bind(millis(Utc::now()))
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error(e, Conflict::Alias))?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn instance_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "insert into instance_secrets (name, value, created_at) values ($1, $2, $3) \
             on conflict (name) do nothing",
        )
        .bind(name)
        .bind(candidate)
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        sqlx::query_scalar("select value from instance_secrets where name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .map_err(classify)
    }

    async fn insert_app(&self, app: &AppRecord, keys: &[ApiKeyRecord]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        let f = &app.features;
        sqlx::query(
            "insert into apps (id, admin_email, created_at, frozen, event_logging_enabled, \
             event_logging_retention_days, magic_link_monthly_quota, max_users, allow_attestation, \
             generate_token_enabled, magic_links_enabled) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&app.id)
        .bind(&app.admin_email)
        .bind(millis(app.created_at))
        .bind(app.frozen)
        .bind(f.event_logging_enabled)
        .bind(f.event_logging_retention_days)
        .bind(f.magic_link_monthly_quota)
        .bind(f.max_users)
        .bind(f.allow_attestation)
        .bind(f.generate_token_enabled)
        .bind(f.magic_links_enabled)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, Conflict::App))?;
        for key in keys {
            sqlx::query(
                "insert into api_keys (app_id, key_id, kind, key_value, scopes, locked, created_at) \
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key.app_id)
            .bind(&key.key_id)
            .bind(key.kind.as_str())
            .bind(&key.value)
            .bind(key.scopes.join(","))
            .bind(key.locked)
            .bind(millis(key.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, Conflict::ApiKey))?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn find_app(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        sqlx::query_as::<_, AppRow>(&format!("select {APP_COLUMNS} from apps where id = $1"))
            .bind(app_id)
            .fetch_optional(&self.reader)
            .await
            .map(|r| r.map(Into::into))
            .map_err(classify)
    }

    async fn update_features(&self, app_id: &str, change: &FeatureChange) -> StoreResult<()> {
        sqlx::query(
            "update apps set \
             event_logging_retention_days = coalesce($2, event_logging_retention_days), \
             generate_token_enabled = coalesce($3, generate_token_enabled), \
             magic_links_enabled = coalesce($4, magic_links_enabled) \
             where id = $1",
        )
        .bind(app_id)
        .bind(change.event_logging_retention_days)
        .bind(change.generate_token_enabled)
        .bind(change.magic_links_enabled)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn find_api_key(
        &self,
        app_id: &str,
        key_id: &str,
    ) -> StoreResult<Option<(ApiKeyRecord, AppRecord)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            key: ApiKeyRow,
            #[sqlx(flatten)]
            app: AppRow,
        }
        sqlx::query_as::<_, Row>(&format!(
            "select {KEY_COLUMNS}, {APP_COLUMNS} from api_keys \
             join apps on apps.id = api_keys.app_id \
             where api_keys.app_id = $1 and api_keys.key_id = $2"
        ))
        .bind(app_id)
        .bind(key_id)
        .fetch_optional(&self.reader)
        .await
        .map(|r| r.map(|r| (r.key.into(), r.app.into())))
        .map_err(classify)
    }

    async fn list_api_keys(&self, app_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        sqlx::query_as::<_, ApiKeyRow>(&format!(
            "select {KEY_COLUMNS} from api_keys where app_id = $1 order by created_at, key_id"
        ))
        .bind(app_id)
        .fetch_all(&self.reader)
        .await
        .map(|rows| rows.into_iter().map(Into::into).collect())
        .map_err(classify)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "insert into api_keys (app_id, key_id, kind, key_value, scopes, locked, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.app_id)
        .bind(&key.key_id)
        .bind(key.kind.as_str())
        .bind(&key.value)
        .bind(key.scopes.join(","))
        .bind(key.locked)
        .bind(millis(key.created_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(|e| db_error(e, Conflict::ApiKey))
    }

    async fn set_api_key_locked(
        &self,
        app_id: &str,
        key_id: &str,
        locked: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let column = if locked {
            "last_locked_at"
        } else {
            "last_unlocked_at"
        };
        sqlx::query(&format!(
            "update api_keys set locked = $3, {column} = $4 where app_id = $1 and key_id = $2"
        ))
        .bind(app_id)
        .bind(key_id)
        .bind(locked)
        .bind(millis(at))
        .execute(&self.writer)
        .await
        .map(|r| r.rows_affected() > 0)
        .map_err(classify)
    }

    async fn delete_api_key(&self, app_id: &str, key_id: &str) -> StoreResult<bool> {
        sqlx::query("delete from api_keys where app_id = $1 and key_id = $2")
            .bind(app_id)
            .bind(key_id)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(classify)
    }

    async fn set_app_frozen(&self, app_id: &str, frozen: bool) -> StoreResult<bool> {
        sqlx::query("update apps set frozen = $2 where id = $1")
            .bind(app_id)
            .bind(frozen)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(classify)
    }

    async fn replace_features(&self, app_id: &str, f: &AppFeatures) -> StoreResult<bool> {
        sqlx::query(
            "update apps set event_logging_enabled = $2, event_logging_retention_days = $3, \
             magic_link_monthly_quota = $4, max_users = $5, allow_attestation = $6 where id = $1",
        )
        .bind(app_id)
        .bind(f.event_logging_enabled)
        .bind(f.event_logging_retention_days)
        .bind(f.magic_link_monthly_quota)
        .bind(f.max_users)
        .bind(f.allow_attestation)
        .execute(&self.writer)
        .await
        .map(|r| r.rows_affected() > 0)
        .map_err(classify)
    }

    async fn set_app_deletion(
        &self,
        app_id: &str,
        delete_at: Option<DateTime<Utc>>,
        deleted_by: Option<&str>,
    ) -> StoreResult<bool> {
        sqlx::query("update apps set delete_at = $2, deleted_by = $3 where id = $1")
            .bind(app_id)
            .bind(delete_at.map(millis))
            .bind(deleted_by)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(classify)
    }

    async fn delete_app(&self, app_id: &str) -> StoreResult<bool> {
        // Every other table refers to apps with `on delete cascade`.
        sqlx::query("delete from apps where id = $1")
            .bind(app_id)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(classify)
    }

    async fn apps_pending_deletion(&self) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("select id from apps where delete_at is not null order by id")
            .fetch_all(&self.reader)
            .await
            .map_err(classify)
    }

    async fn count_credentials(&self, app_id: &str) -> StoreResult<i64> {
        sqlx::query_scalar("select count(*) from credentials where app_id = $1")
            .bind(app_id)
            .fetch_one(&self.reader)
            .await
            .map_err(classify)
    }

    async fn insert_event(&self, e: &EventRecord) -> StoreResult<()> {
        sqlx::query(
            "insert into events (id, app_id, performed_at, event_type, severity, message, \
             performed_by, subject, api_key_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&e.id)
        .bind(&e.app_id)
        .bind(millis(e.performed_at))
        .bind(&e.event_type)
        .bind(&e.severity)
        .bind(&e.message)
        .bind(&e.performed_by)
        .bind(&e.subject)
        .bind(&e.api_key_id)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn list_events(
        &self,
        app_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<EventRecord>, i64)> {
        #[derive(FromRow)]
        struct Row {
            id: String,
            app_id: String,
            performed_at: i64,
            event_type: String,
            severity: String,
            message: String,
            performed_by: String,
            subject: String,
            api_key_id: String,
        }
        let rows = sqlx::query_as::<_, Row>(
            "select id, app_id, performed_at, event_type, severity, message, performed_by, \
             subject, api_key_id from events where app_id = $1 \
             order by performed_at desc, id desc limit $2 offset $3",
        )
        .bind(app_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        let total = sqlx::query_scalar("select count(*) from events where app_id = $1")
            .bind(app_id)
            .fetch_one(&self.reader)
            .await
            .map_err(classify)?;
        let events = rows
            .into_iter()
            .map(|r| EventRecord {
                id: r.id,
                app_id: r.app_id,
                performed_at: time(r.performed_at),
                event_type: r.event_type,
                severity: r.severity,
                message: r.message,
                performed_by: r.performed_by,
                subject: r.subject,
                api_key_id: r.api_key_id,
            })
            .collect();
        Ok((events, total))
    }

    async fn purge_events(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        sqlx::query(
            "delete from events where performed_at < $1 - 86400000 * \
             (select event_logging_retention_days from apps where apps.id = events.app_id)",
        )
        .bind(millis(now))
        .execute(&self.writer)
        .await
        .map(|r| r.rows_affected())
        .map_err(classify)
    }

    async fn find_auth_config(
        &self,
        app_id: &str,
        purpose: &str,
    ) -> StoreResult<Option<AuthConfigRecord>> {
        sqlx::query_as::<_, AuthConfigRow>(&format!(
            "select {AUTH_CONFIG_COLUMNS} from auth_configs where app_id = $1 and purpose = $2"
        ))
        .bind(app_id)
        .bind(purpose)
        .fetch_optional(&self.reader)
        .await
        .map(|r| r.map(Into::into))
        .map_err(classify)
    }

    async fn list_auth_configs(&self, app_id: &str) -> StoreResult<Vec<AuthConfigRecord>> {
        sqlx::query_as::<_, AuthConfigRow>(&format!(
            "select {AUTH_CONFIG_COLUMNS} from auth_configs where app_id = $1 order by purpose"
        ))
        .bind(app_id)
        .fetch_all(&self.reader)
        .await
        .map(|rows| rows.into_iter().map(Into::into).collect())
        .map_err(classify)
    }

    async fn insert_auth_config(&self, c: &AuthConfigRecord) -> StoreResult<()> {
        bind_auth_config(
            sqlx::query(&format!(
                "insert into auth_configs ({AUTH_CONFIG_COLUMNS}) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )),
            c,
        )
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(|e| db_error(e, Conflict::AuthConfig))
    }

    async fn save_auth_config(&self, c: &AuthConfigRecord) -> StoreResult<()> {
        bind_auth_config(
            sqlx::query(&format!(
                "insert into auth_configs ({AUTH_CONFIG_COLUMNS}) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 on conflict (app_id, purpose) do update set \
                 user_verification = excluded.user_verification, \
                 ttl_seconds = excluded.ttl_seconds, hints = excluded.hints, \
                 created_by = excluded.created_by, created_at = excluded.created_at, \
                 edited_by = excluded.edited_by, edited_at = excluded.edited_at, \
                 last_used_at = excluded.last_used_at"
            )),
            c,
        )
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn delete_auth_config(&self, app_id: &str, purpose: &str) -> StoreResult<bool> {
        sqlx::query("delete from auth_configs where app_id = $1 and purpose = $2")
            .bind(app_id)
            .bind(purpose)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(classify)
    }

    async fn list_authenticators(
        &self,
        app_id: &str,
        allowed: bool,
    ) -> StoreResult<Vec<AuthenticatorRecord>> {
        let rows: Vec<(String, bool, i64)> = sqlx::query_as(
            "select aaguid, is_allowed, created_at from authenticators \
             where app_id = $1 and is_allowed = $2 order by created_at, aaguid",
        )
        .bind(app_id)
        .bind(allowed)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        Ok(rows
            .into_iter()
            .map(|(aaguid, is_allowed, created_at)| AuthenticatorRecord {
                aaguid,
                is_allowed,
                created_at: time(created_at),
            })
            .collect())
    }

    async fn save_authenticators(
        &self,
        app_id: &str,
        aaguids: &[String],
        allowed: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        for aaguid in aaguids {
            sqlx::query(
                "insert into authenticators (app_id, aaguid, is_allowed, created_at) \
                 values ($1, $2, $3, $4) \
                 on conflict (app_id, aaguid) do update set is_allowed = excluded.is_allowed",
            )
            .bind(app_id)
            .bind(aaguid)
            .bind(allowed)
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn delete_authenticators(&self, app_id: &str, aaguids: &[String]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        for aaguid in aaguids {
            sqlx::query("delete from authenticators where app_id = $1 and aaguid = $2")
                .bind(app_id)
                .bind(aaguid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn authenticator_policy(
        &self,
        app_id: &str,
        aaguid: &str,
    ) -> StoreResult<(Option<bool>, bool)> {
        let entry: Option<bool> = sqlx::query_scalar(
            "select is_allowed from authenticators where app_id = $1 and aaguid = $2",
        )
        .bind(app_id)
        .bind(aaguid)
        .fetch_optional(&self.reader)
        .await
        .map_err(classify)?;
        let any_allowed: bool = sqlx::query_scalar(
            "select exists (select 1 from authenticators where app_id = $1 and is_allowed)",
        )
        .bind(app_id)
        .fetch_one(&self.reader)
        .await
        .map_err(classify)?;
        Ok((entry, any_allowed))
    }

    async fn count_emails_since(&self, app_id: &str, since: DateTime<Utc>) -> StoreResult<i64> {
        sqlx::query_scalar(
            "select count(*) from dispatched_emails where app_id = $1 and created_at >= $2",
        )
        .bind(app_id)
        .bind(millis(since))
        .fetch_one(&self.reader)
        .await
        .map_err(classify)
    }

    async fn insert_email(
        &self,
        app_id: &str,
        user_id: &str,
        email: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into dispatched_emails (id, app_id, user_id, email, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(app_id)
        .bind(user_id)
        .bind(email)
        .bind(millis(at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn purge_emails(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        sqlx::query("delete from dispatched_emails where created_at < $1")
            .bind(millis(before))
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected())
            .map_err(classify)
    }

    async fn record_signin_day(&self, app_id: &str, user_id: &str, day: i64) -> StoreResult<()> {
        sqlx::query(
            "insert into signin_days (app_id, day, user_id) values ($1, $2, $3) \
             on conflict do nothing",
        )
        .bind(app_id)
        .bind(day)
        .bind(user_id)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(classify)
    }

    async fn signin_days(
        &self,
        app_id: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        sqlx::query_as(
            "select day, user_id from signin_days where app_id = $1 and day between $2 and $3",
        )
        .bind(app_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)
    }

    async fn credential_creations(
        &self,
        app_id: &str,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("select user_id, created_at from credentials where app_id = $1")
                .bind(app_id)
                .fetch_all(&self.reader)
                .await
                .map_err(classify)?;
        Ok(rows.into_iter().map(|(u, t)| (u, time(t))).collect())
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        sqlx::query(
            "insert into tokens (token_hash, app_id, kind, payload, expires_at, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.hash)
        .bind(&token.app_id)
        .bind(token.kind.as_str())
        .bind(&token.payload)
        .bind(millis(token.expires_at))
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(|e| db_error(e, Conflict::Token))
    }

    async fn find_token(
        &self,
        app_id: &str,
        kind: TokenKind,
        hash: &[u8],
    ) -> StoreResult<Option<TokenRecord>> {
        sqlx::query_as::<_, TokenRow>(
            "select token_hash, app_id, payload, expires_at from tokens \
             where token_hash = $1 and app_id = $2 and kind = $3",
        )
        .bind(hash)
        .bind(app_id)
        .bind(kind.as_str())
        .fetch_optional(&self.reader)
        .await
        .map(|r| r.map(|r| r.into_record(kind)))
        .map_err(classify)
    }

    async fn take_token(
        &self,
        app_id: &str,
        kind: TokenKind,
        hash: &[u8],
    ) -> StoreResult<Option<TokenRecord>> {
        sqlx::query_as::<_, TokenRow>(
            "delete from tokens where token_hash = $1 and app_id = $2 and kind = $3 \
             returning token_hash, app_id, payload, expires_at",
        )
        .bind(hash)
        .bind(app_id)
        .bind(kind.as_str())
        .fetch_optional(&self.writer)
        .await
        .map(|r| r.map(|r| r.into_record(kind)))
        .map_err(classify)
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        sqlx::query("delete from tokens where expires_at < $1")
            .bind(millis(before))
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected())
            .map_err(classify)
    }

    async fn list_credentials(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<CredentialRecord>> {
        sqlx::query_as::<_, CredentialRow>(&format!(
            "select {CREDENTIAL_COLUMNS} from credentials where app_id = $1 and user_id = $2 \
             order by created_at"
        ))
        .bind(app_id)
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map(|rows| rows.into_iter().map(Into::into).collect())
        .map_err(classify)
    }

    async fn find_credential(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<Option<CredentialRecord>> {
        sqlx::query_as::<_, CredentialRow>(&format!(
            "select {CREDENTIAL_COLUMNS} from credentials where app_id = $1 and credential_id = $2"
        ))
        .bind(app_id)
        .bind(credential_id)
        .fetch_optional(&self.reader)
        .await
        .map(|r| r.map(Into::into))
        .map_err(classify)
    }

    async fn insert_credential(
        &self,
        c: &CredentialRecord,
        aliases: Option<&[AliasRecord]>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        sqlx::query(&format!(
            "insert into credentials ({CREDENTIAL_COLUMNS}) values \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(&c.app_id)
        .bind(&c.credential_id)
        .bind(&c.user_id)
        .bind(&c.user_handle)
        .bind(&c.public_key)
        .bind(i64::from(c.sign_count))
        .bind(&c.attestation_fmt)
        .bind(&c.aaguid)
        .bind(&c.rp_id)
        .bind(&c.origin)
        .bind(&c.country)
        .bind(&c.device)
        .bind(&c.nickname)
        .bind(c.backup_state)
        .bind(c.backup_eligible)
        .bind(c.discoverable)
        .bind(&c.webauthn)
        .bind(millis(c.created_at))
        .bind(millis(c.last_used_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, Conflict::Credential))?;
        if let Some(aliases) = aliases {
            write_aliases(&mut tx, &c.app_id, &c.user_id, aliases).await?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn replace_aliases(
        &self,
        app_id: &str,
        user_id: &str,
        aliases: &[AliasRecord],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        write_aliases(&mut tx, app_id, user_id, aliases).await?;
        tx.commit().await.map_err(classify)
    }

    async fn list_aliases(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<AliasRecord>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "select alias_hash, plaintext from aliases where app_id = $1 and user_id = $2 \
             order by created_at, alias_hash",
        )
        .bind(app_id)
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        Ok(rows
            .into_iter()
            .map(|(hash, plaintext)| AliasRecord { hash, plaintext })
            .collect())
    }

    async fn delete_credential(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<Option<String>> {
        sqlx::query_scalar(
            "delete from credentials where app_id = $1 and credential_id = $2 returning user_id",
        )
        .bind(app_id)
        .bind(credential_id)
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)
    }

    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        for table in ["credentials", "aliases"] {
            sqlx::query(&format!(
                "delete from {table} where app_id = $1 and user_id = $2"
            ))
            .bind(app_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn list_users(&self, app_id: &str, limit: i64) -> StoreResult<Vec<UserSummary>> {
        let users: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "select user_id, sum(credentials), max(last_used_at) from ( \
               select user_id, 1 as credentials, last_used_at from credentials where app_id = $1 \
               union all \
               select user_id, 0, null from aliases where app_id = $1 \
             ) group by user_id order by user_id limit $2",
        )
        .bind(app_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        let aliases: Vec<(String, Option<String>)> = sqlx::query_as(
            "select user_id, plaintext from aliases where app_id = $1 order by created_at, alias_hash",
        )
        .bind(app_id)
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        Ok(users
            .into_iter()
            .map(|(user_id, credentials_count, last_used)| UserSummary {
                aliases: aliases
                    .iter()
                    .filter(|(u, _)| *u == user_id)
                    .map(|(_, p)| p.clone())
                    .collect(),
                user_id,
                credentials_count,
                last_used_at: last_used.map(time),
            })
            .collect())
    }

    async fn advance_sign_count(&self, app_id: &str, u: &SignCountUpdate) -> StoreResult<bool> {
        let new_count = i64::from(u.new_count);
        sqlx::query(
            "update credentials set sign_count = $1, device = $2, country = $3, last_used_at = $4 \
             where app_id = $5 and credential_id = $6 and ($1 = 0 or sign_count < $1)",
        )
        .bind(new_count)
        .bind(&u.device)
        .bind(&u.country)
        .bind(millis(u.used_at))
        .bind(app_id)
        .bind(&u.credential_id)
        .execute(&self.writer)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(classify)
    }

    async fn alias_owners(
        &self,
        app_id: &str,
        hashes: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut owners = Vec::new();
        for hash in hashes {
            let owner: Option<String> = sqlx::query_scalar(
                "select user_id from aliases where app_id = $1 and alias_hash = $2",
            )
            .bind(app_id)
            .bind(hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?;
            if let Some(user_id) = owner {
                owners.push((hash.clone(), user_id));
            }
        }
        Ok(owners)
    }

    async fn count_users(&self, app_id: &str) -> StoreResult<i64> {
        sqlx::query_scalar("select count(distinct user_id) from credentials where app_id = $1")
            .bind(app_id)
            .fetch_one(&self.reader)
            .await
            .map_err(classify)
    }

    async fn user_has_credentials(&self, app_id: &str, user_id: &str) -> StoreResult<bool> {
        sqlx::query_scalar(
            "select exists (select 1 from credentials where app_id = $1 and user_id = $2)",
        )
        .bind(app_id)
        .bind(user_id)
        .fetch_one(&self.reader)
        .await
        .map_err(classify)
    }
}
