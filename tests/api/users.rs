//! Aliases, credentials and users of an app.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::ceremonies::register;
use crate::support::authenticator::{b64url, TestAuthenticator};
use crate::support::server::{TestServer, ORIGIN, RP_ID};

#[tokio::test]
async fn aliases_replace_list_and_conflict() {
    let server = TestServer::start().await;
    let app = server.create_app("aliasapp").await;
    let r = app
        .backend(
            "/alias",
            &json!({"userId": "u1", "aliases": ["a@x", "b@x", "a@x"]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = server
        .get("/alias/list?userid=u1", &[("ApiSecret", &app.secret)])
        .await;
    let values = r.ok()["values"].as_array().unwrap().clone();
    assert_eq!(values.len(), 2);
    for v in &values {
        assert_eq!(v["tenant"], "aliasapp");
        assert_eq!(v["userId"], "u1");
        assert_eq!(v["plaintext"], serde_json::Value::Null, "hashed by default");
        assert_eq!(
            STANDARD.decode(v["alias"].as_str().unwrap()).unwrap().len(),
            32
        );
    }
    // Replace semantics, plaintext when hashing is off.
    let r = app
        .backend(
            "/alias",
            &json!({"userId": "u1", "aliases": ["c@x"], "hashing": false}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = server
        .get("/alias/list?userId=u1", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["values"][0]["plaintext"], "c@x");

    let r = app
        .backend("/alias", &json!({"userId": "u2", "aliases": ["c@x"]}))
        .await;
    assert_eq!(
        r.problem(409, "alias_conflict")["title"],
        "Alias is already in use by another userid"
    );
    // The conflict changed nothing.
    let r = server
        .get("/alias/list?userid=u2", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"], json!([]));

    let eleven: Vec<String> = (0..11).map(|i| format!("a{i}")).collect();
    app.backend("/alias", &json!({"userId": "u1", "aliases": eleven}))
        .await
        .problem(400, "validation_error");
    app.backend("/alias", &json!({"userId": "u1", "aliases": null}))
        .await
        .problem(400, "validation_error");
    app.backend("/alias", &json!({"aliases": ["x"]}))
        .await
        .problem(400, "validation_error");
    let r = server
        .get("/alias/list?userid=", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.problem(400, "missing_userid")["title"], "UserId is empty");
    server
        .get("/alias/list", &[("ApiSecret", &app.secret)])
        .await
        .problem(400, "invalid_request");
    // An empty set removes every alias.
    assert_eq!(
        app.backend("/alias", &json!({"userId": "u1", "aliases": []}))
            .await
            .status,
        204
    );
    let r = server
        .get("/alias/list?userid=u1", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"], json!([]));
}

#[tokio::test]
async fn credentials_list_has_the_sdk_encodings() {
    let server = TestServer::start().await;
    let app = server.create_app("credapp").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "user 1&x", &["alice"]).await;
    let id = auth.credentials()[0].id.clone();

    let get = server
        .get(
            "/credentials/list?userid=user%201%26x",
            &[("ApiSecret", &app.secret)],
        )
        .await;
    let post = app
        .backend("/credentials/list", &json!({"userId": "user 1&x"}))
        .await;
    for r in [get, post] {
        let values = r.ok()["values"].as_array().unwrap().clone();
        assert_eq!(values.len(), 1);
        let c = &values[0];
        assert_eq!(
            c["descriptor"],
            json!({"type": "public-key", "id": b64url(&id)})
        );
        assert_eq!(c["userHandle"], STANDARD.encode("user 1&x"));
        assert!(
            STANDARD
                .decode(c["publicKey"].as_str().unwrap())
                .unwrap()
                .len()
                > 64
        );
        assert_eq!(c["rpid"], RP_ID);
        assert_eq!(c["origin"], ORIGIN);
        assert_eq!(c["userId"], "user 1&x");
        assert_eq!(c["attestationFmt"], "none");
        assert_eq!(c["signatureCounter"], 0);
        assert_eq!(c["nickname"], "my key");
        assert_eq!(c["isDiscoverable"], true);
        assert_eq!(c["isBackupEligible"], false);
        uuid::Uuid::parse_str(c["aaGuid"].as_str().unwrap()).unwrap();
        for key in ["createdAt", "lastUsedAt", "country", "device"] {
            assert!(c[key].is_string(), "{key}");
        }
    }
    server
        .get("/credentials/list", &[("ApiSecret", &app.secret)])
        .await
        .problem(400, "invalid_request");
    app.backend("/credentials/list", &json!({}))
        .await
        .problem(400, "validation_error");
    let r = server
        .get("/credentials/list?userid=", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(
        r.problem(400, "missing_userid")["title"],
        "userId must not be null or empty"
    );
}

#[tokio::test]
async fn deleting_credentials_and_users() {
    let server = TestServer::start().await;
    let app = server.create_app("delapp").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "u1", &["one@x"]).await;
    let mut auth2 = TestAuthenticator::new();
    register(&app, &mut auth2, "u2", &["two@x"]).await;

    let r = server
        .get("/users/count", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["count"], 2);
    let r = server
        .get("/users/list", &[("ApiSecret", &app.secret)])
        .await;
    let users = r.ok()["values"].as_array().unwrap().clone();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["userId"], "u1");
    assert_eq!(users[0]["credentialsCount"], 1);
    assert_eq!(users[0]["aliasCount"], 1);
    assert_eq!(users[0]["aliases"], json!([null]));
    assert!(users[0]["lastUsedAt"].is_string());

    // Unknown or repeated deletion is not an error.
    let id = b64url(&auth.credentials()[0].id);
    for _ in 0..2 {
        let r = app
            .backend("/credentials/delete", &json!({"credentialId": id}))
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    app.backend("/credentials/delete", &json!({"credentialId": ""}))
        .await
        .problem(400, "missing_credential_id");
    app.backend("/credentials/delete", &json!({"credentialId": "a+b/"}))
        .await
        .problem(400, "validation_error");
    let (options, session) = app.signin_begin(&json!({})).await;
    let assertion = auth.get(&options, ORIGIN);
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "unknown_credential");
    // Aliases survive credential deletion.
    let r = server
        .get("/alias/list?userid=u1", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"].as_array().unwrap().len(), 1);

    let r = app.backend("/users/delete", &json!({"userId": "u2"})).await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let r = server
        .get("/credentials/list?userid=u2", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"], json!([]));
    let r = server
        .get("/alias/list?userid=u2", &[("ApiSecret", &app.secret)])
        .await;
    assert_eq!(r.ok()["values"], json!([]));
    // The alias now names nobody: only a stand-in id comes back (no enumeration).
    let (options, _) = app.signin_begin(&json!({"alias": "two@x"})).await;
    let ids = options["allowCredentials"].as_array().unwrap();
    assert_eq!(ids.len(), 1);
    assert_ne!(ids[0]["id"], b64url(&auth2.credentials()[0].id));
    app.backend("/users/delete", &json!({}))
        .await
        .problem(400, "validation_error");
}

#[tokio::test]
async fn another_apps_secret_sees_and_changes_nothing() {
    let server = TestServer::start().await;
    let a = server.create_app("tenanta").await;
    let b = server.create_app("tenantb").await;
    let mut auth = TestAuthenticator::new();
    register(&a, &mut auth, "victim", &["victim@x"]).await;
    let id = b64url(&auth.credentials()[0].id);
    let b_secret = [("ApiSecret", b.secret.as_str())];

    assert_eq!(
        server
            .get("/credentials/list?userid=victim", &b_secret)
            .await
            .ok()["values"],
        json!([])
    );
    assert_eq!(
        server
            .get("/alias/list?userid=victim", &b_secret)
            .await
            .ok()["values"],
        json!([])
    );
    assert_eq!(
        server.get("/users/list", &b_secret).await.ok()["values"],
        json!([])
    );
    assert_eq!(server.get("/users/count", &b_secret).await.ok()["count"], 0);
    assert_eq!(
        b.backend("/credentials/delete", &json!({"credentialId": id}))
            .await
            .status,
        204
    );
    assert_eq!(
        b.backend("/users/delete", &json!({"userId": "victim"}))
            .await
            .status,
        200
    );
    // The same alias is free in B: aliases are per app.
    assert_eq!(
        b.backend(
            "/alias",
            &json!({"userId": "other", "aliases": ["victim@x"]})
        )
        .await
        .status,
        204
    );

    // A is untouched.
    let a_secret = [("ApiSecret", a.secret.as_str())];
    assert_eq!(
        server
            .get("/credentials/list?userid=victim", &a_secret)
            .await
            .ok()["values"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server
            .get("/alias/list?userid=victim", &a_secret)
            .await
            .ok()["values"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    crate::ceremonies::sign_in(
        &a,
        &mut auth,
        &json!({"alias": "victim@x"}),
        &Default::default(),
    )
    .await;
}

#[tokio::test]
async fn app_features_switch_generated_tokens() {
    let server = TestServer::start().await;
    let app = server.create_app("featapp").await;
    // Unknown (obsolete) fields are ignored, as the Python SDK sends one.
    let r = app
        .backend(
            "/apps/features",
            &json!({"auditLoggingRetentionPeriod": 30}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app
        .backend(
            "/apps/features",
            &json!({"enableManuallyGeneratedAuthenticationTokens": false}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .backend("/signin/generate-token", &json!({"userId": "u"}))
        .await;
    assert_eq!(
        r.problem(403, "generate_token_disabled")["title"],
        "The 'POST /signin/generate-token' endpoint is disabled"
    );
    // A partial update leaves the other switches alone.
    assert_eq!(
        app.backend(
            "/apps/features",
            &json!({"eventLoggingRetentionPeriod": 30})
        )
        .await
        .status,
        204
    );
    app.backend("/signin/generate-token", &json!({"userId": "u"}))
        .await
        .problem(403, "generate_token_disabled");
    assert_eq!(
        app.backend(
            "/apps/features",
            &json!({"enableManuallyGeneratedAuthenticationTokens": true})
        )
        .await
        .status,
        204
    );
    app.backend("/signin/generate-token", &json!({"userId": "u"}))
        .await
        .ok();
    app.backend(
        "/apps/features",
        &json!({"eventLoggingRetentionPeriod": 91}),
    )
    .await
    .problem(400, "validation_error");
}
