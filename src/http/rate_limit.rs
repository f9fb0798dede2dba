//! Rate limits, with the `governor` crate: browser (`ApiKey`) endpoints per client address and
//! per app (charged only once the key has authenticated), management endpoints per client
//! address, and failed key checks per client address (any endpoint). IPv6 clients count per
//! network (/64 by default). A refused request gets 429, `Retry-After` and a problem body.
//! Backend (`ApiSecret`) calls that authenticate are not limited: they come from the app's own
//! servers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::ClientIp;
use crate::config::RateLimits;
use crate::error::ApiError;

/// The limiters of one server. Keys are evicted once idle so memory stays bounded.
pub struct Limiters {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_app: Option<DefaultKeyedRateLimiter<String>>,
    management_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    failed_auth: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses past their failed-authentication limit, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    ipv6_prefix: u8,
    seen: AtomicU64,
    /// Made once: making one reads the CPU's features, which costs more than a check.
    clock: DefaultClock,
}

/// Blocked addresses kept at most; past it the oldest blocks are forgotten first.
const MAX_BLOCKED: usize = 100_000;

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
            failed_auth: limiter(limits.failed_auth_per_ip),
            blocked: Mutex::new(HashMap::new()),
            ipv6_prefix: limits.ipv6_prefix,
            seen: AtomicU64::new(0),
            clock: DefaultClock::default(),
        })
    }

    /// The address a client is counted under: IPv4 as is, IPv6 by its network (a /64 by
    /// default), since one subscriber gets a whole /64.
    fn key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6);
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(self.ipv6_prefix))
                        .unwrap_or(0);
                    IpAddr::V6((bits & mask).into())
                }
            },
            v4 => v4,
        }
    }

    /// Forgets keys whose buckets are full again, every so many requests.
    fn tidy(&self) {
        if self.seen.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            for l in [&self.per_ip, &self.management_per_ip, &self.failed_auth]
                .into_iter()
                .flatten()
            {
                l.retain_recent();
            }
            if let Some(l) = &self.per_app {
                l.retain_recent();
            }
            let now = Instant::now();
            if let Ok(mut b) = self.blocked.lock() {
                b.retain(|_, until| *until > now);
            }
        }
    }

    fn wait(&self, verdict: Result<(), governor::NotUntil<QuantaInstant>>) -> Option<Duration> {
        verdict
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Charges the app's bucket; called once the request's `ApiKey` has authenticated, so that
    /// requests with made-up keys cannot use up a real app's allowance.
    pub fn charge_app(&self, app_id: &str) -> Result<(), Duration> {
        match &self.per_app {
            Some(l) => self
                .wait(l.check_key(&app_id.to_owned()))
                .map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// Counts a failed key check from `ip`; past the limit the address is refused for a while.
    pub fn note_failed_auth(&self, ip: IpAddr) {
        let Some(l) = &self.failed_auth else {
            return;
        };
        let key = self.key(ip);
        if let Some(wait) = self.wait(l.check_key(&key)) {
            if let Ok(mut b) = self.blocked.lock() {
                if b.len() >= MAX_BLOCKED {
                    b.clear();
                }
                b.insert(key, Instant::now() + wait);
            }
        }
    }

    /// How long `ip` is still refused after too many failed key checks.
    pub fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let until = *self.blocked.lock().ok()?.get(&self.key(ip))?;
        until.checked_duration_since(Instant::now())
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
        // The console's sign-in takes the management key, so it is limited like the API.
        p if p.starts_with("/admin/")
            || p == "/apps/list-pending-deletion"
            || p == "/console/signin" =>
        {
            Class::Management
        }
        // Passkey Flex's browser calls: `/v1/apps/{app}/{register|authenticate}/transactions/…`.
        p if p.starts_with("/v1/apps/") && p.contains("/transactions/webauthn/") => Class::Browser,
        _ => Class::Other,
    }
}

/// Per-address limits, before anything else runs: an address over its limit is refused
/// without charging any other bucket. The app's own bucket is charged by the key check
/// (`http::auth`), which finds these limiters in the request's extensions.
pub async fn middleware(
    State(limiters): State<Arc<Limiters>>,
    mut req: Request,
    next: Next,
) -> Response {
    limiters.tidy();
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let key = limiters.key(ip);
    // The Passage-style API carries its secret as a bearer token.
    let carries_key = ["apikey", "apisecret"]
        .iter()
        .any(|h| req.headers().contains_key(*h))
        || (req.uri().path().starts_with("/v1/")
            && req
                .headers()
                .contains_key(axum::http::header::AUTHORIZATION));
    if carries_key {
        if let Some(wait) = limiters.blocked_for(ip) {
            return ApiError::rate_limited(wait).into_response();
        }
    }
    let by_ip = match classify(req.uri().path()) {
        Class::Browser => limiters.per_ip.as_ref(),
        Class::Management => limiters.management_per_ip.as_ref(),
        Class::Other => None,
    };
    if let Some(wait) = by_ip.and_then(|l| limiters.wait(l.check_key(&key))) {
        return ApiError::rate_limited(wait).into_response();
    }
    req.extensions_mut().insert(Arc::clone(&limiters));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_network() {
        let limits = RateLimits {
            per_ip: 1,
            per_app: 0,
            management_per_ip: 0,
            failed_auth_per_ip: 0,
            ipv6_prefix: 64,
        };
        let l = Limiters::new(limits);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.key(a), l.key(b));
        assert_ne!(l.key(a), l.key(c));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(l.key(mapped), v4);
    }

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
