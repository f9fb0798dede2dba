//! The store's queries, written once for both engines (see `db`).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::FromRow;

use super::cache::Cache;
use super::db::{classify, db_error, Pool, Tx, P};
use super::exec::{pg_begin, pg_transact, Lite, PgExec, Step};
use super::steps::{self, CompleteSignin, FindCredential, SigninCandidates};
use super::{
    AliasRecord, ApiKeyRecord, AppFeatures, AppRecord, AuthConfigRecord, AuthenticatorRecord,
    CompleteRegistration, Conflict, ConsoleSession, CredentialRecord, EventRecord, FeatureChange,
    KeyKind, Named, RedeemToken, SessionKeyRecord, SigninCompletion, SigninTx, Store, StoreError,
    StoreResult, TokenKind, TokenRecord, UserQuery, UserRecord, UserSave, UserStatus, UserSummary,
};

/// The store over SQL. Reads and writes may use different pools (SQLite keeps a single
/// writer connection; PostgreSQL uses one pool for both).
pub struct SqlStore {
    pub(super) reader: Pool,
    pub(super) writer: Pool,
    /// SQLite only: the rusqlite connections that run the ceremony steps.
    pub(super) lite: Option<Lite>,
    pub(super) cache: Cache,
}

/// Forgets an app's cached rows when dropped, i.e. after the change the method made.
struct Forget<'a>(&'a Cache, &'a str);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

/// The app whose cached purposes a completion changes, if it touches one.
fn touched_app(completion: &SigninCompletion) -> Option<String> {
    completion
        .touch_purpose
        .is_some()
        .then(|| completion.app_id.clone())
}

/// `/signin/complete` on SQLite: the read ran on a reader; the writes are one transaction.
struct LiteSigninTx<'s>(&'s SqlStore);

#[async_trait]
impl SigninTx for LiteSigninTx<'_> {
    async fn complete(self: Box<Self>, completion: SigninCompletion) -> StoreResult<()> {
        // The purpose's row changes; this replica sees it at once.
        let forget = touched_app(&completion);
        let result = self.0.step(CompleteSignin(completion), true).await;
        if let Some(app_id) = forget {
            self.0.cache.forget(&app_id);
        }
        result
    }

    async fn spend(self: Box<Self>, app_id: &str, session_id: &[u8]) -> StoreResult<()> {
        self.0.spend_session(app_id, session_id).await
    }
}

/// `/signin/complete` on PostgreSQL: the credential was read in this transaction.
struct PgSigninTx<'s> {
    tx: PgExec,
    cache: &'s Cache,
}

#[async_trait]
impl SigninTx for PgSigninTx<'_> {
    async fn complete(mut self: Box<Self>, completion: SigninCompletion) -> StoreResult<()> {
        let forget = touched_app(&completion);
        CompleteSignin(completion).run(&mut self.tx).await?;
        self.tx.commit().await?;
        if let Some(app_id) = forget {
            self.cache.forget(&app_id);
        }
        Ok(())
    }

    async fn spend(mut self: Box<Self>, app_id: &str, session_id: &[u8]) -> StoreResult<()> {
        let step = steps::SpendSession {
            app_id: app_id.to_owned(),
            id: session_id.to_vec(),
        };
        step.run(&mut self.tx).await?;
        self.tx.commit().await
    }
}

/// Rows a purge deletes per statement: a large backlog goes in several short statements, each
/// well within PostgreSQL's statement timeout and without holding SQLite's writer for long.
const PURGE_BATCH: i64 = 5_000;

impl SqlStore {
    /// Runs `sql` (parameters: the cut-off, then the batch size) until it deletes less than a
    /// full batch; returns how many rows went.
    async fn purge_in_batches(&self, sql: &str, cutoff: P<'_>) -> StoreResult<u64> {
        let mut purged = 0;
        loop {
            let n = self
                .writer
                .execute(sql, &[cutoff, P::Int(PURGE_BATCH)])
                .await
                .map_err(classify)?;
            purged += n;
            if n < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
        }
    }

    /// Runs a ceremony step in one transaction: on SQLite's rusqlite connections, or in a
    /// PostgreSQL transaction.
    async fn step<S: Step>(&self, step: S, write: bool) -> StoreResult<S::Out> {
        if let Some(lite) = &self.lite {
            return if write {
                lite.write(step).await
            } else {
                lite.read(step).await
            };
        }
        match &self.writer {
            Pool::Postgres(pool) => pg_transact(pool, step).await,
            Pool::Sqlite(_) => Err(StoreError::Other("SQLite without its threads".to_owned())),
        }
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[derive(FromRow)]
struct ConsoleSessionRow {
    token_hash: Vec<u8>,
    csrf: String,
    created_at: i64,
    expires_at: i64,
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
    allowed_origins: String,
    allowed_rp_ids: String,
    session_lifetime_seconds: i64,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const APP_COLUMNS: &str = "apps.id, apps.admin_email, apps.created_at, apps.frozen, \
    apps.event_logging_enabled, apps.event_logging_retention_days, apps.magic_link_monthly_quota, \
    apps.max_users, apps.allow_attestation, apps.generate_token_enabled, apps.magic_links_enabled, \
    apps.delete_at, apps.allowed_origins, apps.allowed_rp_ids, apps.session_lifetime_seconds";

impl From<AppRow> for AppRecord {
    fn from(r: AppRow) -> Self {
        Self {
            id: r.id,
            admin_email: r.admin_email,
            created_at: time(r.created_at),
            frozen: r.frozen,
            delete_at: r.delete_at.map(time),
            session_lifetime_seconds: r.session_lifetime_seconds,
            features: AppFeatures {
                event_logging_enabled: r.event_logging_enabled,
                event_logging_retention_days: r.event_logging_retention_days,
                magic_link_monthly_quota: r.magic_link_monthly_quota,
                max_users: r.max_users,
                allow_attestation: r.allow_attestation,
                generate_token_enabled: r.generate_token_enabled,
                magic_links_enabled: r.magic_links_enabled,
                allowed_origins: lines(&r.allowed_origins),
                allowed_rp_ids: lines(&r.allowed_rp_ids),
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
    usage_count: i64,
    attachment: Option<String>,
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
            usage_count: r.usage_count,
            attachment: r.attachment,
        }
    }
}

use steps::CREDENTIAL_COLUMNS;

fn auth_config_params<'a>(c: &'a AuthConfigRecord, hints: &'a str) -> [P<'a>; 10] {
    [
        (&c.app_id).into(),
        (&c.purpose).into(),
        (&c.user_verification).into(),
        c.ttl_seconds.into(),
        hints.into(),
        (&c.created_by).into(),
        c.created_at.map(millis).into(),
        (&c.edited_by).into(),
        c.edited_at.map(millis).into(),
        c.last_used_at.map(millis).into(),
    ]
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.reader
            .fetch_one::<(i32,)>("select 1", &[])
            .await
            .map(|_| ())
            .map_err(classify)
    }

    fn pool_stats(&self) -> Vec<super::PoolStats> {
        let stats = |name: &'static str, pool: &Pool| {
            let (size, idle) = match pool {
                Pool::Sqlite(p) => (p.size(), p.num_idle()),
                Pool::Postgres(p) => (p.size(), p.num_idle()),
            };
            super::PoolStats {
                pool: name,
                size,
                idle: u32::try_from(idle).unwrap_or(u32::MAX),
            }
        };
        match &self.writer {
            // PostgreSQL: one pool for reads and writes.
            Pool::Postgres(_) => vec![stats("shared", &self.writer)],
            Pool::Sqlite(_) => vec![stats("reader", &self.reader), stats("writer", &self.writer)],
        }
    }

    async fn close(&self) {
        if let Some(lite) = &self.lite {
            lite.close().await;
        }
        for pool in [&self.reader, &self.writer] {
            match pool {
                Pool::Sqlite(p) => p.close().await,
                Pool::Postgres(p) => p.close().await,
            }
        }
    }

    async fn instance_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u8>> {
        self.writer
            .execute(
                "insert into instance_secrets (name, value, created_at) values ($1, $2, $3) \
                 on conflict (name) do nothing",
                &[name.into(), candidate.into(), millis(now).into()],
            )
            .await
            .map_err(classify)?;
        self.writer
            .fetch_one::<(Vec<u8>,)>(
                "select value from instance_secrets where name = $1",
                &[name.into()],
            )
            .await
            .map(|(v,)| v)
            .map_err(classify)
    }

    async fn insert_app(&self, app: &AppRecord, keys: &[ApiKeyRecord]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        let f = &app.features;
        tx.execute(
            "insert into apps (id, admin_email, created_at, frozen, event_logging_enabled, \
             event_logging_retention_days, magic_link_monthly_quota, max_users, allow_attestation, \
             generate_token_enabled, magic_links_enabled) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                (&app.id).into(),
                (&app.admin_email).into(),
                millis(app.created_at).into(),
                app.frozen.into(),
                f.event_logging_enabled.into(),
                f.event_logging_retention_days.into(),
                f.magic_link_monthly_quota.into(),
                f.max_users.into(),
                f.allow_attestation.into(),
                f.generate_token_enabled.into(),
                f.magic_links_enabled.into(),
            ],
        )
        .await
        .map_err(|e| db_error(e, Conflict::App))?;
        for key in keys {
            insert_key(&mut tx, key).await?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn find_app(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        self.reader
            .fetch_optional::<AppRow>(
                &format!("select {APP_COLUMNS} from apps where id = $1"),
                &[app_id.into()],
            )
            .await
            .map(|r| r.map(Into::into))
            .map_err(classify)
    }

    async fn update_features(&self, app_id: &str, change: &FeatureChange) -> StoreResult<()> {
        let _forget = Forget(&self.cache, app_id);
        self.writer
            .execute(
                "update apps set \
                 event_logging_retention_days = coalesce($2, event_logging_retention_days), \
                 generate_token_enabled = coalesce($3, generate_token_enabled), \
                 magic_links_enabled = coalesce($4, magic_links_enabled) \
                 where id = $1",
                &[
                    app_id.into(),
                    change.event_logging_retention_days.into(),
                    change.generate_token_enabled.into(),
                    change.magic_links_enabled.into(),
                ],
            )
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
        if let Some(found) = self.cache.key(app_id, key_id) {
            return Ok(Some(found));
        }
        let read_at = std::time::Instant::now();
        let found = self
            .reader
            .fetch_optional::<Row>(
                &format!(
                    "select {KEY_COLUMNS}, {APP_COLUMNS} from api_keys \
                     join apps on apps.id = api_keys.app_id \
                     where api_keys.app_id = $1 and api_keys.key_id = $2"
                ),
                &[app_id.into(), key_id.into()],
            )
            .await
            .map(|r| r.map(|r| (r.key.into(), r.app.into())))
            .map_err(classify)?;
        // Unknown keys are not remembered: outsiders choose them.
        if let Some(found) = &found {
            self.cache.put_key(found, read_at);
        }
        Ok(found)
    }

    async fn list_api_keys(&self, app_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        self.reader
            .fetch_all::<ApiKeyRow>(
                &format!("select {KEY_COLUMNS} from api_keys where app_id = $1 order by created_at, key_id"),
                &[app_id.into()],
            )
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(classify)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        insert_key(&mut tx, key).await?;
        tx.commit().await.map_err(classify)
    }

    async fn set_api_key_locked(
        &self,
        app_id: &str,
        key_id: &str,
        locked: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        let column = if locked {
            "last_locked_at"
        } else {
            "last_unlocked_at"
        };
        self.writer
            .execute(
                &format!("update api_keys set locked = $3, {column} = $4 where app_id = $1 and key_id = $2"),
                &[app_id.into(), key_id.into(), locked.into(), millis(at).into()],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn delete_api_key(&self, app_id: &str, key_id: &str) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        self.writer
            .execute(
                "delete from api_keys where app_id = $1 and key_id = $2",
                &[app_id.into(), key_id.into()],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn set_app_frozen(&self, app_id: &str, frozen: bool) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        self.writer
            .execute(
                "update apps set frozen = $2 where id = $1",
                &[app_id.into(), frozen.into()],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn replace_features(&self, app_id: &str, f: &AppFeatures) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        let origins = f.allowed_origins.join("\n");
        let rp_ids = f.allowed_rp_ids.join("\n");
        self.writer
            .execute(
                "update apps set event_logging_enabled = $2, event_logging_retention_days = $3, \
                 magic_link_monthly_quota = $4, max_users = $5, allow_attestation = $6, \
                 allowed_origins = $7, allowed_rp_ids = $8 where id = $1",
                &[
                    app_id.into(),
                    f.event_logging_enabled.into(),
                    f.event_logging_retention_days.into(),
                    f.magic_link_monthly_quota.into(),
                    f.max_users.into(),
                    f.allow_attestation.into(),
                    (&origins).into(),
                    (&rp_ids).into(),
                ],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn set_app_deletion(
        &self,
        app_id: &str,
        delete_at: Option<DateTime<Utc>>,
        deleted_by: Option<&str>,
    ) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        self.writer
            .execute(
                "update apps set delete_at = $2, deleted_by = $3 where id = $1",
                &[
                    app_id.into(),
                    delete_at.map(millis).into(),
                    deleted_by.into(),
                ],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn delete_app(&self, app_id: &str) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        // Every other table refers to apps with `on delete cascade`.
        self.writer
            .execute("delete from apps where id = $1", &[app_id.into()])
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn apps_pending_deletion(&self) -> StoreResult<Vec<String>> {
        self.reader
            .fetch_all::<(String,)>(
                "select id from apps where delete_at is not null order by id",
                &[],
            )
            .await
            .map(|rows| rows.into_iter().map(|(id,)| id).collect())
            .map_err(classify)
    }

    async fn count_credentials(&self, app_id: &str) -> StoreResult<i64> {
        self.reader
            .fetch_one::<(i64,)>(
                "select count(*) from credentials where app_id = $1",
                &[app_id.into()],
            )
            .await
            .map(|(n,)| n)
            .map_err(classify)
    }

    async fn insert_event(&self, e: &EventRecord) -> StoreResult<()> {
        self.step(steps::InsertEvent(e.clone()), true).await
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
        let rows = self
            .reader
            .fetch_all::<Row>(
                "select id, app_id, performed_at, event_type, severity, message, performed_by, \
                 subject, api_key_id from events where app_id = $1 \
                 order by performed_at desc, id desc limit $2 offset $3",
                &[app_id.into(), limit.into(), offset.into()],
            )
            .await
            .map_err(classify)?;
        let (total,) = self
            .reader
            .fetch_one::<(i64,)>(
                "select count(*) from events where app_id = $1",
                &[app_id.into()],
            )
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
        self.purge_in_batches(
            "delete from events where id in (select id from events where performed_at < \
             $1 - 86400000 * (select event_logging_retention_days from apps \
             where apps.id = events.app_id) limit $2)",
            P::Int(millis(now)),
        )
        .await
    }

    async fn find_auth_config(
        &self,
        app_id: &str,
        purpose: &str,
    ) -> StoreResult<Option<AuthConfigRecord>> {
        if let Some(found) = self.cache.purpose(app_id, purpose) {
            return Ok(found);
        }
        let read_at = std::time::Instant::now();
        let found: Option<AuthConfigRecord> = self
            .reader
            .fetch_optional::<AuthConfigRow>(
                &format!("select {AUTH_CONFIG_COLUMNS} from auth_configs where app_id = $1 and purpose = $2"),
                &[app_id.into(), purpose.into()],
            )
            .await
            .map(|r| r.map(Into::into))
            .map_err(classify)?;
        self.cache
            .put_purpose(app_id, purpose, found.clone(), read_at);
        Ok(found)
    }

    async fn list_auth_configs(&self, app_id: &str) -> StoreResult<Vec<AuthConfigRecord>> {
        self.reader
            .fetch_all::<AuthConfigRow>(
                &format!("select {AUTH_CONFIG_COLUMNS} from auth_configs where app_id = $1 order by purpose"),
                &[app_id.into()],
            )
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(classify)
    }

    async fn insert_auth_config(&self, c: &AuthConfigRecord) -> StoreResult<()> {
        let _forget = Forget(&self.cache, &c.app_id);
        let hints = c.hints.join(",");
        let params = auth_config_params(c, &hints);
        self.writer
            .execute(
                &format!(
                    "insert into auth_configs ({AUTH_CONFIG_COLUMNS}) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                &params,
            )
            .await
            .map(|_| ())
            .map_err(|e| db_error(e, Conflict::AuthConfig))
    }

    async fn save_auth_config(&self, c: &AuthConfigRecord) -> StoreResult<()> {
        let _forget = Forget(&self.cache, &c.app_id);
        let hints = c.hints.join(",");
        let params = auth_config_params(c, &hints);
        self.writer
            .execute(
                &format!(
                    "insert into auth_configs ({AUTH_CONFIG_COLUMNS}) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     on conflict (app_id, purpose) do update set \
                     user_verification = excluded.user_verification, \
                     ttl_seconds = excluded.ttl_seconds, hints = excluded.hints, \
                     created_by = excluded.created_by, created_at = excluded.created_at, \
                     edited_by = excluded.edited_by, edited_at = excluded.edited_at, \
                     last_used_at = excluded.last_used_at"
                ),
                &params,
            )
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn delete_auth_config(&self, app_id: &str, purpose: &str) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        self.writer
            .execute(
                "delete from auth_configs where app_id = $1 and purpose = $2",
                &[app_id.into(), purpose.into()],
            )
            .await
            .map(|n| n > 0)
            .map_err(classify)
    }

    async fn list_authenticators(
        &self,
        app_id: &str,
        allowed: bool,
    ) -> StoreResult<Vec<AuthenticatorRecord>> {
        let rows = self
            .reader
            .fetch_all::<(String, bool, i64)>(
                "select aaguid, is_allowed, created_at from authenticators \
                 where app_id = $1 and is_allowed = $2 order by created_at, aaguid",
                &[app_id.into(), allowed.into()],
            )
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
            tx.execute(
                "insert into authenticators (app_id, aaguid, is_allowed, created_at) \
                 values ($1, $2, $3, $4) \
                 on conflict (app_id, aaguid) do update set is_allowed = excluded.is_allowed",
                &[
                    app_id.into(),
                    aaguid.into(),
                    allowed.into(),
                    millis(now).into(),
                ],
            )
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn delete_authenticators(&self, app_id: &str, aaguids: &[String]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        for aaguid in aaguids {
            tx.execute(
                "delete from authenticators where app_id = $1 and aaguid = $2",
                &[app_id.into(), aaguid.into()],
            )
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
        let entry = self
            .reader
            .fetch_optional::<(bool,)>(
                "select is_allowed from authenticators where app_id = $1 and aaguid = $2",
                &[app_id.into(), aaguid.into()],
            )
            .await
            .map_err(classify)?;
        let (any_allowed,) = self
            .reader
            .fetch_one::<(bool,)>(
                "select exists (select 1 from authenticators where app_id = $1 and is_allowed)",
                &[app_id.into()],
            )
            .await
            .map_err(classify)?;
        Ok((entry.map(|(allowed,)| allowed), any_allowed))
    }

    async fn reserve_email(
        &self,
        app_id: &str,
        user_id: &str,
        email: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        tx.lock_app(app_id).await.map_err(classify)?;
        let (sent,) = tx
            .fetch_one::<(i64,)>(
                "select count(*) from dispatched_emails where app_id = $1 and created_at >= $2",
                &[app_id.into(), millis(since).into()],
            )
            .await
            .map_err(classify)?;
        if sent >= limit {
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "insert into dispatched_emails (id, app_id, user_id, email, created_at) \
             values ($1, $2, $3, $4, $5)",
            &[
                (&id).into(),
                app_id.into(),
                user_id.into(),
                email.into(),
                millis(at).into(),
            ],
        )
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(Some(id))
    }

    async fn release_email(&self, id: &str) -> StoreResult<()> {
        self.writer
            .execute("delete from dispatched_emails where id = $1", &[id.into()])
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn purge_emails(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.writer
            .execute(
                "delete from dispatched_emails where created_at < $1",
                &[millis(before).into()],
            )
            .await
            .map_err(classify)
    }

    async fn record_signin_day(&self, app_id: &str, user_id: &str, day: i64) -> StoreResult<()> {
        self.writer
            .execute(
                "insert into signin_days (app_id, day, user_id) values ($1, $2, $3) \
                 on conflict do nothing",
                &[app_id.into(), day.into(), user_id.into()],
            )
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
        self.reader
            .fetch_all::<(i64, String)>(
                "select day, user_id from signin_days where app_id = $1 and day between $2 and $3",
                &[app_id.into(), from.into(), to.into()],
            )
            .await
            .map_err(classify)
    }

    async fn credential_creations(
        &self,
        app_id: &str,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        let rows = self
            .reader
            .fetch_all::<(String, i64)>(
                "select user_id, created_at from credentials where app_id = $1",
                &[app_id.into()],
            )
            .await
            .map_err(classify)?;
        Ok(rows.into_iter().map(|(u, t)| (u, time(t))).collect())
    }

    async fn insert_token(
        &self,
        token: TokenRecord,
        event: Option<EventRecord>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.step(steps::InsertToken { token, event, now }, true)
            .await
    }

    async fn find_token(
        &self,
        app_id: &str,
        kind: TokenKind,
        hash: &[u8],
    ) -> StoreResult<Option<TokenRecord>> {
        self.reader
            .fetch_optional::<TokenRow>(
                "select token_hash, app_id, payload, expires_at from tokens \
                 where token_hash = $1 and app_id = $2 and kind = $3",
                &[hash.into(), app_id.into(), kind.as_str().into()],
            )
            .await
            .map(|r| r.map(|r| r.into_record(kind)))
            .map_err(classify)
    }

    async fn redeem_token(&self, redeem: RedeemToken) -> StoreResult<Option<TokenRecord>> {
        self.step(redeem, true).await
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let tokens = self
            .purge_in_batches(
                "delete from tokens where token_hash in \
                 (select token_hash from tokens where expires_at < $1 limit $2)",
                P::Int(millis(before)),
            )
            .await?;
        // Session ids begin with their expiry in big-endian milliseconds (`tokens::seal`).
        let cutoff = millis(before).to_be_bytes();
        let sessions = self
            .purge_in_batches(
                "delete from spent_sessions where id in \
                 (select id from spent_sessions where id < $1 limit $2)",
                P::Bytes(&cutoff),
            )
            .await?;
        Ok(tokens + sessions)
    }

    async fn signin_candidates(
        &self,
        app_id: &str,
        named: Named,
    ) -> StoreResult<(String, Vec<Vec<u8>>)> {
        let step = SigninCandidates {
            app_id: app_id.to_owned(),
            named,
        };
        self.step(step, false).await
    }

    async fn credential_shapes(&self, app_id: &str) -> StoreResult<Vec<Vec<u16>>> {
        if let Some(shapes) = self.cache.shapes(app_id) {
            return Ok(shapes);
        }
        let read_at = std::time::Instant::now();
        let step = steps::CredentialShapes {
            app_id: app_id.to_owned(),
        };
        let shapes = self.step(step, false).await?;
        self.cache.put_shapes(app_id, shapes.clone(), read_at);
        Ok(shapes)
    }

    async fn open_signin(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<(Option<CredentialRecord>, Box<dyn SigninTx + '_>)> {
        let find = FindCredential {
            app_id: app_id.to_owned(),
            credential_id: credential_id.to_vec(),
        };
        if let (None, Pool::Postgres(pool)) = (&self.lite, &self.writer) {
            let mut tx = pg_begin(pool).await?;
            let found = find.run(&mut tx).await?;
            let rest = PgSigninTx {
                tx,
                cache: &self.cache,
            };
            return Ok((found, Box::new(rest)));
        }
        let found = self.step(find, false).await?;
        Ok((found, Box::new(LiteSigninTx(self))))
    }

    async fn spend_session(&self, app_id: &str, id: &[u8]) -> StoreResult<()> {
        let step = steps::SpendSession {
            app_id: app_id.to_owned(),
            id: id.to_vec(),
        };
        self.step(step, true).await
    }

    async fn complete_registration(&self, completion: CompleteRegistration) -> StoreResult<()> {
        self.step(completion, true).await
    }

    async fn list_credentials(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<CredentialRecord>> {
        self.reader
            .fetch_all::<CredentialRow>(
                &format!(
                    "select {CREDENTIAL_COLUMNS} from credentials where app_id = $1 and user_id = $2 \
                     order by created_at"
                ),
                &[app_id.into(), user_id.into()],
            )
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(classify)
    }

    async fn credential_ids(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<Vec<u8>>> {
        Ok(self
            .signin_candidates(app_id, Named::User(user_id.to_owned()))
            .await?
            .1)
    }

    async fn find_credential(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<Option<CredentialRecord>> {
        let step = FindCredential {
            app_id: app_id.to_owned(),
            credential_id: credential_id.to_vec(),
        };
        self.step(step, false).await
    }

    async fn replace_aliases(
        &self,
        app_id: &str,
        user_id: &str,
        aliases: &[AliasRecord],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let step = steps::ReplaceAliases {
            app_id: app_id.to_owned(),
            user_id: user_id.to_owned(),
            aliases: aliases.to_vec(),
            now,
        };
        self.step(step, true).await
    }

    async fn list_aliases(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<AliasRecord>> {
        let rows = self
            .reader
            .fetch_all::<(String, Option<String>)>(
                "select alias_hash, plaintext from aliases where app_id = $1 and user_id = $2 \
                 order by created_at, alias_hash",
                &[app_id.into(), user_id.into()],
            )
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
        self.writer
            .fetch_optional::<(String,)>(
                "delete from credentials where app_id = $1 and credential_id = $2 returning user_id",
                &[app_id.into(), credential_id.into()],
            )
            .await
            .map(|r| r.map(|(user,)| user))
            .map_err(classify)
    }

    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        for table in ["credentials", "aliases", "users"] {
            tx.execute(
                &format!("delete from {table} where app_id = $1 and user_id = $2"),
                &[app_id.into(), user_id.into()],
            )
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn list_users(&self, app_id: &str, limit: i64) -> StoreResult<Vec<UserSummary>> {
        let users = self
            .reader
            .fetch_all::<(String, i64, Option<i64>)>(
                "select user_id, cast(sum(credentials) as bigint), max(last_used_at) from ( \
                   select user_id, 1 as credentials, last_used_at from credentials where app_id = $1 \
                   union all \
                   select user_id, 0, null from aliases where app_id = $1 \
                 ) as users group by user_id order by user_id limit $2",
                &[app_id.into(), limit.into()],
            )
            .await
            .map_err(classify)?;
        let aliases = self
            .reader
            .fetch_all::<(String, Option<String>)>(
                "select user_id, plaintext from aliases where app_id = $1 order by created_at, alias_hash",
                &[app_id.into()],
            )
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

    async fn alias_owners(
        &self,
        app_id: &str,
        hashes: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut owners = Vec::new();
        for hash in hashes {
            let owner = self
                .reader
                .fetch_optional::<(String,)>(
                    "select user_id from aliases where app_id = $1 and alias_hash = $2",
                    &[app_id.into(), hash.into()],
                )
                .await
                .map_err(classify)?;
            if let Some((user_id,)) = owner {
                owners.push((hash.clone(), user_id));
            }
        }
        Ok(owners)
    }

    async fn count_users(&self, app_id: &str) -> StoreResult<i64> {
        self.reader
            .fetch_one::<(i64,)>(
                "select count(distinct user_id) from credentials where app_id = $1",
                &[app_id.into()],
            )
            .await
            .map(|(n,)| n)
            .map_err(classify)
    }

    async fn user_has_credentials(&self, app_id: &str, user_id: &str) -> StoreResult<bool> {
        self.reader
            .fetch_one::<(bool,)>(
                "select exists (select 1 from credentials where app_id = $1 and user_id = $2)",
                &[app_id.into(), user_id.into()],
            )
            .await
            .map(|(b,)| b)
            .map_err(classify)
    }

    async fn find_user(&self, app_id: &str, user_id: &str) -> StoreResult<Option<UserRecord>> {
        self.user(app_id, user_id).await
    }

    async fn find_user_by_identifier(
        &self,
        app_id: &str,
        alias_hash: &str,
        user_id: &str,
    ) -> StoreResult<Option<UserRecord>> {
        self.user_by_identifier(app_id, alias_hash, user_id).await
    }

    async fn list_user_records(
        &self,
        app_id: &str,
        query: &UserQuery,
    ) -> StoreResult<(Vec<UserRecord>, i64)> {
        self.user_page(app_id, query).await
    }

    async fn save_user(&self, save: &UserSave) -> StoreResult<()> {
        self.write_user(save).await
    }

    async fn set_user_status(
        &self,
        app_id: &str,
        user_id: &str,
        status: UserStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.user_status_to(app_id, user_id, status, now).await
    }

    async fn revoke_user_tokens(
        &self,
        app_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.user_tokens_revoked(app_id, user_id, now).await
    }

    async fn rename_credential(
        &self,
        app_id: &str,
        user_id: &str,
        credential_id: &[u8],
        nickname: &str,
    ) -> StoreResult<bool> {
        self.credential_renamed(app_id, user_id, credential_id, nickname)
            .await
    }

    async fn session_keys(
        &self,
        app_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionKeyRecord>> {
        self.published_session_keys(app_id, now).await
    }

    async fn add_session_key(
        &self,
        app_id: &str,
        key: &SessionKeyRecord,
        retire: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.new_session_key(app_id, key, retire).await
    }

    async fn set_session_lifetime(&self, app_id: &str, seconds: i64) -> StoreResult<bool> {
        let _forget = Forget(&self.cache, app_id);
        self.session_lifetime_to(app_id, seconds).await
    }

    async fn purge_session_keys(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.retired_session_keys_purged(now).await
    }

    async fn list_apps(&self, search: &str, limit: i64) -> StoreResult<Vec<AppRecord>> {
        // `like` wildcards in the search are taken literally.
        let pattern = format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        self.reader
            .fetch_all::<AppRow>(
                &format!(
                    "select {APP_COLUMNS} from apps where id like $1 escape '\\' \
                     order by id limit $2"
                ),
                &[pattern.as_str().into(), P::Int(limit)],
            )
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(classify)
    }

    async fn insert_console_session(&self, session: &ConsoleSession) -> StoreResult<()> {
        self.writer
            .execute(
                "delete from console_sessions where expires_at < $1",
                &[P::Int(millis(session.created_at))],
            )
            .await
            .map_err(classify)?;
        self.writer
            .execute(
                "insert into console_sessions (token_hash, csrf, created_at, expires_at) \
                 values ($1, $2, $3, $4)",
                &[
                    P::Bytes(&session.token_hash),
                    session.csrf.as_str().into(),
                    P::Int(millis(session.created_at)),
                    P::Int(millis(session.expires_at)),
                ],
            )
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn find_console_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConsoleSession>> {
        self.reader
            .fetch_optional::<ConsoleSessionRow>(
                "select token_hash, csrf, created_at, expires_at from console_sessions \
                 where token_hash = $1 and expires_at > $2",
                &[P::Bytes(token_hash), P::Int(millis(now))],
            )
            .await
            .map(|row| {
                row.map(|r| ConsoleSession {
                    token_hash: r.token_hash,
                    csrf: r.csrf,
                    created_at: time(r.created_at),
                    expires_at: time(r.expires_at),
                })
            })
            .map_err(classify)
    }

    async fn delete_console_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        self.writer
            .execute(
                "delete from console_sessions where token_hash = $1",
                &[P::Bytes(token_hash)],
            )
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

async fn insert_key(tx: &mut Tx, key: &ApiKeyRecord) -> StoreResult<()> {
    let scopes = key.scopes.join(",");
    tx.execute(
        "insert into api_keys (app_id, key_id, kind, key_value, scopes, locked, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            (&key.app_id).into(),
            (&key.key_id).into(),
            key.kind.as_str().into(),
            (&key.value).into(),
            (&scopes).into(),
            key.locked.into(),
            millis(key.created_at).into(),
        ],
    )
    .await
    .map(|_| ())
    .map_err(|e| db_error(e, Conflict::ApiKey))
}
