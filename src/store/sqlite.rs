//! Opening the embedded SQLite backend.
//!
//! Writes go through a pool of exactly one connection: SQLite has a single writer anyway, and
//! serialising writes in-process avoids lock contention between connections. Reads use a
//! separate pool and, thanks to WAL, never wait for the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::cache::Cache;
use super::db::Pool;
use super::exec::Lite;
use super::sql::SqlStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if missing) the database file and applies pending migrations.
pub async fn open(path: &Path) -> anyhow::Result<SqlStore> {
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
    // Several processes may open one file at once. Creating the file, switching it to WAL and
    // migrating all take the write lock, and sqlx does not lock SQLite migrations: an
    // exclusive lock on a file beside the database serialises the whole opening.
    let lock_path = path.with_extension("open-lock");
    let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await??;
    // A local file's connections cannot drop, so pinging them before each use (sqlx's
    // default) would only add a thread round trip per statement (see BENCHMARKS.md).
    let writer = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&writer).await?;
    let reader = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.read_only(true))
        .await?;
    // The reader pool connects lazily beyond its first connection; make one now, inside the
    // lock, so that its WAL set-up does not race another process's opening.
    drop(reader.acquire().await?);
    let lite = Lite::open(path, 2)?;
    drop(lock);
    Ok(SqlStore {
        reader: Pool::Sqlite(reader),
        writer: Pool::Sqlite(writer),
        lite: Some(lite),
        cache: Cache::default(),
    })
}
