//! Opening the PostgreSQL backend, for several stateless passkeyd replicas on one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::db::Pool;
use super::sql::SqlStore;
use crate::config::PostgresSettings;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects and applies pending migrations. sqlx takes a PostgreSQL advisory lock while it
/// migrates, so replicas starting together apply each migration once.
pub async fn open(url: &str, settings: &PostgresSettings) -> anyhow::Result<SqlStore> {
    let statement_timeout = format!("{}ms", settings.statement_timeout.as_millis());
    let options = PgConnectOptions::from_str(url)?
        .options([("statement_timeout", statement_timeout.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(settings.pool_size)
        .acquire_timeout(settings.connect_timeout)
        // A connection that died with the server is noticed before it is handed out.
        .test_before_acquire(true)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore {
        reader: Pool::Postgres(pool.clone()),
        writer: Pool::Postgres(pool),
        lite: None,
        cache: Default::default(),
    })
}
