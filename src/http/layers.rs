//! The middleware stack, outermost first:
//! 1. headers: CORS (any origin, header and method; preflights answered 204 without auth) and
//!    the security headers, on every response including errors;
//! 2. request id: a fresh id per request, in `x-request-id` and in problem bodies (`traceId`);
//! 3. tracing span per request (headers are not recorded, so keys never reach the log);
//! 4. catch-panic, answering a problem document instead of dropping the connection;
//! 5. path normalisation (routes match case-insensitively and ignore a trailing slash).

use std::any::Any;

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_SECURITY_POLICY, ORIGIN,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, REQUEST_ID};

pub fn wrap(routes: Router) -> Router {
    Router::new()
        .fallback_service(routes)
        .layer(middleware::map_request(normalize_path))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(headers))
}

async fn headers(req: Request, next: Next) -> Response {
    let h = req.headers();
    let preflight = req.method() == Method::OPTIONS
        && h.contains_key(ORIGIN)
        && h.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let echo = [
            (ACCESS_CONTROL_REQUEST_METHOD, ACCESS_CONTROL_ALLOW_METHODS),
            (ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_ALLOW_HEADERS),
        ];
        for (asked, allowed) in echo {
            if let Some(v) = h.get(&asked) {
                r.headers_mut().insert(allowed, v.clone());
            }
        }
        r
    } else {
        next.run(req).await
    };
    let out = response.headers_mut();
    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    out.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self';"),
    );
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn request_id(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let header = HeaderValue::from_str(&id).ok();
    let mut response = REQUEST_ID.scope(id, next.run(req)).await;
    if let Some(value) = header {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Lower-cases the path and drops a trailing slash. Every route and route parameter of the
/// contract is lower case (app ids are `[a-z0-9]`), so nothing is lost.
async fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let normal = trimmed.to_ascii_lowercase();
    if normal != path {
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{normal}?{q}"),
            None => normal,
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(&"a request handler panicked").into_response()
}
