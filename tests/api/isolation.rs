//! Tenant isolation: app B's secret, given app A's user ids, aliases, credential ids and
//! tokens, learns and changes nothing of A.

use reqwest::Method;
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{b64url, TestAuthenticator, Tweaks};
use crate::support::server::{Resp, TestApp, TestServer};

/// Everything an app's secret can observe about its data.
async fn snapshot(server: &TestServer, app: &TestApp<'_>) -> Vec<Value> {
    let h = [("ApiSecret", app.secret.as_str())];
    let mut seen = Vec::new();
    for path in [
        "/credentials/list?userId=victim",
        "/alias/list?userId=victim",
        "/users/list",
        "/users/count",
        "/auth-configs/list",
        "/authenticators/list?isAllowed=true",
        "/reporting/credentials/periodic",
    ] {
        let r = server.get(path, &h).await;
        let mut body = r.ok().clone();
        // lastUsedAt moves with sign-ins that are part of the setup, not of the probe.
        strip(&mut body, "lastUsedAt");
        strip(&mut body, "lastUsedOn");
        seen.push(body);
    }
    seen
}

fn strip(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|v| strip(v, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip(v, key)),
        _ => {}
    }
}

#[tokio::test]
async fn app_b_cannot_see_or_touch_app_a() {
    let server = TestServer::start().await;
    let a = server.create_app("tenanta").await;
    let b = server.create_app("tenantb").await;
    for app in ["tenanta", "tenantb"] {
        server
            .admin(
                Method::POST,
                &format!("/admin/apps/{app}/features"),
                Some(&json!({"eventLoggingIsEnabled": true, "allowAttestation": true})),
            )
            .await;
    }
    // A's data: a user with a passkey and an alias, a purpose, a list entry, live tokens.
    let mut auth = TestAuthenticator::new();
    register(&a, &mut auth, "victim", &["victim@example.com"]).await;
    let credential_id = b64url(&auth.credentials()[0].id);
    a.backend(
        "/auth-configs/add",
        &json!({"purpose": "pay", "performedBy": "a"}),
    )
    .await;
    a.backend(
        "/authenticators/add",
        &json!({"aaGuids": ["11111111-1111-1111-1111-111111111111"], "isAllowed": true}),
    )
    .await;
    let verify_token = sign_in(
        &a,
        &mut auth,
        &json!({"userId": "victim"}),
        &Tweaks::default(),
    )
    .await;
    let register_token = a
        .register_token(&json!({"userId": "victim", "username": "v"}))
        .await;
    let before = snapshot(&server, &a).await;

    let probes: Vec<(&str, &str, Value)> = vec![
        ("GET", "/credentials/list?userId=victim", Value::Null),
        ("POST", "/credentials/list", json!({"userId": "victim"})),
        ("GET", "/alias/list?userId=victim", Value::Null),
        ("GET", "/users/list", Value::Null),
        ("GET", "/users/count", Value::Null),
        ("GET", "/auth-configs/list?purpose=pay", Value::Null),
        ("GET", "/authenticators/list?isAllowed=true", Value::Null),
        ("GET", "/reporting/credentials/periodic", Value::Null),
        ("GET", "/reporting/active-users/periodic", Value::Null),
        ("GET", "/events?pageNumber=1", Value::Null),
        ("POST", "/signin/verify", json!({"token": verify_token})),
        (
            "POST",
            "/credentials/delete",
            json!({"credentialId": credential_id}),
        ),
        ("POST", "/users/delete", json!({"userId": "victim"})),
        (
            "POST",
            "/alias",
            json!({"userId": "someone", "aliases": ["victim@example.com"]}),
        ),
        (
            "POST",
            "/register/token",
            json!({"userId": "victim", "username": "x", "aliases": ["victim@example.com"]}),
        ),
        (
            "POST",
            "/signin/generate-token",
            json!({"userId": "victim"}),
        ),
        (
            "POST",
            "/magic-links/send",
            json!({"userId": "victim", "emailAddress": "ops@example.com", "urlTemplate": "https://b.example/?t=$TOKEN"}),
        ),
        (
            "POST",
            "/auth-configs",
            json!({"purpose": "pay", "performedBy": "b", "timeToLive": "00:00:01"}),
        ),
        (
            "POST",
            "/auth-configs/delete",
            json!({"purpose": "pay", "performedBy": "b"}),
        ),
        (
            "POST",
            "/authenticators/remove",
            json!({"aaGuids": ["11111111-1111-1111-1111-111111111111"]}),
        ),
        (
            "POST",
            "/apps/features",
            json!({"enableManuallyGeneratedAuthenticationTokens": false}),
        ),
    ];
    let h = [("ApiSecret", b.secret.as_str())];
    for (method, path, body) in &probes {
        let r: Resp = if *method == "GET" {
            server.get(path, &h).await
        } else {
            server.post(path, &h, body).await
        };
        assert!(r.status < 500, "{method} {path}: {}", r.text);
        // Nothing of A appears in any answer to B.
        for secret_of_a in [
            "victim@example.com",
            credential_id.as_str(),
            "tenanta",
            "11111111-1111-1111-1111-111111111111",
        ] {
            assert!(
                !r.text.contains(secret_of_a),
                "{method} {path} revealed {secret_of_a}: {}",
                r.text
            );
        }
        if path.starts_with("/users/count") {
            assert_eq!(r.body["count"], 0);
        }
        if path.starts_with("/signin/verify")
            || path.starts_with("/auth-configs") && *method == "POST"
        {
            assert!(r.status >= 400, "{path} must fail for B: {}", r.text);
        }
    }
    // A register token of A is unknown to B's browser key.
    let r = server
        .post("/register/begin", &[("ApiKey", &b.public_key)], &json!({"token": register_token, "Origin": "https://example.com", "RPID": "example.com"}))
        .await;
    r.problem(400, "invalid_token");

    // A is exactly as before, and its tokens and features still work.
    assert_eq!(snapshot(&server, &a).await, before);
    a.verify(&verify_token).await.ok();
    a.backend("/signin/generate-token", &json!({"userId": "victim"}))
        .await
        .ok();
    sign_in(
        &a,
        &mut auth,
        &json!({"alias": "victim@example.com"}),
        &Tweaks::default(),
    )
    .await;
    let events = server
        .get(
            "/events?pageNumber=1&numberOfResults=1000",
            &[("ApiSecret", &a.secret)],
        )
        .await;
    assert!(
        !events.text.contains("tenantb"),
        "A's log mentions B: {}",
        events.text
    );
}
