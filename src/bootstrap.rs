//! `PASSKEYD_BOOTSTRAP_APP`: a first start with working keys.
//!
//! At start-up the named app is created when it does not exist, and its four keys are written
//! to the log, once, one INFO line per key. This is the one deliberate exception to "no secrets
//! in the log": without a management key there is no other way for an operator of a fresh
//! container to get keys. Later starts (and other replicas) find the app and print nothing.

use crate::service::apps;
use crate::wire::{CreateAppRequest, CreateAppResponse};
use crate::Services;

/// What start-up found or did.
#[derive(Debug)]
pub enum Outcome {
    /// The app was created here; these are its keys.
    Created(CreateAppResponse),
    /// The app already existed.
    Exists,
    /// Another replica created it between our look-up and our insert.
    CreatedElsewhere,
}

/// Creates `app_id` unless it exists. Safe with several replicas starting at once: the
/// database's uniqueness rule lets exactly one of them create it.
pub async fn ensure_app(s: &Services, app_id: &str) -> anyhow::Result<Outcome> {
    let existing =
        s.store.find_app(app_id).await.map_err(|e| {
            anyhow::anyhow!("PASSKEYD_BOOTSTRAP_APP: cannot look up '{app_id}': {e}")
        })?;
    if existing.is_some() {
        return Ok(Outcome::Exists);
    }
    match apps::create(s, app_id, CreateAppRequest::default()).await {
        Ok(keys) => Ok(Outcome::Created(keys)),
        Err(e) if e.error_code == "app_exists" => Ok(Outcome::CreatedElsewhere),
        Err(e) => Err(anyhow::anyhow!(
            "PASSKEYD_BOOTSTRAP_APP: cannot create '{app_id}': {}",
            e.title
        )),
    }
}

/// [`ensure_app`], then the log lines: the keys when created here, a note otherwise.
pub async fn run(s: &Services, app_id: &str) -> anyhow::Result<()> {
    match ensure_app(s, app_id).await? {
        Outcome::Created(keys) => {
            let lines = [
                ("apiKey1", &keys.api_key1),
                ("apiKey2", &keys.api_key2),
                ("apiSecret1", &keys.api_secret1),
                ("apiSecret2", &keys.api_secret2),
            ];
            for (name, value) in lines {
                // Deliberately logged, once: see the module documentation.
                tracing::info!(
                    app_id,
                    key = name,
                    value = value.as_str(),
                    "BOOTSTRAP KEY, shown only this once: store it safely"
                );
            }
        }
        Outcome::Exists => {
            tracing::info!(app_id, "bootstrap app exists; its keys are not shown again");
        }
        Outcome::CreatedElsewhere => {
            tracing::info!(
                app_id,
                "bootstrap app was just created by another replica; its keys are in that replica's log"
            );
        }
    }
    Ok(())
}
