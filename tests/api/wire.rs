//! Wire rules that break real clients when missed: auth problems, CORS, content types,
//! case-insensitive keys, problem documents for every bad input.

use serde_json::json;

use crate::support::server::{TestServer, ORIGIN, RP_ID};

#[tokio::test]
async fn the_401_detail_table() {
    let server = TestServer::start().await;
    let app = server.create_app("authapp").await;
    let unknown_secret = format!("{}:secret:00000000000000000000000000000000", app.app_id);
    let wrong_secret = format!("{}0000", &app.secret[..app.secret.len() - 4]);
    let secret_cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("ApiSecret", "verify_abc")], "A verify token was supplied instead of your 'ApiSecret'."),
        (vec![("ApiSecret", "register_abc")], "A register token was supplied instead of your 'ApiSecret'."),
        (vec![("ApiSecret", &app.public_key)], "Your ApiSecret header contained a public ApiKey instead of your 'ApiSecret'."),
        (vec![("ApiSecret", "nonsense-value")], "We don't recognize the value you supplied for your 'ApiSecret'. It started with: 'nonsense-v'."),
        (vec![("ApiSecret", &unknown_secret)], "The value of your 'ApiSecret' is not valid."),
        (vec![("ApiSecret", &wrong_secret)], "The value of your 'ApiSecret' is not valid."),
        (vec![("ApiKey", &app.public_key)], "A 'ApiKey' header was supplied when a 'ApiSecret' header should have been supplied."),
        (vec![], "A valid 'ApiSecret' header is required."),
        (vec![("ApiSecret", "")], "A valid 'ApiSecret' header is required."),
    ];
    for (headers, detail) in secret_cases {
        let r = server
            .post(
                "/register/token",
                &headers,
                &json!({"userId": "u", "username": "n"}),
            )
            .await;
        let body = r.problem(401, "unauthorized");
        assert_eq!(
            body["type"],
            "https://docs.passwordless.dev/guide/errors.html#ApiSecret"
        );
        assert_eq!(body["title"], "A valid 'ApiSecret' header is required.");
        assert_eq!(body["detail"], detail, "headers {headers:?}");
        assert_eq!(r.header("www-authenticate"), Some("ApiSecret"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    let key_cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("ApiKey", &app.secret)],
            "Your ApiKey header contained a ApiSecret instead of your 'ApiKey'.",
        ),
        (
            vec![("ApiKey", "verify_x")],
            "A verify token was supplied instead of your 'ApiKey'.",
        ),
        (
            vec![("ApiSecret", &app.secret)],
            "A 'ApiSecret' header was supplied when a 'ApiKey' header should have been supplied.",
        ),
        (vec![], "A valid 'ApiKey' header is required."),
    ];
    for (headers, detail) in key_cases {
        let r = server.post("/signin/begin", &headers, &json!({})).await;
        let body = r.problem(401, "unauthorized");
        assert_eq!(
            body["type"],
            "https://docs.passwordless.dev/guide/errors.html#ApiKey"
        );
        assert_eq!(body["detail"], detail);
    }
    // Management: no detail.
    let r = server
        .get(
            "/admin/apps/someapp/available",
            &[("ManagementKey", "wrong")],
        )
        .await;
    let body = r.problem(401, "unauthorized");
    assert_eq!(body["title"], "A valid 'ManagementKey' header is required.");
    assert!(body.get("detail").is_none());
    // Authentication comes before the body is read: a bad key with a bad body is still 401.
    let r = server
        .post("/register/token", &[("ApiSecret", "x")], &json!([]))
        .await;
    r.problem(401, "unauthorized");
}

#[tokio::test]
async fn cors_on_success_error_and_preflight() {
    let server = TestServer::start().await;
    let app = server.create_app("corsapp").await;
    let r = server
        .send(
            server
                .http
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{}/register/begin", server.base),
                )
                .header("Origin", "http://localhost:3000")
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "apikey,client-version,content-type",
                ),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("apikey,client-version,content-type")
    );

    let ok = server
        .post(
            "/signin/begin",
            &[
                ("ApiKey", &app.public_key),
                ("Origin", "http://x"),
                ("Client-Version", "js-1.1.0"),
            ],
            &json!({"Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    assert_eq!(ok.status, 200);
    let err = server
        .post("/signin/begin", &[("Origin", "http://x")], &json!({}))
        .await;
    assert_eq!(err.status, 401);
    let missing = server.get("/no/such/path", &[("Origin", "http://x")]).await;
    assert_eq!(missing.status, 404);
    for r in [&ok, &err, &missing] {
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("content-security-policy"),
            Some("default-src 'self';")
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert!(r.header("server").is_none());
        assert!(r.header("x-request-id").is_some());
    }
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn bodies_that_are_not_json() {
    let server = TestServer::start().await;
    let app = server.create_app("bodyapp").await;
    let url = format!("{}/register/token", server.base);
    let with = |req: reqwest::RequestBuilder| req.header("ApiSecret", app.secret.clone());
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "text/plain")
                .body("{}"),
        ))
        .await;
    r.problem(415, "unsupported_media_type");
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body("{not json"),
        ))
        .await;
    r.problem(400, "invalid_json");
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json"),
        ))
        .await;
    r.problem(400, "invalid_request");
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(vec![0xff, 0xfe, 0x7b]),
        ))
        .await;
    r.problem(400, "invalid_json");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(deep),
        ))
        .await;
    r.problem(400, "invalid_json");
    let big = format!("{{\"userId\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(big),
        ))
        .await;
    r.problem(413, "payload_too_large");
    // A charset parameter is fine.
    let r = server
        .send(with(
            server
                .http
                .post(&url)
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"userId":"u","username":"n"}"#),
        ))
        .await;
    r.ok();
    let r = server.send(server.http.get(&url)).await;
    r.problem(405, "method_not_allowed");
}

#[tokio::test]
async fn keys_in_any_case_nulls_and_numbers() {
    let server = TestServer::start().await;
    let app = server.create_app("caseapp").await;
    // Keys in any case, a number for a string, explicit nulls, unknown keys.
    let r = app
        .backend(
            "/register/token",
            &json!({"USERID": 123, "UserName": "n", "displayname": null, "aliases": null, "hints": [], "auditLoggingRetentionPeriod": 5, "discoverable": "false"}),
        )
        .await;
    let token = r.ok()["token"].as_str().unwrap().to_owned();
    let r = app
        .browser(
            "/register/begin",
            &json!({"TOKEN": token, "origin": ORIGIN, "rpId": RP_ID}),
        )
        .await;
    let data = &r.ok()["data"];
    assert_eq!(
        data["user"]["id"],
        crate::support::authenticator::b64url(b"123")
    );
    assert_eq!(data["authenticatorSelection"]["residentKey"], "discouraged");
    // Routes are case-insensitive and ignore a trailing slash.
    let r = server
        .post(
            "/Register/Token/",
            &[("ApiSecret", &app.secret)],
            &json!({"userId": "u", "username": "n"}),
        )
        .await;
    r.ok();
}

#[tokio::test]
async fn register_token_validation() {
    let server = TestServer::start().await;
    let app = server.create_app("valapp").await;
    let r = app
        .backend("/register/token", &json!({"username": "n"}))
        .await;
    let body = r.problem(400, "validation_error");
    assert_eq!(
        body["type"],
        "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    );
    assert_eq!(body["title"], "One or more validation errors occurred.");
    assert_eq!(
        body["errors"],
        json!({"userId": ["The UserId field is required."]})
    );
    let r = app
        .backend("/register/token", &json!({"userId": "", "username": ""}))
        .await;
    assert_eq!(
        r.problem(400, "validation_error")["errors"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("a{i}")).collect();
    for aliases in [json!(eleven), json!(["x".repeat(251)]), json!([""])] {
        let r = app
            .backend(
                "/register/token",
                &json!({"userId": "u", "username": "n", "aliases": aliases}),
            )
            .await;
        assert!(r.problem(400, "validation_error")["errors"]["aliases"].is_array());
    }
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "u", "username": "n", "hints": ["laptop"]}),
        )
        .await;
    r.problem(400, "validation_error");
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "u", "username": "n", "expiresAt": "soon"}),
        )
        .await;
    r.problem(400, "validation_error");
    for a in ["enterprise", "other", "Direct"] {
        let r = app
            .backend(
                "/register/token",
                &json!({"userId": "u", "username": "n", "attestation": a}),
            )
            .await;
        assert_eq!(
            r.problem(400, "invalid_attestation")["title"],
            "Attestation type not supported"
        );
    }
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "u", "username": "n", "attestation": "direct"}),
        )
        .await;
    assert_eq!(
        r.problem(400, "attestation_not_supported_on_plan")["title"],
        "Attestation type not supported on your plan"
    );
    for a in ["none", "", "None"] {
        app.backend(
            "/register/token",
            &json!({"userId": "u", "username": "n", "attestation": a}),
        )
        .await
        .ok();
    }
    // An alias held by another user is a conflict.
    let mut auth = crate::support::authenticator::TestAuthenticator::new();
    crate::ceremonies::register(&app, &mut auth, "owner", &["taken@example.com"]).await;
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "thief", "username": "n", "aliases": ["taken@example.com"]}),
        )
        .await;
    assert_eq!(
        r.problem(409, "alias_conflict")["title"],
        "Alias is already in use by another userid"
    );
    app.backend(
        "/register/token",
        &json!({"userId": "owner", "username": "n", "aliases": ["taken@example.com"]}),
    )
    .await
    .ok();
    // Invalid policy strings are refused at begin, as in the original.
    let token = app
        .register_token(&json!({"userId": "u", "username": "n", "userVerification": "sometimes"}))
        .await;
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    r.problem(400, "invalid_argument");
}

#[tokio::test]
async fn generate_token_validation() {
    let server = TestServer::start().await;
    let app = server.create_app("genval").await;
    for body in [
        json!({}),
        json!({"userId": "u", "timeToLive": 0}),
        json!({"userId": "u", "timeToLive": 604801}),
    ] {
        app.backend("/signin/generate-token", &body)
            .await
            .problem(400, "validation_error");
    }
    app.backend(
        "/signin/generate-token",
        &json!({"userId": "u", "timeToLive": "x"}),
    )
    .await
    .problem(400, "invalid_request");
    app.backend("/signin/verify", &json!({}))
        .await
        .problem(400, "missing_token");
    app.backend("/signin/verify", &json!({"token": "verify_!!"}))
        .await
        .problem(400, "invalid_token_format");
}

#[tokio::test]
async fn a_key_without_the_scope_is_forbidden() {
    use passkeyd::store::{ApiKeyRecord, AppFeatures, AppRecord, KeyKind};
    let server = TestServer::start().await;
    let now = server.clock_now();
    let key = "scoped:public:0123456789abcdef0123456789abcdef";
    let app = AppRecord {
        id: "scoped".into(),
        admin_email: None,
        created_at: now,
        frozen: false,
        delete_at: None,
        session_lifetime_seconds: 3600,
        features: AppFeatures {
            event_logging_enabled: false,
            event_logging_retention_days: 365,
            magic_link_monthly_quota: 0,
            max_users: None,
            allow_attestation: false,
            generate_token_enabled: true,
            magic_links_enabled: true,
            allowed_origins: Vec::new(),
            allowed_rp_ids: Vec::new(),
        },
    };
    let record = ApiKeyRecord {
        app_id: "scoped".into(),
        key_id: "cdef".into(),
        kind: KeyKind::Public,
        value: key.into(),
        scopes: vec!["register".into()],
        locked: false,
        created_at: now,
        last_locked_at: None,
    };
    server
        .state
        .store
        .insert_app(&app, &[record])
        .await
        .unwrap();
    let r = server
        .post(
            "/signin/begin",
            &[("ApiKey", key)],
            &json!({"Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let body = r.problem(403, "forbidden");
    assert_eq!(
        body["title"],
        "You are forbidden from accessing this resource."
    );
    assert_eq!(
        body["type"],
        "https://docs.passwordless.dev/guide/errors.html#forbidden"
    );
    assert_eq!(
        body["detail"],
        "You are unable to access this resource because you do not have the required permissions. Required scopes: login"
    );
    // The scope it has works.
    let r = server
        .post(
            "/register/begin",
            &[("ApiKey", key)],
            &json!({"Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    r.problem(400, "missing_token");
}

/// Garbage of every JSON type, sent to every endpoint with valid keys, never earns a 5xx.
#[tokio::test]
async fn garbage_never_earns_a_5xx() {
    let server = TestServer::start().await;
    let app = server.create_app("garbage").await;
    let endpoints: [(&str, &str); 14] = [
        ("/register/token", "ApiSecret"),
        ("/register/begin", "ApiKey"),
        ("/register/complete", "ApiKey"),
        ("/signin/begin", "ApiKey"),
        ("/signin/complete", "ApiKey"),
        ("/signin/verify", "ApiSecret"),
        ("/signin/generate-token", "ApiSecret"),
        ("/alias", "ApiSecret"),
        ("/credentials/list", "ApiSecret"),
        ("/credentials/delete", "ApiSecret"),
        ("/users/delete", "ApiSecret"),
        ("/admin/apps/garbage2/create", "ManagementKey"),
        ("/api/signin/begin", "ApiKey"),
        ("/api/register/token", "ApiSecret"),
    ];
    let values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e300),
        json!("x"),
        json!([]),
        json!({}),
        json!({"a": {"b": [1, {"c": null}]}}),
        json!("register_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        json!("session_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        json!("verify_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        json!("\u{0000}\u{202e}☃"),
    ];
    let fields = [
        "userId",
        "username",
        "token",
        "session",
        "response",
        "origin",
        "rpid",
        "aliases",
        "hints",
        "expiresAt",
        "timeToLive",
        "purpose",
        "alias",
        "credentialId",
        "nickname",
        "discoverable",
        "attestation",
        "userVerification",
    ];
    for (path, header) in endpoints {
        let key = match header {
            "ApiKey" => app.public_key.as_str(),
            "ApiSecret" => app.secret.as_str(),
            _ => crate::support::server::MANAGEMENT_KEY,
        };
        for value in &values {
            let mut bodies = vec![value.clone()];
            for field in fields {
                bodies.push(json!({ field: value, "Origin": ORIGIN, "RPID": RP_ID, "userId": "u", "username": "n" }));
            }
            bodies.push(json!({"Origin": value, "RPID": value, "response": {"id": value, "rawId": value, "response": {"clientDataJSON": value, "attestationObject": value, "authenticatorData": value, "signature": value, "userHandle": value}}, "session": value}));
            for body in bodies {
                let r = server.post(path, &[(header, key)], &body).await;
                assert!(r.status < 500, "{path} {body}: {} {}", r.status, r.text);
                if r.status >= 400 {
                    assert_eq!(
                        r.header("content-type"),
                        Some("application/problem+json"),
                        "{path} {body}"
                    );
                }
            }
        }
    }
}
