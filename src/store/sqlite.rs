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
    AliasRecord, ApiKeyRecord, AppFeatures, AppRecord, Conflict, CredentialRecord, FeatureChange,
    KeyKind, SignCountUpdate, Store, StoreError, StoreResult, TokenKind, TokenRecord, UserSummary,
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
}

impl From<AppRow> for AppRecord {
    fn from(r: AppRow) -> Self {
        Self {
            id: r.id,
            admin_email: r.admin_email,
            created_at: time(r.created_at),
            frozen: r.frozen,
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
        }
    }
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
        sqlx::query_as::<_, AppRow>(
            "select id, admin_email, created_at, frozen, event_logging_enabled, \
             event_logging_retention_days, magic_link_monthly_quota, max_users, allow_attestation, \
             generate_token_enabled, magic_links_enabled from apps where id = $1",
        )
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

    async fn find_api_key(&self, app_id: &str, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query_as::<_, ApiKeyRow>(
            "select app_id, key_id, kind, key_value, scopes, locked, created_at \
             from api_keys where app_id = $1 and key_id = $2",
        )
        .bind(app_id)
        .bind(key_id)
        .fetch_optional(&self.reader)
        .await
        .map(|r| r.map(Into::into))
        .map_err(classify)
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

    async fn delete_credential(&self, app_id: &str, credential_id: &[u8]) -> StoreResult<bool> {
        sqlx::query("delete from credentials where app_id = $1 and credential_id = $2")
            .bind(app_id)
            .bind(credential_id)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
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
