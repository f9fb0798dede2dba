//! One transaction interface over both engines, for the ceremony steps (`steps`).
//!
//! A step is written once, as an `async fn` over [`Exec`]. On PostgreSQL it runs in a sqlx
//! transaction. On SQLite it runs through rusqlite as plain function calls, instead of one
//! thread round trip per statement as with sqlx-sqlite (see BENCHMARKS.md). A rusqlite call
//! never suspends, so the step's future completes on its first poll.

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sqlx::postgres::PgRow;
use sqlx::{Column, Postgres, Row as _, TypeInfo};

use super::db::{bind_all, classify, P};
use super::{Conflict, StoreError, StoreResult};

/// A column value as both engines return it.
#[derive(Debug, Clone)]
pub enum V {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One result row, read column by column in select order.
pub struct Row(std::vec::IntoIter<V>);

impl Row {
    fn next(&mut self) -> V {
        self.0.next().unwrap_or(V::Null)
    }
    pub fn opt_text(&mut self) -> Option<String> {
        match self.next() {
            V::Text(s) => Some(s),
            V::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            V::Int(i) => Some(i.to_string()),
            V::Null => None,
        }
    }
    pub fn text(&mut self) -> String {
        self.opt_text().unwrap_or_default()
    }
    pub fn opt_int(&mut self) -> Option<i64> {
        match self.next() {
            V::Int(i) => Some(i),
            V::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn int(&mut self) -> i64 {
        self.opt_int().unwrap_or_default()
    }
    pub fn opt_bool(&mut self) -> Option<bool> {
        self.opt_int().map(|i| i != 0)
    }
    pub fn bytes(&mut self) -> Vec<u8> {
        match self.next() {
            V::Bytes(b) => b,
            V::Text(s) => s.into_bytes(),
            _ => Vec::new(),
        }
    }
}

/// A statement failed: by a uniqueness rule (which one, the caller knows) or otherwise.
#[derive(Debug)]
pub enum ExecError {
    Unique,
    Store(StoreError),
}

impl ExecError {
    /// A unique violation means `conflict`.
    pub fn or(self, conflict: Conflict) -> StoreError {
        match self {
            Self::Unique => StoreError::Conflict(conflict),
            Self::Store(e) => e,
        }
    }
}

impl From<ExecError> for StoreError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Unique => Self::Other("unexpected unique violation".to_owned()),
            ExecError::Store(e) => e,
        }
    }
}

pub type ExecResult<T> = Result<T, ExecError>;

/// Statements inside one open transaction.
pub trait Exec {
    /// PostgreSQL needs explicit row locks where SQLite's single writer already serialises.
    fn is_postgres(&self) -> bool;
    async fn execute(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<u64>;
    async fn rows(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<Vec<Row>>;

    async fn row(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }
}

/// A unit of work of one request: everything it reads and writes, in one transaction.
pub trait Step: Send + 'static {
    type Out: Send + 'static;
    async fn run<E: Exec>(self, e: &mut E) -> StoreResult<Self::Out>;

    /// A step of one statement needs no explicit transaction: on PostgreSQL it then costs one
    /// round trip instead of three.
    fn single_statement(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

pub struct PgExec(pub sqlx::Transaction<'static, Postgres>);

fn pg_error(e: sqlx::Error) -> ExecError {
    match e {
        sqlx::Error::Database(ref d) if d.is_unique_violation() => ExecError::Unique,
        other => ExecError::Store(classify(other)),
    }
}

fn pg_values(row: &PgRow) -> Vec<V> {
    (0..row.len())
        .map(|i| {
            let v = match row.column(i).type_info().name() {
                "BOOL" => row
                    .try_get::<Option<bool>, _>(i)
                    .ok()
                    .flatten()
                    .map(|b| V::Int(i64::from(b))),
                "INT2" => row
                    .try_get::<Option<i16>, _>(i)
                    .ok()
                    .flatten()
                    .map(|n| V::Int(n.into())),
                "INT4" => row
                    .try_get::<Option<i32>, _>(i)
                    .ok()
                    .flatten()
                    .map(|n| V::Int(n.into())),
                "INT8" => row.try_get::<Option<i64>, _>(i).ok().flatten().map(V::Int),
                "BYTEA" => row
                    .try_get::<Option<Vec<u8>>, _>(i)
                    .ok()
                    .flatten()
                    .map(V::Bytes),
                _ => row
                    .try_get::<Option<String>, _>(i)
                    .ok()
                    .flatten()
                    .map(V::Text),
            };
            v.unwrap_or(V::Null)
        })
        .collect()
}

/// One statement on any PostgreSQL executor (a transaction, or the pool).
async fn pg_execute<'e>(
    x: impl sqlx::PgExecutor<'e>,
    sql: &str,
    params: &[P<'_>],
) -> ExecResult<u64> {
    bind_all!(sqlx::query(sql), params)
        .execute(x)
        .await
        .map(|r| r.rows_affected())
        .map_err(pg_error)
}

async fn pg_rows<'e>(
    x: impl sqlx::PgExecutor<'e>,
    sql: &str,
    params: &[P<'_>],
) -> ExecResult<Vec<Row>> {
    let rows = bind_all!(sqlx::query(sql), params)
        .fetch_all(x)
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(|r| Row(pg_values(r).into_iter())).collect())
}

impl Exec for PgExec {
    fn is_postgres(&self) -> bool {
        true
    }

    async fn execute(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<u64> {
        pg_execute(&mut *self.0, sql, params).await
    }

    async fn rows(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<Vec<Row>> {
        pg_rows(&mut *self.0, sql, params).await
    }
}

/// Statements straight on the pool, each its own transaction: for steps of one statement.
pub struct PgPoolExec<'p>(pub &'p sqlx::PgPool);

impl Exec for PgPoolExec<'_> {
    fn is_postgres(&self) -> bool {
        true
    }

    async fn execute(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<u64> {
        pg_execute(self.0, sql, params).await
    }

    async fn rows(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<Vec<Row>> {
        pg_rows(self.0, sql, params).await
    }
}

/// Opens a PostgreSQL transaction for a request whose reads and writes are separated by work
/// in between (the WebAuthn verify of `/signin/complete`).
pub async fn pg_begin(pool: &sqlx::PgPool) -> StoreResult<PgExec> {
    Ok(PgExec(pool.begin().await.map_err(classify)?))
}

impl PgExec {
    pub async fn commit(self) -> StoreResult<()> {
        self.0.commit().await.map_err(classify)
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite

/// Statements on a SQLite connection that is inside a transaction.
pub struct LiteExec<'c>(&'c Connection);

const NAMES: [&str; 24] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24",
];

fn lite_error(e: rusqlite::Error) -> ExecError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            // 2067 unique, 1555 primary key.
            ErrorCode::ConstraintViolation
                if f.extended_code == 2067 || f.extended_code == 1555 =>
            {
                ExecError::Unique
            }
            // Busy and locked, with their extended codes (e.g. SQLITE_BUSY_SNAPSHOT).
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                ExecError::Store(StoreError::Unavailable(e.to_string()))
            }
            ErrorCode::DiskFull | ErrorCode::SystemIoFailure | ErrorCode::CannotOpen => {
                ExecError::Store(StoreError::Unavailable(e.to_string()))
            }
            _ => ExecError::Store(StoreError::Other(e.to_string())),
        },
        _ => ExecError::Store(StoreError::Other(e.to_string())),
    }
}

impl LiteExec<'_> {
    fn prepare(&self, sql: &str, params: &[P<'_>]) -> ExecResult<rusqlite::CachedStatement<'_>> {
        let mut st = self.0.prepare_cached(sql).map_err(lite_error)?;
        for (n, p) in params.iter().enumerate() {
            let Some(name) = NAMES.get(n) else {
                return Err(ExecError::Store(StoreError::Other(
                    "too many parameters".to_owned(),
                )));
            };
            // A parameter the statement does not use has no index.
            let Some(i) = st.parameter_index(name).map_err(lite_error)? else {
                continue;
            };
            let bound = match *p {
                P::Text(v) => st.raw_bind_parameter(i, v),
                P::OptText(v) => st.raw_bind_parameter(i, v),
                P::Int(v) => st.raw_bind_parameter(i, v),
                P::OptInt(v) => st.raw_bind_parameter(i, v),
                P::Bool(v) => st.raw_bind_parameter(i, v),
                P::OptBool(v) => st.raw_bind_parameter(i, v),
                P::Bytes(v) => st.raw_bind_parameter(i, v),
            };
            bound.map_err(lite_error)?;
        }
        Ok(st)
    }
}

impl Exec for LiteExec<'_> {
    fn is_postgres(&self) -> bool {
        false
    }

    async fn execute(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<u64> {
        let mut st = self.prepare(sql, params)?;
        let n = st.raw_execute().map_err(lite_error)?;
        Ok(n as u64)
    }

    async fn rows(&mut self, sql: &str, params: &[P<'_>]) -> ExecResult<Vec<Row>> {
        let mut st = self.prepare(sql, params)?;
        let columns = st.column_count();
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(lite_error)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(lite_error)? {
                    ValueRef::Null => V::Null,
                    ValueRef::Integer(n) => V::Int(n),
                    // No column of the schema is real; keep the value rather than fail.
                    ValueRef::Real(f) => V::Text(f.to_string()),
                    ValueRef::Text(t) => V::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => V::Bytes(b.to_vec()),
                });
            }
            out.push(Row(values.into_iter()));
        }
        Ok(out)
    }
}

/// Polls a future that cannot suspend (a step over [`LiteExec`]) to its end.
fn complete_now<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// The SQLite connections of the ceremony steps: one writer (SQLite has a single writer anyway)
/// and a few readers, which WAL lets run beside it.
///
/// A step runs on the calling thread: a local statement takes microseconds, less than handing
/// it to another thread and back (see BENCHMARKS.md). The writer is taken with an async lock,
/// so a request waiting for it yields its thread instead of blocking it. Checkpoints, which
/// fsync, run on a thread of their own rather than inside a request's commit.
pub struct Lite {
    writer: tokio::sync::Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

fn connect(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if !read_only {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The checkpointer thread copies the WAL back instead.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Once checkpointed, the WAL is cut back to this size (64 MiB), so that it cannot
        // stay large and slow down the next start, which reads it whole.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// WAL frames (pages) past which the checkpointer makes the WAL start over (about 16 MiB).
const RESTART_AFTER_FRAMES: i64 = 4_000;

/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

fn checkpointer(path: &Path, stop: Arc<std::sync::atomic::AtomicBool>) -> anyhow::Result<()> {
    let conn = connect(path, false)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(CHECKPOINT_EVERY);
                // PASSIVE never waits for writers or readers; a failure is retried next time.
                let frames: i64 = conn
                    .query_row("pragma wal_checkpoint(passive)", [], |r| r.get(1))
                    .unwrap_or(0);
                // Under steady load a passive checkpoint never lets the WAL start over, and a
                // start after a crash reads the whole WAL: past a bound, wait for a moment
                // when the WAL can restart.
                if frames > RESTART_AFTER_FRAMES {
                    let _ = conn.query_row("pragma wal_checkpoint(restart)", [], |_| Ok(()));
                }
            }
        })?;
    Ok(())
}

impl Lite {
    /// Opens the connections to a database that already exists and is migrated.
    pub fn open(path: &Path, readers: usize) -> anyhow::Result<Self> {
        let writer = connect(path, false)?;
        let readers = (0..readers.max(1))
            .map(|_| connect(path, true))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        checkpointer(path, Arc::clone(&stop))?;
        Ok(Self {
            writer: tokio::sync::Mutex::new(writer),
            readers: Mutex::new(readers),
            path: path.to_owned(),
            stop,
        })
    }

    /// Runs a step in a write transaction: committed when it returns `Ok`, else rolled back.
    pub async fn write<S: Step>(&self, step: S) -> StoreResult<S::Out> {
        let mut conn = self.writer.lock().await;
        // Take the write lock at once: a deferred transaction that reads and then writes can
        // fail with SQLITE_BUSY_SNAPSHOT when another connection wrote in between.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from(lite_error(e)))?;
        let out = complete_now(step.run(&mut LiteExec(&tx)))
            .ok_or_else(|| StoreError::Other("a SQLite step suspended".to_owned()))??;
        tx.commit().map_err(|e| StoreError::from(lite_error(e)))?;
        Ok(out)
    }

    /// Runs a step's reads, each statement on its own (no transaction).
    pub async fn read<S: Step>(&self, step: S) -> StoreResult<S::Out> {
        let idle = self.readers.lock().ok().and_then(|mut v| v.pop());
        // Steps never wait, so at most one reader per thread is in use; this is a fallback.
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path, true).map_err(|e| StoreError::from(lite_error(e)))?,
        };
        let out = complete_now(step.run(&mut LiteExec(&conn)))
            .ok_or_else(|| StoreError::Other("a SQLite step suspended".to_owned()));
        if let Ok(mut v) = self.readers.lock() {
            v.push(conn);
        }
        out?
    }
}

impl Lite {
    /// At shutdown: stops the checkpointer and copies the whole WAL back, emptying it, so the
    /// next start does not have to read it.
    pub async fn close(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let conn = self.writer.lock().await;
        let _ = conn.query_row("pragma wal_checkpoint(truncate)", [], |_| Ok(()));
    }
}

impl Drop for Lite {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs a step in a PostgreSQL transaction: committed when it returns `Ok`, else rolled back.
pub async fn pg_transact<S: Step>(pool: &sqlx::PgPool, step: S) -> StoreResult<S::Out> {
    if step.single_statement() {
        return step.run(&mut PgPoolExec(pool)).await;
    }
    let tx = pool.begin().await.map_err(classify)?;
    let mut e = PgExec(tx);
    let out = step.run(&mut e).await?;
    e.0.commit().await.map_err(classify)?;
    Ok(out)
}
