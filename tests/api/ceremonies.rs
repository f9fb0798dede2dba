//! Full registration and sign-in ceremonies that must succeed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{TestApp, TestServer, ORIGIN, RP_ID};

/// Registers `user_id` with the test authenticator; returns the verify token.
pub async fn register(
    app: &TestApp<'_>,
    auth: &mut TestAuthenticator,
    user_id: &str,
    aliases: &[&str],
) -> String {
    let (options, session) = app
        .register_begin(&json!({"userId": user_id, "username": format!("{user_id}@example.com"), "aliases": aliases}))
        .await;
    let credential = auth.create(&options, ORIGIN);
    let r = app.register_complete(&session, &credential).await;
    r.ok()["token"].as_str().expect("verify token").to_owned()
}

/// Signs in with `fields` (userId / alias / nothing); returns the verify token.
pub async fn sign_in(
    app: &TestApp<'_>,
    auth: &mut TestAuthenticator,
    fields: &Value,
    tweaks: &Tweaks,
) -> String {
    let (options, session) = app.signin_begin(fields).await;
    let assertion = auth.get_with(&options, ORIGIN, tweaks);
    let r = app.signin_complete(&session, &assertion).await;
    r.ok()["token"].as_str().expect("verify token").to_owned()
}

fn assert_verified(v: &Value, user_id: &str, type_: &str, credential_id: &[u8]) {
    assert_eq!(v["success"], true);
    assert_eq!(v["userId"], user_id);
    assert_eq!(v["type"], type_);
    assert_eq!(v["rpId"], RP_ID);
    assert_eq!(v["origin"], ORIGIN);
    // Standard base64 with padding, as the .NET SDK reads byte arrays.
    assert_eq!(v["credentialId"], STANDARD.encode(credential_id));
    for key in ["timestamp", "expiresAt"] {
        let t = v[key].as_str().expect(key);
        assert!(t.ends_with('Z'), "{key} in UTC with Z: {t}");
        chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339");
    }
    uuid::Uuid::parse_str(v["tokenId"].as_str().expect("tokenId")).expect("tokenId is a GUID");
    for key in ["device", "country", "nickname", "purpose"] {
        assert!(v.get(key).is_some(), "{key} is always present");
    }
    assert!(v["device"].is_string() && v["country"].is_string());
}

#[tokio::test]
async fn soft_passkey_registers_and_signs_in_by_user_id() {
    let server = TestServer::start().await;
    let app = server.create_app("softapp").await;
    // SoftPasskey (webauthn-authenticator-rs) keeps no resident keys: register non-discoverable.
    let (options, session) = app
        .register_begin(&json!({"userId": "user-1", "username": "alice", "discoverable": false}))
        .await;
    let origin = Url::parse(ORIGIN).unwrap();
    let mut soft = SoftPasskey::new(true);
    let ccr: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options })).unwrap();
    let credential = soft
        .do_registration(origin.clone(), ccr)
        .expect("SoftPasskey registration");
    let r = app
        .register_complete(&session, &serde_json::to_value(&credential).unwrap())
        .await;
    let token = r.ok()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("verify_"));
    let v = app.verify(&token).await;
    assert_verified(v.ok(), "user-1", "passkey_register", &credential.raw_id);
    assert_eq!(v.body["nickname"], "my key");
    assert_eq!(v.body["purpose"], Value::Null);

    let (options, session) = app.signin_begin(&json!({"userId": "user-1"})).await;
    assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(options["rpId"], RP_ID);
    assert_eq!(options["timeout"], 60000);
    let rcr: RequestChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options })).unwrap();
    let assertion = soft
        .do_authentication(origin, rcr)
        .expect("SoftPasskey assertion");
    let r = app
        .signin_complete(&session, &serde_json::to_value(&assertion).unwrap())
        .await;
    let token = r.ok()["token"].as_str().unwrap().to_owned();
    let v = app.verify(&token).await;
    assert_verified(v.ok(), "user-1", "passkey_signin", &credential.raw_id);
    assert_eq!(v.body["purpose"], "sign-in");
    assert_eq!(v.body["nickname"], "my key");
}

#[tokio::test]
async fn sign_in_by_user_id_alias_and_discoverable() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    let token = register(&app, &mut auth, "user-7", &["alice@example.com"]).await;
    let cred_id = auth.credentials()[0].id.clone();
    assert_verified(
        app.verify(&token).await.ok(),
        "user-7",
        "passkey_register",
        &cred_id,
    );

    let no_tweaks = Tweaks::default();
    let by_id = sign_in(&app, &mut auth, &json!({"userId": "user-7"}), &no_tweaks).await;
    assert_verified(
        app.verify(&by_id).await.ok(),
        "user-7",
        "passkey_signin",
        &cred_id,
    );

    let (options, _) = app
        .signin_begin(&json!({"alias": "alice@example.com"}))
        .await;
    assert_eq!(
        options["allowCredentials"][0]["id"],
        crate::support::authenticator::b64url(&cred_id)
    );
    let by_alias = sign_in(
        &app,
        &mut auth,
        &json!({"alias": "alice@example.com"}),
        &no_tweaks,
    )
    .await;
    assert_verified(
        app.verify(&by_alias).await.ok(),
        "user-7",
        "passkey_signin",
        &cred_id,
    );

    // Discoverable, as the JS client sends it: no userHandle; the server finds the user from
    // the credential id.
    let (options, _) = app.signin_begin(&json!({})).await;
    assert_eq!(options["allowCredentials"], json!([]));
    let js = Tweaks {
        js_client_casing: true,
        ..Tweaks::default()
    };
    let discoverable = sign_in(&app, &mut auth, &json!({}), &js).await;
    assert_verified(
        app.verify(&discoverable).await.ok(),
        "user-7",
        "passkey_signin",
        &cred_id,
    );

    // And with the userHandle a platform authenticator returns.
    let with_handle = sign_in(&app, &mut auth, &json!({}), &no_tweaks).await;
    assert_verified(
        app.verify(&with_handle).await.ok(),
        "user-7",
        "passkey_signin",
        &cred_id,
    );
}

#[tokio::test]
async fn js_client_casing_registers_and_purpose_is_carried() {
    let server = TestServer::start().await;
    let app = server.create_app("jsapp").await;
    let mut auth = TestAuthenticator::new();
    let (options, session) = app
        .register_begin(&json!({"userId": "u1", "username": "bob"}))
        .await;
    // The shape the browser client relies on.
    assert_eq!(options["rp"], json!({"id": RP_ID, "name": RP_ID}));
    assert_eq!(
        options["user"]["id"],
        crate::support::authenticator::b64url(b"u1")
    );
    assert_eq!(options["user"]["displayName"], "bob");
    assert_eq!(options["timeout"], 60000);
    assert_eq!(options["excludeCredentials"], json!([]));
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    assert_eq!(options["attestation"], "none");
    assert_eq!(options["extensions"], json!({"credProps": true}));
    let js = Tweaks {
        js_client_casing: true,
        ..Tweaks::default()
    };
    let credential = auth.create_with(&options, ORIGIN, &js);
    assert!(credential["response"].get("AttestationObject").is_some());
    let r = app
        .browser(
            "/register/complete",
            &json!({"session": session, "response": credential, "RPID": RP_ID, "Origin": ORIGIN}),
        )
        .await;
    assert!(r.ok()["token"].as_str().unwrap().starts_with("verify_"));

    // A second registration excludes the first credential.
    let (options, _) = app
        .register_begin(&json!({"userId": "u1", "username": "bob"}))
        .await;
    assert_eq!(options["excludeCredentials"].as_array().unwrap().len(), 1);

    let step_up = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1", "purpose": "step-up"}),
        &js,
    )
    .await;
    assert_eq!(app.verify(&step_up).await.ok()["purpose"], "step-up");
    // An explicit null purpose is "sign-in" (the original crashes on it).
    let null_purpose = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "u1", "purpose": null}),
        &js,
    )
    .await;
    assert_eq!(app.verify(&null_purpose).await.ok()["purpose"], "sign-in");
}

#[tokio::test]
async fn generated_token_verifies_once() {
    let server = TestServer::start().await;
    let app = server.create_app("genapp").await;
    let r = app
        .backend(
            "/signin/generate-token",
            &json!({"userId": "u9", "timeToLive": "30"}),
        )
        .await;
    let token = r.ok()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("verify_"));
    let v = app.verify(&token).await;
    let body = v.ok();
    assert_eq!(body["type"], "generated_signin");
    assert_eq!(body["userId"], "u9");
    assert_eq!(body["purpose"], "sign-in");
    let issued = chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires - issued).num_seconds(), 30);
    app.verify(&token).await.problem(400, "invalid_token");
}

#[tokio::test]
async fn api_prefix_and_health() {
    let server = TestServer::start().await;
    let app = server.create_app("prefixapp").await;
    let r = server
        .post(
            "/api/register/token",
            &[("ApiSecret", &app.secret)],
            &json!({"userId": "u", "username": "n"}),
        )
        .await;
    assert!(r.ok()["token"].as_str().unwrap().starts_with("register_"));

    let r = server.get("/health/http", &[]).await;
    assert_eq!((r.status, r.text.as_str()), (200, "Healthy"));
    let r = server.get("/health/storage", &[]).await;
    assert_eq!(r.ok()["status"], "Healthy");
    assert_eq!(r.body["results"]["db"]["status"], "Healthy");
    let r = server.get("/api/health/version", &[]).await;
    assert!(r.ok()["results"]["version"]["data"]["version"].is_string());
    let r = server.get("/", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("passkeyd"));
}
