//! passkeyd: a self-hosted passkey (WebAuthn) server that speaks the Passwordless.dev v4 API.
//!
//! `main.rs` only handles the process; everything else (tests included) builds the server
//! through [`open`] and [`http::router`].

pub mod bootstrap;
pub mod ceremony;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod mail;
pub mod mds;
pub mod service;
pub mod store;
pub mod tokens;
pub mod wire;

use std::sync::Arc;

use rand::RngCore;

use crate::clock::Clock;
use crate::config::{Config, MailConfig, Secret};
use crate::mail::{Mailer, MailerConfig};
use crate::mds::Metadata;
use crate::store::Store;

/// Everything a request handler needs, shared by all requests.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Key of the keyed hash under which API secrets are stored; the same for every replica.
    pub instance_key: Vec<u8>,
    /// Key that seals ceremony sessions into their tokens; the same for every replica.
    pub seal_key: [u8; 32],
    pub management_key: Option<Secret>,
    pub mailer: Mailer,
    pub magic_link_new_app_hours: i64,
    /// Roots that attestation chains must lead to where an app keeps an allow-list.
    pub trust_roots: ceremony::TrustRoots,
    /// Authenticator metadata, when a FIDO MDS3 blob is configured.
    pub metadata: Option<Metadata>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub rate_limits: config::RateLimits,
}

pub type AppState = Arc<Services>;

/// Opens the database (applying migrations) and assembles the services.
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let store = store::open(&config.database).await?;
    let mut candidate = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut candidate);
    let instance_key = store
        .instance_secret("api_secret_hash_key", &candidate, clock.now())
        .await?;
    rand::thread_rng().fill_bytes(&mut candidate);
    let seal_key: [u8; 32] = store
        .instance_secret("session_seal_key", &candidate, clock.now())
        .await?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the stored session_seal_key is not 32 bytes"))?;
    let from = config.mail_from.clone();
    let mailer = Mailer::new(match &config.mail {
        MailConfig::Smtp { url } => MailerConfig::Smtp {
            url: url.expose().to_owned(),
            from,
        },
        MailConfig::File { path } => MailerConfig::File {
            path: path.clone(),
            from,
        },
        MailConfig::Log => MailerConfig::Log { from },
        MailConfig::Off => MailerConfig::Off { from },
    })
    .map_err(|e| anyhow::anyhow!("PASSKEYD_SMTP_URL / PASSKEYD_MAIL_FROM: {e}"))?;
    let metadata = match &config.mds_file {
        Some(path) => {
            Some(Metadata::load(path).map_err(|e| anyhow::anyhow!("PASSKEYD_MDS_FILE: {e}"))?)
        }
        None => None,
    };
    let mut trust_roots = match &config.attestation_roots {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!(
                    "PASSKEYD_ATTESTATION_ROOTS: cannot read {}: {e}",
                    path.display()
                )
            })?;
            let roots = ceremony::TrustRoots::from_pem(&text)
                .map_err(|e| anyhow::anyhow!("PASSKEYD_ATTESTATION_ROOTS: {e}"))?;
            if roots.is_empty() {
                anyhow::bail!(
                    "PASSKEYD_ATTESTATION_ROOTS: {} holds no certificate",
                    path.display()
                );
            }
            roots
        }
        None => ceremony::TrustRoots::default(),
    };
    if let Some(metadata) = &metadata {
        for (aaguid, roots) in metadata.attestation_roots() {
            for der in roots {
                // A malformed root in the blob disables that one root, not the server.
                if let Err(e) = trust_roots.add_model_root(der, aaguid) {
                    tracing::warn!(%aaguid, error = %e, "skipping an attestation root from the MDS blob");
                }
            }
        }
    }
    Ok(Arc::new(Services {
        trust_roots,
        store,
        clock,
        instance_key,
        seal_key,
        management_key: config.management_key.clone(),
        mailer,
        magic_link_new_app_hours: config.magic_link_new_app_hours,
        metadata,
        trusted_proxies: config.trusted_proxies.clone(),
        rate_limits: config.rate_limits,
    }))
}
