//! The HTTP surface: routes, the middleware stack, and thin handlers.

pub mod auth;
pub mod client_ip;
pub mod extract;
pub mod metrics;
mod openapi;
pub mod rate_limit;
pub mod serve;

mod admin;
mod console;
mod flex;
mod health;
mod layers;
mod passage;
mod register;
mod sessions;
mod settings;
mod signin;
mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

/// Request bodies are small JSON documents; anything near this size is not a real client.
pub const BODY_LIMIT: usize = 1024 * 1024;

fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/register/token", post(register::token))
        .route("/register/begin", post(register::begin))
        .route("/register/complete", post(register::complete))
        .route("/signin/begin", post(signin::begin))
        .route("/signin/complete", post(signin::complete))
        .route("/signin/verify", post(signin::verify))
        .route("/signin/generate-token", post(signin::generate_token))
        .route("/signin/session", post(sessions::create))
        .route("/alias", post(users::set_aliases))
        .route("/alias/list", get(users::list_aliases))
        .route(
            "/credentials/list",
            get(users::list_credentials_get).post(users::list_credentials_post),
        )
        .route("/credentials/delete", post(users::delete_credential))
        .route("/users/list", get(users::list_users))
        .route("/users/count", get(users::count_users))
        .route("/users/delete", post(users::delete_user))
        .route("/apps/features", post(settings::set_features))
        .route("/events", get(settings::list_events))
        .route("/magic-links/send", post(settings::send_magic_link))
        .route("/authenticators/list", get(settings::list_authenticators))
        .route("/authenticators/add", post(settings::add_authenticators))
        .route(
            "/authenticators/remove",
            post(settings::remove_authenticators),
        )
        .route(
            "/reporting/credentials/periodic",
            get(settings::credentials_report),
        )
        .route(
            "/reporting/active-users/periodic",
            get(settings::active_users_report),
        )
        .route("/auth-configs/list", get(settings::list_auth_configs))
        .route("/auth-configs/add", post(settings::add_auth_config))
        .route("/auth-configs", post(settings::update_auth_config))
        .route("/auth-configs/delete", post(settings::delete_auth_config))
        .route("/admin/apps/{app_id}/create", post(admin::create_app))
        .route("/admin/apps/{app_id}/available", get(admin::app_available))
        .route("/admin/apps/{app_id}/api-keys", get(admin::list_keys))
        .route(
            "/admin/apps/{app_id}/public-keys",
            post(admin::create_public_key),
        )
        .route(
            "/admin/apps/{app_id}/secret-keys",
            post(admin::create_secret_key),
        )
        .route(
            "/admin/apps/{app_id}/api-keys/{key_id}/lock",
            post(admin::lock_key),
        )
        .route(
            "/admin/apps/{app_id}/api-keys/{key_id}/unlock",
            post(admin::unlock_key),
        )
        .route(
            "/admin/apps/{app_id}/api-keys/{key_id}",
            delete(admin::delete_key),
        )
        .route("/admin/apps/{app_id}/freeze", post(admin::freeze))
        .route("/admin/apps/{app_id}/unfreeze", post(admin::unfreeze))
        .route(
            "/admin/apps/{app_id}/features",
            get(admin::get_features).post(admin::set_features),
        )
        .route(
            "/admin/apps/{app_id}/can-delete-immediately",
            get(admin::can_delete_immediately),
        )
        .route("/admin/apps/{app_id}/mark-delete", post(admin::mark_delete))
        .route(
            "/admin/apps/{app_id}/cancel-delete",
            post(admin::cancel_delete),
        )
        .route("/admin/apps/{app_id}", delete(admin::delete_app))
        .route(
            "/admin/apps/{app_id}/sessions",
            get(sessions::settings).post(sessions::set_lifetime),
        )
        .route(
            "/admin/apps/{app_id}/sessions/rotate",
            post(sessions::rotate),
        )
        .route("/.well-known/jwks.json", get(sessions::jwks_by_query))
        .route("/apps/list-pending-deletion", get(admin::pending_deletion))
        .route("/health/http", get(health::http))
        .route("/health/storage", get(health::storage))
        .route("/health/version", get(health::version))
}

/// The Passage-style backend API, at Passage's own paths (its SDKs add `/v1`).
fn passage_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/apps/{app_id}", get(passage::get_app))
        .route(
            "/v1/apps/{app_id}/users",
            get(passage::list_users).post(passage::create_user),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}",
            get(passage::get_user)
                .patch(passage::update_user)
                .delete(passage::delete_user),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}/activate",
            patch(passage::activate),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}/deactivate",
            patch(passage::deactivate),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}/devices",
            get(passage::list_devices),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}/devices/{device_id}",
            patch(passage::update_device).delete(passage::revoke_device),
        )
        .route(
            "/v1/apps/{app_id}/users/{user_id}/tokens",
            delete(passage::revoke_tokens),
        )
        .route(
            "/v1/apps/{app_id}/magic-links",
            post(passage::create_magic_link),
        )
        .route(
            "/v1/apps/{app_id}/.well-known/jwks.json",
            get(sessions::jwks),
        )
        .route(
            "/v1/apps/{app_id}/transactions/register",
            post(flex::register_transaction),
        )
        .route(
            "/v1/apps/{app_id}/transactions/authenticate",
            post(flex::authenticate_transaction),
        )
        .route("/v1/apps/{app_id}/authenticate/verify", post(flex::verify))
        .route(
            "/v1/apps/{app_id}/register/transactions/webauthn/start",
            post(flex::register_start),
        )
        .route(
            "/v1/apps/{app_id}/register/transactions/webauthn/finish",
            post(flex::register_finish),
        )
        .route(
            "/v1/apps/{app_id}/authenticate/transactions/webauthn/start",
            post(flex::authenticate_start),
        )
        .route(
            "/v1/apps/{app_id}/authenticate/transactions/webauthn/finish",
            post(flex::authenticate_finish),
        )
}

/// The complete application: routes at the root and again under `/api` (the self-hosted
/// original's prefix), wrapped in the middleware stack.
pub fn router(state: AppState) -> Router {
    let metrics = Arc::new(metrics::Metrics::new(state.store.clone()));
    let scrape = metrics.clone();
    let routes = Router::new()
        .route("/", get(health::root))
        .route("/openapi.yaml", get(openapi::yaml))
        .route("/swagger/v4/swagger.json", get(openapi::json))
        .route("/metrics", get(move || std::future::ready(scrape.render())))
        .merge(console::routes(metrics.clone()))
        .merge(passage_routes())
        .merge(api_routes())
        .nest("/api", api_routes())
        .route_layer(axum::middleware::from_fn(metrics::remember_route))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state.clone());
    layers::wrap(routes, &state, metrics)
}
