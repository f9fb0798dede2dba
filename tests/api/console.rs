//! The admin console at `/console`: off without a management key, sign-in and its cookie,
//! the security headers, form tokens, sign-out, and bad input answered with 4xx pages.

use crate::support::server::{TestServer, MANAGEMENT_KEY};

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The form token the page's forms carry.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.text.find(marker).expect("a form token on the page") + marker.len();
        let end = self.text[start..].find('"').expect("end of the token");
        self.text[start..start + end].to_owned()
    }
}

/// A browser-like client of the console: no redirects followed, one cookie kept by hand.
struct Browser<'a> {
    server: &'a TestServer,
    http: reqwest::Client,
    cookie: Option<String>,
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

impl<'a> Browser<'a> {
    fn new(server: &'a TestServer) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            server,
            http,
            cookie: None,
        }
    }

    async fn send(&self, mut req: reqwest::RequestBuilder) -> Page {
        if let Some(c) = &self.cookie {
            req = req.header("cookie", format!("passkeyd_console={c}"));
        }
        let r = req.send().await.expect("HTTP request");
        Page {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.expect("body"),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.server.base)))
            .await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_raw(path, form(fields).into_bytes(), &[]).await
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// Signs in with the management key and keeps the cookie.
    async fn sign_in(&mut self) -> Page {
        let r = self
            .post("/console/signin", &[("key", MANAGEMENT_KEY)])
            .await;
        assert_eq!(r.status, 303, "{}", r.text);
        let cookie = r.header("set-cookie");
        let value = cookie
            .strip_prefix("passkeyd_console=")
            .and_then(|rest| rest.split(';').next())
            .expect("the console cookie");
        self.cookie = Some(value.to_owned());
        r
    }

    /// The form token of the signed-in session.
    async fn csrf(&self) -> String {
        self.get("/console/apps").await.csrf()
    }
}

#[tokio::test]
async fn off_without_a_management_key() {
    let server = TestServer::start_with(&[("PASSKEYD_MANAGEMENT_KEY", "")]).await;
    let b = Browser::new(&server);
    for path in [
        "/console",
        "/console/signin",
        "/console/apps",
        "/console/static/console.css",
    ] {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }
    let r = b.post("/console/signin", &[("key", "")]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_pages_need_a_session() {
    let server = TestServer::start().await;
    let b = Browser::new(&server);
    let r = b.get("/console/apps").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/console/signin");
    for key in ["wrong", "", &MANAGEMENT_KEY[1..]] {
        let r = b.post("/console/signin", &[("key", key)]).await;
        assert_eq!(r.status, 401, "{key}");
        assert!(r.header("set-cookie").is_empty());
        assert!(r.text.contains("not the management key"));
    }
    // A made-up cookie is no session either.
    let mut b = Browser::new(&server);
    b.cookie = Some("console_madeup".into());
    assert_eq!(b.get("/console/apps").await.status, 303);
}

#[tokio::test]
async fn failed_sign_ins_count_against_the_address() {
    let server = TestServer::start_with(&[("PASSKEYD_RATE_LIMIT_FAILED_AUTH_PER_IP", "2")]).await;
    let b = Browser::new(&server);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(b.post("/console/signin", &[("key", "wrong")]).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    // Even the right key waits now.
    let r = b.post("/console/signin", &[("key", MANAGEMENT_KEY)]).await;
    assert_eq!(r.status, 429);
}

#[tokio::test]
async fn the_cookie_is_http_only_strict_and_secure_off_localhost() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    let r = b.sign_in().await;
    let cookie = r.header("set-cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    // 127.0.0.1 is local: a plain-HTTP development console must still work.
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(r.header("location"), "/console/apps");
    assert_eq!(b.get("/console/apps").await.status, 200);

    let r = b
        .post_raw(
            "/console/signin",
            form(&[("key", MANAGEMENT_KEY)]).into_bytes(),
            &[("host", "console.example.com")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").contains("; Secure"));
}

#[tokio::test]
async fn every_page_sends_a_strict_policy() {
    let server = TestServer::start().await;
    let app = server.create_app("headers").await;
    let mut b = Browser::new(&server);
    b.sign_in().await;
    let paths = [
        "/console/apps".to_owned(),
        "/console/apps?q=head".to_owned(),
        "/console/health".to_owned(),
        format!("/console/apps/{}", app.app_id),
        format!("/console/apps/{}/keys", app.app_id),
        format!("/console/apps/{}/users", app.app_id),
        format!("/console/apps/{}/user?id=someone", app.app_id),
        format!("/console/apps/{}/events", app.app_id),
        format!("/console/apps/{}/reports", app.app_id),
        format!("/console/apps/{}/settings", app.app_id),
        format!("/console/apps/{}/confirm?action=freeze", app.app_id),
    ];
    for path in &paths {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.header("content-security-policy"), CSP, "{path}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
        assert!(r.header("content-type").starts_with("text/html"), "{path}");
        // Inline styles and scripts would be blocked by the policy: there must be none.
        assert!(!r.text.contains("style=\""), "{path}");
        assert!(!r.text.contains("<script>"), "{path}");
    }
    // The sign-in page and errors carry it too.
    let anon = Browser::new(&server);
    assert_eq!(
        anon.get("/console/signin")
            .await
            .header("content-security-policy"),
        CSP
    );
    // A stored secret is never on a page: only its last four characters.
    let keys = b.get(&format!("/console/apps/{}/keys", app.app_id)).await;
    assert!(!keys.text.contains(&app.secret));
    assert!(keys.text.contains(&app.secret[app.secret.len() - 4..]));
    assert!(keys.text.contains(&app.public_key));
}

#[tokio::test]
async fn a_post_without_the_form_token_changes_nothing() {
    let server = TestServer::start().await;
    let app = server.create_app("csrfapp").await;
    let mut b = Browser::new(&server);
    b.sign_in().await;
    let csrf = b.csrf().await;
    let action = format!("/console/apps/{}/action", app.app_id);

    let r = b.post(&action, &[("action", "freeze")]).await;
    assert_eq!(r.status, 403);
    let r = b
        .post(&action, &[("action", "freeze"), ("csrf", "not-the-token")])
        .await;
    assert_eq!(r.status, 403);
    // The right token from another site.
    let r = b
        .post_raw(
            &action,
            form(&[("action", "freeze"), ("csrf", &csrf)]).into_bytes(),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = b.post("/console/apps", &[("app_id", "sneaky")]).await;
    assert_eq!(r.status, 403);
    let stored = server.state.store.find_app(&app.app_id).await.unwrap();
    assert!(!stored.unwrap().frozen);
    assert!(server
        .state
        .store
        .find_app("sneaky")
        .await
        .unwrap()
        .is_none());

    // With the token (and our own origin) it works.
    let origin = server.base.clone();
    let r = b
        .post_raw(
            &action,
            form(&[("action", "freeze"), ("csrf", &csrf)]).into_bytes(),
            &[("origin", &origin)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let stored = server.state.store.find_app(&app.app_id).await.unwrap();
    assert!(stored.unwrap().frozen);
}

#[tokio::test]
async fn changes_are_logged_as_the_console() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    b.sign_in().await;
    let csrf = b.csrf().await;
    let r = b
        .post(
            "/console/apps",
            &[
                ("app_id", "logged"),
                ("event_logging", "on"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.contains("logged:secret:"));
    let action = "/console/apps/logged/action";
    for step in ["freeze", "unfreeze"] {
        let r = b.post(action, &[("action", step), ("csrf", &csrf)]).await;
        assert_eq!(r.status, 303, "{step}: {}", r.text);
    }
    // The features form sends every field back; an unchanged retention (365 at creation) is
    // no change, though a new value must be 0..90.
    let features = [
        ("action", "features"),
        ("event_logging", "on"),
        ("retention", "365"),
        ("magic_quota", "2000"),
        ("allowed_origins", "https://shop.example\n\n"),
        ("csrf", &csrf),
    ];
    let r = b.post(action, &features).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let stored = server
        .state
        .store
        .find_app("logged")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.features.allowed_origins, ["https://shop.example"]);
    assert_eq!(stored.features.event_logging_retention_days, 365);
    let r = b
        .post(action, &[("action", "create-secret-key"), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 201);
    assert!(r.text.contains("logged:secret:"));

    let r = b.get("/console/apps/logged/events?q=console").await;
    assert_eq!(r.status, 200);
    for kind in [
        "ApiManagementAppCreated",
        "ApiManagementAppFrozen",
        "ApiManagementAppUnfrozen",
        "AdminApiKeyCreated",
        "AdminAppFeaturesChanged",
    ] {
        assert!(r.text.contains(kind), "{kind} missing:\n{}", r.text);
    }
    let events = server
        .state
        .store
        .list_events("logged", 0, 100)
        .await
        .unwrap()
        .0;
    assert!(events.len() >= 4);
    assert!(events.iter().all(|e| e.performed_by == "console"));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let server = TestServer::start().await;
    let mut b = Browser::new(&server);
    b.sign_in().await;
    let csrf = b.csrf().await;
    // Signing out is a change too: it needs the token.
    assert_eq!(b.post("/console/signout", &[]).await.status, 403);
    let r = b.post("/console/signout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    // The old cookie, kept by an attacker, no longer works.
    let r = b.get("/console/apps").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/console/signin");
    let r = b
        .post(
            "/console/apps",
            &[("app_id", "afterwards"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(server
        .state
        .store
        .find_app("afterwards")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn bad_input_is_a_4xx_page() {
    let server = TestServer::start().await;
    let app = server.create_app("badinput").await;
    let other = server.create_app("otherapp").await;
    let mut b = Browser::new(&server);
    b.sign_in().await;
    let csrf = b.csrf().await;
    let action = format!("/console/apps/{}/action", app.app_id);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("action", "nonsense")],
        vec![("action", "lock-key")],
        vec![("action", "lock-key"), ("key", "\u{0}zzz")],
        vec![("action", "delete-key"), ("key", "<script>")],
        vec![("action", "features"), ("retention", "soon")],
        vec![
            ("action", "features"),
            ("retention", "99999999999999999999"),
        ],
        vec![("action", "features"), ("allowed_origins", "not an origin")],
        vec![("action", "delete-passkey"), ("credential", "!!!")],
        vec![("action", "delete-passkey")],
        vec![("action", "delete-user")],
        vec![("action", "add-purpose"), ("purpose", "bad purpose!")],
        vec![("action", "add-purpose"), ("purpose", "p"), ("ttl", "-5")],
        vec![("action", "add-purpose"), ("purpose", "p"), ("hint", "x")],
        vec![("action", "delete-purpose"), ("purpose", "sign-in")],
        vec![("action", "add-authenticator"), ("aaguid", "nope")],
        vec![("action", "remove-authenticator")],
    ];
    for fields in &cases {
        let mut fields = fields.clone();
        fields.push(("csrf", &csrf));
        let r = b.post(&action, &fields).await;
        assert!(
            (400..500).contains(&r.status),
            "{fields:?} answered {}: {}",
            r.status,
            r.text
        );
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(!r.text.contains("<script>"), "reflected: {}", r.text);
    }
    // Bytes that are not a form at all.
    let r = b
        .post_raw(&action, vec![0xff, 0xfe, b'=', b'%', 0x00], &[])
        .await;
    assert_eq!(r.status, 403);
    let mut body = form(&[("csrf", &csrf), ("action", "freeze")]).into_bytes();
    body.extend_from_slice(b"&\xff\xfe=%zz");
    assert_eq!(b.post_raw(&action, body, &[]).await.status, 303);

    for bad_id in ["BAD", "1abc", "a", "has-dash", "<b>x</b>", "otherapp"] {
        let r = b
            .post("/console/apps", &[("app_id", bad_id), ("csrf", &csrf)])
            .await;
        assert!((400..500).contains(&r.status), "{bad_id}: {}", r.status);
    }
    for path in [
        "/console/apps/nosuchapp".to_owned(),
        "/console/apps/nosuchapp/keys".to_owned(),
        "/console/apps/nosuchapp/user?id=x".to_owned(),
        format!("/console/apps/{}/confirm?action=zzz", app.app_id),
        format!("/console/apps/{}/confirm", app.app_id),
    ] {
        let r = b.get(&path).await;
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
    }
    for path in [
        format!("/console/apps/{}/reports?days=many", app.app_id),
        format!("/console/apps/{}/reports?days=-99999999999", app.app_id),
        format!("/console/apps/{}/users?q=%00%ff", app.app_id),
        format!("/console/apps/{}/events?type=%3Cb%3E", app.app_id),
        "/console/apps?q=%25%5F%27".to_owned(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }

    // Isolation: a key of another app cannot be locked or deleted through this app.
    let other_keys = server
        .state
        .store
        .list_api_keys(&other.app_id)
        .await
        .unwrap();
    for k in &other_keys {
        for step in ["lock-key", "delete-key"] {
            let r = b
                .post(
                    &action,
                    &[("action", step), ("key", &k.key_id), ("csrf", &csrf)],
                )
                .await;
            // Key ids can repeat across apps; this app's own key of that id may be hit, never
            // the other app's.
            assert!(r.status == 303 || r.status == 404, "{}", r.status);
        }
    }
    let after = server
        .state
        .store
        .list_api_keys(&other.app_id)
        .await
        .unwrap();
    assert_eq!(after.len(), other_keys.len());
    assert!(after.iter().all(|k| !k.locked));
}

#[tokio::test]
async fn one_app_cannot_reach_another_apps_users() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use crate::ceremonies::register;
    use crate::support::authenticator::TestAuthenticator;

    let server = TestServer::start().await;
    let mine = server.create_app("mineapp").await;
    let theirs = server.create_app("theirapp").await;
    let mut auth = TestAuthenticator::new();
    register(&theirs, &mut auth, "user-1", &["alice@example.com"]).await;
    let stored = server
        .state
        .store
        .list_credentials("theirapp", "user-1")
        .await
        .unwrap();
    let credential = URL_SAFE_NO_PAD.encode(&stored[0].credential_id);

    let mut b = Browser::new(&server);
    b.sign_in().await;
    let csrf = b.csrf().await;
    // Their user is found in their app, by id and by alias, and shown with the passkey.
    let r = b
        .get("/console/apps/theirapp/users?q=alice%40example.com")
        .await;
    assert!(r.text.contains("user-1"), "{}", r.text);
    let r = b.get("/console/apps/theirapp/user?id=user-1").await;
    assert_eq!(r.text.matches("class=\"passkey\"").count(), 1);
    // Through my app: not found, and deleting changes nothing of theirs.
    let r = b
        .get("/console/apps/mineapp/users?q=alice%40example.com")
        .await;
    assert!(!r.text.contains("user-1"));
    let r = b.get("/console/apps/mineapp/user?id=user-1").await;
    assert!(!r.text.contains("class=\"passkey\""));
    let action = format!("/console/apps/{}/action", mine.app_id);
    for fields in [
        [
            ("action", "delete-passkey"),
            ("credential", credential.as_str()),
        ],
        [("action", "delete-user"), ("user", "user-1")],
    ] {
        let mut fields = fields.to_vec();
        fields.push(("csrf", &csrf));
        let r = b.post(&action, &fields).await;
        assert_eq!(r.status, 303, "{}", r.text);
    }
    let after = server
        .state
        .store
        .list_credentials("theirapp", "user-1")
        .await
        .unwrap();
    assert_eq!(after.len(), 1);

    // In their app the passkey goes.
    let r = b
        .post(
            "/console/apps/theirapp/action",
            &[
                ("action", "delete-passkey"),
                ("credential", &credential),
                ("user", "user-1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        "/console/apps/theirapp/user?id=user-1&done=passkey-deleted"
    );
    let after = server
        .state
        .store
        .list_credentials("theirapp", "user-1")
        .await
        .unwrap();
    assert!(after.is_empty());
}
