//! Apps and keys through the management API.

use serde_json::json;

use crate::support::server::{TestServer, MANAGEMENT_KEY};

#[tokio::test]
async fn create_app_returns_four_keys_once() {
    let server = TestServer::start().await;
    let mk = [("ManagementKey", MANAGEMENT_KEY)];
    let r = server.get("/admin/apps/newapp/available", &mk).await;
    assert_eq!(r.ok()["available"], true);
    let r = server
        .post(
            "/admin/apps/newapp/create",
            &mk,
            &json!({"adminEmail": "a@example.com"}),
        )
        .await;
    let body = r.ok();
    assert_eq!(
        body["message"],
        "Store keys safely. They will only be shown to you once."
    );
    for (field, kind) in [
        ("apiKey1", "public"),
        ("apiKey2", "public"),
        ("apiSecret1", "secret"),
        ("apiSecret2", "secret"),
    ] {
        let key = body[field].as_str().unwrap();
        let parts: Vec<&str> = key.split(':').collect();
        assert_eq!(parts, vec!["newapp", kind, parts[2]]);
        assert_eq!(parts[2].len(), 32);
        assert!(parts[2].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }
    let r = server.get("/admin/apps/newapp/available", &mk).await;
    assert_eq!(r.ok()["available"], false);
    let r = server
        .post("/admin/apps/newapp/create", &mk, &json!({}))
        .await;
    assert_eq!(
        r.problem(409, "app_exists")["title"],
        "accountName 'newapp' is not available"
    );
    for bad in ["ab", "1app", "my-app"] {
        let r = server
            .post(&format!("/admin/apps/{bad}/create"), &mk, &json!({}))
            .await;
        assert_eq!(
            r.problem(400, "invalid_app_id")["title"],
            "accountName needs to be alphanumeric and start with a letter"
        );
    }
    let r = server
        .post("/admin/apps/another/create", &[], &json!({}))
        .await;
    r.problem(401, "unauthorized");

    // The secret is not stored in the clear.
    let secret = body["apiSecret1"].as_str().unwrap();
    let key_id = &secret[secret.len() - 4..];
    let (record, _) = server
        .state
        .store
        .find_api_key("newapp", key_id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(record.value, secret);
    assert!(!record.value.contains(&secret[secret.len() - 32..]));

    // Both key pairs work, each for its own header.
    for (public, secret) in [("apiKey1", "apiSecret1"), ("apiKey2", "apiSecret2")] {
        let r = server
            .post(
                "/register/token",
                &[("ApiSecret", body[secret].as_str().unwrap())],
                &json!({"userId": "u", "username": "n"}),
            )
            .await;
        r.ok();
        let r = server
            .post(
                "/signin/begin",
                &[("ApiKey", body[public].as_str().unwrap())],
                &json!({"Origin": "https://a.example", "RPID": "a.example"}),
            )
            .await;
        r.ok();
    }
}

#[tokio::test]
async fn create_app_body_is_optional_but_checked() {
    let server = TestServer::start().await;
    let url = |id: &str| format!("{}/admin/apps/{id}/create", server.base);
    let r = server
        .send(
            server
                .http
                .post(url("nobody"))
                .header("ManagementKey", MANAGEMENT_KEY),
        )
        .await;
    assert!(r.ok()["apiKey1"]
        .as_str()
        .unwrap()
        .starts_with("nobody:public:"));
    let r = server
        .send(
            server
                .http
                .post(url("badjson"))
                .header("ManagementKey", MANAGEMENT_KEY)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    r.problem(400, "invalid_json");
    let big = format!("{{\"adminEmail\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = server
        .send(
            server
                .http
                .post(url("bigbody"))
                .header("ManagementKey", MANAGEMENT_KEY)
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    r.problem(413, "payload_too_large");
}
