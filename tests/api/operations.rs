//! Production operations: bootstrap app, logs, graceful shutdown, metrics, the served OpenAPI
//! document and trusted proxies. Whatever only the process does runs the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::authenticator::TestAuthenticator;
use crate::support::binary::Binary;
use crate::support::server::{Resp, TestApp, TestServer, MANAGEMENT_KEY, ORIGIN, RP_ID};

/// The JSON log lines of one request (those whose span carries its id).
fn lines_of(bin: &Binary, request_id: &str) -> Vec<Value> {
    bin.log_lines()
        .into_iter()
        .filter(|l| l["span"]["request_id"] == request_id)
        .collect()
}

/// Waits (briefly) for the access-log line of a request and returns it.
async fn access_line(bin: &Binary, request_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = lines_of(bin, request_id)
            .into_iter()
            .find(|l| l["fields"]["message"] == "finished processing request");
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no access-log line for request {request_id}:\n{}",
            bin.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the log has a line for which `pred` holds.
async fn wait_for_log(bin: &Binary, what: &str, pred: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bin.log_lines().iter().any(&pred) {
        assert!(
            Instant::now() < deadline,
            "the log never showed {what}:\n{}",
            bin.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn bootstrap_keys(bin: &Binary) -> BTreeMap<String, String> {
    bin.log_lines()
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("BOOTSTRAP KEY"))
        })
        .map(|l| {
            assert_eq!(l["level"], "INFO");
            assert_eq!(l["fields"]["app_id"], "bootapp");
            (
                l["fields"]["key"].as_str().unwrap().to_owned(),
                l["fields"]["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bootstrap_app_prints_working_keys_once() {
    let mut server = TestServer::start().await;
    let vars = [("PASSKEYD_BOOTSTRAP_APP", "bootapp")];
    let mut bin = Binary::start(&server.database_url, &vars).await;
    let keys = bootstrap_keys(&bin);
    assert_eq!(
        keys.keys().collect::<Vec<_>>(),
        ["apiKey1", "apiKey2", "apiSecret1", "apiSecret2"]
    );

    // The printed keys work: a register token with the secret, a ceremony start with the key.
    server.base = bin.base.clone();
    let app = TestApp {
        server: &server,
        app_id: "bootapp".into(),
        public_key: keys["apiKey1"].clone(),
        secret: keys["apiSecret1"].clone(),
    };
    let token = app
        .register_token(&json!({"userId": "u1", "username": "u1@example.com"}))
        .await;
    assert!(token.starts_with("register_"), "{token}");
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    r.ok();
    let r = server
        .post(
            "/register/token",
            &[("ApiSecret", &keys["apiSecret2"])],
            &json!({"userId": "u2", "username": "u2"}),
        )
        .await;
    r.ok();

    // A restart finds the app and prints nothing.
    bin.signal(libc::SIGTERM);
    assert!(bin.wait_exit(Duration::from_secs(30)).await.success());
    let again = Binary::start(&server.database_url, &vars).await;
    assert!(bootstrap_keys(&again).is_empty(), "{}", again.log());
    assert!(
        again
            .log_lines()
            .iter()
            .any(|l| l["fields"]["message"] == "bootstrap app exists; its keys are not shown again"),
        "{}",
        again.log()
    );
    for secret in keys.values() {
        assert!(!again.log().contains(secret.as_str()));
    }
}

#[tokio::test]
async fn bootstrap_is_safe_when_replicas_start_together() {
    use passkeyd::bootstrap::{ensure_app, Outcome};
    let a = TestServer::start().await;
    let b = TestServer::start_on_database(&a.database_url, &[]).await;
    for app_id in ["raceone", "racetwo", "racethree"] {
        let (x, y) = tokio::join!(ensure_app(&a.state, app_id), ensure_app(&b.state, app_id));
        let outcomes = [x.expect("no error"), y.expect("no error")];
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Created(_)))
            .count();
        assert_eq!(created, 1, "exactly one replica creates it: {outcomes:?}");
        assert!(matches!(
            ensure_app(&b.state, app_id).await.unwrap(),
            Outcome::Exists
        ));
    }
}

/// A full registration, sign-in and verify through the real binary with debug logs: no key,
/// secret, token, session or challenge reaches the log, and every line of a request carries
/// the id the response returned in `x-request-id` (and, for problems, as `traceId`).
#[tokio::test]
async fn logs_carry_request_ids_and_never_secrets() {
    let mut server = TestServer::start().await;
    let bin = Binary::start(&server.database_url, &[("PASSKEYD_LOG", "debug")]).await;
    server.base = bin.base.clone();
    let app = server.create_app("logapp").await;
    let mut responses: Vec<Resp> = Vec::new();
    let mut secrets: Vec<String> = vec![
        app.public_key.clone(),
        app.secret.clone(),
        MANAGEMENT_KEY.to_owned(),
    ];
    let mut auth = TestAuthenticator::new();

    // Registration.
    let r = app
        .backend(
            "/register/token",
            &json!({"userId": "user-1", "username": "alice@example.com", "aliases": ["alice@example.com"]}),
        )
        .await;
    let register_token = r.ok()["token"].as_str().unwrap().to_owned();
    responses.push(r);
    let r = app
        .browser(
            "/register/begin",
            &json!({"token": register_token, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let options = r.ok()["data"].clone();
    let session = r.body["session"].as_str().unwrap().to_owned();
    responses.push(r);
    let credential = auth.create(&options, ORIGIN);
    let r = app.register_complete(&session, &credential).await;
    let verify1 = r.ok()["token"].as_str().unwrap().to_owned();
    responses.push(r);
    let r = app.verify(&verify1).await;
    r.ok();
    responses.push(r);
    secrets.extend([
        register_token,
        session,
        verify1,
        options["challenge"].as_str().unwrap().to_owned(),
        credential["response"]["clientDataJSON"]
            .as_str()
            .unwrap()
            .to_owned(),
    ]);

    // Sign-in and verify.
    let r = app
        .browser(
            "/signin/begin",
            &json!({"alias": "alice@example.com", "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await;
    let options = r.ok()["data"].clone();
    let session = r.body["session"].as_str().unwrap().to_owned();
    responses.push(r);
    let assertion = auth.get(&options, ORIGIN);
    let r = app.signin_complete(&session, &assertion).await;
    let verify2 = r.ok()["token"].as_str().unwrap().to_owned();
    responses.push(r);
    let r = app.verify(&verify2).await;
    assert_eq!(r.ok()["userId"], "user-1");
    responses.push(r);
    // A problem: the verify token is single-use.
    let r = app.verify(&verify2).await;
    r.problem(400, "invalid_token");
    assert_eq!(r.body["traceId"].as_str(), r.header("x-request-id"));
    responses.push(r);
    secrets.extend([
        session,
        verify2,
        options["challenge"].as_str().unwrap().to_owned(),
        assertion["response"]["clientDataJSON"]
            .as_str()
            .unwrap()
            .to_owned(),
        assertion["response"]["signature"]
            .as_str()
            .unwrap()
            .to_owned(),
    ]);

    // Every request's lines carry its id; its access line says what it answered.
    for r in &responses {
        let id = r.header("x-request-id").expect("x-request-id");
        let line = access_line(&bin, id).await;
        assert_eq!(line["fields"]["status"], r.status, "{line}");
        assert_eq!(line["span"]["client_ip"], "127.0.0.1", "{line}");
        assert!(line["span"]["path"].as_str().unwrap().starts_with('/'));
    }
    let log = bin.log();
    assert!(
        bin.log_lines().iter().any(|l| l["level"] == "DEBUG"),
        "debug logging is on"
    );
    // Lines written inside a request always name it.
    for line in bin.log_lines() {
        if line["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "request"))
        {
            let id = line["span"]["request_id"].as_str().unwrap_or_default();
            assert_eq!(id.len(), 32, "a request id on {line}");
        }
    }
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log contains a secret ({secret}):\n{log}"
        );
    }
}

/// Sends the head and the first half of a `/register/token` body; the handler is then
/// running, waiting for the rest.
async fn half_request(bin: &Binary, secret: &str) -> (tokio::net::TcpStream, String) {
    let body = json!({"userId": "slow-user", "username": "slow@example.com"}).to_string();
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(bin.addr).await.unwrap();
    let head = format!(
        "POST /register/token HTTP/1.1\r\nHost: localhost\r\nApiSecret: {secret}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    wait_for_log(bin, "the slow request started", |l| {
        l["fields"]["message"] == "started processing request"
            && l["span"]["path"] == "/register/token"
    })
    .await;
    (stream, second.to_owned())
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_refuses_new_connections() {
    let server = TestServer::start().await;
    let app = server.create_app("shutapp").await;
    let mut bin = Binary::start(
        &server.database_url,
        &[("PASSKEYD_LOG", "info,tower_http=debug")],
    )
    .await;
    let (mut stream, rest) = half_request(&bin, &app.secret).await;

    bin.signal(libc::SIGTERM);
    // The listener closes: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(bin.addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => {
                assert!(Instant::now() < deadline, "still accepting connections");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    // The request in flight completes.
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("the response in time")
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(response.contains("\"register_"), "{response}");

    let status = bin.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status}\n{}", bin.stderr());
    let log = bin.log();
    assert!(log.contains("passkeyd stopped"), "{log}");
    assert!(!log.contains("shutdown timeout reached"), "{log}");
}

#[tokio::test]
async fn shutdown_abandons_requests_after_the_timeout() {
    let server = TestServer::start().await;
    let app = server.create_app("stuckapp").await;
    let mut bin = Binary::start(
        &server.database_url,
        &[
            ("PASSKEYD_LOG", "info,tower_http=debug"),
            ("PASSKEYD_SHUTDOWN_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    // The rest of the body never comes.
    let (mut stream, _) = half_request(&bin, &app.secret).await;
    let signalled = Instant::now();
    bin.signal(libc::SIGINT);
    let status = bin.wait_exit(Duration::from_secs(20)).await;
    let waited = signalled.elapsed();
    assert!(status.success(), "exit status {status}\n{}", bin.stderr());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "exited after {waited:?}"
    );
    assert!(bin.log().contains("shutdown timeout reached"));
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(!response.contains("200"), "{response}");
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_errors_and_pool_connections() {
    let server = TestServer::start().await;
    let app = server.create_app("metricsapp").await;
    server.get("/health/http", &[]).await.ok();
    server.get("/api/health/http", &[]).await.ok();
    server.get("/health/http", &[]).await.ok();
    server
        .get("/no/such/path", &[])
        .await
        .problem(404, "not_found");
    server
        .post("/register/token", &[], &json!({}))
        .await
        .problem(401, "unauthorized");
    app.verify("verify_nonsense")
        .await
        .problem(400, "invalid_token_format");
    app.verify("verify_nonsense")
        .await
        .problem(400, "invalid_token_format");

    let r = server.get("/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &r.text;
    let expected = [
        (
            r#"passkeyd_http_requests_total{method="GET",route="/health/http",status="200"}"#,
            2.0,
        ),
        (
            r#"passkeyd_http_requests_total{method="GET",route="/api/health/http",status="200"}"#,
            1.0,
        ),
        (
            r#"passkeyd_http_requests_total{method="POST",route="/admin/apps/{app_id}/create",status="200"}"#,
            1.0,
        ),
        (
            r#"passkeyd_http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        (
            r#"passkeyd_http_requests_total{method="POST",route="/register/token",status="401"}"#,
            1.0,
        ),
        (
            r#"passkeyd_http_requests_total{method="POST",route="/signin/verify",status="400"}"#,
            2.0,
        ),
        (
            r#"passkeyd_http_request_duration_seconds_count{method="GET",route="/health/http"}"#,
            2.0,
        ),
        (
            r#"passkeyd_ceremony_errors_total{error_code="not_found"}"#,
            1.0,
        ),
        (
            r#"passkeyd_ceremony_errors_total{error_code="unauthorized"}"#,
            1.0,
        ),
        (
            r#"passkeyd_ceremony_errors_total{error_code="invalid_token_format"}"#,
            2.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(metric(text, series), Some(value), "{series} in\n{text}");
    }
    assert!(
        metric(
            text,
            r#"passkeyd_http_request_duration_seconds_bucket{method="GET",route="/health/http",le="+Inf"}"#
        ) == Some(2.0),
        "{text}"
    );
    // Pool gauges for the backend under test, read at scrape time.
    let pools: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("passkeyd_db_pool_connections_idle{"))
        .collect();
    assert!(!pools.is_empty(), "{text}");
    assert!(text.contains("passkeyd_db_pool_connections_in_use{pool="));
    // The scrape itself is counted by the next one.
    let r = server.get("/metrics", &[]).await;
    assert_eq!(
        metric(
            &r.text,
            r#"passkeyd_http_requests_total{method="GET",route="/metrics",status="200"}"#
        ),
        Some(1.0)
    );
}

const OPENAPI: &str = include_str!("../../openapi.yaml");
const HTTP_MOD: &str = include_str!("../../src/http/mod.rs");

#[tokio::test]
async fn openapi_document_is_served_as_yaml_and_json() {
    let server = TestServer::start().await;
    let r = server.get("/openapi.yaml", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/yaml"));
    assert_eq!(r.text, OPENAPI);
    let r = server.get("/swagger/v4/swagger.json", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let yaml: Value = serde_yaml_ng::from_str(OPENAPI).unwrap();
    assert_eq!(r.body, yaml);
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `{app_id}` and `{appId}` alike become `{}`.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every `(method, path)` that src/http/mod.rs routes, read from its `.route("…", …)` calls.
fn router_table() -> BTreeSet<(String, String)> {
    let mut table = BTreeSet::new();
    let mut rest = HTTP_MOD;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(j, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(j)
            })
            .expect("balanced parentheses");
        let args = &rest[..end];
        let path = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|a| a.split_once('"'))
            .map(|(p, _)| p)
            .unwrap_or_else(|| panic!("a .route( without a literal path: {args}"));
        let mut methods = 0;
        for method in METHODS {
            for (k, _) in args.match_indices(&format!("{method}(")) {
                let before = args[..k].chars().next_back();
                if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                    table.insert((method.to_owned(), shape(path)));
                    methods += 1;
                }
            }
        }
        assert!(methods > 0, "no method found for {path}: {args}");
    }
    table
}

fn document_table() -> BTreeSet<(String, String)> {
    let doc: Value = serde_yaml_ng::from_str(OPENAPI).unwrap();
    let mut table = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                table.insert((method.to_owned(), shape(path)));
            }
        }
    }
    table
}

/// The router and openapi.yaml describe the same operations: every route is documented and
/// every documented operation is routed (checked both in the source and over HTTP).
#[tokio::test]
async fn openapi_paths_and_methods_match_the_router() {
    let routed = router_table();
    let documented = document_table();
    assert!(routed.len() > 50, "the parser found the routes: {routed:?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in openapi.yaml: {undocumented:?}\nin openapi.yaml but not routed: {unrouted:?}"
    );

    // And the running server has each documented operation: no 404 `not_found`, no 405.
    let server = TestServer::start().await;
    for (method, path) in &documented {
        let concrete = path.replace("{}", "probeapp");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = server
            .send(
                server
                    .http
                    .request(method.clone(), format!("{}{concrete}", server.base)),
            )
            .await;
        assert!(
            r.status != 405 && !(r.status == 404 && r.body["errorCode"] == "not_found"),
            "{method} {concrete}: {} {}",
            r.status,
            r.text
        );
    }
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let cases = [
        (None, "127.0.0.1", "http"),
        (Some("10.0.0.0/8, 127.0.0.1"), "203.0.113.7", "https"),
        (Some("10.0.0.0/8"), "127.0.0.1", "http"),
    ];
    for (trusted, client_ip, proto) in cases {
        let vars: Vec<(&str, &str)> = trusted
            .map(|t| ("PASSKEYD_TRUSTED_PROXIES", t))
            .into_iter()
            .collect();
        let bin = Binary::start(&server.database_url, &vars).await;
        let r = http
            .get(format!("{}/health/http", bin.base))
            .header("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
            .header("X-Forwarded-Proto", "https")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let line = access_line(&bin, &id).await;
        assert_eq!(line["span"]["client_ip"], client_ip, "{trusted:?}: {line}");
        assert_eq!(line["span"]["proto"], proto, "{trusted:?}: {line}");
    }
}

/// The request fields of the wire types (what passkeyd reads from a body or query), as they
/// are named on the wire: the serde rename, else the field name. Read from the source, so a
/// new field cannot be added without this test seeing it.
fn accepted_fields() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/wire");
    let mut fields = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src/wire") {
        let path = entry.expect("entry").path();
        let source = std::fs::read_to_string(&path).expect("read a wire file");
        // Each `#[derive(…Deserialize…)] … pub struct Name { … }` block.
        for block in source.split("#[derive(").skip(1) {
            let derive = block.split(')').next().unwrap_or_default();
            if !derive.contains("Deserialize") {
                continue;
            }
            let Some(start) = block.find("pub struct ") else {
                continue;
            };
            let rest = &block[start + "pub struct ".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            let Some(body) = rest.split_once('{').map(|(_, b)| b) else {
                continue;
            };
            let body = body.split("\n}").next().unwrap_or_default();
            let mut rename: Option<String> = None;
            let mut flatten = false;
            let mut attributes = String::new();
            for line in body.lines().map(str::trim) {
                if line.starts_with("#[serde") || !attributes.is_empty() {
                    attributes.push_str(line);
                    if !line.ends_with(")]") {
                        continue;
                    }
                    flatten |= attributes.contains("flatten");
                    if let Some(r) = attributes.split("rename = \"").nth(1) {
                        rename = r.split('"').next().map(str::to_owned);
                    }
                    attributes.clear();
                } else if let Some(field) = line.strip_prefix("pub ") {
                    let field = field.split(':').next().unwrap_or_default().to_owned();
                    if !flatten {
                        fields.push((name.clone(), rename.take().unwrap_or(field)));
                    }
                    rename = None;
                    flatten = false;
                }
            }
        }
    }
    fields
}

/// Every field the server accepts is described in openapi.yaml (as a property or a
/// parameter), so the document tells a client everything it can send. Request keys are
/// matched case-insensitively, as the server matches them.
#[test]
fn openapi_describes_every_accepted_field() {
    let fields = accepted_fields();
    assert!(fields.len() > 60, "the parser found the fields: {fields:?}");
    for expected in [
        ("RegisterTokenRequest", "userid"),
        ("SessionSettingsRequest", "lifetimeseconds"),
        ("FlexStartRequest", "authenticator_attachment"),
        ("PassageMagicLinkRequest", "type"),
    ] {
        assert!(
            fields
                .iter()
                .any(|(s, f)| s == expected.0 && f == expected.1),
            "the parser missed {expected:?}"
        );
    }
    let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml")
        .to_lowercase();
    let missing: Vec<_> = fields
        .iter()
        .filter(|(_, field)| {
            let f = field.to_lowercase();
            !document.contains(&format!(" {f}:")) && !document.contains(&format!("name: {f}\n"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "accepted but not in openapi.yaml (struct, field): {missing:?}"
    );
}
