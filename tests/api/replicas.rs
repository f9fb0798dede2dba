//! Several stateless passkeyd servers on one database, as behind a load balancer. Runs on the
//! backend under test: a shared SQLite file, or one PostgreSQL schema.

use serde_json::json;

use crate::ceremonies::register;
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{TestApp, TestServer, ORIGIN, RP_ID};

/// The same app as seen through another replica.
fn through<'a>(replica: &'a TestServer, app: &TestApp<'_>) -> TestApp<'a> {
    TestApp {
        server: replica,
        app_id: app.app_id.clone(),
        public_key: app.public_key.clone(),
        secret: app.secret.clone(),
    }
}

#[tokio::test]
async fn ceremonies_and_tokens_cross_replicas() {
    let a = TestServer::start().await;
    let b = a.replica().await;
    let on_a = a.create_app("replicaapp").await;
    let on_b = through(&b, &on_a);
    let mut auth = TestAuthenticator::new();

    // A register token minted on A starts a ceremony on B, which completes on A.
    let token = on_a
        .register_token(&json!({"userId": "u1", "username": "n", "aliases": ["u1@x"]}))
        .await;
    let r = on_b
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let (options, session) = (
        r.ok()["data"].clone(),
        r.body["session"].as_str().unwrap().to_owned(),
    );
    let credential = auth.create(&options, ORIGIN);
    let verify = on_a.register_complete(&session, &credential).await;
    let verify = verify.ok()["token"].as_str().unwrap().to_owned();

    // A verify token issued on A verifies on B exactly once, and then on neither.
    on_b.verify(&verify).await.ok();
    on_a.verify(&verify).await.problem(400, "invalid_token");
    on_b.verify(&verify).await.problem(400, "invalid_token");

    // A sign-in begun on B completes on A; its token verifies on B once.
    let (options, session) = on_b.signin_begin(&json!({"alias": "u1@x"})).await;
    let assertion = auth.get(&options, ORIGIN);
    let r = on_a.signin_complete(&session, &assertion).await;
    let token = r.ok()["token"].as_str().unwrap().to_owned();
    assert_eq!(on_b.verify(&token).await.ok()["userId"], "u1");
    on_a.verify(&token).await.problem(400, "invalid_token");
}

#[tokio::test]
async fn one_session_completed_on_two_replicas_succeeds_once() {
    let a = TestServer::start().await;
    let b = a.replica().await;
    let on_a = a.create_app("raceapp").await;
    let on_b = through(&b, &on_a);
    let mut auth = TestAuthenticator::new();
    register(&on_a, &mut auth, "u1", &[]).await;
    for round in 0..40 {
        let (options, session) = on_a.signin_begin(&json!({"userId": "u1"})).await;
        let assertion = auth.get(&options, ORIGIN);
        let (r1, r2) = tokio::join!(
            on_a.signin_complete(&session, &assertion),
            on_b.signin_complete(&session, &assertion)
        );
        let wins = [r1.status, r2.status].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "round {round}: {} / {}", r1.text, r2.text);
        for r in [&r1, &r2] {
            assert!(
                r.status == 200 || r.status == 400,
                "round {round}: {}",
                r.text
            );
        }
    }
}

#[tokio::test]
async fn the_counter_compare_and_swap_holds_across_replicas() {
    let a = TestServer::start().await;
    let b = a.replica().await;
    let on_a = a.create_app("counterapp").await;
    let on_b = through(&b, &on_a);
    let mut auth = TestAuthenticator::new();
    register(&on_a, &mut auth, "u1", &[]).await;
    // Two clones of one authenticator present the same counter to two replicas at once.
    for round in 0..20u32 {
        let same = Tweaks {
            counter: Some(100 + round),
            ..Tweaks::default()
        };
        let (o1, s1) = on_a.signin_begin(&json!({"userId": "u1"})).await;
        let (o2, s2) = on_b.signin_begin(&json!({"userId": "u1"})).await;
        let a1 = auth.get_with(&o1, ORIGIN, &same);
        let a2 = auth.get_with(&o2, ORIGIN, &same);
        let (r1, r2) = tokio::join!(
            on_a.signin_complete(&s1, &a1),
            on_b.signin_complete(&s2, &a2)
        );
        let wins = [r1.status, r2.status].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "round {round}: {} / {}", r1.text, r2.text);
    }
    let stored = a
        .state
        .store
        .list_credentials("counterapp", "u1")
        .await
        .unwrap();
    assert_eq!(stored[0].sign_count, 119);
}

/// Replicas starting together on an empty database each apply the migrations safely.
#[tokio::test]
async fn replicas_starting_at_once_migrate_safely() {
    let first_url = match crate::support::server::backend() {
        crate::support::server::Backend::Postgres => {
            let schema = crate::support::postgres::create_schema().await;
            (crate::support::postgres::url_for(&schema), Some(schema))
        }
        crate::support::server::Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap().keep();
            (
                format!("sqlite://{}", dir.join("shared.db").display()),
                None,
            )
        }
    };
    let (url, schema) = first_url;
    let _guard = schema.map(crate::support::postgres::SchemaGuard);
    let (a, b, c) = tokio::join!(
        TestServer::start_on_database(&url, &[]),
        TestServer::start_on_database(&url, &[]),
        TestServer::start_on_database(&url, &[])
    );
    // All three serve the same data.
    let on_a = a.create_app("migrateapp").await;
    for replica in [&b, &c] {
        let r = replica
            .get("/users/count", &[("ApiSecret", &on_a.secret)])
            .await;
        assert_eq!(r.ok()["count"], 0);
    }
}
