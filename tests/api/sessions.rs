//! Session JWTs: `/signin/session`, the JWKS, lifetimes and key rotation, checked by an
//! independent RS256 verifier (jsonwebtoken) against the keys passkeyd publishes.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{TestApp, TestServer};

/// A passkey for `user_id` and a fresh sign-in; returns the verify token.
async fn signed_in(app: &TestApp<'_>, auth: &mut TestAuthenticator, user_id: &str) -> String {
    register(app, auth, user_id, &[]).await;
    sign_in(app, auth, &json!({"userId": user_id}), &Tweaks::default()).await
}

async fn session(app: &TestApp<'_>, token: &str) -> crate::support::server::Resp {
    app.backend("/signin/session", &json!({ "token": token }))
        .await
}

async fn jwks(server: &TestServer, app_id: &str) -> Value {
    let r = server
        .get(&format!("/v1/apps/{app_id}/.well-known/jwks.json"), &[])
        .await;
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    r.ok().clone()
}

/// Verifies `token` as a relying backend would: the key named by `kid` from `set`, RS256 only,
/// the app as audience, passkeyd as issuer, no leeway.
fn verify(token: &str, set: &Value, app_id: &str) -> Result<Value, String> {
    let kid = decode_header(token)
        .map_err(|e| e.to_string())?
        .kid
        .ok_or("no kid")?;
    let jwk = set["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .ok_or_else(|| format!("kid {kid} is not in the set"))?;
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().ok_or("n")?,
        jwk["e"].as_str().ok_or("e")?,
    )
    .map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[app_id]);
    validation.set_issuer(&["passkeyd"]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| format!("{:?}", e.kind()))
}

#[tokio::test]
async fn a_session_jwt_verifies_against_the_apps_published_keys() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    let token = signed_in(&app, &mut auth, "user-1").await;

    let r = session(&app, &token).await;
    let body = r.ok();
    assert_eq!(body["userId"], "user-1");
    assert_eq!(body["type"], "passkey_signin");
    assert_eq!(body["success"], true);
    let jwt = body["authToken"].as_str().expect("authToken");
    let claims = verify(jwt, &jwks(&server, "shop").await, "shop").expect("valid JWT");
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["aud"], json!(["shop"]));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600, "the default lifetime is an hour");
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["authTokenExpiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.timestamp(), exp);

    // The other address of the same set.
    let by_query = server.get("/.well-known/jwks.json?appId=shop", &[]).await;
    assert_eq!(by_query.ok(), &jwks(&server, "shop").await);
    let key = &by_query.ok()["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "no private member is published");

    // The verify token worked once: neither route takes it again.
    session(&app, &token).await.problem(400, "invalid_token");
    app.verify(&token).await.problem(400, "invalid_token");
}

#[tokio::test]
async fn tokens_of_another_app_and_tampered_tokens_do_not_verify() {
    let server = TestServer::start().await;
    let shop = server.create_app("shop").await;
    let blog = server.create_app("blog").await;
    let mut auth = TestAuthenticator::new();
    let token = signed_in(&shop, &mut auth, "user-1").await;
    let jwt = session(&shop, &token).await.ok()["authToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut other = TestAuthenticator::new();
    let blog_token = signed_in(&blog, &mut other, "user-1").await;
    session(&blog, &blog_token).await.ok();

    // Each app signs with its own key: blog's set does not hold shop's.
    let blog_keys = jwks(&server, "blog").await;
    let shop_keys = jwks(&server, "shop").await;
    assert_ne!(blog_keys["keys"][0]["kid"], shop_keys["keys"][0]["kid"]);
    assert!(verify(&jwt, &blog_keys, "blog")
        .unwrap_err()
        .contains("not in the set"));
    // Even with the right key, the audience is shop's alone.
    assert_eq!(
        verify(&jwt, &shop_keys, "blog").unwrap_err(),
        "InvalidAudience"
    );

    // One changed character of the payload breaks the signature.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload = parts[1].to_owned();
    let last = payload.pop().unwrap();
    payload.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(verify(&tampered, &shop_keys, "shop").is_err());

    // A verify token of shop is nothing to blog.
    let token = sign_in(
        &shop,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    session(&blog, &token).await.problem(400, "invalid_token");
    session(&shop, &token).await.ok();

    // A new app publishes its key before any session, so an early fetch caches no empty set.
    server.create_app("fresh").await;
    assert_eq!(
        jwks(&server, "fresh").await["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // JWKS of an unknown app.
    server
        .get("/v1/apps/nope/.well-known/jwks.json", &[])
        .await
        .problem(404, "app_not_found");
    server
        .get("/.well-known/jwks.json", &[])
        .await
        .problem(400, "validation_error");
}

#[tokio::test]
async fn lifetimes_are_per_app_and_expired_tokens_are_refused() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let path = "/admin/apps/shop/sessions";
    let r = server
        .admin(
            reqwest::Method::POST,
            path,
            Some(&json!({"lifetimeSeconds": 0})),
        )
        .await;
    r.problem(400, "validation_error");
    let r = server
        .admin(
            reqwest::Method::POST,
            path,
            Some(&json!({"lifetimeSeconds": 2_592_001})),
        )
        .await;
    r.problem(400, "validation_error");
    let r = server
        .admin(
            reqwest::Method::POST,
            path,
            Some(&json!({"lifetimeSeconds": 1})),
        )
        .await;
    assert_eq!(r.ok()["lifetimeSeconds"], 1);
    server
        .admin(reqwest::Method::GET, "/admin/apps/nope/sessions", None)
        .await
        .problem(404, "app_not_found");

    let mut auth = TestAuthenticator::new();
    let token = signed_in(&app, &mut auth, "user-1").await;
    let jwt = session(&app, &token).await.ok()["authToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = verify(&jwt, &jwks(&server, "shop").await, "shop");
    // The server's clock is the test's (frozen at start), so the token may be expired already;
    // either way its lifetime is one second, and after two it is refused.
    if let Ok(claims) = &claims {
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            1
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(
        verify(&jwt, &jwks(&server, "shop").await, "shop").unwrap_err(),
        "ExpiredSignature"
    );
}

#[tokio::test]
async fn a_rotated_key_stays_published_until_its_tokens_expire() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    let token = signed_in(&app, &mut auth, "user-1").await;
    let old = session(&app, &token).await.ok()["authToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = decode_header(&old).unwrap().kid.unwrap();

    let r = server
        .admin(
            reqwest::Method::POST,
            "/admin/apps/shop/sessions/rotate",
            None,
        )
        .await;
    let keys = r.ok()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let retired = keys.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert!(retired["retiredAt"].is_string());
    let until =
        chrono::DateTime::parse_from_rfc3339(retired["publishedUntil"].as_str().unwrap()).unwrap();
    let retired_at =
        chrono::DateTime::parse_from_rfc3339(retired["retiredAt"].as_str().unwrap()).unwrap();
    assert!(until - retired_at >= chrono::Duration::seconds(3600));

    let set = jwks(&server, "shop").await;
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    verify(&old, &set, "shop").expect("the old token still verifies");
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "user-1"}),
        &Tweaks::default(),
    )
    .await;
    let new = session(&app, &token).await.ok()["authToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_kid = decode_header(&new).unwrap().kid.unwrap();
    assert_ne!(new_kid, old_kid, "new sessions are signed with the new key");
    verify(&new, &set, "shop").expect("the new token verifies");

    // Once the old key's tokens have all expired, it is no longer published.
    server.clock.advance(chrono::Duration::seconds(3600 + 301));
    let set = jwks(&server, "shop").await;
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str()]);
}
