//! PostgreSQL goes away while passkeyd runs: requests fail fast with 503 problems and the
//! storage health says so; when it is back, requests succeed again without a restart.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::cluster::Cluster;
use crate::support::server::TestServer;

#[tokio::test]
async fn postgres_outage_answers_503_and_recovers() {
    let Some(cluster) = Cluster::start() else {
        eprintln!("SKIPPED: no PostgreSQL server binaries installed (/usr/lib/postgresql/*/bin)");
        return;
    };
    let server = TestServer::start_on_database(
        &cluster.url(),
        &[
            ("PASSKEYD_DB_CONNECT_TIMEOUT_MS", "1000"),
            ("PASSKEYD_DB_POOL_SIZE", "4"),
        ],
    )
    .await;
    let app = server.create_app("outageapp").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "u1", &[]).await;

    cluster.down();
    for _ in 0..3 {
        let started = Instant::now();
        let r = app
            .backend("/register/token", &json!({"userId": "u2", "username": "n"}))
            .await;
        r.problem(503, "storage_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a request during the outage took {:?}",
            started.elapsed()
        );
    }
    let r = server.get("/health/storage", &[]).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["status"], "Unhealthy");
    assert_eq!(server.get("/health/http", &[]).await.status, 200);

    cluster.up();
    let back = Instant::now();
    loop {
        let r = app
            .backend("/register/token", &json!({"userId": "u2", "username": "n"}))
            .await;
        if r.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "passkeyd did not recover: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("recovered {:?} after PostgreSQL came back", back.elapsed());
    assert_eq!(server.get("/health/storage", &[]).await.status, 200);
    // Data written before the outage is intact, and ceremonies work again.
    sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1"}),
        &Tweaks::default(),
    )
    .await;
}
