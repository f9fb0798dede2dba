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

/// 1,000 connections that send their headers one byte at a time hold no one up: a real sign-in
/// completes in under a second meanwhile, and the trickling connections are cut off once the
/// header-read timeout passes.
#[tokio::test]
async fn slow_clients_hold_no_one_up() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut server = TestServer::start().await;
    let bin = crate::support::binary::Binary::start(
        &server.database_url,
        &[("PASSKEYD_HEADER_READ_TIMEOUT_SECS", "2")],
    )
    .await;
    server.base = bin.base.clone();
    let app = server.create_app("slowapp").await;
    let mut auth = crate::support::authenticator::TestAuthenticator::new();
    crate::ceremonies::register(&app, &mut auth, "user-1", &[]).await;

    let address = bin.base.trim_start_matches("http://").to_owned();
    let opened = Instant::now();
    let mut trickles = tokio::task::JoinSet::new();
    for _ in 0..1_000 {
        let address = address.clone();
        trickles.spawn(async move {
            let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
                return None;
            };
            let request = b"POST /signin/begin HTTP/1.1\r\nHost: x\r\nApiKey: slowapp:public:";
            for byte in request.iter().cycle() {
                if stream.write_all(&[*byte]).await.is_err() {
                    // The server closed it.
                    return Some(opened.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                if opened.elapsed() > Duration::from_secs(15) {
                    return None;
                }
            }
            None
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let token = crate::ceremonies::sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1"}),
        &crate::support::authenticator::Tweaks::default(),
    )
    .await;
    assert_eq!(app.verify(&token).await.ok()["userId"], "user-1");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "the sign-in took {took:?}");

    // The trickling connections are cut off after the 2 s header-read timeout.
    let ends: Vec<Option<Duration>> = trickles.join_all().await;
    let cut = ends.iter().filter(|e| e.is_some()).count();
    assert_eq!(cut, 1_000, "connections cut off by the server");
    let latest = ends.iter().flatten().max().copied().unwrap_or_default();
    assert!(
        latest < Duration::from_secs(6),
        "the last was cut off after {latest:?}"
    );

    // A connection that is cut off sees its socket closed, not a hang.
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /health/http HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the half-sent request");
}

/// Past `PASSKEYD_MAX_CONNECTIONS`, a new connection is closed at once; when one ends, the
/// next is served again.
#[tokio::test]
async fn connections_are_capped() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::start().await;
    let bin = crate::support::binary::Binary::start(
        &server.database_url,
        &[("PASSKEYD_MAX_CONNECTIONS", "4")],
    )
    .await;
    let address = bin.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connect");
        s.write_all(b"GET /health/http HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "served while under the cap"
        );
        held.push(s);
    }
    let mut extra = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let _ = extra
        .write_all(b"GET /health/http HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), extra.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the fifth connection is closed unserved: {read:?}, {:?}",
        String::from_utf8_lossy(&buf)
    );
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .get(format!("{}/health/http", bin.base))
        .send()
        .await
        .expect("served again");
    assert_eq!(r.status(), 200);
}

/// Expired tokens and used sessions go in batches, however many there are.
#[tokio::test]
async fn expired_rows_are_purged_in_batches() {
    let server = TestServer::start().await;
    server.create_app("purgeapp").await;
    let (tokens, sessions) = match backend() {
        Backend::Sqlite => (
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 12000) \
             insert into tokens (token_hash, app_id, kind, payload, expires_at, created_at) \
             select randomblob(32), 'purgeapp', 'verify', '{}', 1, 1 from n",
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 7000) \
             insert into spent_sessions (id, app_id) \
             select x'0000000000000001' || randomblob(8), 'purgeapp' from n",
        ),
        Backend::Postgres => (
            "insert into tokens (token_hash, app_id, kind, payload, expires_at, created_at) \
             select sha256(i::text::bytea), 'purgeapp', 'verify', '{}', 1, 1 \
             from generate_series(1, 12000) i",
            "insert into spent_sessions (id, app_id) \
             select '\\x0000000000000001'::bytea || substring(sha256(i::text::bytea) from 1 for 8), \
             'purgeapp' from generate_series(1, 7000) i",
        ),
    };
    let before = footprint(&server).await.0;
    match backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&server.database_url)
                .await
                .unwrap();
            sqlx::query(tokens).execute(&pool).await.unwrap();
            sqlx::query(sessions).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
            sqlx::query(tokens).execute(&pool).await.unwrap();
            sqlx::query(sessions).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    assert_eq!(footprint(&server).await.0, before + 19_000);
    let purged = server
        .state
        .store
        .purge_tokens(server.clock_now())
        .await
        .expect("purge");
    assert_eq!(purged, 19_000);
    assert_eq!(footprint(&server).await.0, before);
}

/// Values that would overflow are refused with a 400, never a 500 or a broken purge.
#[tokio::test]
async fn huge_lifetimes_and_retentions_are_refused() {
    let server = TestServer::start().await;
    let r = server
        .admin(
            reqwest::Method::POST,
            "/admin/apps/hugeapp/create",
            Some(&json!({"eventLoggingRetentionPeriod": 1_000_000_000_000_000i64})),
        )
        .await;
    let body = r.problem(400, "validation_error");
    assert!(
        body["errors"].get("eventLoggingRetentionPeriod").is_some(),
        "{body}"
    );
    // The purge still works for everyone.
    server
        .state
        .store
        .purge_events(server.clock_now())
        .await
        .expect("purge");

    let app = server.create_app("ttlapp").await;
    for ttl in ["10675199.02:48:05", "106751991167300.00:00:00", "-5"] {
        let r = app
            .backend(
                "/auth-configs/add",
                &json!({"purpose": "pay", "timeToLive": ttl, "performedBy": "ops"}),
            )
            .await;
        assert_eq!(r.status, 400, "{ttl}: {}", r.text);
    }
}

/// Unknown users get stand-in credential lists shaped like this app's real ones: the same
/// counts and id lengths as some real user, the same list every time, and not one fixed shape.
#[tokio::test]
async fn stand_in_lists_look_like_real_ones() {
    use crate::support::authenticator::{TestAuthenticator, Tweaks};
    use crate::support::server::ORIGIN;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use std::collections::BTreeSet;

    let server = TestServer::start().await;
    let app = server.create_app("shapes").await;
    // Three kinds of authenticator (16-, 32- and 64-byte ids); some users hold two passkeys.
    let mut real_shapes = BTreeSet::new();
    for (i, lengths) in [vec![16], vec![32], vec![64], vec![16, 64], vec![32, 32]]
        .into_iter()
        .enumerate()
    {
        let user = format!("user-{i}");
        for (n, len) in lengths.iter().enumerate() {
            // A second passkey lives on another authenticator.
            let mut auth = TestAuthenticator::new();
            let (options, session) = app
                .register_begin(&json!({"userId": user, "username": user, "aliases": if n == 0 { vec![format!("{user}@x")] } else { vec![] }}))
                .await;
            let id: Vec<u8> = (0..*len)
                .map(|b| (b as u8) ^ (i as u8 * 16 + n as u8))
                .collect();
            let tweaks = Tweaks {
                credential_id: Some(id),
                ..Tweaks::default()
            };
            let credential = auth.create_with(&options, ORIGIN, &tweaks);
            app.register_complete(&session, &credential).await.ok();
        }
        real_shapes.insert(lengths);
    }
    let shape = |options: &serde_json::Value| -> Vec<usize> {
        options["allowCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c["id"].as_str().unwrap())
                    .unwrap()
                    .len()
            })
            .collect()
    };
    // Real users show their real shapes.
    let (options, _) = app.signin_begin(&json!({"alias": "user-3@x"})).await;
    assert_eq!(shape(&options), vec![16, 64]);

    let mut seen = BTreeSet::new();
    for n in 0..40 {
        let alias = format!("nobody-{n}@x");
        let (first, _) = app.signin_begin(&json!({"alias": alias})).await;
        let (again, _) = app.signin_begin(&json!({"alias": alias})).await;
        assert_eq!(
            first["allowCredentials"], again["allowCredentials"],
            "the same list every time for {alias}"
        );
        let s = shape(&first);
        assert!(
            real_shapes.contains(&s),
            "{alias}: stand-in shape {s:?} is not one of the real shapes {real_shapes:?}"
        );
        seen.insert(s);
    }
    assert!(seen.len() >= 3, "stand-ins take several shapes: {seen:?}");
}
