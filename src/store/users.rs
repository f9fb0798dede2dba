//! Users' profiles and session keys: the queries behind the Passage-style API and session
//! JWTs (both engines, through `db`).

use chrono::{DateTime, TimeZone, Utc};
use sqlx::FromRow;

use super::db::{classify, db_error, P};
use super::sql::SqlStore;
use super::{
    Conflict, SessionKeyRecord, StoreError, StoreResult, UserQuery, UserRecord, UserSave,
    UserStatus,
};

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Times are written by passkeyd from valid `DateTime`s; anything else is a damaged row.
fn time(ms: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Other(format!("stored time {ms} is out of range")))
}

fn opt_time(ms: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

const USER_COLUMNS: &str = "users.app_id, users.user_id, users.status, users.email, \
    users.email_verified, users.phone, users.phone_verified, users.metadata, users.created_at, \
    users.updated_at, users.last_login_at, users.login_count, users.tokens_revoked_at";

#[derive(FromRow)]
struct UserRow {
    app_id: String,
    user_id: String,
    status: String,
    email: Option<String>,
    email_verified: bool,
    phone: Option<String>,
    phone_verified: bool,
    metadata: Option<String>,
    created_at: i64,
    updated_at: i64,
    last_login_at: Option<i64>,
    login_count: i64,
    tokens_revoked_at: Option<i64>,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<Self> {
        Ok(Self {
            status: UserStatus::parse(&r.status)?,
            app_id: r.app_id,
            user_id: r.user_id,
            email: r.email,
            email_verified: r.email_verified,
            phone: r.phone,
            phone_verified: r.phone_verified,
            metadata: r.metadata,
            created_at: time(r.created_at)?,
            updated_at: time(r.updated_at)?,
            last_login_at: opt_time(r.last_login_at)?,
            login_count: r.login_count,
            tokens_revoked_at: opt_time(r.tokens_revoked_at)?,
        })
    }
}

#[derive(FromRow)]
struct SessionKeyRow {
    kid: String,
    private_key: Vec<u8>,
    public_jwk: String,
    created_at: i64,
    retired_at: Option<i64>,
    published_until: Option<i64>,
}

/// Adds `and <condition> $n` to a filter, binding `p` as `$n`.
fn and<'a>(filter: &mut String, params: &mut Vec<P<'a>>, condition: &str, p: P<'a>) {
    params.push(p);
    filter.push_str(&format!(" and {condition} ${}", params.len()));
}

impl SqlStore {
    pub(super) async fn user(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<UserRecord>> {
        self.reader
            .fetch_optional::<UserRow>(
                &format!("select {USER_COLUMNS} from users where app_id = $1 and user_id = $2"),
                &[app_id.into(), user_id.into()],
            )
            .await
            .map_err(classify)?
            .map(TryInto::try_into)
            .transpose()
    }

    pub(super) async fn user_by_identifier(
        &self,
        app_id: &str,
        alias_hash: &str,
        user_id: &str,
    ) -> StoreResult<Option<UserRecord>> {
        // An alias wins over a user id that happens to read the same.
        let by_alias = self
            .reader
            .fetch_optional::<UserRow>(
                &format!(
                    "select {USER_COLUMNS} from aliases join users on users.app_id = \
                     aliases.app_id and users.user_id = aliases.user_id \
                     where aliases.app_id = $1 and aliases.alias_hash = $2"
                ),
                &[app_id.into(), alias_hash.into()],
            )
            .await
            .map_err(classify)?;
        if let Some(row) = by_alias {
            return Ok(Some(row.try_into()?));
        }
        if let Some(user) = self.user(app_id, user_id).await? {
            return Ok(Some(user));
        }
        // Passage's SDK lower-cases identifiers: an id in another case is still found, when
        // it names one user only.
        let rows = self
            .reader
            .fetch_all::<UserRow>(
                &format!(
                    "select {USER_COLUMNS} from users where app_id = $1 \
                     and lower(user_id) = lower($2) limit 2"
                ),
                &[app_id.into(), user_id.into()],
            )
            .await
            .map_err(classify)?;
        match <[UserRow; 1]>::try_from(rows) {
            Ok([row]) => Ok(Some(row.try_into()?)),
            Err(_) => Ok(None),
        }
    }

    pub(super) async fn user_page(
        &self,
        app_id: &str,
        q: &UserQuery,
    ) -> StoreResult<(Vec<UserRecord>, i64)> {
        // Filters become numbered parameters after the app id; the text is built from fixed
        // pieces only.
        let mut params: Vec<P<'_>> = vec![app_id.into()];
        let mut filter = String::from("app_id = $1");
        if let Some(v) = q.status {
            and(&mut filter, &mut params, "status =", v.as_str().into());
        }
        if let Some(v) = q.created_before {
            and(&mut filter, &mut params, "created_at <", millis(v).into());
        }
        if let Some(v) = q.login_count {
            and(&mut filter, &mut params, "login_count =", v.into());
        }
        for (column, value) in [
            ("user_id =", &q.user_id),
            ("email =", &q.email),
            ("phone =", &q.phone),
        ] {
            if let Some(v) = value {
                and(&mut filter, &mut params, column, v.into());
            }
        }
        let total = self
            .reader
            .fetch_one::<(i64,)>(
                &format!("select count(*) from users where {filter}"),
                &params,
            )
            .await
            .map_err(classify)?
            .0;
        let (order, descending) = q.order_by.unwrap_or((super::UserOrder::CreatedAt, false));
        let direction = if descending { "desc" } else { "asc" };
        let n = params.len();
        params.push(q.limit.into());
        params.push(q.offset.into());
        let rows = self
            .reader
            .fetch_all::<UserRow>(
                &format!(
                    "select {USER_COLUMNS} from users where {filter} order by {} {direction}, \
                     user_id {direction} limit ${} offset ${}",
                    order.column(),
                    n + 1,
                    n + 2
                ),
                &params,
            )
            .await
            .map_err(classify)?;
        let users = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((users, total))
    }

    pub(super) async fn write_user(&self, save: &UserSave) -> StoreResult<()> {
        let u = &save.user;
        let app_id = u.app_id.as_str();
        let mut tx = self.writer.begin().await.map_err(classify)?;
        let params: [P<'_>; 13] = [
            app_id.into(),
            (&u.user_id).into(),
            u.status.as_str().into(),
            (&u.email).into(),
            u.email_verified.into(),
            (&u.phone).into(),
            u.phone_verified.into(),
            (&u.metadata).into(),
            millis(u.created_at).into(),
            millis(u.updated_at).into(),
            u.last_login_at.map(millis).into(),
            u.login_count.into(),
            u.tokens_revoked_at.map(millis).into(),
        ];
        if save.create {
            tx.execute(
                "insert into users (app_id, user_id, status, email, email_verified, phone, \
                 phone_verified, metadata, created_at, updated_at, last_login_at, login_count, \
                 tokens_revoked_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &params,
            )
            .await
            .map_err(|e| db_error(e, Conflict::User))?;
        } else {
            // Only the profile: sign-in counts and times move under sign-ins, not here.
            tx.execute(
                "update users set status = $3, email = $4, email_verified = $5, phone = $6, \
                 phone_verified = $7, metadata = $8, updated_at = $10 \
                 where app_id = $1 and user_id = $2",
                &params[..10],
            )
            .await
            .map_err(classify)?;
        }
        for hash in &save.remove_aliases {
            tx.execute(
                "delete from aliases where app_id = $1 and user_id = $2 and alias_hash = $3",
                &[app_id.into(), (&u.user_id).into(), hash.into()],
            )
            .await
            .map_err(classify)?;
        }
        for alias in &save.add_aliases {
            tx.execute(
                "insert into aliases (app_id, alias_hash, user_id, plaintext, created_at) \
                 values ($1, $2, $3, $4, $5)",
                &[
                    app_id.into(),
                    (&alias.hash).into(),
                    (&u.user_id).into(),
                    (&alias.plaintext).into(),
                    millis(u.updated_at).into(),
                ],
            )
            .await
            .map_err(|e| db_error(e, Conflict::Alias))?;
        }
        tx.commit().await.map_err(classify)
    }

    pub(super) async fn user_status_to(
        &self,
        app_id: &str,
        user_id: &str,
        status: UserStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.writer
            .execute(
                "update users set status = $3, updated_at = $4 where app_id = $1 and user_id = $2",
                &[
                    app_id.into(),
                    user_id.into(),
                    status.as_str().into(),
                    millis(now).into(),
                ],
            )
            .await
            .map(|n| n == 1)
            .map_err(classify)
    }

    pub(super) async fn user_tokens_revoked(
        &self,
        app_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.writer
            .execute(
                "update users set tokens_revoked_at = $3 where app_id = $1 and user_id = $2",
                &[app_id.into(), user_id.into(), millis(now).into()],
            )
            .await
            .map(|n| n == 1)
            .map_err(classify)
    }

    pub(super) async fn credential_renamed(
        &self,
        app_id: &str,
        user_id: &str,
        credential_id: &[u8],
        nickname: &str,
    ) -> StoreResult<bool> {
        self.writer
            .execute(
                "update credentials set nickname = $4 \
                 where app_id = $1 and user_id = $2 and credential_id = $3",
                &[
                    app_id.into(),
                    user_id.into(),
                    credential_id.into(),
                    nickname.into(),
                ],
            )
            .await
            .map(|n| n == 1)
            .map_err(classify)
    }

    pub(super) async fn published_session_keys(
        &self,
        app_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionKeyRecord>> {
        let rows = self
            .reader
            .fetch_all::<SessionKeyRow>(
                "select kid, private_key, public_jwk, created_at, retired_at, published_until \
                 from session_keys where app_id = $1 \
                 and (published_until is null or published_until > $2) \
                 order by created_at desc, kid",
                &[app_id.into(), millis(now).into()],
            )
            .await
            .map_err(classify)?;
        rows.into_iter()
            .map(|r| {
                Ok(SessionKeyRecord {
                    kid: r.kid,
                    private_key: r.private_key,
                    public_jwk: r.public_jwk,
                    created_at: time(r.created_at)?,
                    retired_at: opt_time(r.retired_at)?,
                    published_until: opt_time(r.published_until)?,
                })
            })
            .collect()
    }

    pub(super) async fn new_session_key(
        &self,
        app_id: &str,
        key: &SessionKeyRecord,
        retire: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        if let Some(published_until) = retire {
            tx.execute(
                "update session_keys set retired_at = $2, published_until = $3 \
                 where app_id = $1 and retired_at is null",
                &[
                    app_id.into(),
                    millis(key.created_at).into(),
                    millis(published_until).into(),
                ],
            )
            .await
            .map_err(classify)?;
        }
        tx.execute(
            "insert into session_keys (app_id, kid, private_key, public_jwk, created_at) \
             values ($1, $2, $3, $4, $5)",
            &[
                app_id.into(),
                (&key.kid).into(),
                (&key.private_key).into(),
                (&key.public_jwk).into(),
                millis(key.created_at).into(),
            ],
        )
        .await
        .map_err(|e| db_error(e, Conflict::Token))?;
        tx.commit().await.map_err(classify)
    }

    pub(super) async fn session_lifetime_to(
        &self,
        app_id: &str,
        seconds: i64,
    ) -> StoreResult<bool> {
        self.writer
            .execute(
                "update apps set session_lifetime_seconds = $2 where id = $1",
                &[app_id.into(), seconds.into()],
            )
            .await
            .map(|n| n == 1)
            .map_err(classify)
    }

    pub(super) async fn retired_session_keys_purged(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.writer
            .execute(
                "delete from session_keys where published_until is not null \
                 and published_until <= $1",
                &[millis(now).into()],
            )
            .await
            .map_err(classify)
    }
}
