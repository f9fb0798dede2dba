//! The `ApiKey`, `ApiSecret` and `ManagementKey` headers.
//!
//! Failures are the contract's exact 401/403 problems, including its "helpful detail" that
//! says what was sent instead. Authentication runs before the body is read.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::client_ip::ClientIp;
use super::rate_limit::Limiters;
use crate::error::ApiError;
use crate::keys;
use crate::service::events::{self, Event, EventType};
use crate::service::Tenant;
use crate::store::{AppRecord, KeyKind};
use crate::AppState;

/// What an endpoint requires: the kind of key and, for some, a scope.
pub trait Requirement: Send + Sync {
    const KIND: KeyKind;
    const SCOPE: Option<&'static str>;
}

macro_rules! requirement {
    ($name:ident, $kind:expr, $scope:expr) => {
        pub struct $name;
        impl Requirement for $name {
            const KIND: KeyKind = $kind;
            const SCOPE: Option<&'static str> = $scope;
        }
    };
}

requirement!(Register, KeyKind::Public, Some(keys::SCOPE_REGISTER));
requirement!(Login, KeyKind::Public, Some(keys::SCOPE_LOGIN));
requirement!(
    TokenRegister,
    KeyKind::Secret,
    Some(keys::SCOPE_TOKEN_REGISTER)
);
requirement!(TokenVerify, KeyKind::Secret, Some(keys::SCOPE_TOKEN_VERIFY));
requirement!(AnySecret, KeyKind::Secret, None);

/// A request authenticated by an app's key that meets `R`.
pub struct AppKey<R> {
    /// The app as it was when the request arrived, and the key used.
    pub tenant: Tenant,
    _requirement: PhantomData<R>,
}

fn header_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Public => "ApiKey",
        KeyKind::Secret => "ApiSecret",
    }
}

fn header_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn unauthorized(scheme: &'static str, detail: Option<String>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("A valid '{scheme}' header is required."),
    )
    .with_type(format!(
        "https://docs.passwordless.dev/guide/errors.html#{scheme}"
    ));
    e.detail = detail;
    e.www_authenticate = Some(scheme);
    e
}

/// The detail of a 401 for header `h` (the required one) given what was sent.
fn failure_detail(kind: KeyKind, value: Option<&str>, other: Option<&str>) -> String {
    let h = header_name(kind);
    let a = header_name(match kind {
        KeyKind::Public => KeyKind::Secret,
        KeyKind::Secret => KeyKind::Public,
    });
    let Some(value) = value else {
        return match other {
            Some(_) => format!(
                "A '{a}' header was supplied when a '{h}' header should have been supplied."
            ),
            None => format!("A valid '{h}' header is required."),
        };
    };
    if value.starts_with("verify_") {
        format!("A verify token was supplied instead of your '{h}'.")
    } else if value.starts_with("register_") {
        format!("A register token was supplied instead of your '{h}'.")
    } else if kind == KeyKind::Secret && value.contains(":public:") {
        format!("Your ApiSecret header contained a public ApiKey instead of your '{h}'.")
    } else if kind == KeyKind::Public && value.contains(":secret:") {
        format!("Your ApiKey header contained a ApiSecret instead of your '{h}'.")
    } else if !value.contains(kind.as_str()) {
        let start: String = value.chars().take(10).collect();
        format!(
            "We don't recognize the value you supplied for your '{h}'. It started with: '{start}'."
        )
    } else {
        format!("The value of your '{h}' is not valid.")
    }
}

impl<R: Requirement> FromRequestParts<AppState> for AppKey<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let name = header_name(R::KIND);
        let value = header_value(parts, name);
        let other = header_value(
            parts,
            header_name(match R::KIND {
                KeyKind::Public => KeyKind::Secret,
                KeyKind::Secret => KeyKind::Public,
            }),
        );
        let refusal = || unauthorized(name, Some(failure_detail(R::KIND, value, other)));
        Ok(Self {
            tenant: authenticate::<R>(parts, state, value, refusal).await?,
            _requirement: PhantomData,
        })
    }
}

/// Checks a presented key against requirement `R`: the app it names, its kind, lock, scope
/// and the app's rate bucket. `refusal` is the 401 to answer with.
pub async fn authenticate<R: Requirement>(
    parts: &Parts,
    state: &AppState,
    presented: Option<&str>,
    refusal: impl Fn() -> ApiError,
) -> Result<Tenant, ApiError> {
    let limiters = parts.extensions.get::<Arc<Limiters>>().cloned();
    let client = parts.extensions.get::<ClientIp>().map(|ClientIp(ip)| *ip);
    // Every refusal below counts against the client address's failed-check allowance.
    let failed = || {
        if let (Some(l), Some(ip)) = (&limiters, client) {
            l.note_failed_auth(ip);
        }
    };
    let fail = || {
        failed();
        refusal()
    };
    let Some(presented) = presented else {
        return Err(fail());
    };
    let Some((app_id, key_id)) = keys::split(presented) else {
        return Err(fail());
    };
    let found = state.store.find_api_key(app_id, key_id).await?;
    let matched = found.filter(|(record, _)| {
        record.kind == R::KIND
            && match R::KIND {
                KeyKind::Public => keys::same(&record.value, presented),
                KeyKind::Secret => keys::same(
                    &record.value,
                    &keys::hash_secret(&state.instance_key, presented),
                ),
            }
    });
    let Some((record, app)) = matched else {
        // Note the attempt in the named app's log, if that app exists.
        if let Some(app) = state.store.find_app(app_id).await? {
            let kind = match R::KIND {
                KeyKind::Public => EventType::ApiAuthInvalidPublicKeyUsed,
                KeyKind::Secret => EventType::ApiAuthInvalidSecretKeyUsed,
            };
            key_event(state, &app, kind, key_id).await;
        }
        return Err(fail());
    };
    // A locked key, or any key of a frozen app or one pending deletion, is refused like an
    // unknown one, as in the original.
    if record.locked || app.frozen || app.delete_at.is_some() {
        let kind = match R::KIND {
            KeyKind::Public => EventType::ApiAuthDisabledPublicKeyUsed,
            KeyKind::Secret => EventType::ApiAuthDisabledSecretKeyUsed,
        };
        key_event(state, &app, kind, key_id).await;
        return Err(fail());
    }
    if let Some(scope) = R::SCOPE {
        if !record.scopes.iter().any(|s| s == scope) {
            failed();
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You are forbidden from accessing this resource.",
            )
            .with_type("https://docs.passwordless.dev/guide/errors.html#forbidden")
            .with_detail(format!(
                "You are unable to access this resource because you do not have the required permissions. Required scopes: {scope}"
            )));
        }
    }
    // The app's browser allowance is charged only now, so that requests with made-up keys
    // naming the app cannot use it up.
    if R::KIND == KeyKind::Public {
        if let Some(Err(wait)) = limiters.as_ref().map(|l| l.charge_app(&app.id)) {
            return Err(ApiError::rate_limited(wait));
        }
    }
    Ok(Tenant {
        app,
        key_id: record.key_id,
        now: state.clock.now(),
        actor: None,
    })
}

/// Failed-key events are recorded at most once per app and kind in this window; the next one
/// says how many were left out, so an outsider cannot bury an app's audit log or keep the
/// writer busy.
const KEY_EVENT_WINDOW: Duration = Duration::from_secs(60);

/// Per (app, kind): when the last event was recorded, and how many were left out since.
type KeyEvents = HashMap<(String, String), (Instant, u64)>;
static KEY_EVENTS: LazyLock<Mutex<KeyEvents>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// `Some(left out since the last one)` when this failure should be recorded now.
fn key_event_due(app_id: &str, kind: String) -> Option<u64> {
    let mut seen = KEY_EVENTS.lock().ok()?;
    let now = Instant::now();
    if seen.len() > 10_000 {
        seen.retain(|_, (at, _)| now.duration_since(*at) < KEY_EVENT_WINDOW);
    }
    let key = (app_id.to_owned(), kind);
    match seen.get_mut(&key) {
        Some((at, skipped)) if now.duration_since(*at) < KEY_EVENT_WINDOW => {
            *skipped += 1;
            None
        }
        Some((at, skipped)) => {
            let left_out = *skipped;
            *at = now;
            *skipped = 0;
            Some(left_out)
        }
        None => {
            seen.insert(key, (now, 0));
            Some(0)
        }
    }
}

async fn key_event(state: &AppState, app: &AppRecord, kind: EventType, key_id: &str) {
    let Some(left_out) = key_event_due(&app.id, kind.name()) else {
        return;
    };
    let message = match kind {
        EventType::ApiAuthDisabledPublicKeyUsed | EventType::ApiAuthDisabledSecretKeyUsed => {
            "A locked API key, or a key of a frozen app, was used."
        }
        _ => "An invalid API key was used.",
    };
    let message = if left_out == 0 {
        message.to_owned()
    } else {
        format!("{message} ({left_out} more such attempts in the minute before were not recorded one by one.)")
    };
    let event = Event {
        kind,
        message,
        performed_by: "Unknown",
        subject: &app.id,
        api_key_id: key_id,
    };
    events::record(state, app, event).await;
}

/// A request carrying the server's management key.
pub struct ManagementKey;

impl FromRequestParts<AppState> for ManagementKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = header_value(parts, "ManagementKey");
        match (&state.management_key, presented) {
            (Some(expected), Some(presented)) if keys::same(expected.expose(), presented) => {
                Ok(Self)
            }
            _ => Err(unauthorized("ManagementKey", None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_detail_rules() {
        use KeyKind::{Public, Secret};
        let d = failure_detail;
        assert_eq!(
            d(Secret, Some("verify_abc"), None),
            "A verify token was supplied instead of your 'ApiSecret'."
        );
        assert_eq!(
            d(Public, Some("register_abc"), None),
            "A register token was supplied instead of your 'ApiKey'."
        );
        assert_eq!(
            d(Secret, Some("app:public:123"), None),
            "Your ApiSecret header contained a public ApiKey instead of your 'ApiSecret'."
        );
        assert_eq!(
            d(Public, Some("app:secret:123"), None),
            "Your ApiKey header contained a ApiSecret instead of your 'ApiKey'."
        );
        assert_eq!(d(Secret, Some("abcdefghijklmno"), None), "We don't recognize the value you supplied for your 'ApiSecret'. It started with: 'abcdefghij'.");
        assert_eq!(
            d(Secret, Some("app:secret:123"), None),
            "The value of your 'ApiSecret' is not valid."
        );
        assert_eq!(
            d(Secret, None, Some("x")),
            "A 'ApiKey' header was supplied when a 'ApiSecret' header should have been supplied."
        );
        assert_eq!(
            d(Public, None, None),
            "A valid 'ApiKey' header is required."
        );
    }
}
