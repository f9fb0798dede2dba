//! The one error type of the API, rendered as RFC 7807 `application/problem+json`.
//!
//! Titles and `type` URIs follow the Passwordless.dev v4 contract. Where the original sends
//! `errorCode: null`, passkeyd sends a stable code of its own so that every 4xx can be told
//! apart by machines.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::store::StoreError;

const ERRORS_DOC: &str = "https://docs.passwordless.dev/guide/errors.html#";
const VALIDATION_TYPE: &str = "https://tools.ietf.org/html/rfc9110#section-15.5.1";

tokio::task_local! {
    /// The id of the request being served, echoed as `traceId` in problem bodies.
    pub static REQUEST_ID: String;
}

/// The `errorCode` of a problem response, left in the response's extensions for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// A problem document. Boxed inside [`ApiError`] so that `Result`s stay small.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub error_code: &'static str,
    pub title: String,
    pub type_uri: String,
    pub detail: Option<String>,
    pub extensions: Map<String, Value>,
    pub www_authenticate: Option<&'static str>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError(Box<Problem>);

impl std::ops::Deref for ApiError {
    type Target = Problem;
    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut Problem {
        &mut self.0
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An application error: `type` is the docs anchor of its code.
    pub fn new(status: StatusCode, error_code: &'static str, title: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            status,
            error_code,
            title: title.into(),
            type_uri: format!("{ERRORS_DOC}{error_code}"),
            detail: None,
            extensions: Map::new(),
            www_authenticate: None,
            retry_after: None,
        }))
    }

    pub fn bad_request(error_code: &'static str, title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error_code, title)
    }

    /// 429 `rate_limited`, with `Retry-After` in whole seconds (at least 1).
    #[must_use]
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests. Please retry in {secs} seconds."),
        );
        e.retry_after = Some(secs);
        e
    }

    #[must_use]
    pub fn with_type(mut self, type_uri: impl Into<String>) -> Self {
        self.type_uri = type_uri.into();
        self
    }

    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    #[must_use]
    pub fn with_extension(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// A field-level validation failure, in the shape ASP.NET's validation problem has.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(
            field.to_owned(),
            Value::Array(vec![Value::String(message.into())]),
        );
        Self::validation_errors(errors)
    }

    /// Several field errors: `{"field": ["message", …]}`.
    pub fn validation_errors(errors: Map<String, Value>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            "One or more validation errors occurred.",
        )
        .with_type(VALIDATION_TYPE)
        .with_extension("errors", Value::Object(errors))
    }

    /// A request that could not be read at all (body, JSON, query).
    pub fn unreadable(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", title).with_type(VALIDATION_TYPE)
    }

    pub fn missing_origin() -> Self {
        Self::bad_request("missing_origin", "Origin is required.")
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no endpoint at this path.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This endpoint does not accept that HTTP method.",
        )
    }

    /// The database could not be reached; the request may be retried.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "The storage backend is unavailable. Please retry shortly.",
        )
    }

    /// A fault of ours. The cause is logged here and never sent to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An error occurred while processing your request.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "storage unavailable");
                Self::unavailable()
            }
            StoreError::Unstorable(_) => Self::unreadable(
                "The request contains characters that cannot be stored (such as NUL).",
            ),
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = *self.0;
        let mut body = Map::new();
        body.insert("type".into(), p.type_uri.into());
        body.insert("title".into(), p.title.into());
        body.insert("status".into(), p.status.as_u16().into());
        if let Some(detail) = p.detail {
            body.insert("detail".into(), detail.into());
        }
        body.insert("errorCode".into(), p.error_code.into());
        body.extend(p.extensions);
        if let Ok(id) = REQUEST_ID.try_with(Clone::clone) {
            body.insert("traceId".into(), id.into());
        }
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let mut response = (p.status, bytes).into_response();
        let headers = response.headers_mut();
        // Exactly this media type, without parameters: the Node and Java SDKs compare it whole.
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = p.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(scheme) = p.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        // Counted by errorCode in `passkeyd_ceremony_errors_total` (see `http::metrics`).
        response.extensions_mut().insert(ErrorCode(p.error_code));
        response
    }
}
