//! Anonymous health endpoints, in the shape of ASP.NET's health-check writer.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

pub async fn root() -> &'static str {
    "passkeyd: a passkey server speaking the Passwordless.dev v4 API. This place is for computers; see the README for humans."
}

pub async fn http() -> &'static str {
    "Healthy"
}

fn report(name: &str, healthy: bool, ms: f64, data: Value) -> (StatusCode, Json<Value>) {
    let status = if healthy { "Healthy" } else { "Unhealthy" };
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({
            "status": status,
            "elapsedMilliseconds": ms,
            "results": { name: { "status": status, "elapsedMilliseconds": ms, "data": data } },
        })),
    )
}

/// Runs a real query against the database.
pub async fn storage(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    let result = s.store.ping().await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let data = match &result {
        Ok(()) => json!({}),
        Err(e) => {
            tracing::warn!(error = %e, "storage health check failed");
            json!({ "error": "the database did not answer" })
        }
    };
    report("db", result.is_ok(), ms, data)
}

pub async fn version() -> (StatusCode, Json<Value>) {
    report(
        "version",
        true,
        0.0,
        json!({ "version": env!("CARGO_PKG_VERSION") }),
    )
}
