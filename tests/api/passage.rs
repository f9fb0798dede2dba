//! The Passage-style backend API (`/v1/apps/{app_id}/…`, `Authorization: Bearer <ApiSecret>`):
//! users, devices, status, token revocation and magic links, over real passkeys.

use serde_json::{json, Value};

use crate::ceremonies::{register, sign_in};
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::server::{Resp, TestApp, TestServer, ORIGIN, RP_ID};

async fn call(
    app: &TestApp<'_>,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Resp {
    let server = app.server;
    let mut req = server
        .http
        .request(
            method,
            format!("{}/v1/apps/{}{path}", server.base, app.app_id),
        )
        .bearer_auth(&app.secret);
    if let Some(body) = body {
        req = req.json(body);
    }
    server.send(req).await
}

async fn get(app: &TestApp<'_>, path: &str) -> Resp {
    call(app, reqwest::Method::GET, path, None).await
}

/// Asserts a Passage-style error: the problem document with `code` and `error` members.
#[track_caller]
fn passage_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.text);
    assert_eq!(r.body["code"], code, "body: {}", r.text);
    assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}

async fn create_user(app: &TestApp<'_>, body: &Value) -> Value {
    let r = call(app, reqwest::Method::POST, "/users", Some(body)).await;
    assert_eq!(r.status, 201, "body: {}", r.text);
    r.body["user"].clone()
}

async fn set_origin_policy(server: &TestServer, app_id: &str) {
    server
        .admin(
            reqwest::Method::POST,
            &format!("/admin/apps/{app_id}/features"),
            Some(&json!({"allowedOrigins": [ORIGIN], "allowedRpIds": [RP_ID]})),
        )
        .await;
}

#[tokio::test]
async fn app_info_has_the_arrays_the_sdk_maps() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    set_origin_policy(&server, "shop").await;
    let r = get(&app, "").await;
    let info = &r.ok()["app"];
    assert_eq!(info["id"], "shop");
    assert_eq!(info["auth_origin"], ORIGIN);
    assert!(info["user_metadata_schema"].is_array());
    assert!(info["technologies"].is_array());
    assert!(info["layouts"]["profile"].is_array());
    assert_eq!(info["session_timeout_length"], 3600);
}

#[tokio::test]
async fn users_are_created_read_found_updated_and_deleted() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let user = create_user(
        &app,
        &json!({"email": "Alice@Example.com", "user_metadata": {"plan": "pro"}}),
    )
    .await;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    assert_eq!(user["external_id"], id.as_str());
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["phone"], "");
    assert_eq!(user["status"], "active");
    assert_eq!(user["user_metadata"], json!({"plan": "pro"}));
    assert_eq!(user["webauthn"], false);
    for array in ["webauthn_devices", "webauthn_types", "recent_events"] {
        assert_eq!(user[array], json!([]), "{array}");
    }
    assert_eq!(user["login_count"], 0);

    let r = get(&app, &format!("/users/{id}")).await;
    assert_eq!(r.ok()["user"]["email"], "alice@example.com");

    // Lookup by identifier: the e-mail (an alias) or the id.
    for identifier in ["alice@example.com", id.as_str()] {
        let r = get(&app, &format!("/users?limit=1&identifier={identifier}")).await;
        let list = r.ok();
        assert_eq!(list["users"][0]["id"], id.as_str(), "{identifier}");
        assert_eq!(list["total_users"], 1);
        assert!(list["_links"]["self"]["href"].is_string());
    }
    let r = get(&app, "/users?limit=1&identifier=nobody@example.com").await;
    assert_eq!(r.ok()["users"], json!([]));
    // The SDK lower-cases identifiers; an id in capitals is still found.
    create_user(&app, &json!({"external_id": "Mixed-Case-1"})).await;
    let r = get(&app, "/users?limit=1&identifier=mixed-case-1").await;
    assert_eq!(r.ok()["users"][0]["id"], "Mixed-Case-1");

    // The e-mail is an alias: a sign-in by it names this user.
    let aliases = server
        .get(
            &format!("/alias/list?userId={id}"),
            &[("ApiSecret", &app.secret)],
        )
        .await;
    assert!(
        aliases.text.contains("alice@example.com"),
        "{}",
        aliases.text
    );

    let r = call(
        &app,
        reqwest::Method::PATCH,
        &format!("/users/{id}"),
        Some(&json!({"email": "alice@new.example", "phone": "+15551234567", "user_metadata": {"plan": "free"}})),
    )
    .await;
    let updated = &r.ok()["user"];
    assert_eq!(updated["email"], "alice@new.example");
    assert_eq!(updated["phone"], "+15551234567");
    assert_eq!(updated["user_metadata"]["plan"], "free");
    let r = get(&app, "/users?limit=1&identifier=alice@example.com").await;
    assert_eq!(
        r.ok()["users"],
        json!([]),
        "the old e-mail no longer finds her"
    );
    let r = get(&app, "/users?limit=1&identifier=%2B15551234567").await;
    assert_eq!(r.ok()["users"][0]["id"], id.as_str());

    // Bad input: clear 400s; a taken identifier: 409; nothing changed.
    for body in [
        json!({"email": "not an address"}),
        json!({"phone": "555"}),
        json!({"user_metadata": [1, 2]}),
        json!({"user_metadata": {"x": "y".repeat(17_000)}}),
    ] {
        let r = call(
            &app,
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            Some(&body),
        )
        .await;
        passage_error(&r, 400, "invalid_request");
    }
    let other = create_user(&app, &json!({"email": "bob@example.com"})).await;
    let r = call(
        &app,
        reqwest::Method::PATCH,
        &format!("/users/{}", other["id"].as_str().unwrap()),
        Some(&json!({"email": "alice@new.example"})),
    )
    .await;
    passage_error(&r, 409, "identifier_already_exists");
    let r = call(
        &app,
        reqwest::Method::POST,
        "/users",
        Some(&json!({"email": "bob@example.com"})),
    )
    .await;
    passage_error(&r, 409, "identifier_already_exists");
    let r = get(&app, &format!("/users/{id}")).await;
    assert_eq!(r.ok()["user"]["email"], "alice@new.example");

    let r = call(&app, reqwest::Method::DELETE, &format!("/users/{id}"), None).await;
    r.ok();
    passage_error(
        &get(&app, &format!("/users/{id}")).await,
        404,
        "user_not_found",
    );
    let r = call(&app, reqwest::Method::DELETE, &format!("/users/{id}"), None).await;
    passage_error(&r, 404, "user_not_found");
}

#[tokio::test]
async fn devices_count_sign_ins_can_be_renamed_and_revoked() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let user = create_user(&app, &json!({"email": "carol@example.com"})).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, &id, &[]).await;

    let r = get(&app, &format!("/users/{id}/devices")).await;
    let devices = r.ok()["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 1);
    let device = &devices[0];
    assert_eq!(device["friendly_name"], "my key");
    assert_eq!(device["usage_count"], 0);
    assert_eq!(device["last_login_at"], "0001-01-01T00:00:00Z");
    assert!(["passkey", "security_key", "platform"].contains(&device["type"].as_str().unwrap()));
    assert!(device["icons"].is_object());
    let device_id = device["id"].as_str().unwrap().to_owned();

    server.clock.advance(chrono::Duration::seconds(5));
    let token = sign_in(&app, &mut auth, &json!({"userId": id}), &Tweaks::default()).await;
    app.verify(&token).await.ok();
    let r = get(&app, &format!("/users/{id}")).await;
    let user = &r.ok()["user"];
    assert_eq!(user["login_count"], 1);
    assert_ne!(user["last_login_at"], "0001-01-01T00:00:00Z");
    assert_eq!(user["webauthn"], true);
    assert_eq!(user["webauthn_devices"][0]["usage_count"], 1);
    assert_eq!(user["webauthn_types"].as_array().unwrap().len(), 1);

    let r = call(
        &app,
        reqwest::Method::PATCH,
        &format!("/users/{id}/devices/{device_id}"),
        Some(&json!({"friendly_name": "Work laptop"})),
    )
    .await;
    assert_eq!(r.ok()["device"]["friendly_name"], "Work laptop");

    // Another user's path does not reach this device.
    let other = create_user(&app, &json!({"email": "dave@example.com"})).await;
    let other_id = other["id"].as_str().unwrap();
    let r = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/users/{other_id}/devices/{device_id}"),
        None,
    )
    .await;
    passage_error(&r, 404, "device_not_found");

    let r = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/users/{id}/devices/{device_id}"),
        None,
    )
    .await;
    r.ok();
    let r = get(&app, &format!("/users/{id}/devices")).await;
    assert_eq!(r.ok()["devices"], json!([]));
    // The revoked passkey no longer signs in.
    let (options, session) = app.signin_begin(&json!({})).await;
    let assertion = auth.get_with(&options, ORIGIN, &Tweaks::default());
    app.signin_complete(&session, &assertion)
        .await
        .problem(400, "unknown_credential");
}

#[tokio::test]
async fn a_deactivated_user_cannot_register_sign_in_or_start_a_session() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "erin", &[]).await;
    let pending = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "erin"}),
        &Tweaks::default(),
    )
    .await;
    let (options, session) = app.signin_begin(&json!({})).await;

    let r = call(&app, reqwest::Method::PATCH, "/users/erin/deactivate", None).await;
    assert_eq!(r.ok()["user"]["status"], "inactive");

    // The token from before cannot become a session; a sign-in started before cannot finish.
    app.backend("/signin/session", &json!({ "token": pending }))
        .await
        .problem(403, "user_inactive");
    let assertion = auth.get_with(&options, ORIGIN, &Tweaks::default());
    app.signin_complete(&session, &assertion)
        .await
        .problem(403, "user_inactive");
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "erin", "username": "erin"}),
        )
        .await;
    r.problem(403, "user_inactive");
    let r = get(&app, "/users?status=inactive").await;
    assert_eq!(r.ok()["users"][0]["id"], "erin");

    let r = call(&app, reqwest::Method::PATCH, "/users/erin/activate", None).await;
    assert_eq!(r.ok()["user"]["status"], "active");
    server.clock.advance(chrono::Duration::seconds(1));
    let token = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "erin"}),
        &Tweaks::default(),
    )
    .await;
    let r = app
        .backend("/signin/session", &json!({ "token": token }))
        .await;
    assert!(r.ok()["authToken"].is_string());
    let r = get(&app, "/users/erin").await;
    assert_eq!(
        r.ok()["user"]["login_count"],
        2,
        "the refused sign-in did not count"
    );
}

#[tokio::test]
async fn revoking_a_users_tokens_refuses_earlier_sign_ins() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    register(&app, &mut auth, "frank", &[]).await;
    let earlier = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "frank"}),
        &Tweaks::default(),
    )
    .await;
    call(&app, reqwest::Method::DELETE, "/users/frank/tokens", None)
        .await
        .ok();
    app.backend("/signin/session", &json!({ "token": earlier }))
        .await
        .problem(403, "token_revoked");
    server.clock.advance(chrono::Duration::seconds(1));
    let later = sign_in(
        &app,
        &mut auth,
        &json!({"userId": "frank"}),
        &Tweaks::default(),
    )
    .await;
    app.backend("/signin/session", &json!({ "token": later }))
        .await
        .ok();
    let r = call(&app, reqwest::Method::DELETE, "/users/nobody/tokens", None).await;
    passage_error(&r, 404, "user_not_found");
}

#[tokio::test]
async fn users_are_listed_in_pages_with_filters() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    for n in 0..5 {
        create_user(&app, &json!({"email": format!("u{n}@example.com")})).await;
        server.clock.advance(chrono::Duration::seconds(1));
    }
    let r = get(&app, "/users?limit=2&page=2").await;
    let page = r.ok();
    assert_eq!(page["total_users"], 5);
    assert_eq!(page["page"], 2);
    assert_eq!(page["limit"], 2);
    let emails: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["u2@example.com", "u3@example.com"]);
    let r = get(&app, "/users?limit=1&order_by=created_at:DESC").await;
    assert_eq!(r.ok()["users"][0]["email"], "u4@example.com");
    let r = get(&app, "/users?email=u1@example.com").await;
    assert_eq!(r.ok()["total_users"], 1);

    for query in [
        "limit=0",
        "limit=501",
        "page=0",
        "limit=x",
        "order_by=nope",
        "status=gone",
        "created_at=1",
    ] {
        let r = get(&app, &format!("/users?{query}")).await;
        passage_error(&r, 400, "invalid_request");
    }
}

#[tokio::test]
async fn magic_links_point_at_the_apps_origin_and_work_once() {
    let server = TestServer::start().await;
    let app = server.create_app("shop").await;
    let user = create_user(&app, &json!({"email": "gail@example.com"})).await;
    let id = user["id"].as_str().unwrap().to_owned();

    // No origin policy and no full redirect_url: nowhere to point.
    let body = json!({"email": "gail@example.com", "channel": "email", "send": false, "magic_link_path": "/magic"});
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&body)).await;
    passage_error(&r, 400, "invalid_request");
    assert_eq!(r.body["errorCode"], "magic_link_origin_missing");

    set_origin_policy(&server, "shop").await;
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let link = &r.body["magic_link"];
    assert_eq!(link["user_id"], id.as_str());
    assert_eq!(link["identifier"], "gail@example.com");
    assert_eq!(link["type"], "login");
    assert_eq!(link["ttl"], 15);
    let url = url::Url::parse(link["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.origin().ascii_serialization(), ORIGIN);
    assert_eq!(url.path(), "/magic");
    let token = url
        .query_pairs()
        .find(|(k, _)| k == "psg_magic_link")
        .map(|(_, v)| v.into_owned())
        .expect("token in the URL");

    let r = app
        .backend("/signin/session", &json!({ "token": token }))
        .await;
    let session = r.ok();
    assert_eq!(session["userId"], id.as_str());
    assert_eq!(session["type"], "magic_link");
    // Following the link proved the address.
    let r = get(&app, &format!("/users/{id}")).await;
    assert_eq!(r.ok()["user"]["email_verified"], true);
    app.backend("/signin/session", &json!({ "token": token }))
        .await
        .problem(400, "invalid_token");

    // A full redirect_url must stay on the app's origins; a relative one is a path.
    let off = json!({"user_id": id, "send": false, "redirect_url": "https://evil.example/x"});
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&off)).await;
    passage_error(&r, 400, "invalid_request");
    let on = json!({"user_id": id, "send": false, "redirect_url": format!("{ORIGIN}/welcome"), "type": "verify_identifier", "ttl": 60});
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&on)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["magic_link"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{ORIGIN}/welcome?psg_magic_link=verify_")));
    assert_eq!(r.body["magic_link"]["type"], "verify_identifier");
    assert_eq!(r.body["magic_link"]["ttl"], 60);

    // A relative redirect_url is where the app goes afterwards: echoed, not the link's path.
    let relative = json!({"user_id": id, "send": false, "magic_link_path": "/magic", "redirect_url": "/after"});
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&relative)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["magic_link"]["redirect_url"], "/after");
    let url = url::Url::parse(r.body["magic_link"]["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/magic");

    for bad in [
        json!({"user_id": id, "send": false, "ttl": 100_000}),
        json!({"user_id": id, "send": false, "type": "other"}),
        json!({"send": false}),
        json!({"user_id": id, "send": false, "magic_link_path": "//evil.example"}),
    ] {
        let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&bad)).await;
        passage_error(&r, 400, "invalid_request");
    }
    let r = call(
        &app,
        reqwest::Method::POST,
        "/magic-links",
        Some(&json!({"email": "nobody@example.com", "send": false})),
    )
    .await;
    passage_error(&r, 404, "user_not_found");
    // Sending needs mail settings, which this server has none of.
    let r = call(
        &app,
        reqwest::Method::POST,
        "/magic-links",
        Some(&json!({"user_id": id, "send": true})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["errorCode"], "mail_not_configured");
}

#[tokio::test]
async fn another_apps_secret_gets_nothing_and_changes_nothing() {
    let server = TestServer::start().await;
    let shop = server.create_app("shop").await;
    let blog = server.create_app("blog").await;
    create_user(
        &shop,
        &json!({"email": "hana@example.com", "external_id": "hana"}),
    )
    .await;

    // blog's secret on shop's paths.
    let intruder = TestApp {
        server: &server,
        app_id: "shop".to_owned(),
        public_key: blog.public_key.clone(),
        secret: blog.secret.clone(),
    };
    for (method, path) in [
        (reqwest::Method::GET, ""),
        (reqwest::Method::GET, "/users"),
        (reqwest::Method::GET, "/users/hana"),
        (reqwest::Method::DELETE, "/users/hana"),
        (reqwest::Method::PATCH, "/users/hana/deactivate"),
        (reqwest::Method::DELETE, "/users/hana/tokens"),
    ] {
        let r = call(&intruder, method.clone(), path, None).await;
        passage_error(&r, 401, "invalid_access_token");
    }
    // The public key, no key, or another scheme: 401 too.
    for auth in [
        format!("Bearer {}", shop.public_key),
        String::new(),
        format!("Basic {}", shop.secret),
    ] {
        let mut req = server
            .http
            .get(format!("{}/v1/apps/shop/users/hana", server.base));
        if !auth.is_empty() {
            req = req.header("Authorization", auth);
        }
        passage_error(&server.send(req).await, 401, "invalid_access_token");
    }
    // blog does not see shop's user under its own app either.
    passage_error(&get(&blog, "/users/hana").await, 404, "user_not_found");
    let r = get(&blog, "/users?identifier=hana@example.com").await;
    assert_eq!(r.ok()["users"], json!([]));

    let r = get(&shop, "/users/hana").await;
    assert_eq!(r.ok()["user"]["status"], "active");

    // A malformed body on these routes still carries Passage's members.
    let req = server
        .http
        .post(format!("{}/v1/apps/shop/users", server.base))
        .bearer_auth(&shop.secret)
        .header("Content-Type", "application/json")
        .body("{not json");
    passage_error(&server.send(req).await, 400, "invalid_request");
}

#[tokio::test]
async fn device_icons_come_from_the_authenticator_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let aaguid = uuid::Uuid::from_bytes([0xAB; 16]);
    let icon = "data:image/png;base64,iVBORw0KGgo=";
    let blob = crate::support::mds::write_blob_with_icon(dir.path(), aaguid, icon);
    let server = TestServer::start_with(&[("PASSKEYD_MDS_FILE", blob.to_str().unwrap())]).await;
    let app = server.create_app("shop").await;
    let mut auth = TestAuthenticator::new();
    auth.aaguid = [0xAB; 16];
    register(&app, &mut auth, "ivan", &[]).await;
    let mut plain = TestAuthenticator::new();
    register(&app, &mut plain, "ivan", &[]).await;
    let r = get(&app, "/users/ivan/devices").await;
    let devices = r.ok()["devices"].as_array().unwrap().clone();
    assert_eq!(devices[0]["icons"], json!({"light": icon, "dark": icon}));
    assert_eq!(
        devices[1]["icons"],
        json!({"light": null, "dark": null}),
        "no metadata, no icon"
    );
}

#[tokio::test]
async fn magic_links_with_send_are_mailed() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let server = TestServer::start_with(&[
        ("PASSKEYD_SMTP_URL", &sink.url()),
        ("PASSKEYD_MAIL_FROM", "passkeyd@example.com"),
        ("PASSKEYD_MAGIC_LINK_NEW_APP_HOURS", "0"),
    ])
    .await;
    let app = server.create_app("shop").await;
    server
        .admin(
            reqwest::Method::POST,
            "/admin/apps/shop/features",
            Some(&json!({"allowedOrigins": [ORIGIN], "allowedRpIds": [RP_ID], "magicLinkEmailMonthlyQuota": 100})),
        )
        .await;
    let user = create_user(&app, &json!({"email": "judy@example.com"})).await;
    let body = json!({"user_id": user["id"], "send": true, "magic_link_path": "/magic"});
    let r = call(&app, reqwest::Method::POST, "/magic-links", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.body["magic_link"]["url"].as_str().unwrap().to_owned();
    let mails = sink.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["judy@example.com".to_owned()]);
    assert!(
        mails[0]
            .data
            .replace("=\r\n", "")
            .replace("=3D", "=")
            .contains(&url)
            || mails[0]
                .data
                .contains(url.split("psg_magic_link=").nth(1).unwrap()),
        "the mail carries the link"
    );
    // A phone has no mail: sending by phone is refused before anything is issued.
    let r = call(
        &app,
        reqwest::Method::POST,
        "/magic-links",
        Some(&json!({"user_id": user["id"], "send": true, "channel": "phone"})),
    )
    .await;
    assert_eq!(r.body["errorCode"], "sms_not_supported", "{}", r.text);
}
