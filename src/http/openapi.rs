//! The API description, served from the binary: `GET /openapi.yaml` (the repository's
//! `openapi.yaml`, embedded at build time) and `GET /swagger/v4/swagger.json` (the same
//! document as JSON, converted once, on first use).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The repository's `openapi.yaml`.
pub const YAML: &str = include_str!("../../openapi.yaml");

pub async fn yaml() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], YAML).into_response()
}

pub async fn json() -> Response {
    static JSON: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    match JSON.get_or_init(|| to_json(YAML)) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes.clone()).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// YAML to JSON, keeping the order of keys.
///
/// # Errors
/// When the text is not YAML that JSON can represent.
pub fn to_json(yaml: &str) -> Result<Vec<u8>, String> {
    let document: serde_json::Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("openapi.yaml: {e}"))?;
    serde_json::to_vec(&document).map_err(|e| format!("openapi.yaml as JSON: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_document_converts() {
        let json = super::to_json(super::YAML).expect("openapi.yaml converts to JSON");
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"]["/register/token"]["post"].is_object());
        assert!(doc["paths"]["/openapi.yaml"]["get"].is_object());
    }
}
