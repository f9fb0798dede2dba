//! A fresh PostgreSQL schema per test server, so tests on one database do not interfere.

use sqlx::postgres::PgPoolOptions;
use sqlx::Executor;

/// The database the tests use; each test gets its own schema in it.
pub fn base_url() -> String {
    std::env::var("PASSKEYD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The base URL with `search_path` set to `schema`.
pub fn url_for(schema: &str) -> String {
    let base = base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

pub async fn create_schema() -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&base_url())
        .await
        .expect("connect to the test PostgreSQL (PASSKEYD_TEST_POSTGRES_URL)");
    pool.execute(format!("create schema {schema}").as_str())
        .await
        .expect("create a test schema");
    pool.close().await;
    schema
}

/// Drops its schema when the test server goes away.
pub struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let schema = std::mem::take(&mut self.0);
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with
        // its own small runtime, and wait for it so the schema is gone when the test ends.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(pool) = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&base_url())
                    .await
                {
                    let _ = pool
                        .execute(format!("drop schema if exists {schema} cascade").as_str())
                        .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}
