//! Runs passkeyd in-process on an ephemeral port with a fresh SQLite file and a manual clock,
//! and talks to it over real HTTP.

use std::sync::Arc;

use chrono::Utc;
use passkeyd::clock::ManualClock;
use passkeyd::config::Config;
use passkeyd::AppState;

use super::postgres;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

pub const MANAGEMENT_KEY: &str = "test-management-key";
pub const ORIGIN: &str = "https://example.com";
pub const RP_ID: &str = "example.com";

pub struct TestServer {
    pub base: String,
    pub clock: ManualClock,
    pub state: AppState,
    pub http: reqwest::Client,
    pub database_url: String,
    _child: Option<super::binary::Binary>,
    _schema: Option<postgres::SchemaGuard>,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend the suite runs against (`PASSKEYD_TEST_DATABASE`).
pub fn backend() -> Backend {
    match std::env::var("PASSKEYD_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem document with this status and errorCode, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16, error_code: &str) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type; body: {}",
            self.text
        );
        assert_eq!(self.body["errorCode"], error_code, "body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
        &self.body
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected 200; body: {}", self.text);
        &self.body
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts with extra configuration variables (e.g. `PASSKEYD_SMTP_URL`).
    ///
    /// The backend is SQLite (a fresh file) unless `PASSKEYD_TEST_DATABASE=postgres`, in which
    /// case each server gets its own schema in the database at `PASSKEYD_TEST_POSTGRES_URL`.
    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, schema) = match backend() {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("passkeyd.db").display()),
                None,
            ),
            Backend::Postgres => {
                let schema = postgres::create_schema().await;
                (postgres::url_for(&schema), Some(schema))
            }
        };
        Self::start_on(&database_url, schema, dir, vars).await
    }

    /// Starts on a given database URL (e.g. a throwaway PostgreSQL cluster).
    pub async fn start_on_database(database_url: &str, vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(database_url, None, dir, vars).await
    }

    /// Starts a second passkeyd *process* (the real binary) on the database of `self`, as a
    /// replica behind a load balancer. Its HTTP goes to that process; `state` opens the same
    /// database for assertions. Its `clock` does not drive the process, which uses real time.
    pub async fn replica(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_on(&self.database_url, None, dir, &[]).await;
        let process = super::binary::Binary::start_replica(&self.database_url).await;
        server.base = process.base.clone();
        server._child = Some(process);
        server
    }

    async fn start_on(
        database_url: &str,
        schema: Option<String>,
        dir: tempfile::TempDir,
        vars: &[(&str, &str)],
    ) -> Self {
        let config = Config::from_lookup(|name| match name {
            "PASSKEYD_DATABASE_URL" => Some(database_url.to_owned()),
            // A test may set its own (empty: none, which turns management off).
            "PASSKEYD_MANAGEMENT_KEY" => Some(
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map_or(MANAGEMENT_KEY, |(_, v)| *v)
                    .to_owned(),
            ),
            _ => vars
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                // Tests send bursts from one address: rate limits are off unless a test
                // sets them.
                .or_else(|| {
                    (name.starts_with("PASSKEYD_RATE_LIMIT_")
                        && name != "PASSKEYD_RATE_LIMIT_IPV6_PREFIX")
                        .then(|| "0".to_owned())
                }),
        })
        .expect("test configuration");
        let clock = ManualClock::new(Utc::now());
        let state = passkeyd::open(&config, Arc::new(clock.clone()))
            .await
            .expect("open passkeyd");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = passkeyd::http::router(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base,
            clock,
            state,
            http: reqwest::Client::new(),
            database_url: database_url.to_owned(),
            _child: None,
            _schema: schema.map(postgres::SchemaGuard),
            _dir: dir,
        }
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use passkeyd::clock::Clock;
        self.clock.now()
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let response = req.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// A management call.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("ManagementKey", MANAGEMENT_KEY);
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(req).await
    }

    /// Creates an app through the management API.
    pub async fn create_app(&self, app_id: &str) -> TestApp<'_> {
        let r = self
            .post(
                &format!("/admin/apps/{app_id}/create"),
                &[("ManagementKey", MANAGEMENT_KEY)],
                &json!({"adminEmail": "ops@example.com"}),
            )
            .await;
        let body = r.ok();
        TestApp {
            server: self,
            app_id: app_id.to_owned(),
            public_key: body["apiKey1"].as_str().expect("apiKey1").to_owned(),
            secret: body["apiSecret1"].as_str().expect("apiSecret1").to_owned(),
        }
    }
}

/// One app's keys, with helpers for the calls a backend and a browser make.
pub struct TestApp<'a> {
    pub server: &'a TestServer,
    pub app_id: String,
    pub public_key: String,
    pub secret: String,
}

impl TestApp<'_> {
    pub async fn backend(&self, path: &str, body: &Value) -> Resp {
        self.server
            .post(path, &[("ApiSecret", &self.secret)], body)
            .await
    }

    pub async fn browser(&self, path: &str, body: &Value) -> Resp {
        self.server
            .post(path, &[("ApiKey", &self.public_key)], body)
            .await
    }

    pub async fn register_token(&self, body: &Value) -> String {
        let r = self.backend("/register/token", body).await;
        r.ok()["token"].as_str().expect("token").to_owned()
    }

    /// `/register/begin` for a new register token of `user_id`; returns (data, session).
    pub async fn register_begin(&self, token_request: &Value) -> (Value, String) {
        let token = self.register_token(token_request).await;
        let r = self
            .browser(
                "/register/begin",
                &json!({"token": token, "Origin": ORIGIN, "RPID": RP_ID}),
            )
            .await;
        let body = r.ok();
        (
            body["data"].clone(),
            body["session"].as_str().expect("session").to_owned(),
        )
    }

    pub async fn register_complete(&self, session: &str, credential: &Value) -> Resp {
        self.browser(
            "/register/complete",
            &json!({"session": session, "response": credential, "nickname": "my key", "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await
    }

    /// `/signin/begin` with extra fields (userId, alias, purpose); returns (data, session).
    pub async fn signin_begin(&self, fields: &Value) -> (Value, String) {
        let mut body = json!({"Origin": ORIGIN, "RPID": RP_ID});
        if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        let r = self.browser("/signin/begin", &body).await;
        let body = r.ok();
        (
            body["data"].clone(),
            body["session"].as_str().expect("session").to_owned(),
        )
    }

    pub async fn signin_complete(&self, session: &str, assertion: &Value) -> Resp {
        self.browser(
            "/signin/complete",
            &json!({"session": session, "response": assertion, "Origin": ORIGIN, "RPID": RP_ID}),
        )
        .await
    }

    pub async fn verify(&self, token: &str) -> Resp {
        self.backend("/signin/verify", &json!({ "token": token }))
            .await
    }
}
