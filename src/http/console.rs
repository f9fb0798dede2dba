//! The admin console at `/console`: server-rendered pages over `service::console`.
//!
//! Off (404, like any unknown path) unless a management key is configured. Signing in with
//! that key starts a server-side session named by an `HttpOnly`, `SameSite=Strict` cookie.
//! Every POST carries the session's form token and, when the browser sends one, an `Origin`
//! of this host. Destructive actions are a GET confirmation page, then a POST.

mod pages;
mod view;

use std::fmt::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN,
    REFERRER_POLICY, SET_COOKIE, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use self::view::{esc, q, Place};
use super::client_ip::ClientIp;
use super::metrics::Metrics;
use super::rate_limit::Limiters;
use crate::error::{ApiError, ApiResult};
use crate::service::console as svc;
use crate::store::ConsoleSession;
use crate::wire::{AuthConfigRequest, ManageFeaturesRequest};
use crate::AppState;

const COOKIE_NAME: &str = "passkeyd_console";
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CSS: &str = include_str!("console/console.css");
const JS: &str = include_str!("console/console.js");

pub fn routes(metrics: Arc<Metrics>) -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/signin", get(signin_page).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
        .route("/console/health", get(health))
        .route("/console/apps", get(apps).post(create_app))
        .route("/console/apps/{app_id}", get(overview))
        .route("/console/apps/{app_id}/keys", get(keys))
        .route("/console/apps/{app_id}/users", get(users))
        .route("/console/apps/{app_id}/user", get(user))
        .route("/console/apps/{app_id}/events", get(events))
        .route("/console/apps/{app_id}/reports", get(reports))
        .route("/console/apps/{app_id}/settings", get(settings))
        .route("/console/apps/{app_id}/confirm", get(confirm))
        .route("/console/apps/{app_id}/action", post(action))
        .layer(axum::middleware::map_response(secure))
        .layer(Extension(metrics))
}

/// The console's headers on every response it gives, errors included.
async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // So that browsers send the `Origin` of form posts (see `same_origin`), and no URL leaves.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

// ---- responses -------------------------------------------------------------------------

fn html(status: StatusCode, page: String) -> Response {
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

/// A failure as a page: its status, title and any field messages.
fn error_page(e: &ApiError, csrf: &str) -> Response {
    let mut body = format!("<section class=\"card\"><h1>{}</h1>", esc(&e.title));
    if let Some(serde_json::Value::Object(fields)) = e.extensions.get("errors") {
        body.push_str("<ul class=\"errors\">");
        for messages in fields.values() {
            for m in messages.as_array().into_iter().flatten() {
                let _ = write!(body, "<li>{}</li>", esc(m.as_str().unwrap_or_default()));
            }
        }
        body.push_str("</ul>");
    }
    body.push_str("<p><a class=\"btn\" href=\"/console/apps\">All apps</a></p></section>");
    let place = if csrf.is_empty() {
        Place::Outside
    } else {
        Place::Apps
    };
    html(e.status, view::layout("Error", &place, csrf, None, &body))
}

/// Renders a handler's result: the page, or its error as a page.
fn page(console: &Console, r: ApiResult<Response>) -> Response {
    r.unwrap_or_else(|e| error_page(&e, &console.0.csrf))
}

fn not_found() -> Response {
    ApiError::not_found().into_response()
}

// ---- the session -----------------------------------------------------------------------

/// A signed-in console request. Without a live session the browser is sent to sign in.
pub struct Console(ConsoleSession);

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        if !svc::enabled(s) {
            return Err(not_found());
        }
        let token = cookie_token(&parts.headers).unwrap_or_default();
        match svc::session(s, &token).await {
            Ok(Some(session)) => Ok(Self(session)),
            Ok(None) => Err(see_other("/console/signin")),
            Err(e) => Err(error_page(&e, "")),
        }
    }
}

/// The host the browser addressed, without its port.
fn host_name(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
        None => host.split(':').next().unwrap_or_default().to_owned(),
    }
}

/// A POST from one of our own pages: the `Origin` (browsers send it on form posts) names
/// this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(origin) = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) else {
        return false;
    };
    let port = origin.port().map(|p| format!(":{p}")).unwrap_or_default();
    let authority = format!("{}{port}", origin.host_str().unwrap_or_default());
    !host.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// A form body's fields. Anything unreadable is simply absent: bad input gets a 4xx from the
/// checks that need the field, never a parse failure.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn forbidden(csrf: &str) -> Response {
    let e = ApiError::new(
        StatusCode::FORBIDDEN,
        "console_form_refused",
        "This form was not sent from a current console page. Reload the page and try again.",
    );
    error_page(&e, csrf)
}

/// The form of a POST whose origin and form token are this session's.
fn checked(console: &Console, headers: &HeaderMap, body: &[u8]) -> Option<Form> {
    let form = Form::parse(body);
    (same_origin(headers) && svc::csrf_ok(&console.0, form.get("csrf"))).then_some(form)
}

// ---- sign-in ---------------------------------------------------------------------------

async fn home(_: Console) -> Response {
    see_other("/console/apps")
}

fn signin_form(message: Option<&str>) -> String {
    let error = message
        .map(|m| format!("<div class=\"notice error\">{}</div>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"signin card\"><h1>Sign in</h1><p class=\"muted\">Enter this server's management key (<code>PASSKEYD_MANAGEMENT_KEY</code>).</p>{error}\
         <form method=\"post\" action=\"/console/signin\"><label>Management key<input type=\"password\" name=\"key\" autocomplete=\"current-password\" required autofocus></label>\
         <button class=\"btn primary wide\">Sign in</button></form></section>"
    );
    view::layout("Sign in", &Place::Outside, "", None, &body)
}

async fn signin_page(State(s): State<AppState>) -> Response {
    if !svc::enabled(&s) {
        return not_found();
    }
    html(StatusCode::OK, signin_form(None))
}

async fn signin(
    State(s): State<AppState>,
    client: Option<Extension<ClientIp>>,
    limiters: Option<Extension<Arc<Limiters>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !svc::enabled(&s) {
        return not_found();
    }
    let ip = client.map(|Extension(ClientIp(ip))| ip);
    let limiters = limiters.map(|Extension(l)| l);
    if let (Some(l), Some(ip)) = (&limiters, ip) {
        if let Some(wait) = l.blocked_for(ip) {
            return ApiError::rate_limited(wait).into_response();
        }
    }
    if !same_origin(&headers) {
        return forbidden("");
    }
    let form = Form::parse(&body);
    match svc::sign_in(&s, form.get("key").unwrap_or_default()).await {
        Ok(Some(session)) => {
            let host = host_name(&headers);
            let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
            let secure = if local { "" } else { "; Secure" };
            let cookie = format!(
                "{COOKIE_NAME}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                session.token,
                svc::SESSION_LIFETIME.num_seconds()
            );
            let mut r = see_other("/console/apps");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            r
        }
        Ok(None) => {
            if let (Some(l), Some(ip)) = (&limiters, ip) {
                l.note_failed_auth(ip);
            }
            html(
                StatusCode::UNAUTHORIZED,
                signin_form(Some("That is not the management key.")),
            )
        }
        Err(e) => error_page(&e, ""),
    }
}

async fn signout(
    State(s): State<AppState>,
    console: Console,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if checked(&console, &headers, &body).is_none() {
        return forbidden(&console.0.csrf);
    }
    let token = cookie_token(&headers).unwrap_or_default();
    if let Err(e) = svc::sign_out(&s, &token).await {
        return error_page(&e, &console.0.csrf);
    }
    let mut r = see_other("/console/signin");
    r.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static(
            "passkeyd_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

async fn css(State(s): State<AppState>) -> Response {
    if !svc::enabled(&s) {
        return not_found();
    }
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js(State(s): State<AppState>) -> Response {
    if !svc::enabled(&s) {
        return not_found();
    }
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
}

// ---- notices after a change ------------------------------------------------------------

/// What a `?done=` code says; unknown codes say nothing, so no text is reflected.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "frozen" => "The app is frozen: all of its keys are refused.",
        "unfrozen" => "The app is active again.",
        "scheduled" => "The app is scheduled for deletion; its keys stop working now.",
        "deleted" => "The app was deleted.",
        "cancelled" => "The deletion was cancelled.",
        "features" => "The features were saved.",
        "locked" => "The key is locked.",
        "unlocked" => "The key is unlocked.",
        "key-deleted" => "The key was deleted.",
        "passkey-deleted" => "The passkey was deleted.",
        "user-deleted" => "The user and their passkeys were deleted.",
        "purpose-added" => "The sign-in purpose was added.",
        "purpose-deleted" => "The sign-in purpose was deleted.",
        "authenticator-added" => "The authenticator list was updated.",
        "authenticator-removed" => "The authenticator was removed from the lists.",
        _ => return None,
    })
}

#[derive(serde::Deserialize, Default)]
struct Params {
    q: Option<String>,
    done: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    days: Option<String>,
    action: Option<String>,
    key: Option<String>,
    user: Option<String>,
    credential: Option<String>,
    purpose: Option<String>,
    aaguid: Option<String>,
}

/// Query parameters; an unreadable query counts as none (every page works without one).
fn params(raw: Result<Query<Params>, QueryRejection>) -> Params {
    raw.map(|Query(p)| p).unwrap_or_default()
}

// ---- apps ------------------------------------------------------------------------------

async fn apps(
    State(s): State<AppState>,
    console: Console,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let search = p.q.clone().unwrap_or_default();
        let list = svc::apps(&s, &search).await?;
        Ok(html(
            StatusCode::OK,
            pages::apps(&list, &search, &console.0.csrf, notice(p.done.as_deref())),
        ))
    }
    .await;
    page(&console, r)
}

async fn create_app(
    State(s): State<AppState>,
    console: Console,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = checked(&console, &headers, &body) else {
        return forbidden(&console.0.csrf);
    };
    let r = async {
        let app_id = form.text("app_id");
        let email = Some(form.text("admin_email"));
        let created = svc::create_app(&s, &app_id, email, form.checked("event_logging")).await?;
        Ok(html(
            StatusCode::CREATED,
            pages::app_created(&app_id, &created, &console.0.csrf),
        ))
    }
    .await;
    page(&console, r)
}

async fn overview(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let app = svc::app(&s, &app_id).await?;
        let f = svc::features(&s, &app_id).await?;
        Ok(html(
            StatusCode::OK,
            pages::overview(
                &app_id,
                &app,
                &f,
                &console.0.csrf,
                notice(p.done.as_deref()),
            ),
        ))
    }
    .await;
    page(&console, r)
}

async fn keys(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let list = svc::keys(&s, &app_id).await?;
        Ok(html(
            StatusCode::OK,
            pages::keys(&app_id, &list, &console.0.csrf, notice(p.done.as_deref())),
        ))
    }
    .await;
    page(&console, r)
}

async fn users(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let search = p.q.clone().unwrap_or_default();
        let list = svc::users(&s, &app_id, &search).await?;
        Ok(html(
            StatusCode::OK,
            pages::users(
                &app_id,
                &search,
                &list,
                &console.0.csrf,
                notice(p.done.as_deref()),
            ),
        ))
    }
    .await;
    page(&console, r)
}

async fn user(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let user_id = p.id.clone().unwrap_or_default();
        let list = svc::passkeys(&s, &app_id, &user_id).await?;
        Ok(html(
            StatusCode::OK,
            pages::user(
                &app_id,
                &user_id,
                &list,
                &console.0.csrf,
                notice(p.done.as_deref()),
            ),
        ))
    }
    .await;
    page(&console, r)
}

async fn events(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let kind = p.kind.clone().unwrap_or_default();
        let text = p.q.clone().unwrap_or_default();
        let found = svc::events(&s, &app_id, &kind, &text).await?;
        let page = pages::events(&app_id, &kind, &text, found.as_ref(), &console.0.csrf);
        Ok(html(StatusCode::OK, page))
    }
    .await;
    page(&console, r)
}

async fn reports(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let days = p
            .days
            .as_deref()
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(30);
        let rep = svc::reports(&s, &app_id, days).await?;
        Ok(html(
            StatusCode::OK,
            pages::reports(&app_id, days, &rep, &console.0.csrf),
        ))
    }
    .await;
    page(&console, r)
}

async fn settings(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let r = async {
        let purposes = svc::purposes(&s, &app_id).await?;
        let lists = svc::authenticators(&s, &app_id).await?;
        Ok(html(
            StatusCode::OK,
            pages::settings(
                &app_id,
                &purposes,
                lists,
                &|a| svc::authenticator_name(&s, a),
                &console.0.csrf,
                notice(p.done.as_deref()),
            ),
        ))
    }
    .await;
    page(&console, r)
}

async fn health(
    State(s): State<AppState>,
    console: Console,
    Extension(metrics): Extension<Arc<Metrics>>,
) -> Response {
    let h = svc::health(&s).await;
    let page = pages::health(&h, metrics.figures(), &console.0.csrf);
    html(StatusCode::OK, page)
}

// ---- confirmations and changes ---------------------------------------------------------

/// What a destructive action will do, in words, for its confirmation page.
fn describe(p: &Params, app_id: &str) -> Option<String> {
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or_default());
    Some(match p.action.as_deref()? {
        "freeze" => format!("Freeze <strong>{}</strong>? Every key of the app is refused until it is unfrozen.", esc(app_id)),
        "mark-delete" => format!("Delete <strong>{}</strong>? An app younger than three days or without passkeys is deleted now; otherwise its keys stop at once and it is deleted in 30 days.", esc(app_id)),
        "lock-key" => format!("Lock key <code>…{}</code>? Requests with it are refused until it is unlocked.", v(&p.key)),
        "delete-key" => format!("Delete key <code>…{}</code>? This cannot be undone.", v(&p.key)),
        "delete-passkey" => format!("Delete this passkey of user <code>{}</code>? It will no longer sign in. This cannot be undone.", v(&p.user)),
        "delete-user" => format!("Delete user <code>{}</code> with all of their passkeys and aliases? This cannot be undone.", v(&p.user)),
        "delete-purpose" => format!("Delete the purpose <strong>{}</strong>? Sign-ins asking for it use sign-in instead.", v(&p.purpose)),
        "remove-authenticator" => format!("Remove <code>{}</code> from the authenticator lists?", v(&p.aaguid)),
        _ => return None,
    })
}

async fn confirm(
    console: Console,
    Path(app_id): Path<String>,
    raw: Result<Query<Params>, QueryRejection>,
) -> Response {
    let p = params(raw);
    let Some(question) = describe(&p, &app_id) else {
        let e = ApiError::bad_request("console_unknown_action", "There is no such action.");
        return error_page(&e, &console.0.csrf);
    };
    let csrf = &console.0.csrf;
    let mut fields: Vec<(&str, &str)> = vec![("action", p.action.as_deref().unwrap_or_default())];
    for (name, value) in [
        ("key", &p.key),
        ("user", &p.user),
        ("credential", &p.credential),
        ("purpose", &p.purpose),
        ("aaguid", &p.aaguid),
    ] {
        if let Some(v) = value {
            fields.push((name, v));
        }
    }
    // Cancel goes back to where the action was offered.
    let base = format!("/console/apps/{}", q(&app_id));
    let (tab, back) = match p.action.as_deref().unwrap_or_default() {
        "lock-key" | "delete-key" => ("keys", format!("{base}/keys")),
        "delete-passkey" | "delete-user" => (
            "users",
            format!(
                "{base}/user?id={}",
                q(p.user.as_deref().unwrap_or_default())
            ),
        ),
        "delete-purpose" | "remove-authenticator" => ("settings", format!("{base}/settings")),
        _ => ("", base.clone()),
    };
    let body = format!(
        "<section class=\"card confirm\"><h1>Are you sure?</h1><p>{question}</p><div class=\"actions\">{}<a class=\"btn ghost\" href=\"{}\">Cancel</a></div></section>",
        view::button_form(&format!("{base}/action"), csrf, &fields, "Yes, do it", "btn danger"),
        esc(&back)
    );
    html(
        StatusCode::OK,
        view::layout("Confirm", &Place::App(&app_id, tab), csrf, None, &body),
    )
}

/// Optional whole number from a form; text that is not one is a field error.
fn number(form: &Form, field: &str, label: &str) -> ApiResult<Option<i64>> {
    let text = form.text(field);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::validation(field, format!("{label} must be a whole number.")))
}

fn lines(form: &Form, field: &str) -> Vec<String> {
    form.text(field)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn action(
    State(s): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = checked(&console, &headers, &body) else {
        return forbidden(&console.0.csrf);
    };
    let r = run(&s, &console, &app_id, &form).await;
    page(&console, r)
}

async fn run(s: &AppState, console: &Console, app_id: &str, form: &Form) -> ApiResult<Response> {
    let base = format!("/console/apps/{}", q(app_id));
    let key = form.text("key");
    let back = |tab: &str, done: &str| {
        let path = if tab.is_empty() {
            base.clone()
        } else {
            format!("{base}/{tab}")
        };
        see_other(&format!("{path}?done={done}"))
    };
    Ok(match form.get("action").unwrap_or_default() {
        "freeze" => {
            svc::freeze(s, app_id, true).await?;
            back("", "frozen")
        }
        "unfreeze" => {
            svc::freeze(s, app_id, false).await?;
            back("", "unfrozen")
        }
        "mark-delete" => {
            if svc::mark_delete(s, app_id).await?.is_deleted {
                see_other("/console/apps?done=deleted")
            } else {
                back("", "scheduled")
            }
        }
        "cancel-delete" => {
            svc::cancel_delete(s, app_id).await?;
            back("", "cancelled")
        }
        "features" => {
            let req = ManageFeaturesRequest {
                event_logging_enabled: Some(form.checked("event_logging")),
                event_logging_retention_period: number(form, "retention", "Event retention")?,
                magic_link_monthly_quota: number(form, "magic_quota", "Magic links per month")?,
                max_users: number(form, "max_users", "Maximum users")?,
                allow_attestation: Some(form.checked("allow_attestation")),
                allowed_origins: Some(lines(form, "allowed_origins")),
                allowed_rp_ids: Some(lines(form, "allowed_rp_ids")),
            };
            svc::set_features(s, app_id, req).await?;
            back("", "features")
        }
        kind @ ("create-public-key" | "create-secret-key") => {
            let secret = kind == "create-secret-key";
            let created = svc::create_key(s, app_id, secret).await?;
            let label = if secret {
                "New secret"
            } else {
                "New public key"
            };
            let warning = if secret {
                "<div class=\"notice warn\">Copy the secret now: it is shown only this once.</div>"
            } else {
                ""
            };
            let body = format!(
                "<section class=\"card\"><h1>{label} created</h1>{warning}{}<p><a class=\"btn primary\" href=\"{base}/keys\">Back to keys</a></p></section>",
                view::secret_box(label, &created)
            );
            html(
                StatusCode::CREATED,
                view::layout(
                    label,
                    &Place::App(app_id, "keys"),
                    &console.0.csrf,
                    None,
                    &body,
                ),
            )
        }
        "lock-key" => {
            svc::lock_key(s, app_id, &key, true).await?;
            back("keys", "locked")
        }
        "unlock-key" => {
            svc::lock_key(s, app_id, &key, false).await?;
            back("keys", "unlocked")
        }
        "delete-key" => {
            svc::delete_key(s, app_id, &key).await?;
            back("keys", "key-deleted")
        }
        "delete-passkey" => {
            svc::delete_passkey(s, app_id, &form.text("credential")).await?;
            let user = form.get("user").unwrap_or_default();
            see_other(&format!("{base}/user?id={}&done=passkey-deleted", q(user)))
        }
        "delete-user" => {
            svc::delete_user(s, app_id, form.get("user").unwrap_or_default()).await?;
            back("users", "user-deleted")
        }
        "add-purpose" => {
            let hints = form.all("hint");
            let req = AuthConfigRequest {
                purpose: Some(form.text("purpose")),
                user_verification: Some(form.text("uv")),
                time_to_live: Some(form.text("ttl")),
                hints: Some(hints),
                ..AuthConfigRequest::default()
            };
            svc::add_purpose(s, app_id, req).await?;
            back("settings", "purpose-added")
        }
        "delete-purpose" => {
            svc::delete_purpose(s, app_id, &form.text("purpose")).await?;
            back("settings", "purpose-deleted")
        }
        "add-authenticator" => {
            let allowed = form.get("list") != Some("block");
            svc::add_authenticator(s, app_id, &form.text("aaguid"), allowed).await?;
            back("settings", "authenticator-added")
        }
        "remove-authenticator" => {
            svc::remove_authenticator(s, app_id, &form.text("aaguid")).await?;
            back("settings", "authenticator-removed")
        }
        _ => {
            return Err(ApiError::bad_request(
                "console_unknown_action",
                "There is no such action.",
            ))
        }
    })
}
