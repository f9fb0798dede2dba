//! Request extractors whose rejections are problem documents.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::service::ClientInfo;

/// A JSON body read the way ASP.NET reads it: keys in any case, unknown keys ignored.
/// Keys are lower-cased before `T` (whose field names are lower case) sees them.
pub struct CompatJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CompatJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json(req, state).await? {
            Some(value) => decode(value).map(Self),
            None => Err(ApiError::unreadable("A JSON request body is required.")),
        }
    }
}

/// Like [`CompatJson`], for endpoints whose body may be left out: no body means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|len| len != "0");
        if !has_body || !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(Self(T::default()));
        }
        match read_json(req, state).await? {
            Some(value) => decode(value).map(Self),
            None => Ok(Self(T::default())),
        }
    }
}

/// Reads a JSON body: `None` when it is empty.
async fn read_json<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Value>, ApiError> {
    {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The request body must be JSON (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request body is larger than passkeyd accepts.",
                )
            } else {
                ApiError::unreadable("The request body could not be read.")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {e}"),
            )
        })
    }
}

/// Lower-cases the keys of `value` and deserializes it into `T`.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::unreadable(
            "The request body must be a JSON object.",
        ));
    }
    if has_nul(&value) {
        return Err(ApiError::unreadable(
            "Text in the request must not contain NUL characters.",
        ));
    }
    serde_json::from_value(lowercase_keys(value)).map_err(|e| {
        ApiError::unreadable(format!("The request does not have the expected shape: {e}"))
    })
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// No identifier, alias or token legitimately contains U+0000, and PostgreSQL cannot store it.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// serde_json refuses documents nested deeper than 128, so this recursion is bounded.
fn lowercase_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lowercase_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}

/// Query parameters matched case-insensitively (`userId` and `userid` alike).
pub struct CompatQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for CompatQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let map: Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.to_lowercase(), Value::String(v.into_owned())))
            .collect();
        decode(Value::Object(map)).map(Self)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(ClientInfo {
            user_agent: header("user-agent"),
            country: header("cf-ipcountry").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn keys_are_lowercased_deeply() {
        let v = lowercase_keys(
            serde_json::json!({"RPID": 1, "Response": {"AttestationObject": [{"X": 1}]}}),
        );
        assert_eq!(
            v,
            serde_json::json!({"rpid": 1, "response": {"attestationobject": [{"x": 1}]}})
        );
    }
}
