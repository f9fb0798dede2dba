//! Rate limits on the browser (`ApiKey`) and management endpoints, per client IP and per app,
//! with the `governor` crate. A refused request gets 429, `Retry-After` and a problem body.
//! Backend (`ApiSecret`) endpoints are not limited: they come from the app's own servers.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::ClientIp;
use crate::config::RateLimits;
use crate::error::ApiError;

/// The limiters of one server. Keys are evicted once idle so memory stays bounded.
pub struct Limiters {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_app: Option<DefaultKeyedRateLimiter<String>>,
    management_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    seen: AtomicU64,
    /// Made once: making one reads the CPU's features, which costs more than a check.
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl Limiters {
    #[must_use]
    pub fn new(limits: RateLimits) -> Arc<Self> {
        Arc::new(Self {
            per_ip: limiter(limits.per_ip),
            per_app: limiter(limits.per_app),
            management_per_ip: limiter(limits.management_per_ip),
            seen: AtomicU64::new(0),
            clock: DefaultClock::default(),
        })
    }

    /// Forgets keys whose buckets are full again, every so many requests.
    fn tidy(&self) {
        if self.seen.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            if let Some(l) = &self.per_ip {
                l.retain_recent();
            }
            if let Some(l) = &self.per_app {
                l.retain_recent();
            }
            if let Some(l) = &self.management_per_ip {
                l.retain_recent();
            }
        }
    }
}

#[derive(PartialEq, Eq)]
enum Class {
    Browser,
    Management,
    Other,
}

/// Which limits a path falls under (before the router's own normalisation, so matched here
/// case-insensitively, with or without the `/api` prefix and a trailing slash).
fn classify(path: &str) -> Class {
    let path = path.to_ascii_lowercase();
    let path = path.strip_prefix("/api").unwrap_or(&path);
    let path = path.trim_end_matches('/');
    match path {
        "/register/begin" | "/register/complete" | "/signin/begin" | "/signin/complete" => {
            Class::Browser
        }
        p if p.starts_with("/admin/") || p == "/apps/list-pending-deletion" => Class::Management,
        _ => Class::Other,
    }
}

/// The app a browser request names: what precedes the first `:` of its `ApiKey` header.
fn app_of(req: &Request) -> Option<String> {
    let key = req.headers().get("apikey")?.to_str().ok()?;
    let (app, _) = key.split_once(':')?;
    (!app.is_empty() && app.len() <= 64).then(|| app.to_owned())
}

pub async fn middleware(
    State(limiters): State<Arc<Limiters>>,
    req: Request,
    next: Next,
) -> Response {
    let class = classify(req.uri().path());
    if class == Class::Other {
        return next.run(req).await;
    }
    limiters.tidy();
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let verdicts = match class {
        Class::Browser => {
            let by_ip = limiters.per_ip.as_ref().map(|l| l.check_key(&ip));
            let by_app = match (&limiters.per_app, app_of(&req)) {
                (Some(l), Some(app)) => Some(l.check_key(&app)),
                _ => None,
            };
            [by_ip, by_app]
        }
        _ => [
            limiters
                .management_per_ip
                .as_ref()
                .map(|l| l.check_key(&ip)),
            None,
        ],
    };
    let wait = verdicts
        .into_iter()
        .flatten()
        .filter_map(Result::err)
        .map(|not_until| not_until.wait_time_from(limiters.clock.now()))
        .max();
    match wait {
        None => next.run(req).await,
        Some(wait) => too_many(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
    }
}

fn too_many(retry_after: u64) -> Response {
    let retry_after = retry_after.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests. Please retry in {retry_after} seconds."),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(classify("/signin/begin") == Class::Browser);
        assert!(classify("/API/Register/Complete/") == Class::Browser);
        assert!(classify("/admin/apps/x/create") == Class::Management);
        assert!(classify("/apps/list-pending-deletion") == Class::Management);
        assert!(classify("/signin/verify") == Class::Other);
        assert!(classify("/health/http") == Class::Other);
    }
}
