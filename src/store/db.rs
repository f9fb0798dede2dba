//! The two database engines behind one small interface, so that every query of the store is
//! written once. Statements use `$1…$N` placeholders, which both SQLite and PostgreSQL accept.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::{Conflict, StoreError};

/// A connection pool of either engine.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction of either engine.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A bound parameter. Every column type the schema uses has a variant.
#[derive(Clone, Copy, Debug)]
pub enum P<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    OptBool(Option<bool>),
    Bytes(&'a [u8]),
}

impl<'a> From<&'a str> for P<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(v)
    }
}
impl<'a> From<&'a String> for P<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for P<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::OptText(v)
    }
}
impl<'a> From<&'a Option<String>> for P<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Self::OptText(v.as_deref())
    }
}
impl From<i64> for P<'_> {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<Option<i64>> for P<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::OptInt(v)
    }
}
impl From<bool> for P<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<Option<bool>> for P<'_> {
    fn from(v: Option<bool>) -> Self {
        Self::OptBool(v)
    }
}
impl<'a> From<&'a [u8]> for P<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Bytes(v)
    }
}
impl<'a> From<&'a Vec<u8>> for P<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

/// A row type both engines can decode.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Binds every parameter to a query of either engine (`query` or `query_as`).
macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match *p {
                P::Text(v) => q.bind(v),
                P::OptText(v) => q.bind(v),
                P::Int(v) => q.bind(v),
                P::OptInt(v) => q.bind(v),
                P::Bool(v) => q.bind(v),
                P::OptBool(v) => q.bind(v),
                P::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}
pub(super) use bind_all;

impl Pool {
    pub async fn execute(&self, sql: &str, params: &[P<'_>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool) => bind_all!(sqlx::query(sql), params)
                .execute(pool)
                .await?
                .rows_affected(),
            Self::Postgres(pool) => bind_all!(sqlx::query(sql), params)
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(
        &self,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => bind_all!(sqlx::query_as(sql), params).fetch_all(pool).await,
            Self::Postgres(pool) => bind_all!(sqlx::query_as(sql), params).fetch_all(pool).await,
        }
    }

    pub async fn fetch_optional<T: Row>(
        &self,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<Option<T>, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => {
                bind_all!(sqlx::query_as(sql), params)
                    .fetch_optional(pool)
                    .await
            }
            Self::Postgres(pool) => {
                bind_all!(sqlx::query_as(sql), params)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    pub async fn fetch_one<T: Row>(&self, sql: &str, params: &[P<'_>]) -> Result<T, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => bind_all!(sqlx::query_as(sql), params).fetch_one(pool).await,
            Self::Postgres(pool) => bind_all!(sqlx::query_as(sql), params).fetch_one(pool).await,
        }
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    pub async fn execute(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(tx) => bind_all!(sqlx::query(sql), params)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Self::Postgres(tx) => bind_all!(sqlx::query(sql), params)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_one<T: Row>(
        &mut self,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<T, sqlx::Error> {
        match self {
            Self::Sqlite(tx) => {
                bind_all!(sqlx::query_as(sql), params)
                    .fetch_one(&mut **tx)
                    .await
            }
            Self::Postgres(tx) => {
                bind_all!(sqlx::query_as(sql), params)
                    .fetch_one(&mut **tx)
                    .await
            }
        }
    }

    /// Serialises writers on one app's row until the transaction ends. PostgreSQL needs the
    /// row lock; SQLite's single writer already serialises every write transaction.
    pub async fn lock_app(&mut self, app_id: &str) -> Result<(), sqlx::Error> {
        if let Self::Postgres(tx) = self {
            sqlx::query("select id from apps where id = $1 for update")
                .bind(app_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Maps a unique violation to `conflict` and everything else as [`classify`] does.
pub fn db_error(e: sqlx::Error, conflict: Conflict) -> StoreError {
    match e {
        sqlx::Error::Database(ref d) if d.is_unique_violation() => StoreError::Conflict(conflict),
        other => classify(other),
    }
}

/// Errors a caller may retry (the database is down, restarting or busy) are `Unavailable`.
pub fn classify(e: sqlx::Error) -> StoreError {
    let retryable = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08…), shutdown and crash recovery (57P…).
        // SQLite: busy (5) or locked (6) past the busy timeout, with their extended codes
        // (SQLITE_BUSY_RECOVERY 261, _SNAPSHOT 517, _TIMEOUT 773, SQLITE_LOCKED_SHAREDCACHE
        // 262, _VTAB 518). Listed, because PostgreSQL's codes are numbers too.
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || ["5", "6", "261", "517", "773", "262", "518"].contains(&code.as_ref())
        }),
        _ => false,
    };
    // PostgreSQL: text with a NUL or otherwise not valid in the database encoding.
    let unstorable = matches!(&e, sqlx::Error::Database(d)
        if d.code().is_some_and(|code| code == "22021" || code == "22P05"));
    if retryable {
        StoreError::Unavailable(e.to_string())
    } else if unstorable {
        StoreError::Unstorable(e.to_string())
    } else {
        StoreError::Other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;

    /// A deferred transaction that read before another connection wrote cannot write: SQLite
    /// answers SQLITE_BUSY_SNAPSHOT (517). That is a retryable condition (503), not a 500.
    #[tokio::test]
    async fn busy_snapshot_is_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::from_str("sqlite://")
            .unwrap()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut a = options.connect().await.unwrap();
        let mut b = options.connect().await.unwrap();
        sqlx::query("create table t (x integer)")
            .execute(&mut a)
            .await
            .unwrap();
        let mut tx = a.begin().await.unwrap();
        sqlx::query("select count(*) from t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        sqlx::query("insert into t values (1)")
            .execute(&mut b)
            .await
            .unwrap();
        let err = sqlx::query("insert into t values (2)")
            .execute(&mut *tx)
            .await
            .expect_err("the snapshot is stale");
        let code = match &err {
            sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
            _ => None,
        };
        assert_eq!(code.as_deref(), Some("517"), "{err}");
        assert!(matches!(classify(err), StoreError::Unavailable(_)));
    }
}
