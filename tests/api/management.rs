//! Key and app management with the `ManagementKey`.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::ceremonies::register;
use crate::support::authenticator::TestAuthenticator;
use crate::support::server::{TestServer, ORIGIN, RP_ID};

#[tokio::test]
async fn keys_are_listed_created_locked_and_deleted() {
    let server = TestServer::start().await;
    let app = server.create_app("keyapp").await;
    let r = server
        .admin(Method::GET, "/admin/apps/keyapp/api-keys", None)
        .await;
    let keys = r.ok().as_array().unwrap().clone();
    assert_eq!(keys.len(), 4);
    let secret_id = &app.secret[app.secret.len() - 4..];
    let secret_item = keys.iter().find(|k| k["id"] == secret_id).unwrap();
    assert_eq!(secret_item["type"], 2);
    let masked = secret_item["apiKey"].as_str().unwrap();
    assert_eq!(
        masked,
        format!(
            "keyapp:secret:{}{}",
            "*".repeat(28),
            &app.secret[app.secret.len() - 4..]
        )
    );
    assert_eq!(
        secret_item["scopes"],
        json!(["token_register", "token_verify"])
    );
    let public_item = keys
        .iter()
        .find(|k| k["apiKey"] == app.public_key.as_str())
        .unwrap();
    assert_eq!(public_item["type"], 1);
    assert_eq!(public_item["scopes"], json!(["login", "register"]));
    assert_eq!(public_item["isLocked"], false);

    // A login-only public key (scope 1) cannot register.
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/keyapp/public-keys",
            Some(&json!({"scopes": [1]})),
        )
        .await;
    let login_only = r.ok()["apiKey"].as_str().unwrap().to_owned();
    assert!(login_only.starts_with("keyapp:public:"));
    server
        .post(
            "/signin/begin",
            &[("ApiKey", &login_only)],
            &json!({"Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await
        .ok();
    server
        .post("/register/begin", &[("ApiKey", &login_only)], &json!({}))
        .await
        .problem(403, "forbidden");
    // A verify-only secret (scope 1) cannot mint register tokens but works for the rest.
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/keyapp/secret-keys",
            Some(&json!({"scopes": ["token_verify"]})),
        )
        .await;
    let verify_only = r.ok()["apiKey"].as_str().unwrap().to_owned();
    server
        .post(
            "/register/token",
            &[("ApiSecret", &verify_only)],
            &json!({"userId": "u", "username": "n"}),
        )
        .await
        .problem(403, "forbidden");
    server
        .post(
            "/signin/generate-token",
            &[("ApiSecret", &verify_only)],
            &json!({"userId": "u"}),
        )
        .await
        .ok();
    server
        .admin(
            Method::POST,
            "/admin/apps/keyapp/public-keys",
            Some(&json!({"scopes": []})),
        )
        .await
        .problem(400, "create_api_key_scopes_required");
    server
        .admin(
            Method::POST,
            "/admin/apps/keyapp/secret-keys",
            Some(&json!({"scopes": [7]})),
        )
        .await
        .problem(400, "validation_error");

    // Lock refuses the key at once, unlock restores it, delete removes it.
    let id = &verify_only[verify_only.len() - 4..];
    let body = json!({"userId": "u"});
    let headers = [("ApiSecret", verify_only.as_str())];
    let use_it = || server.post("/signin/generate-token", &headers, &body);
    assert_eq!(
        server
            .admin(
                Method::POST,
                &format!("/admin/apps/keyapp/api-keys/{id}/lock"),
                None
            )
            .await
            .status,
        204
    );
    let r = use_it().await;
    assert_eq!(
        r.problem(401, "unauthorized")["detail"],
        "The value of your 'ApiSecret' is not valid."
    );
    let r = server
        .admin(Method::GET, "/admin/apps/keyapp/api-keys", None)
        .await;
    let locked = r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(locked["isLocked"], true);
    assert!(locked["lastLockedAt"].is_string());
    assert_eq!(
        server
            .admin(
                Method::POST,
                &format!("/admin/apps/keyapp/api-keys/{id}/unlock"),
                None
            )
            .await
            .status,
        204
    );
    use_it().await.ok();
    assert_eq!(
        server
            .admin(
                Method::DELETE,
                &format!("/admin/apps/keyapp/api-keys/{id}"),
                None
            )
            .await
            .status,
        204
    );
    use_it().await.problem(401, "unauthorized");
    let r = server
        .admin(
            Method::DELETE,
            &format!("/admin/apps/keyapp/api-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(
        r.problem(404, "api_key_not_found")["title"],
        "Apikey was not found"
    );
    server
        .admin(Method::POST, "/admin/apps/keyapp/api-keys/zzzz/lock", None)
        .await
        .problem(404, "api_key_not_found");
    server
        .admin(Method::GET, "/admin/apps/nosuchapp/api-keys", None)
        .await
        .problem(404, "app_not_found");
}

#[tokio::test]
async fn freeze_and_features() {
    let server = TestServer::start().await;
    let app = server.create_app("frozenapp").await;
    let headers = [("ApiSecret", app.secret.as_str())];
    let count = || server.get("/users/count", &headers);
    assert_eq!(
        server
            .admin(Method::POST, "/admin/apps/frozenapp/freeze", None)
            .await
            .status,
        204
    );
    count().await.problem(401, "unauthorized");
    server
        .post("/signin/begin", &[("ApiKey", &app.public_key)], &json!({}))
        .await
        .problem(401, "unauthorized");
    assert_eq!(
        server
            .admin(Method::POST, "/admin/apps/frozenapp/unfreeze", None)
            .await
            .status,
        204
    );
    count().await.ok();

    let r = server
        .admin(Method::GET, "/admin/apps/frozenapp/features", None)
        .await;
    let f = r.ok();
    assert_eq!(f["eventLoggingIsEnabled"], false);
    assert_eq!(f["eventLoggingRetentionPeriod"], 365);
    assert_eq!(f["maxUsers"], serde_json::Value::Null);
    assert_eq!(f["allowAttestation"], false);
    assert_eq!(f["isGenerateSignInTokenEndpointEnabled"], true);
    assert_eq!(f["isMagicLinksEnabled"], true);
    let r = server
        .admin(Method::POST, "/admin/apps/frozenapp/features", Some(&json!({"eventLoggingIsEnabled": true, "eventLoggingRetentionPeriod": 7, "maxUsers": 1, "allowAttestation": true})))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let f = server
        .admin(Method::GET, "/admin/apps/frozenapp/features", None)
        .await;
    assert_eq!(f.ok()["maxUsers"], 1);
    assert_eq!(f.body["allowAttestation"], true);
    assert_eq!(f.body["eventLoggingRetentionPeriod"], 7);
    server
        .admin(
            Method::POST,
            "/admin/apps/frozenapp/features",
            Some(&json!({"eventLoggingRetentionPeriod": 91})),
        )
        .await
        .problem(400, "validation_error");

    // maxUsers 1: a first user may register, a second may not; the first may add passkeys.
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "first", &[]).await;
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "second", "username": "n"}),
        )
        .await;
    assert_eq!(
        r.problem(400, "max_users_reached")["title"],
        "Maximum number of users reached"
    );
    app.backend(
        "/register/token",
        &json!({"userId": "first", "username": "n"}),
    )
    .await
    .ok();
    // allowAttestation lets register tokens ask for direct attestation.
    app.backend(
        "/register/token",
        &json!({"userId": "first", "username": "n", "attestation": "direct"}),
    )
    .await
    .ok();
}

#[tokio::test]
async fn deletion_is_immediate_for_young_apps_and_scheduled_for_used_ones() {
    let server = TestServer::start().await;
    server.create_app("youngapp").await;
    let r = server
        .admin(
            Method::GET,
            "/admin/apps/youngapp/can-delete-immediately",
            None,
        )
        .await;
    assert_eq!(r.ok(), &json!(true));
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/youngapp/mark-delete",
            Some(&json!({"appId": "youngapp", "deletedBy": "ops@example.com"})),
        )
        .await;
    assert_eq!(r.ok()["isDeleted"], true);
    assert_eq!(r.body["adminEmails"], json!(["ops@example.com"]));
    let r = server
        .get(
            "/admin/apps/youngapp/available",
            &[("ManagementKey", crate::support::server::MANAGEMENT_KEY)],
        )
        .await;
    assert_eq!(r.ok()["available"], true);

    let app = server.create_app("usedapp").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user-1", &[]).await;
    server.clock.advance(Duration::days(4));
    let r = server
        .admin(
            Method::GET,
            "/admin/apps/usedapp/can-delete-immediately",
            None,
        )
        .await;
    assert_eq!(r.ok(), &json!(false));
    let r = server
        .admin(
            Method::POST,
            "/admin/apps/usedapp/mark-delete",
            Some(&json!({"deletedBy": "ops"})),
        )
        .await;
    assert_eq!(r.ok()["isDeleted"], false);
    assert!(r.body["deleteAt"].is_string());
    // Scheduled: the keys stop working, the app is listed.
    server
        .get("/users/count", &[("ApiSecret", &app.secret)])
        .await
        .problem(401, "unauthorized");
    let r = server
        .admin(Method::GET, "/apps/list-pending-deletion", None)
        .await;
    assert_eq!(r.ok(), &json!(["usedapp"]));
    server
        .admin(
            Method::POST,
            "/admin/apps/usedapp/mark-delete",
            Some(&json!({})),
        )
        .await
        .problem(400, "app_pending_deletion");
    let r = server
        .admin(Method::POST, "/admin/apps/usedapp/cancel-delete", None)
        .await;
    assert_eq!(
        r.ok()["message"],
        "Your account will not be deleted since the process was aborted with the cancellation link"
    );
    server
        .get("/users/count", &[("ApiSecret", &app.secret)])
        .await
        .ok();

    server
        .admin(Method::DELETE, "/admin/apps/usedapp", None)
        .await
        .problem(400, "app_not_pending_deletion");
    server
        .admin(
            Method::POST,
            "/admin/apps/usedapp/mark-delete",
            Some(&json!({})),
        )
        .await
        .ok();
    server
        .admin(Method::DELETE, "/admin/apps/usedapp", None)
        .await
        .problem(400, "app_not_pending_deletion");
    server.clock.advance(Duration::days(31));
    let r = server
        .admin(Method::DELETE, "/admin/apps/usedapp", None)
        .await;
    assert_eq!(r.ok()["isDeleted"], true);
    server
        .admin(Method::DELETE, "/admin/apps/usedapp", None)
        .await
        .problem(400, "app_not_found");
    // Everything of the app went with it.
    assert!(server
        .state
        .store
        .list_credentials("usedapp", "user-1")
        .await
        .unwrap()
        .is_empty());
    server
        .get("/users/count", &[("ApiSecret", &app.secret)])
        .await
        .problem(401, "unauthorized");
}

/// The per-app origin policy: off by default; when set, ceremonies from other origins or RP
/// IDs are refused at every step.
#[tokio::test]
async fn origin_policy() {
    let server = TestServer::start().await;
    let app = server.create_app("policyapp").await;
    let features = "/admin/apps/policyapp/features";
    let mut auth = TestAuthenticator::new();

    // Off by default: any origin may begin.
    async fn begin(
        app: &crate::support::server::TestApp<'_>,
        origin: &str,
        rp_id: &str,
    ) -> crate::support::server::Resp {
        app.browser("/signin/begin", &json!({"Origin": origin, "RPID": rp_id}))
            .await
    }
    begin(&app, "https://elsewhere.example", "elsewhere.example")
        .await
        .ok();

    let r = server
        .admin(
            Method::POST,
            features,
            Some(&json!({"allowedOrigins": ["https://Example.com/", "android:apk-key-hash:abc"], "allowedRpIds": ["EXAMPLE.com"]})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let f = server.admin(Method::GET, features, None).await;
    assert_eq!(
        f.ok()["allowedOrigins"],
        json!(["https://example.com", "android:apk-key-hash:abc"])
    );
    assert_eq!(f.body["allowedRpIds"], json!(["example.com"]));

    // The listed origin and RP ID work end to end.
    register(&app, &mut auth, "u1", &[]).await;
    crate::ceremonies::sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1"}),
        &Default::default(),
    )
    .await;

    for origin in [
        "https://evil-example.com",
        "https://example.com.evil.com",
        "http://example.com",
        "https://example.com:8443",
        "https://example.com.",
    ] {
        begin(&app, origin, RP_ID)
            .await
            .problem(400, "origin_not_allowed");
    }
    begin(&app, ORIGIN, "evil.com")
        .await
        .problem(400, "rp_id_not_allowed");
    let token = app
        .register_token(&json!({"userId": "u2", "username": "n"}))
        .await;
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": "https://evil.com", "RPID": RP_ID}),
        )
        .await;
    r.problem(400, "origin_not_allowed");
    // Completion is checked too: a session begun from a good origin cannot be completed from
    // another one.
    let (options, session) = app.signin_begin(&json!({"userId": "u1"})).await;
    let assertion = auth.get(&options, ORIGIN);
    let r = app
        .browser("/signin/complete", &json!({"session": session, "response": assertion, "Origin": "https://evil.com", "RPID": RP_ID}))
        .await;
    r.problem(400, "origin_not_allowed");

    let r = server
        .admin(
            Method::POST,
            features,
            Some(
                &json!({"allowedOrigins": ["ftp://x", "nonsense"], "allowedRpIds": ["bad domain"]}),
            ),
        )
        .await;
    let errors = &r.problem(400, "validation_error")["errors"];
    assert!(errors["allowedOrigins"].is_array() && errors["allowedRpIds"].is_array());

    // Other feature changes keep the policy; an empty list turns it off.
    server
        .admin(Method::POST, features, Some(&json!({"maxUsers": 10})))
        .await;
    begin(&app, "https://evil.com", RP_ID)
        .await
        .problem(400, "origin_not_allowed");
    server
        .admin(
            Method::POST,
            features,
            Some(&json!({"allowedOrigins": [], "allowedRpIds": []})),
        )
        .await;
    begin(&app, "https://evil.com", "evil.com").await.ok();
}
