//! Per-app allow- and block-lists of authenticator models (AAGUIDs), enforced at
//! `/register/complete`. They need the app's `allowAttestation` feature.

use std::collections::BTreeSet;

use axum::http::StatusCode;

use super::events::{self, EventType};
use super::{format_time, Tenant, Validator};
use crate::ceremony::Attestation;
use crate::error::{ApiError, ApiResult};
use crate::store::AppRecord;
use crate::wire::{AuthenticatorItem, AuthenticatorsRequest};
use crate::Services;

fn require_feature(app: &AppRecord) -> ApiResult<()> {
    if app.features.allow_attestation {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "attestation_not_supported_on_plan",
        "Attestation is not supported on your plan.",
    ))
}

pub async fn list(
    s: &Services,
    tenant: &Tenant,
    allowed: Option<bool>,
) -> ApiResult<Vec<AuthenticatorItem>> {
    require_feature(&tenant.app)?;
    let allowed = allowed.ok_or_else(|| {
        ApiError::unreadable(
            "Required parameter \"bool isAllowed\" was not provided from query string.",
        )
    })?;
    Ok(s.store
        .list_authenticators(&tenant.app.id, allowed)
        .await?
        .into_iter()
        .map(|a| AuthenticatorItem {
            aa_guid: a.aaguid,
            created_at: format_time(a.created_at),
        })
        .collect())
}

/// Parses the AAGUIDs of a request: at least one, each a GUID; returned lower-case, hyphenated.
fn aaguids(v: &mut Validator, given: Option<Vec<String>>) -> Vec<uuid::Uuid> {
    let given = given.unwrap_or_default();
    if given.is_empty() {
        v.error(
            "aaGuids",
            "The field AaGuids must contain at least one AAGUID.",
        );
    }
    let mut parsed = BTreeSet::new();
    for text in given {
        match uuid::Uuid::parse_str(text.trim()) {
            Ok(id) => {
                parsed.insert(id);
            }
            Err(_) => v.error("aaGuids", format!("'{text}' is not a GUID.")),
        }
    }
    parsed.into_iter().collect()
}

fn texts(ids: &[uuid::Uuid]) -> Vec<String> {
    ids.iter().map(|id| id.hyphenated().to_string()).collect()
}

pub async fn add(s: &Services, tenant: &Tenant, req: AuthenticatorsRequest) -> ApiResult<()> {
    require_feature(&tenant.app)?;
    let mut v = Validator::default();
    let ids = aaguids(&mut v, req.aaguids);
    let Some(allowed) = req.is_allowed else {
        v.error("isAllowed", "The IsAllowed field is required.");
        return v.finish();
    };
    v.finish()?;
    if let Some(metadata) = &s.metadata {
        if ids.iter().any(|id| !metadata.knows(id)) {
            return Err(ApiError::bad_request(
                "unknown_authenticator",
                "One or more authenticators do not exist in the FIDO2 MDS.",
            ));
        }
    }
    let list = texts(&ids);
    s.store
        .save_authenticators(&tenant.app.id, &list, allowed, tenant.now)
        .await?;
    let (kind, what) = if allowed {
        (EventType::ApiAuthenticatorsAllowlisted, "allow-list")
    } else {
        (EventType::ApiAuthenticatorsBlacklisted, "block-list")
    };
    let message = format!("Put {} on the {what}.", list.join(", "));
    events::note(s, tenant, kind, "Api", &tenant.app.id, message).await;
    Ok(())
}

pub async fn remove(s: &Services, tenant: &Tenant, req: AuthenticatorsRequest) -> ApiResult<()> {
    require_feature(&tenant.app)?;
    let mut v = Validator::default();
    let ids = aaguids(&mut v, req.aaguids);
    v.finish()?;
    let list = texts(&ids);
    s.store.delete_authenticators(&tenant.app.id, &list).await?;
    let message = format!("Removed {} from the authenticator lists.", list.join(", "));
    events::note(
        s,
        tenant,
        EventType::ApiAuthenticatorsDelisted,
        "Api",
        &tenant.app.id,
        message,
    )
    .await;
    Ok(())
}

/// Refuses a new credential whose authenticator the app blocks or does not allow, or whose
/// metadata says it is compromised.
/// The AAGUID of an authenticator that does not say what it is.
pub const NIL_AAGUID: &str = "00000000-0000-0000-0000-000000000000";

pub async fn check_registration(
    s: &Services,
    app: &AppRecord,
    aaguid: Option<&str>,
    attestation: Attestation,
) -> ApiResult<()> {
    let aaguid = aaguid.unwrap_or(NIL_AAGUID);
    if let (Some(metadata), Ok(id)) = (&s.metadata, uuid::Uuid::parse_str(aaguid)) {
        if metadata.is_compromised(&id) {
            return Err(ApiError::bad_request(
                "fido2_invalid_registration",
                "The authenticator's metadata reports it as compromised or revoked.",
            ));
        }
    }
    if !app.features.allow_attestation {
        return Ok(());
    }
    let (entry, has_allow_list) = s.store.authenticator_policy(&app.id, aaguid).await?;
    match entry {
        Some(false) => Err(ApiError::bad_request(
            "authenticator_not_allowed",
            "The authenticator is on the blocklist and is not allowed to be used for registration.",
        )),
        Some(true) => Ok(()),
        None if !has_allow_list => Ok(()),
        None if attestation == Attestation::None => Err(ApiError::bad_request(
            "attestation_required",
            "Attestation 'none' was used for registration, but an allowlist was configured. Please use a supported attestation method.",
        )),
        None => Err(ApiError::bad_request(
            "authenticator_not_allowed",
            "An allowlist was configured. The authenticator is not found on the allowlist and is not allowed to be used for registration.",
        )),
    }
}
