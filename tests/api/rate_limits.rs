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
