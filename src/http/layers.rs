//! The middleware stack, outermost first:
//! 1. headers: CORS (any origin, header and method; preflights answered 204 without auth) and
//!    the security headers, on every response including errors;
//! 2. request id: a fresh id per request, in `x-request-id`, in problem bodies (`traceId`) and
//!    in the request's log span (`request_id`): the same id in all three;
//! 3. client address: `ClientIp` from the TCP peer or a trusted proxy (see `client_ip`);
//! 4. the key headers marked sensitive (so they print as `Sensitive` if ever formatted);
//! 5. metrics: every response counted and timed (see `metrics`);
//! 6. tracing span per request with the request id, method, path (no query string) and client
//!    address; headers are not recorded, so keys never reach the log; one INFO line per
//!    response with its status and latency;
//! 7. rate limits on the browser and management endpoints (see `rate_limit`), inside the
//!    metrics and the trace so that refusals are counted and logged;
//! 8. catch-panic, answering a problem document instead of dropping the connection;
//! 9. path normalisation (routes match case-insensitively and ignore a trailing slash).

use std::any::Any;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_SECURITY_POLICY, ORIGIN,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

use super::client_ip::{self, ClientIp, ClientProto, TrustedProxies};
use super::metrics::{self, Metrics};
use super::rate_limit;
use crate::error::{ApiError, REQUEST_ID};
use crate::AppState;

pub fn wrap(routes: Router, state: &AppState, metrics: Arc<Metrics>) -> Router {
    let sensitive = [
        HeaderName::from_static("apikey"),
        HeaderName::from_static("apisecret"),
        HeaderName::from_static("managementkey"),
        axum::http::header::AUTHORIZATION,
        axum::http::header::COOKIE,
    ];
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(
            DefaultOnResponse::new()
                .level(tracing::Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        );
    Router::new()
        .fallback_service(routes)
        .layer(middleware::map_request(normalize_path))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            rate_limit::Limiters::new(state.rate_limits),
            rate_limit::middleware,
        ))
        .layer(trace)
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(SetSensitiveRequestHeadersLayer::new(sensitive))
        .layer(middleware::from_fn_with_state(
            TrustedProxies::new(&state.trusted_proxies),
            client_ip::middleware,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(headers))
}

/// The request id, in the request's extensions for the log span.
#[derive(Debug, Clone)]
struct RequestId(String);

/// The span every log line of a request carries. INFO, so that it is on whenever the
/// request's own INFO lines are. No headers, no query string: keys and tokens stay out.
fn request_span(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or("", |RequestId(id)| id.as_str());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        client_ip = tracing::field::Empty,
        proto = tracing::field::Empty,
    );
    if let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>() {
        span.record("client_ip", tracing::field::display(ip));
    }
    if let Some(ClientProto(proto)) = req.extensions().get::<ClientProto>() {
        span.record("proto", tracing::field::display(proto));
    }
    span
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
    // The admin console sets its own, stricter policy.
    if !out.contains_key(CONTENT_SECURITY_POLICY) {
        out.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self';"),
        );
    }
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The console sends `same-origin`: with `no-referrer` browsers send `Origin: null` on its
    // form posts, and it checks that header.
    if !out.contains_key(REFERRER_POLICY) {
        out.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let header = HeaderValue::from_str(&id).ok();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = REQUEST_ID.scope(id, next.run(req)).await;
    if let Some(value) = header {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Lower-cases the path and drops a trailing slash. Every route and route parameter of the
/// contract is lower case (app ids are `[a-z0-9]`), so nothing is lost. The Passage-style API
/// (`/v1/…`) keeps its case: its user and device ids are case-sensitive.
async fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let normal = if trimmed.starts_with("/v1/") {
        trimmed.to_owned()
    } else {
        trimmed.to_ascii_lowercase()
    };
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
