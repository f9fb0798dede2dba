//! Aliases, credentials and users of an app (backend endpoints).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use super::{alias_hash, check_aliases, format_time, Validator};
use crate::error::{ApiError, ApiResult};
use crate::service::events::{self, EventType};
use crate::service::Tenant;
use crate::store::{AliasRecord, Conflict, StoreError};
use crate::wire::{
    AliasItem, CredentialDescriptorItem, CredentialItem, DeleteCredentialRequest,
    SetAliasesRequest, UserItem,
};
use crate::Services;

/// The contract caps `/users/list` (no pagination) at about a thousand users.
const USER_LIST_LIMIT: i64 = 1000;
const NIL_AAGUID: &str = "00000000-0000-0000-0000-000000000000";

/// Replaces all of the user's aliases with the given set; the user need not exist yet.
pub async fn set_aliases(s: &Services, tenant: &Tenant, req: SetAliasesRequest) -> ApiResult<()> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let mut v = Validator::default();
    let user_id = v.required("userId", "UserId", req.user_id.as_deref());
    let Some(aliases) = req.aliases else {
        v.error("aliases", "The Aliases field is required.");
        return v.finish();
    };
    check_aliases(&mut v, &aliases);
    v.finish()?;
    let hashing = req.hashing.unwrap_or(true);
    // A set: the same alias twice is one alias.
    let unique: BTreeSet<&String> = aliases.iter().collect();
    let records: Vec<AliasRecord> = unique
        .into_iter()
        .map(|a| AliasRecord {
            hash: alias_hash(app_id, a),
            plaintext: (!hashing).then(|| a.clone()),
        })
        .collect();
    match s
        .store
        .replace_aliases(app_id, &user_id, &records, tenant.now)
        .await
    {
        Err(StoreError::Conflict(Conflict::Alias)) => return Err(alias_conflict()),
        other => other?,
    }
    events::note(
        s,
        tenant,
        EventType::ApiUserSetAliases,
        &user_id,
        &user_id,
        format!("Set the aliases of user {user_id}."),
    )
    .await;
    Ok(())
}

pub fn alias_conflict() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "alias_conflict",
        "Alias is already in use by another userid",
    )
}

/// A required `userId` query or body value: absent and empty are both refused.
fn require_user_id(user_id: Option<String>, empty_title: &'static str) -> ApiResult<String> {
    match user_id {
        None => Err(ApiError::unreadable(
            "Required parameter \"string UserId\" was not provided from query string.",
        )),
        Some(u) if u.is_empty() => Err(ApiError::bad_request("missing_userid", empty_title)),
        Some(u) => Ok(u),
    }
}

pub async fn list_aliases(
    s: &Services,
    tenant: &Tenant,
    user_id: Option<String>,
) -> ApiResult<Vec<AliasItem>> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let user_id = require_user_id(user_id, "UserId is empty")?;
    Ok(s.store
        .list_aliases(app_id, &user_id)
        .await?
        .into_iter()
        .map(|a| AliasItem {
            tenant: app_id.to_owned(),
            user_id: user_id.clone(),
            alias: a.hash,
            plaintext: a.plaintext,
        })
        .collect())
}

pub async fn list_credentials(
    s: &Services,
    tenant: &Tenant,
    user_id: Option<String>,
) -> ApiResult<Vec<CredentialItem>> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let user_id = require_user_id(user_id, "userId must not be null or empty")?;
    Ok(s.store
        .list_credentials(app_id, &user_id)
        .await?
        .into_iter()
        .map(|c| CredentialItem {
            descriptor: CredentialDescriptorItem {
                type_: "public-key",
                id: URL_SAFE_NO_PAD.encode(&c.credential_id),
            },
            public_key: STANDARD.encode(&c.public_key),
            user_handle: STANDARD.encode(&c.user_handle),
            signature_counter: c.sign_count,
            attestation_fmt: c.attestation_fmt,
            created_at: format_time(c.created_at),
            aa_guid: c.aaguid.unwrap_or_else(|| NIL_AAGUID.to_owned()),
            last_used_at: format_time(c.last_used_at),
            rp_id: c.rp_id,
            origin: c.origin,
            country: c.country.unwrap_or_default(),
            device: c.device.unwrap_or_default(),
            nickname: c.nickname,
            user_id: c.user_id,
            backup_state: c.backup_state,
            is_backup_eligible: c.backup_eligible,
            is_discoverable: c.discoverable,
        })
        .collect())
}

/// Deleting an unknown credential succeeds (the original answers 500).
pub async fn delete_credential(
    s: &Services,
    tenant: &Tenant,
    req: DeleteCredentialRequest,
) -> ApiResult<()> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let id = req.credential_id.unwrap_or_default();
    if id.is_empty() {
        return Err(ApiError::bad_request(
            "missing_credential_id",
            "credentialId must not be null or empty",
        ));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| ApiError::validation("credentialId", "The credentialId must be base64url."))?;
    if let Some(user_id) = s.store.delete_credential(app_id, &bytes).await? {
        events::note(
            s,
            tenant,
            EventType::ApiUserDeleteCredential,
            "System",
            &user_id,
            format!("Deleted a credential of user {user_id}."),
        )
        .await;
    }
    Ok(())
}

pub async fn list_users(s: &Services, tenant: &Tenant) -> ApiResult<Vec<UserItem>> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    Ok(s.store
        .list_users(app_id, USER_LIST_LIMIT)
        .await?
        .into_iter()
        .map(|u| UserItem {
            user_id: u.user_id,
            alias_count: u.aliases.len(),
            aliases: u.aliases,
            credentials_count: u.credentials_count,
            last_used_at: u.last_used_at.map(format_time),
        })
        .collect())
}

pub async fn count_users(s: &Services, tenant: &Tenant) -> ApiResult<i64> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    Ok(s.store.count_users(app_id).await?)
}

pub async fn delete_user(s: &Services, tenant: &Tenant, user_id: Option<String>) -> ApiResult<()> {
    let app = &tenant.app;
    let app_id = app.id.as_str();
    let mut v = Validator::default();
    let user_id = v.required("userId", "UserId", user_id.as_deref());
    v.finish()?;
    s.store.delete_user(app_id, &user_id).await?;
    events::note(
        s,
        tenant,
        EventType::ApiUserDeleted,
        "System",
        &user_id,
        format!("Deleted user {user_id}."),
    )
    .await;
    Ok(())
}
