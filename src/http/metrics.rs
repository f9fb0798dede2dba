//! `GET /metrics`: Prometheus text format.
//!
//! - `passkeyd_http_requests_total{method,route,status}`: every response, by route template
//!   (`unmatched` for paths no route matches, so random paths cannot grow the label set);
//! - `passkeyd_http_request_duration_seconds{method,route}`: time to the response head;
//! - `passkeyd_ceremony_errors_total{error_code}`: every problem response, by `errorCode`
//!   (tagged by the error type, see [`crate::error::ErrorCode`]);
//! - `passkeyd_db_pool_connections_in_use{pool}` / `_idle{pool}`: read at scrape time.
//!
//! Each router has its own registry, so servers in one process (tests) do not share counts.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::error::{ApiError, ErrorCode};
use crate::store::Store;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    pool_in_use: IntGaugeVec,
    pool_idle: IntGaugeVec,
    store: Arc<dyn Store>,
}

impl Metrics {
    /// # Panics
    /// Never: the metric names and labels are constants known to be valid and distinct.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        const VALID: &str = "metric definitions are constant and valid";
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "passkeyd_http_requests_total",
                "HTTP responses by method, route template and status.",
            ),
            &["method", "route", "status"],
        )
        .expect(VALID);
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "passkeyd_http_request_duration_seconds",
                "Time from request to response head, by method and route template.",
            ),
            &["method", "route"],
        )
        .expect(VALID);
        let errors = IntCounterVec::new(
            Opts::new(
                "passkeyd_ceremony_errors_total",
                "Problem responses (application/problem+json) by errorCode.",
            ),
            &["error_code"],
        )
        .expect(VALID);
        let pool_in_use = IntGaugeVec::new(
            Opts::new(
                "passkeyd_db_pool_connections_in_use",
                "Database connections currently checked out, by pool.",
            ),
            &["pool"],
        )
        .expect(VALID);
        let pool_idle = IntGaugeVec::new(
            Opts::new(
                "passkeyd_db_pool_connections_idle",
                "Open database connections waiting in the pool, by pool.",
            ),
            &["pool"],
        )
        .expect(VALID);
        let build_info = IntGauge::with_opts(
            Opts::new("passkeyd_build_info", "Always 1; the version is a label.")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect(VALID);
        build_info.set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(errors.clone()),
            Box::new(pool_in_use.clone()),
            Box::new(pool_idle.clone()),
            Box::new(build_info),
        ] {
            registry.register(collector).expect(VALID);
        }
        Self {
            registry,
            requests,
            duration,
            errors,
            pool_in_use,
            pool_idle,
            store,
        }
    }

    /// The text exposition, with the pool gauges read now.
    #[must_use]
    pub fn render(&self) -> Response {
        for stats in self.store.pool_stats() {
            let in_use = i64::from(stats.size.saturating_sub(stats.idle));
            self.pool_in_use
                .with_label_values(&[stats.pool])
                .set(in_use);
            self.pool_idle
                .with_label_values(&[stats.pool])
                .set(i64::from(stats.idle));
        }
        let mut text = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text) {
            return ApiError::internal(&e).into_response();
        }
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response()
    }

    /// Responses so far by status class, and problem responses, for the console's health page.
    #[must_use]
    pub fn figures(&self) -> Figures {
        let mut f = Figures::default();
        for family in self.registry.gather() {
            for m in family.get_metric() {
                let value = m.get_counter().get_value() as u64;
                match family.name() {
                    "passkeyd_http_requests_total" => {
                        let status = m
                            .get_label()
                            .iter()
                            .find(|l| l.name() == "status")
                            .map_or("", |l| l.value());
                        f.responses += value;
                        match status.as_bytes().first() {
                            Some(b'4') => f.client_errors += value,
                            Some(b'5') => f.server_errors += value,
                            _ => {}
                        }
                    }
                    "passkeyd_ceremony_errors_total" => f.problems += value,
                    _ => {}
                }
            }
        }
        f
    }

    fn observe(&self, method: &str, route: &str, response: &Response, started: Instant) {
        let status = response.status();
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.duration
            .with_label_values(&[method, route])
            .observe(started.elapsed().as_secs_f64());
        if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
            self.errors.with_label_values(&[code]).inc();
        }
    }
}

/// Totals since the process started.
#[derive(Debug, Default, Clone, Copy)]
pub struct Figures {
    pub responses: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub problems: u64,
}

/// A bounded label for the method: anything unusual is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Outer middleware: counts and times every response.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    metrics.observe(method, route, &response, started);
    response
}

/// Route layer: carries the matched route template out to [`track`] on the response (the
/// outer middleware runs before routing, so it cannot see it on the request).
pub async fn remember_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}
