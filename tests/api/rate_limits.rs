//! Rate limits on the browser and management endpoints: 429 with `Retry-After` and a problem.

use reqwest::Method;
use serde_json::json;

use crate::support::server::{Resp, TestServer, ORIGIN, RP_ID};

fn assert_limited(r: &Resp) {
    let body = r.problem(429, "rate_limited");
    assert!(body["title"].as_str().unwrap().contains("retry"));
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn per_client_ip_on_browser_endpoints() {
    let server = TestServer::start_with(&[("PASSKEYD_RATE_LIMIT_PER_IP", "5")]).await;
    let app = server.create_app("ipapp").await;
    let begin = json!({"Origin": ORIGIN, "RPID": RP_ID});
    for _ in 0..5 {
        app.browser("/signin/begin", &begin).await.ok();
    }
    assert_limited(&app.browser("/signin/begin", &begin).await);
    assert_limited(&app.browser("/api/Register/Begin", &json!({})).await);
    // Backend calls are not limited.
    for _ in 0..10 {
        app.backend("/signin/generate-token", &json!({"userId": "u"}))
            .await
            .ok();
    }
}

#[tokio::test]
async fn per_app_on_browser_endpoints() {
    let server = TestServer::start_with(&[("PASSKEYD_RATE_LIMIT_PER_APP", "3")]).await;
    let busy = server.create_app("busyapp").await;
    let quiet = server.create_app("quietapp").await;
    let begin = json!({"Origin": ORIGIN, "RPID": RP_ID});
    for _ in 0..3 {
        busy.browser("/signin/begin", &begin).await.ok();
    }
    assert_limited(&busy.browser("/signin/begin", &begin).await);
    // Another app from the same address has its own budget.
    quiet.browser("/signin/begin", &begin).await.ok();
}

#[tokio::test]
async fn per_client_ip_on_management_endpoints() {
    let server = TestServer::start_with(&[("PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP", "2")]).await;
    for id in ["mgmtone", "mgmttwo"] {
        server
            .admin(Method::POST, &format!("/admin/apps/{id}/create"), None)
            .await
            .ok();
    }
    assert_limited(
        &server
            .admin(Method::GET, "/admin/apps/mgmtone/features", None)
            .await,
    );
    // Health and the rest are not limited.
    assert_eq!(server.get("/health/http", &[]).await.status, 200);
}

/// 5,000 requests with made-up keys naming a real app, from one address: that address is
/// soon refused, the app's own allowance is untouched, its event log holds a handful of
/// entries rather than thousands, and a real sign-in from another address goes through at once.
#[tokio::test]
async fn outsiders_cannot_starve_an_app() {
    let server = TestServer::start_with(&[
        ("PASSKEYD_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("PASSKEYD_RATE_LIMIT_PER_IP", "600"),
        ("PASSKEYD_RATE_LIMIT_PER_APP", "100"),
        ("PASSKEYD_RATE_LIMIT_FAILED_AUTH_PER_IP", "60"),
    ])
    .await;
    let app = server.create_app("victim").await;
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/victim/features",
            Some(&json!({"eventLoggingIsEnabled": true, "eventLoggingRetentionPeriod": 7})),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let attacker = [("X-Forwarded-For", "203.0.113.66")];
    let fake_public = "victim:public:00000000000000000000000000000000";
    let fake_secret = "victim:secret:00000000000000000000000000000000";
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..5_000 {
        let r = if i % 2 == 0 {
            server
                .post(
                    "/signin/begin",
                    &[attacker[0], ("ApiKey", fake_public)],
                    &json!({"Origin": ORIGIN, "RPID": RP_ID}),
                )
                .await
        } else {
            server
                .post(
                    "/signin/verify",
                    &[attacker[0], ("ApiSecret", fake_secret)],
                    &json!({"token": "verify_x"}),
                )
                .await
        };
        *statuses.entry(r.status).or_insert(0u32) += 1;
    }
    assert!(
        statuses.get(&429).copied().unwrap_or(0) > 4_800,
        "the attacking address is refused: {statuses:?}"
    );
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![401, 429]);

    // A real user elsewhere: register and sign in, well within the app's allowance of 100.
    let user = [("X-Forwarded-For", "198.51.100.7")];
    let started = std::time::Instant::now();
    let mut auth = crate::support::authenticator::TestAuthenticator::new();
    let token = server
        .post(
            "/register/token",
            &[user[0], ("ApiSecret", &app.secret)],
            &json!({"userId": "real", "username": "real@example.com"}),
        )
        .await;
    let token = token.ok()["token"].as_str().unwrap().to_owned();
    let begin = server
        .post(
            "/register/begin",
            &[user[0], ("ApiKey", &app.public_key)],
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let credential = auth.create(&begin.ok()["data"], ORIGIN);
    let session = begin.body["session"].as_str().unwrap().to_owned();
    server
        .post(
            "/register/complete",
            &[user[0], ("ApiKey", &app.public_key)],
            &json!({"session": session, "response": credential, "Origin": ORIGIN}),
        )
        .await
        .ok();
    let begin = server
        .post(
            "/signin/begin",
            &[user[0], ("ApiKey", &app.public_key)],
            &json!({"userId": "real", "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let assertion = auth.get(&begin.ok()["data"], ORIGIN);
    let session = begin.body["session"].as_str().unwrap().to_owned();
    let done = server
        .post(
            "/signin/complete",
            &[user[0], ("ApiKey", &app.public_key)],
            &json!({"session": session, "response": assertion, "Origin": ORIGIN}),
        )
        .await;
    let verify = done.ok()["token"].as_str().unwrap().to_owned();
    let verified = server
        .post(
            "/signin/verify",
            &[user[0], ("ApiSecret", &app.secret)],
            &json!({"token": verify}),
        )
        .await;
    assert_eq!(verified.ok()["userId"], "real");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "the real sign-in took {:?}",
        started.elapsed()
    );

    // The audit log: a few aggregated entries, not one per attempt.
    let events = server
        .get(
            "/events?pageNumber=1&numberOfResults=1000",
            &[user[0], ("ApiSecret", &app.secret)],
        )
        .await;
    let count = events.ok()["totalEventCount"].as_i64().unwrap();
    assert!(count < 20, "{count} events for 5,000 failed attempts");
}
