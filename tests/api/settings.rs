//! Events and purposes (authentication configurations).

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{TestApp, TestServer, ORIGIN};

async fn enable_events(server: &TestServer, app_id: &str, retention_days: i64) {
    let r = server
        .admin(
            Method::POST,
            &format!("/admin/apps/{app_id}/features"),
            Some(&json!({"eventLoggingIsEnabled": true, "eventLoggingRetentionPeriod": retention_days})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

async fn events(app: &TestApp<'_>) -> Vec<Value> {
    let r = app
        .server
        .get(
            "/events?pageNumber=1&numberOfResults=1000",
            &[("ApiSecret", &app.secret)],
        )
        .await;
    r.ok()["events"].as_array().expect("events").clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn every_action_writes_its_event() {
    let server = TestServer::start().await;
    let app = server.create_app("eventapp").await;
    // Off by default: the log answers 403.
    server
        .get("/events?pageNumber=1", &[("ApiSecret", &app.secret)])
        .await
        .problem(403, "event_logging_disabled");
    enable_events(&server, "eventapp", 30).await;

    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &["alice"]).await;
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    app.verify(&token).await.ok();
    app.backend("/alias", &json!({"userId": "user-1", "aliases": ["bob"]}))
        .await;
    app.backend("/signin/generate-token", &json!({"userId": "user-1"}))
        .await
        .ok();
    app.backend(
        "/apps/features",
        &json!({"enableManuallyGeneratedAuthenticationTokens": false, "performedBy": "ops"}),
    )
    .await;
    let id = crate::support::authenticator::b64url(&auth.credentials()[0].id);
    app.backend("/credentials/delete", &json!({"credentialId": id}))
        .await;
    app.backend("/users/delete", &json!({"userId": "user-1"}))
        .await;
    let wrong = format!("{}0000", &app.secret[..app.secret.len() - 4]);
    server
        .get("/users/count", &[("ApiSecret", &wrong)])
        .await
        .problem(401, "unauthorized");
    let key_id = &app.public_key[app.public_key.len() - 4..];
    server
        .admin(
            Method::POST,
            &format!("/admin/apps/eventapp/api-keys/{key_id}/lock"),
            None,
        )
        .await;
    server
        .post("/signin/begin", &[("ApiKey", &app.public_key)], &json!({}))
        .await
        .problem(401, "unauthorized");

    let events = events(&app).await;
    let got = types(&events);
    for expected in [
        "ApiAuthUserRegistered",
        "ApiAuthPasskeyRegistrationBegan",
        "ApiAuthPasskeyRegistrationCompleted",
        "ApiUserSignInCompleted",
        "ApiUserSignInVerified",
        "ApiUserSetAliases",
        "ApiUserSigninTokenCreated",
        "AdminGenerateSignInTokenEndpointDisabled",
        "ApiUserDeleteCredential",
        "ApiUserDeleted",
        "ApiAuthInvalidSecretKeyUsed",
        "AdminApiKeyLocked",
        "ApiAuthDisabledPublicKeyUsed",
    ] {
        assert!(
            got.iter().any(|t| t == expected),
            "{expected} missing from {got:?}"
        );
    }
    // Newest first, every field present.
    assert_eq!(got[0], "ApiAuthDisabledPublicKeyUsed");
    for e in &events {
        for key in [
            "performedAt",
            "message",
            "performedBy",
            "tenantId",
            "eventType",
            "severity",
            "subject",
            "apiKeyId",
        ] {
            assert!(e[key].is_string(), "{key} in {e}");
        }
        assert_eq!(e["tenantId"], "eventapp");
    }
    let disabled = &events[0];
    assert_eq!(disabled["severity"], "Alert");
    assert_eq!(disabled["apiKeyId"], key_id);
    let toggled = events
        .iter()
        .find(|e| e["eventType"] == "AdminGenerateSignInTokenEndpointDisabled")
        .unwrap();
    assert_eq!(toggled["performedBy"], "ops");
    let registered = events
        .iter()
        .find(|e| e["eventType"] == "ApiAuthUserRegistered")
        .unwrap();
    assert_eq!(registered["performedBy"], "user-1");
    assert_eq!(registered["apiKeyId"], &app.secret[app.secret.len() - 4..]);
}

#[tokio::test]
async fn events_page_and_expire() {
    let server = TestServer::start().await;
    let app = server.create_app("pageapp").await;
    enable_events(&server, "pageapp", 1).await;
    for i in 0..5 {
        app.backend(
            "/alias",
            &json!({"userId": format!("u{i}"), "aliases": [format!("a{i}")]}),
        )
        .await;
        server.clock.advance(Duration::seconds(1));
    }
    let page = |n: u32| format!("/events?pagenumber={n}&numberofresults=2");
    let r = server.get(&page(1), &[("ApiSecret", &app.secret)]).await;
    assert_eq!(r.ok()["totalEventCount"], 5);
    assert_eq!(r.body["tenantId"], "pageapp");
    let first: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(first, vec!["u4", "u3"]);
    let r = server.get(&page(3), &[("ApiSecret", &app.secret)]).await;
    assert_eq!(r.ok()["events"].as_array().unwrap().len(), 1);
    server
        .get("/events", &[("ApiSecret", &app.secret)])
        .await
        .problem(400, "invalid_request");
    server
        .get("/events?pageNumber=0", &[("ApiSecret", &app.secret)])
        .await
        .problem(400, "validation_error");
    server
        .get(
            "/events?pageNumber=1&numberOfResults=1001",
            &[("ApiSecret", &app.secret)],
        )
        .await
        .problem(400, "validation_error");

    // Retention is one day: two days later the maintenance job removes them.
    server.clock.advance(Duration::days(2));
    passkeyd::service::maintenance::run_once(&server.state).await;
    let r = server.get(&page(1), &[("ApiSecret", &app.secret)]).await;
    assert_eq!(r.ok()["totalEventCount"], 0);
}

async fn auth_config(app: &TestApp<'_>, path: &str, body: Value) -> crate::support::server::Resp {
    app.backend(path, &body).await
}

#[tokio::test]
async fn purposes_shape_sign_in() {
    let server = TestServer::start().await;
    let app = server.create_app("purposeapp").await;
    let list = |q: &'static str| {
        let server = &server;
        let secret = app.secret.clone();
        async move {
            server
                .get(&format!("/auth-configs/list{q}"), &[("ApiSecret", &secret)])
                .await
        }
    };
    let r = list("").await;
    let configs = r.ok()["configurations"].as_array().unwrap().clone();
    assert_eq!(configs.len(), 2, "the presets");
    for c in &configs {
        assert_eq!(c["userVerificationRequirement"], "preferred");
        assert_eq!(c["timeToLive"], 120);
        assert_eq!(c["hints"], "");
        assert_eq!(c["createdBy"], "System");
    }
    assert_eq!(
        list("?purpose=nope").await.ok()["configurations"],
        json!([])
    );

    let r = auth_config(&app, "/auth-configs/add", json!({"purpose": "pay", "userVerificationRequirement": "required", "timeToLive": "00:05:00", "hints": ["security-key", "client-device"], "performedBy": "ops"})).await;
    assert_eq!((r.status, r.text.as_str()), (201, ""));
    let r = list("?purpose=pay").await;
    let pay = &r.ok()["configurations"][0];
    assert_eq!(pay["userVerificationRequirement"], "required");
    assert_eq!(pay["timeToLive"], 300);
    assert_eq!(pay["hints"], "SecurityKey, ClientDevice");
    assert_eq!(pay["createdBy"], "ops");
    assert_eq!(pay["lastUsedOn"], Value::Null);

    let dup = auth_config(
        &app,
        "/auth-configs/add",
        json!({"purpose": "pay", "performedBy": "ops"}),
    )
    .await;
    assert_eq!(
        dup.problem(400, "auth_config_exists")["title"],
        "The configuration pay already exists."
    );
    let preset = auth_config(
        &app,
        "/auth-configs/add",
        json!({"purpose": "sign-in", "performedBy": "ops"}),
    )
    .await;
    preset.problem(400, "auth_config_exists");
    for bad in [
        json!({"purpose": "a b", "performedBy": "x"}),
        json!({"purpose": "ok"}),
        json!({"purpose": "ok", "performedBy": "x", "timeToLive": "00:00:00"}),
        json!({"purpose": "ok", "performedBy": "x", "userVerificationRequirement": "maybe"}),
        json!({"purpose": "ok", "performedBy": "x", "hints": ["laptop"]}),
    ] {
        auth_config(&app, "/auth-configs/add", bad)
            .await
            .problem(400, "validation_error");
    }

    // The purpose drives the sign-in: UV, hints and the verify token's lifetime.
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &[]).await;
    let (options, _) = app
        .signin_begin(&json!({"userId": "user-1", "purpose": "pay"}))
        .await;
    assert_eq!(options["userVerification"], "required");
    assert_eq!(options["hints"], json!(["security-key", "client-device"]));
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1", "purpose": "pay"}),
        &Tweaks::default(),
    )
    .await;
    let v = app.verify(&token).await;
    assert_eq!(v.ok()["purpose"], "pay");
    let issued =
        chrono::DateTime::parse_from_rfc3339(v.body["timestamp"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(v.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires - issued).num_seconds(), 300);
    assert!(list("?purpose=pay").await.ok()["configurations"][0]["lastUsedOn"].is_string());

    // Required UV is enforced: an authenticator without UV is refused.
    auth.user_verifying = false;
    let (options, session) = app
        .signin_begin(&json!({"userId": "user-1", "purpose": "pay"}))
        .await;
    let assertion = auth.get(&options, ORIGIN);
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "signin_complete_error");
    auth.user_verifying = true;

    // Presets can be edited; unknown purposes cannot.
    let r = auth_config(
        &app,
        "/auth-configs",
        json!({"purpose": "step-up", "timeToLive": "00:10:00", "performedBy": "ops"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let step_up = list("?purpose=step-up").await;
    assert_eq!(step_up.ok()["configurations"][0]["timeToLive"], 600);
    assert_eq!(step_up.body["configurations"][0]["editedBy"], "ops");
    let r = auth_config(
        &app,
        "/auth-configs/",
        json!({"purpose": "nope", "performedBy": "ops"}),
    )
    .await;
    assert_eq!(
        r.problem(404, "auth_config_not_found")["title"],
        "The configuration nope does not exist."
    );

    let r = auth_config(
        &app,
        "/auth-configs/delete",
        json!({"purpose": "sign-in", "performedBy": "ops"}),
    )
    .await;
    assert_eq!(
        r.problem(400, "auth_config_preset")["title"],
        "The sign-in configuration cannot be deleted."
    );
    let r = auth_config(
        &app,
        "/auth-configs/delete",
        json!({"purpose": "pay", "performedBy": "ops"}),
    )
    .await;
    assert_eq!(r.status, 204);
    auth_config(
        &app,
        "/auth-configs/delete",
        json!({"purpose": "pay", "performedBy": "ops"}),
    )
    .await
    .problem(404, "auth_config_not_found");
    // A deleted or unknown purpose falls back to sign-in.
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1", "purpose": "pay"}),
        &Tweaks::default(),
    )
    .await;
    assert_eq!(app.verify(&token).await.ok()["purpose"], "sign-in");
}
