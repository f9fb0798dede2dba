//! Passkey Flex: backend transactions and nonces, browser ceremonies keyed by the app's origin
//! policy, over real WebAuthn.

use serde_json::{json, Value};

use crate::support::authenticator::{TestAuthenticator, Tweaks, FLAG_UP};
use crate::support::server::{Resp, TestApp, TestServer, ORIGIN, RP_ID};

async fn backend(app: &TestApp<'_>, path: &str, body: &Value) -> Resp {
    let server = app.server;
    let req = server
        .http
        .post(format!("{}/v1/apps/{}/{path}", server.base, app.app_id))
        .bearer_auth(&app.secret)
        .json(body);
    server.send(req).await
}

/// A browser call: no key, the page's Origin header.
async fn browser(app: &TestApp<'_>, origin: &str, path: &str, body: &Value) -> Resp {
    let server = app.server;
    let req = server
        .http
        .post(format!("{}/v1/apps/{}/{path}", server.base, app.app_id))
        .header("Origin", origin)
        .header("Passage-Flex-Version", "1.0.2")
        .json(body);
    server.send(req).await
}

async fn policy(server: &TestServer, app_id: &str) {
    let r = server
        .admin(
            reqwest::Method::POST,
            &format!("/admin/apps/{app_id}/features"),
            Some(&json!({"allowedOrigins": [ORIGIN], "allowedRpIds": [RP_ID]})),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
}

async fn transaction(app: &TestApp<'_>, kind: &str, body: &Value) -> String {
    let r = backend(app, &format!("transactions/{kind}"), body).await;
    r.ok()["transaction_id"]
        .as_str()
        .expect("transaction_id")
        .to_owned()
}

/// Registers a passkey for `external_id` through Flex; returns the nonce.
async fn flex_register(
    app: &TestApp<'_>,
    auth: &mut TestAuthenticator,
    external_id: &str,
) -> String {
    let tx = transaction(
        app,
        "register",
        &json!({"external_id": external_id, "passkey_display_name": format!("{external_id}'s key")}),
    )
    .await;
    let r = browser(
        app,
        ORIGIN,
        "register/transactions/webauthn/start",
        &json!({"transaction_id": tx, "authenticator_attachment": "platform"}),
    )
    .await;
    let handshake = r.ok()["handshake"].clone();
    let options = &handshake["challenge"]["publicKey"];
    assert_eq!(
        options["authenticatorSelection"]["authenticatorAttachment"],
        "platform"
    );
    let credential = auth.create(options, ORIGIN);
    let r = browser(
        app,
        ORIGIN,
        "register/transactions/webauthn/finish",
        &json!({"transaction_id": tx, "handshake_id": handshake["id"], "handshake_response": credential}),
    )
    .await;
    r.ok()["nonce"].as_str().expect("nonce").to_owned()
}

/// Starts an authentication (with a transaction, or discoverable without); returns the
/// handshake.
async fn auth_start(app: &TestApp<'_>, tx: Option<&str>) -> Value {
    let body = tx.map_or_else(|| json!({}), |tx| json!({"transaction_id": tx}));
    let r = browser(
        app,
        ORIGIN,
        "authenticate/transactions/webauthn/start",
        &body,
    )
    .await;
    r.ok()["handshake"].clone()
}

async fn auth_finish(
    app: &TestApp<'_>,
    tx: Option<&str>,
    handshake: &Value,
    assertion: &Value,
) -> Resp {
    let mut body = json!({"handshake_id": handshake["id"], "handshake_response": assertion});
    if let Some(tx) = tx {
        body["transaction_id"] = json!(tx);
    }
    browser(
        app,
        ORIGIN,
        "authenticate/transactions/webauthn/finish",
        &body,
    )
    .await
}

async fn verify(app: &TestApp<'_>, nonce: &str) -> Resp {
    backend(app, "authenticate/verify", &json!({ "nonce": nonce })).await
}

async fn device_count(app: &TestApp<'_>, user: &str) -> usize {
    let server = app.server;
    let req = server
        .http
        .get(format!(
            "{}/v1/apps/{}/users/{user}/devices",
            server.base, app.app_id
        ))
        .bearer_auth(&app.secret);
    let r = server.send(req).await;
    if r.status == 404 {
        return 0;
    }
    r.ok()["devices"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn register_and_authenticate_through_transactions_and_nonces() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    policy(&server, "shop").await;
    let mut auth = TestAuthenticator::new();

    let nonce = flex_register(&app, &mut auth, "customer-42").await;
    let r = verify(&app, &nonce).await;
    let body = r.ok();
    assert_eq!(body["external_id"], "customer-42");
    assert_eq!(body["ceremony"], "register");
    // The passkey carries the display name the backend asked for.
    let devices = app
        .server
        .send(
            server
                .http
                .get(format!(
                    "{}/v1/apps/shop/users/customer-42/devices",
                    server.base
                ))
                .bearer_auth(&app.secret),
        )
        .await;
    assert_eq!(
        devices.ok()["devices"][0]["friendly_name"],
        "customer-42's key"
    );
    assert_eq!(devices.ok()["devices"][0]["type"], "platform");

    let tx = transaction(&app, "authenticate", &json!({"external_id": "customer-42"})).await;
    let handshake = auth_start(&app, Some(&tx)).await;
    let allowed = handshake["challenge"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(allowed, 1, "the transaction's user's passkeys only");
    let assertion = auth.get_with(
        &handshake["challenge"]["publicKey"],
        ORIGIN,
        &Tweaks::default(),
    );
    let r = auth_finish(&app, Some(&tx), &handshake, &assertion).await;
    let nonce = r.ok()["nonce"].as_str().unwrap().to_owned();
    let r = verify(&app, &nonce).await;
    let body = r.ok();
    assert_eq!(body["external_id"], "customer-42");
    assert_eq!(body["ceremony"], "authenticate");
    let used = body["credential_id"].as_str().unwrap();
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &auth.credentials()[0].id,
    );
    assert_eq!(used, expected, "the answer names the passkey that was used");
    assert!(body["used_at"].is_string());

    // A nonce works once; the transaction too.
    verify(&app, &nonce).await.problem(400, "invalid_nonce");
    let r = browser(
        &app,
        ORIGIN,
        "authenticate/transactions/webauthn/start",
        &json!({"transaction_id": tx}),
    )
    .await;
    r.problem(400, "invalid_transaction");

    // Without a transaction: discoverable, for autofill; an empty body is fine.
    let req = server
        .http
        .post(format!(
            "{}/v1/apps/shop/authenticate/transactions/webauthn/start",
            server.base
        ))
        .header("Origin", ORIGIN);
    let handshake = server.send(req).await.ok()["handshake"].clone();
    assert_eq!(
        handshake["challenge"]["publicKey"]["allowCredentials"],
        json!([])
    );
    let assertion = auth.get_with(
        &handshake["challenge"]["publicKey"],
        ORIGIN,
        &Tweaks::default(),
    );
    let r = auth_finish(&app, None, &handshake, &assertion).await;
    let nonce = r.ok()["nonce"].as_str().unwrap().to_owned();
    assert_eq!(
        verify(&app, &nonce).await.ok()["external_id"],
        "customer-42"
    );
}

#[tokio::test]
async fn refusals_store_nothing() {
    let server = TestServer::start().await;
    let shop = server.create_app("shop").await;
    let blog = server.create_app("blog").await;
    policy(&server, "shop").await;
    policy(&server, "blog").await;
    let mut alice = TestAuthenticator::new();
    let mut bob = TestAuthenticator::new();
    flex_register(&shop, &mut alice, "alice").await;
    flex_register(&shop, &mut bob, "bob").await;

    // A nonce of shop means nothing to blog, and stays good for shop.
    let tx = transaction(&shop, "authenticate", &json!({"external_id": "alice"})).await;
    let handshake = auth_start(&shop, Some(&tx)).await;
    let assertion = alice.get_with(
        &handshake["challenge"]["publicKey"],
        ORIGIN,
        &Tweaks::default(),
    );
    let nonce = auth_finish(&shop, Some(&tx), &handshake, &assertion)
        .await
        .ok()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(&blog, &nonce).await.problem(400, "invalid_nonce");
    assert_eq!(verify(&shop, &nonce).await.ok()["external_id"], "alice");

    // Wrong kind: a register transaction cannot authenticate, and the reverse.
    let reg = transaction(&shop, "register", &json!({"external_id": "carol"})).await;
    browser(
        &shop,
        ORIGIN,
        "authenticate/transactions/webauthn/start",
        &json!({"transaction_id": reg}),
    )
    .await
    .problem(400, "invalid_transaction");
    let authn = transaction(&shop, "authenticate", &json!({"external_id": "alice"})).await;
    browser(
        &shop,
        ORIGIN,
        "register/transactions/webauthn/start",
        &json!({"transaction_id": authn}),
    )
    .await
    .problem(400, "invalid_transaction");
    // Another app's transaction.
    browser(
        &blog,
        ORIGIN,
        "authenticate/transactions/webauthn/start",
        &json!({"transaction_id": authn}),
    )
    .await
    .problem(400, "invalid_transaction");

    // A passkey of another user: bob answers alice's transaction. No nonce, no change.
    let tx = transaction(&shop, "authenticate", &json!({"external_id": "alice"})).await;
    let handshake = auth_start(&shop, Some(&tx)).await;
    let mut options = handshake["challenge"]["publicKey"].clone();
    options["allowCredentials"] = json!([]);
    let assertion = bob.get_with(&options, ORIGIN, &Tweaks::default());
    let r = auth_finish(&shop, Some(&tx), &handshake, &assertion).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_request");

    // An expired transaction.
    let tx = transaction(&shop, "register", &json!({"external_id": "dave"})).await;
    server.clock.advance(chrono::Duration::seconds(301));
    browser(
        &shop,
        ORIGIN,
        "register/transactions/webauthn/start",
        &json!({"transaction_id": tx}),
    )
    .await
    .problem(400, "invalid_transaction");
    assert_eq!(device_count(&shop, "dave").await, 0);
    assert_eq!(device_count(&shop, "carol").await, 0);
    assert_eq!(device_count(&shop, "alice").await, 1);
    assert_eq!(device_count(&shop, "bob").await, 1);
}

#[tokio::test]
async fn a_second_factor_transaction_requires_user_verification() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    policy(&server, "shop").await;
    let mut auth = TestAuthenticator::new();
    flex_register(&app, &mut auth, "erin").await;
    let tx = transaction(
        &app,
        "authenticate",
        &json!({"external_id": "erin", "user_verification": "required"}),
    )
    .await;
    let handshake = auth_start(&app, Some(&tx)).await;
    assert_eq!(
        handshake["challenge"]["publicKey"]["userVerification"],
        "required"
    );
    // Presence without verification is not a second factor.
    let tweaks = Tweaks {
        flags: Some(FLAG_UP),
        ..Tweaks::default()
    };
    let assertion = auth.get_with(&handshake["challenge"]["publicKey"], ORIGIN, &tweaks);
    let r = auth_finish(&app, Some(&tx), &handshake, &assertion).await;
    assert_eq!(r.status, 400, "{}", r.text);
    backend(
        &app,
        "transactions/authenticate",
        &json!({"external_id": "erin", "user_verification": "always"}),
    )
    .await
    .problem(400, "validation_error");
}

#[tokio::test]
async fn browser_calls_need_the_apps_origin_policy() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let tx = transaction(&app, "register", &json!({"external_id": "frank"})).await;
    let body = json!({"transaction_id": tx});
    let r = browser(&app, ORIGIN, "register/transactions/webauthn/start", &body).await;
    r.problem(400, "origin_policy_missing");
    assert!(r.body["code"].is_string());
    policy(&server, "shop").await;
    let r = browser(
        &app,
        "https://evil.example",
        "register/transactions/webauthn/start",
        &body,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    browser(&app, ORIGIN, "register/transactions/webauthn/start", &body)
        .await
        .ok();
    // An unknown app, and the backend routes without the secret.
    let ghost = TestApp {
        server: &server,
        app_id: "ghost".to_owned(),
        public_key: String::new(),
        secret: app.secret.clone(),
    };
    browser(
        &ghost,
        ORIGIN,
        "authenticate/transactions/webauthn/start",
        &json!({}),
    )
    .await
    .problem(404, "app_not_found");
    let r = server
        .send(
            server
                .http
                .post(format!(
                    "{}/v1/apps/shop/transactions/register",
                    server.base
                ))
                .json(&json!({"external_id": "x"})),
        )
        .await;
    r.problem(401, "invalid_access_token");
    // The SDK's version headers pass the CORS preflight.
    let r = server
        .send(
            server
                .http
                .request(
                    reqwest::Method::OPTIONS,
                    format!(
                        "{}/v1/apps/shop/register/transactions/webauthn/start",
                        server.base
                    ),
                )
                .header("Origin", ORIGIN)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "content-type,passage-flex-version,passage-version",
                ),
        )
        .await;
    assert!(r.status < 300, "{}", r.status);
    let allowed = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("passage-flex-version") || allowed == "*",
        "{allowed}"
    );
}
