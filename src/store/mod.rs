//! Persistence. All SQL lives below this module; the rest of passkeyd sees only these types.
//!
//! Every method is scoped to one app (tenant) and owns its transaction, so callers cannot
//! forget the tenant filter or leave a half-written change behind.

mod cache;
mod db;
mod exec;
mod postgres;
mod sql;
mod sqlite;
mod steps;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use sql::SqlStore;
pub use steps::{CompleteRegistration, EventFromToken, Named, RedeemToken};

use crate::config::DatabaseConfig;

/// Opens the configured database and applies pending migrations.
pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match config {
        DatabaseConfig::Sqlite { path } => Arc::new(sqlite::open(path).await?),
        DatabaseConfig::Postgres { url, settings } => {
            Arc::new(postgres::open(url.expose(), settings).await?)
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database refused a value, e.g. a NUL character in text (PostgreSQL).
    #[error("value not storable: {0}")]
    Unstorable(String),
    #[error("storage error: {0}")]
    Other(String),
    /// A rule checked inside the transaction refused the write; nothing was written.
    #[error("refused: {0:?}")]
    Refused(Refusal),
}

/// Why a ceremony step wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The ceremony session was completed before.
    SessionUsed,
    /// The signature counter did not move forward (a cloned authenticator, or a race lost).
    CounterBehind,
    /// The app's `maxUsers` is reached and this would be a new user.
    UserLimit,
    /// The user is deactivated.
    UserInactive,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    App,
    ApiKey,
    Credential,
    Alias,
    Token,
    AuthConfig,
    User,
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFeatures {
    pub event_logging_enabled: bool,
    pub event_logging_retention_days: i64,
    pub magic_link_monthly_quota: i64,
    pub max_users: Option<i64>,
    pub allow_attestation: bool,
    pub generate_token_enabled: bool,
    pub magic_links_enabled: bool,
    /// Origins ceremonies may come from; empty means any (the original's behaviour).
    pub allowed_origins: Vec<String>,
    /// RP IDs ceremonies may use; empty means any.
    pub allowed_rp_ids: Vec<String>,
}

/// A partial update of an app's features (`POST /apps/features`).
#[derive(Debug, Clone, Default)]
pub struct FeatureChange {
    pub event_logging_retention_days: Option<i64>,
    pub generate_token_enabled: Option<bool>,
    pub magic_links_enabled: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct AppRecord {
    pub id: String,
    pub admin_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub frozen: bool,
    pub features: AppFeatures,
    /// When the app is scheduled to be deleted.
    pub delete_at: Option<DateTime<Utc>>,
    /// How long its session JWTs live.
    pub session_lifetime_seconds: i64,
}

pub use crate::keys::KeyKind;

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub app_id: String,
    /// The last four characters of the key, as in the original.
    pub key_id: String,
    pub kind: KeyKind,
    /// The public key itself, or the keyed hash (hex) of a secret.
    pub value: String,
    pub scopes: Vec<String>,
    pub locked: bool,
    pub created_at: DateTime<Utc>,
    pub last_locked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Register,
    Verify,
    /// A Flex authentication transaction.
    Transaction,
}

impl TokenKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Verify => "verify",
            Self::Transaction => "transaction",
        }
    }
}

/// A server-side token: the client holds only a random string whose SHA-256 is `hash`.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub hash: Vec<u8>,
    pub app_id: String,
    pub kind: TokenKind,
    pub payload: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CredentialRecord {
    pub app_id: String,
    pub credential_id: Vec<u8>,
    pub user_id: String,
    pub user_handle: Vec<u8>,
    /// COSE_Key bytes as the authenticator sent them.
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub attestation_fmt: String,
    pub aaguid: Option<String>,
    pub rp_id: String,
    pub origin: String,
    pub country: Option<String>,
    pub device: Option<String>,
    pub nickname: Option<String>,
    pub backup_state: Option<bool>,
    pub backup_eligible: Option<bool>,
    pub discoverable: Option<bool>,
    /// The WebAuthn library's credential record, versioned (see `ceremony`).
    pub webauthn: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// Completed sign-ins with this credential.
    pub usage_count: i64,
    /// `platform` or `cross-platform`, as the browser reported it at registration.
    pub attachment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Inactive,
}

impl UserStatus {
    /// Reads a stored status; anything else is a damaged row.
    pub fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            other => Err(StoreError::Other(format!("unknown user status {other:?}"))),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// A user's stored profile (every user with a passkey or an alias has one).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub app_id: String,
    pub user_id: String,
    pub status: UserStatus,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// A JSON object, as text.
    pub metadata: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub login_count: i64,
    /// Sign-in tokens issued before this no longer become sessions.
    pub tokens_revoked_at: Option<DateTime<Utc>>,
}

/// Which users a listing returns, and in what order.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub user_id: Option<String>,
    pub status: Option<UserStatus>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub login_count: Option<i64>,
    pub created_before: Option<DateTime<Utc>>,
    /// A column of `users` and whether it sorts descending; default: created_at, ascending.
    pub order_by: Option<(UserOrder, bool)>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    Id,
    Email,
    Phone,
    Status,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
    LoginCount,
}

impl UserOrder {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "user_id",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Status => "status",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::LastLoginAt => "last_login_at",
            Self::LoginCount => "login_count",
        }
    }
}

/// A user's profile saved, with the aliases that change with it (e-mail, phone).
#[derive(Debug, Clone)]
pub struct UserSave {
    pub user: UserRecord,
    pub remove_aliases: Vec<String>,
    pub add_aliases: Vec<AliasRecord>,
    /// `true`: the user must not exist yet (`Conflict::User` if it does).
    pub create: bool,
}

/// A key that signs an app's session JWTs.
#[derive(Debug, Clone)]
pub struct SessionKeyRecord {
    pub kid: String,
    /// PKCS#8 DER.
    pub private_key: Vec<u8>,
    pub public_jwk: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub published_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    pub hash: String,
    pub plaintext: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: String,
    pub app_id: String,
    pub performed_at: DateTime<Utc>,
    pub event_type: String,
    pub severity: String,
    pub message: String,
    pub performed_by: String,
    pub subject: String,
    pub api_key_id: String,
}

#[derive(Debug, Clone)]
pub struct AuthConfigRecord {
    pub app_id: String,
    pub purpose: String,
    pub user_verification: String,
    pub ttl_seconds: i64,
    pub hints: Vec<String>,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
    pub edited_by: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct AuthenticatorRecord {
    pub aaguid: String,
    pub is_allowed: bool,
    pub created_at: DateTime<Utc>,
}

/// A user as `/users/list` shows them.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user_id: String,
    /// Plaintext of each alias; `None` for hashed ones.
    pub aliases: Vec<Option<String>>,
    pub credentials_count: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Everything a successful `/signin/complete` writes, in one transaction.
#[derive(Debug, Clone)]
pub struct SigninCompletion {
    pub app_id: String,
    /// The sealed session's id, recorded so that the session works once.
    pub session_id: Vec<u8>,
    pub credential_id: Vec<u8>,
    pub user_id: String,
    pub new_count: u32,
    /// The backup state the assertion reported.
    pub backup_state: bool,
    /// The library's updated credential record, when the assertion changed it.
    pub record: Option<String>,
    pub device: String,
    pub country: String,
    /// Days since the epoch, for the sign-in reports.
    pub day: i64,
    pub touch_purpose: Option<PurposeTouch>,
    pub event: Option<EventRecord>,
    pub verify: TokenRecord,
    pub now: DateTime<Utc>,
}

/// A purpose whose `lastUsedOn` a sign-in refreshes.
#[derive(Debug, Clone)]
pub struct PurposeTouch {
    pub purpose: String,
    /// For the presets (`sign-in`, `step-up`): the defaults to record on first use.
    pub preset: Option<PresetDefaults>,
}

#[derive(Debug, Clone)]
pub struct PresetDefaults {
    pub user_verification: String,
    pub ttl_seconds: i64,
}

/// The connections of one pool at a moment, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `reader` / `writer` (SQLite), `shared` (PostgreSQL).
    pub pool: &'static str,
    /// Open connections, in use plus idle.
    pub size: u32,
    pub idle: u32,
}

/// The rest of a `/signin/complete` transaction. Dropping it writes nothing.
#[async_trait]
pub trait SigninTx: Send {
    /// Uses up the session, advances the counter (compare-and-swap), and records the day, the
    /// purpose's last use, the event and the verify token, all or nothing.
    async fn complete(self: Box<Self>, completion: SigninCompletion) -> StoreResult<()>;
    /// Uses up the session of a refused sign-in.
    async fn spend(self: Box<Self>, app_id: &str, session_id: &[u8]) -> StoreResult<()>;
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A round trip to the database, for health checks.
    async fn ping(&self) -> StoreResult<()>;

    /// The connection pools' current sizes, for metrics.
    fn pool_stats(&self) -> Vec<PoolStats> {
        Vec::new()
    }

    /// Closes the pools at shutdown, waiting for connections in use to come back.
    async fn close(&self) {}

    /// A random per-installation secret, created on first use and shared by every replica.
    async fn instance_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u8>>;

    async fn insert_app(&self, app: &AppRecord, keys: &[ApiKeyRecord]) -> StoreResult<()>;
    async fn find_app(&self, app_id: &str) -> StoreResult<Option<AppRecord>>;
    /// Changes the features that are `Some`, leaving the others as they are.
    async fn update_features(&self, app_id: &str, change: &FeatureChange) -> StoreResult<()>;
    /// A key with its app, in one round trip: every authenticated request needs both.
    async fn find_api_key(
        &self,
        app_id: &str,
        key_id: &str,
    ) -> StoreResult<Option<(ApiKeyRecord, AppRecord)>>;
    async fn list_api_keys(&self, app_id: &str) -> StoreResult<Vec<ApiKeyRecord>>;
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    /// Returns whether the key exists.
    async fn set_api_key_locked(
        &self,
        app_id: &str,
        key_id: &str,
        locked: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn delete_api_key(&self, app_id: &str, key_id: &str) -> StoreResult<bool>;

    async fn set_app_frozen(&self, app_id: &str, frozen: bool) -> StoreResult<bool>;
    /// Replaces the management-controlled features (logging, retention, quota, max users,
    /// attestation, origin policy).
    async fn replace_features(&self, app_id: &str, features: &AppFeatures) -> StoreResult<bool>;
    /// Schedules (`Some`) or cancels (`None`) the deletion of an app.
    async fn set_app_deletion(
        &self,
        app_id: &str,
        delete_at: Option<DateTime<Utc>>,
        deleted_by: Option<&str>,
    ) -> StoreResult<bool>;
    async fn delete_app(&self, app_id: &str) -> StoreResult<bool>;
    async fn apps_pending_deletion(&self) -> StoreResult<Vec<String>>;
    async fn count_credentials(&self, app_id: &str) -> StoreResult<i64>;

    async fn insert_event(&self, event: &EventRecord) -> StoreResult<()>;
    /// Newest first; returns the page and the total number of events.
    async fn list_events(
        &self,
        app_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<EventRecord>, i64)>;
    /// Deletes events older than each app's retention period.
    async fn purge_events(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    async fn find_auth_config(
        &self,
        app_id: &str,
        purpose: &str,
    ) -> StoreResult<Option<AuthConfigRecord>>;
    async fn list_auth_configs(&self, app_id: &str) -> StoreResult<Vec<AuthConfigRecord>>;
    /// Fails with `Conflict::AuthConfig` when the purpose exists.
    async fn insert_auth_config(&self, config: &AuthConfigRecord) -> StoreResult<()>;
    /// Inserts or replaces.
    async fn save_auth_config(&self, config: &AuthConfigRecord) -> StoreResult<()>;
    async fn delete_auth_config(&self, app_id: &str, purpose: &str) -> StoreResult<bool>;

    async fn list_authenticators(
        &self,
        app_id: &str,
        allowed: bool,
    ) -> StoreResult<Vec<AuthenticatorRecord>>;
    /// Puts each AAGUID on the allow-list (`allowed`) or the block-list, moving it if needed.
    async fn save_authenticators(
        &self,
        app_id: &str,
        aaguids: &[String],
        allowed: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn delete_authenticators(&self, app_id: &str, aaguids: &[String]) -> StoreResult<()>;
    /// The list an AAGUID is on (`Some(true)` allowed, `Some(false)` blocked), and whether the
    /// app has an allow-list at all.
    async fn authenticator_policy(
        &self,
        app_id: &str,
        aaguid: &str,
    ) -> StoreResult<(Option<bool>, bool)>;

    /// Records a magic-link e-mail about to be sent, if fewer than `limit` were recorded since
    /// `since`; atomic, so concurrent senders cannot exceed the quota. Returns the record's id.
    async fn reserve_email(
        &self,
        app_id: &str,
        user_id: &str,
        email: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Option<String>>;
    /// Forgets a reservation whose e-mail could not be sent.
    async fn release_email(&self, id: &str) -> StoreResult<()>;
    async fn purge_emails(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Notes that `user_id` signed in on `day` (days since the epoch), once per day.
    async fn record_signin_day(&self, app_id: &str, user_id: &str, day: i64) -> StoreResult<()>;
    /// Distinct (day, user) pairs with a sign-in in `from..=to`.
    async fn signin_days(
        &self,
        app_id: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, String)>>;
    /// Per credential: (user id, created at), for the registration reports.
    async fn credential_creations(&self, app_id: &str)
        -> StoreResult<Vec<(String, DateTime<Utc>)>>;

    /// Stores a token, and the event that issuing it records, in one transaction.
    async fn insert_token(
        &self,
        token: TokenRecord,
        event: Option<EventRecord>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Reads a token and leaves it in place (register tokens may start several ceremonies).
    async fn find_token(
        &self,
        app_id: &str,
        kind: TokenKind,
        hash: &[u8],
    ) -> StoreResult<Option<TokenRecord>>;
    /// Removes a token and returns it, atomically: of two concurrent callers only one gets it.
    /// The event built from it is recorded in the same transaction.
    async fn redeem_token(&self, redeem: RedeemToken) -> StoreResult<Option<TokenRecord>>;
    /// Deletes tokens and spent-session records that expired before `before`; returns how many.
    async fn purge_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// `/signin/begin`: whom the sign-in names (empty for an unknown alias) and their
    /// credential ids, oldest first.
    async fn signin_candidates(
        &self,
        app_id: &str,
        named: Named,
    ) -> StoreResult<(String, Vec<Vec<u8>>)>;
    /// The shapes (id lengths, oldest first) of up to 64 real users' credential lists in this
    /// app, for stand-in lists that look like them. Cached for a minute.
    async fn credential_shapes(&self, app_id: &str) -> StoreResult<Vec<Vec<u16>>>;
    /// `/signin/complete`: reads the credential in the transaction that [`SigninTx`] then
    /// finishes, so that the call is one transaction even though the WebAuthn verify happens
    /// between its read and its writes (on SQLite the read needs no transaction).
    async fn open_signin(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<(Option<CredentialRecord>, Box<dyn SigninTx + '_>)>;
    /// Uses up a ceremony session whose completion was refused. `Refused(SessionUsed)` when it
    /// was used before.
    async fn spend_session(&self, app_id: &str, id: &[u8]) -> StoreResult<()>;
    /// `/register/complete`: uses up the session, holds the user limit, stores the credential
    /// and aliases, the event and the verify token, all or nothing.
    async fn complete_registration(&self, completion: CompleteRegistration) -> StoreResult<()>;

    async fn list_credentials(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<CredentialRecord>>;
    /// The ids of a user's credentials, oldest first (for allow- and exclude-lists).
    async fn credential_ids(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<Vec<u8>>>;
    async fn find_credential(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<Option<CredentialRecord>>;

    /// Replaces all of a user's aliases (an empty list removes them).
    async fn replace_aliases(
        &self,
        app_id: &str,
        user_id: &str,
        aliases: &[AliasRecord],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn list_aliases(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<AliasRecord>>;
    /// Removes a credential; returns its user when it existed.
    async fn delete_credential(
        &self,
        app_id: &str,
        credential_id: &[u8],
    ) -> StoreResult<Option<String>>;
    /// Removes a user's credentials and aliases in one transaction.
    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()>;
    /// Users that have credentials or aliases, at most `limit`.
    async fn list_users(&self, app_id: &str, limit: i64) -> StoreResult<Vec<UserSummary>>;

    /// The owners of those alias hashes that exist: (hash, user id).
    async fn alias_owners(
        &self,
        app_id: &str,
        hashes: &[String],
    ) -> StoreResult<Vec<(String, String)>>;
    async fn count_users(&self, app_id: &str) -> StoreResult<i64>;
    async fn user_has_credentials(&self, app_id: &str, user_id: &str) -> StoreResult<bool>;

    async fn find_user(&self, app_id: &str, user_id: &str) -> StoreResult<Option<UserRecord>>;
    /// The user an alias (by its hash) or, failing that, a user id names.
    async fn find_user_by_identifier(
        &self,
        app_id: &str,
        alias_hash: &str,
        user_id: &str,
    ) -> StoreResult<Option<UserRecord>>;
    /// A page of users and how many match in all.
    async fn list_user_records(
        &self,
        app_id: &str,
        query: &UserQuery,
    ) -> StoreResult<(Vec<UserRecord>, i64)>;
    /// Creates or updates a user and their changed aliases, in one transaction.
    async fn save_user(&self, save: &UserSave) -> StoreResult<()>;
    /// Returns whether the user exists.
    async fn set_user_status(
        &self,
        app_id: &str,
        user_id: &str,
        status: UserStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Returns whether the user exists.
    async fn revoke_user_tokens(
        &self,
        app_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Returns whether the credential exists and belongs to the user.
    async fn rename_credential(
        &self,
        app_id: &str,
        user_id: &str,
        credential_id: &[u8],
        nickname: &str,
    ) -> StoreResult<bool>;

    /// The app's session keys that are still published at `now`, newest first.
    async fn session_keys(
        &self,
        app_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionKeyRecord>>;
    /// Adds a key. With `retire`, the keys in use until now are retired at `now` and stay
    /// published until `published_until`, in the same transaction.
    async fn add_session_key(
        &self,
        app_id: &str,
        key: &SessionKeyRecord,
        retire: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Returns whether the app exists.
    async fn set_session_lifetime(&self, app_id: &str, seconds: i64) -> StoreResult<bool>;
    /// Deletes retired keys no longer published at `now`.
    async fn purge_session_keys(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Apps whose id contains `search` (every app when it is empty), by id, at most `limit`.
    async fn list_apps(&self, search: &str, limit: i64) -> StoreResult<Vec<AppRecord>>;
    /// Starts an admin console session, removing expired ones on the way.
    async fn insert_console_session(&self, session: &ConsoleSession) -> StoreResult<()>;
    /// The session with this token hash, if it has not expired at `now`.
    async fn find_console_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConsoleSession>>;
    async fn delete_console_session(&self, token_hash: &[u8]) -> StoreResult<()>;
}

/// A signed-in admin console: the hash of its cookie's token and its form token.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub token_hash: Vec<u8>,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    fn migrations(engine: &str) -> Vec<String> {
        let dir = format!("{}/migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }

    /// Both engines must have the same migrations, version for version, so that their
    /// histories never drift apart.
    #[test]
    fn migration_folders_match() {
        let sqlite = migrations("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, migrations("postgres"));
    }
}
