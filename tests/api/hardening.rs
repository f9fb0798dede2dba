//! What an outsider holding only the public `ApiKey` can make passkeyd store: nothing at begin.

use serde_json::json;

use crate::support::server::{backend, Backend, TestServer};

/// Rows in the tables a browser call could write to, and the SQLite files' size.
async fn footprint(server: &TestServer) -> (i64, u64) {
    let tables = [
        "tokens",
        "spent_sessions",
        "events",
        "credentials",
        "aliases",
        "signin_days",
    ];
    let sql = tables
        .iter()
        .map(|t| format!("(select count(*) from {t})"))
        .collect::<Vec<_>>()
        .join(" + ");
    let sql = format!("select {sql}");
    match backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&server.database_url)
                .await
                .expect("open the SQLite file");
            let (rows,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.expect("count");
            // Everything written so far into the main file, so that its size is comparable.
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(&pool)
                .await
                .expect("checkpoint");
            pool.close().await;
            let path = server.database_url.trim_start_matches("sqlite://");
            let bytes = std::fs::metadata(path).expect("database file").len();
            (rows, bytes)
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&server.database_url)
                .await
                .expect("connect to PostgreSQL");
            let (rows,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.expect("count");
            pool.close().await;
            (rows, 0)
        }
    }
}

/// 20,000 sign-in begins with the largest valid fields, by user id and by alias, with only the
/// public key: the database gains no row, and the SQLite files do not grow.
#[tokio::test]
async fn begins_store_nothing() {
    let server = TestServer::start().await;
    let app = server.create_app("bounded").await;
    // Reach the steady state (cached key, migrated, checkpointed) before measuring.
    app.signin_begin(&json!({"userId": "warm-up"})).await;
    let (rows_before, bytes_before) = footprint(&server).await;

    let host = format!(
        "{}.{}.{}.{}.com",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57)
    );
    assert_eq!(host.len(), 253);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let http = server.http.clone();
        let url = format!("{}/signin/begin", server.base);
        let key = app.public_key.clone();
        let host = host.clone();
        tasks.spawn(async move {
            for i in 0..2_500 {
                let who = format!("{worker}-{i}-{}", "u".repeat(50));
                let body = if i % 2 == 0 {
                    json!({"userId": who, "RPID": host, "Origin": format!("https://{host}"), "purpose": "p".repeat(255)})
                } else {
                    json!({"alias": format!("{who}{}", "a".repeat(180)), "RPID": host, "Origin": format!("https://{host}")})
                };
                let r = http
                    .post(&url)
                    .header("ApiKey", &key)
                    .json(&body)
                    .send()
                    .await
                    .expect("HTTP");
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
            }
        });
    }
    tasks.join_all().await;

    let (rows_after, bytes_after) = footprint(&server).await;
    assert_eq!(rows_after, rows_before, "begins stored rows");
    assert!(
        bytes_after <= bytes_before + 64 * 1024,
        "the SQLite files grew from {bytes_before} to {bytes_after} bytes"
    );
}

/// Every stored or echoed field has a limit, refused with a 400 naming the field.
#[tokio::test]
async fn oversized_fields_are_refused_by_name() {
    let server = TestServer::start().await;
    let app = server.create_app("limits").await;
    let long_host = format!("{}.com", "a".repeat(250));
    let cases = [
        (
            json!({"userId": "u".repeat(65), "RPID": "example.com", "Origin": "https://example.com"}),
            "userId",
        ),
        (
            json!({"alias": "a".repeat(251), "RPID": "example.com", "Origin": "https://example.com"}),
            "alias",
        ),
        (
            json!({"purpose": "p".repeat(256), "RPID": "example.com", "Origin": "https://example.com"}),
            "purpose",
        ),
        (
            json!({"RPID": long_host, "Origin": "https://example.com"}),
            "RPID",
        ),
        (
            json!({"RPID": "exa mple.com", "Origin": "https://example.com"}),
            "RPID",
        ),
        (
            json!({"RPID": "example.com", "Origin": format!("https://example.com/{}", "x".repeat(2048))}),
            "Origin",
        ),
    ];
    for (body, field) in cases {
        let r = app.browser("/signin/begin", &body).await;
        let problem = r.problem(400, "validation_error");
        assert!(
            problem["errors"].get(field).is_some(),
            "{field} is named: {problem}"
        );
    }
    for (body, field) in [
        (json!({"userId": "u".repeat(65), "username": "n"}), "userId"),
        (
            json!({"userId": "u", "username": "n".repeat(257)}),
            "username",
        ),
        (
            json!({"userId": "u", "username": "n", "displayName": "d".repeat(257)}),
            "displayName",
        ),
    ] {
        let r = app.backend("/register/token", &body).await;
        let problem = r.problem(400, "validation_error");
        assert!(
            problem["errors"].get(field).is_some(),
            "{field} is named: {problem}"
        );
    }
}
