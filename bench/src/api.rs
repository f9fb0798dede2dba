//! The passkeyd calls the benchmark makes, over one keep-alive HTTP client.
//!
//! Bodies are typed structs in both directions (not `serde_json::Value`) so that the
//! generator spends as little CPU per call as it can: it shares the machine with the server.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::authenticator::{
    Assertion, Attestation, CreationOptions, RequestOptions, ORIGIN, RP_ID,
};

/// A browser's User-Agent, so the server's device parsing does its normal work.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
    Chrome/124.0.0.0 Safari/537.36";

/// Why a call failed, as a short label to count by: `"400 invalid_token"`, `"transport: …"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallError(pub String);

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    pub app: AppKeys,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AppKeys {
    #[serde(rename = "apiKey1")]
    pub public_key: String,
    #[serde(rename = "apiSecret1")]
    pub secret: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: String,
}

#[derive(Deserialize)]
struct BeginResponse<T> {
    data: T,
    session: String,
}

#[derive(Deserialize)]
struct Problem {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

#[derive(Deserialize)]
pub struct Verified {
    pub success: bool,
    #[serde(rename = "userId")]
    pub user_id: String,
}

pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .pool_max_idle_per_host(connections)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, CallError> {
    let response = request
        .send()
        .await
        .map_err(|e| CallError(format!("transport: {}", transport_kind(&e))))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CallError(format!("transport: {}", transport_kind(&e))))?;
    if !status.is_success() {
        let code = serde_json::from_slice::<Problem>(&bytes)
            .ok()
            .and_then(|p| p.error_code)
            .unwrap_or_else(|| "-".to_owned());
        return Err(CallError(format!("{} {code}", status.as_u16())));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| CallError(format!("{} unexpected body: {e}", status.as_u16())))
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "other"
    }
}

/// Creates the benchmark's app through the management API and returns its keys.
pub async fn create_app(
    http: &reqwest::Client,
    base: &str,
    management_key: &str,
    app_id: &str,
) -> Result<AppKeys, CallError> {
    send(
        http.post(format!("{base}/admin/apps/{app_id}/create"))
            .header("ManagementKey", management_key)
            .json(&json!({ "adminEmail": "bench@bench.example" })),
    )
    .await
}

#[derive(Serialize)]
struct SigninBegin<'a> {
    #[serde(rename = "userId")]
    user_id: &'a str,
    #[serde(rename = "Origin")]
    origin: &'a str,
    #[serde(rename = "RPID")]
    rp_id: &'a str,
}

#[derive(Serialize)]
struct Complete<'a, R> {
    session: &'a str,
    response: &'a R,
    #[serde(rename = "Origin")]
    origin: &'a str,
    #[serde(rename = "RPID")]
    rp_id: &'a str,
}

impl Api {
    pub fn new(http: reqwest::Client, base: &str, app: AppKeys) -> Self {
        Self {
            http,
            base: base.to_owned(),
            app,
        }
    }

    fn browser(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("ApiKey", &self.app.public_key)
    }

    fn backend(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("ApiSecret", &self.app.secret)
    }

    /// `POST /register/token` (backend): a register token for a new user.
    pub async fn register_token(&self, user_id: &str) -> Result<String, CallError> {
        let body = json!({ "userId": user_id, "username": format!("{user_id}@bench.example") });
        let r: TokenResponse = send(self.backend("/register/token").json(&body)).await?;
        Ok(r.token)
    }

    /// `POST /register/begin` (browser): creation options and the ceremony session.
    pub async fn register_begin(
        &self,
        token: &str,
    ) -> Result<(CreationOptions, String), CallError> {
        let body = json!({ "token": token, "Origin": ORIGIN, "RPID": RP_ID });
        let r: BeginResponse<CreationOptions> =
            send(self.browser("/register/begin").json(&body)).await?;
        Ok((r.data, r.session))
    }

    /// `POST /register/complete` (browser).
    pub async fn register_complete(
        &self,
        session: &str,
        credential: &Attestation,
    ) -> Result<(), CallError> {
        let body = Complete {
            session,
            response: credential,
            origin: ORIGIN,
            rp_id: RP_ID,
        };
        let _: TokenResponse = send(self.browser("/register/complete").json(&body)).await?;
        Ok(())
    }

    /// `POST /signin/begin` (browser) for a known user: request options and the session.
    pub async fn signin_begin(&self, user_id: &str) -> Result<(RequestOptions, String), CallError> {
        let body = SigninBegin {
            user_id,
            origin: ORIGIN,
            rp_id: RP_ID,
        };
        let r: BeginResponse<RequestOptions> =
            send(self.browser("/signin/begin").json(&body)).await?;
        Ok((r.data, r.session))
    }

    /// `POST /signin/complete` (browser): returns the verify token.
    pub async fn signin_complete(
        &self,
        session: &str,
        assertion: &Assertion,
    ) -> Result<String, CallError> {
        let body = Complete {
            session,
            response: assertion,
            origin: ORIGIN,
            rp_id: RP_ID,
        };
        let r: TokenResponse = send(self.browser("/signin/complete").json(&body)).await?;
        Ok(r.token)
    }

    /// `POST /signin/verify` (backend).
    pub async fn verify(&self, token: &str) -> Result<Verified, CallError> {
        send(
            self.backend("/signin/verify")
                .json(&json!({ "token": token })),
        )
        .await
    }
}
