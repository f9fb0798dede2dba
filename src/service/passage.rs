//! The Passage-style backend API: users, their devices, token revocation and magic links,
//! over passkeyd's own users, credentials and aliases.
//!
//! Mapping: a Passage user `id` and `external_id` are both passkeyd's `userId`; the e-mail
//! and phone identifiers are aliases of that user (so sign-in by alias finds them); devices
//! are credentials, their `id` the credential id in unpadded base64url.

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::events::{self, EventType};
use super::{
    alias_hash, check_user_id, format_time, issue_token, verified_user, Tenant, Validator,
};
use crate::error::{ApiError, ApiResult};
use crate::store::{
    AliasRecord, CredentialRecord, TokenKind, UserOrder, UserQuery, UserRecord, UserSave,
    UserStatus,
};
use crate::tokens;
use crate::wire::{
    PassageDevice, PassageDeviceRequest, PassageIcons, PassageLink, PassageLinks, PassageListQuery,
    PassageMagicLink, PassageMagicLinkRequest, PassageUser, PassageUserItem, PassageUserList,
    PassageUserRequest, VerifiedUser,
};
use crate::Services;

/// What Passage's Go backend sent for "never": its zero time.
const NEVER: &str = "0001-01-01T00:00:00Z";
/// A user's metadata is stored whole; this bounds it.
const METADATA_BYTES: usize = 16 * 1024;
const EMAIL_CHARS: usize = 254;
const DEFAULT_PAGE_SIZE: i64 = 20;
const MAX_PAGE_SIZE: i64 = 500;
const DEFAULT_MAGIC_LINK_MINUTES: i64 = 15;
const MAX_MAGIC_LINK_MINUTES: i64 = 10_080;
/// The query parameter that carries a magic link's token, as Passage's links did.
pub const MAGIC_LINK_PARAM: &str = "psg_magic_link";

pub fn not_found(code: &'static str, what: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code, format!("{what} not found."))
}

fn user_not_found() -> ApiError {
    not_found("user_not_found", "User")
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_request", message)
}

/// `GET /v1/apps/{app_id}`: what passkeyd knows of the app, in Passage's shape.
pub fn app_info(tenant: &Tenant) -> Value {
    let app = &tenant.app;
    let origin = app
        .features
        .allowed_origins
        .first()
        .cloned()
        .unwrap_or_default();
    json!({
        "id": app.id,
        "name": app.id,
        "type": "complete",
        "auth_origin": origin,
        "additional_auth_origins": app.features.allowed_origins.iter().skip(1).collect::<Vec<_>>(),
        "allowed_callback_urls": [],
        "allowed_logout_urls": [],
        "allowed_identifier": "both",
        "required_identifier": "either",
        "created_at": format_time(app.created_at),
        "default_language": "en",
        "hosted": false,
        "public_signup": true,
        "require_email_verification": false,
        "require_identifier_verification": false,
        "session_timeout_length": app.session_lifetime_seconds,
        "id_token_lifetime": app.session_lifetime_seconds,
        "refresh_enabled": false,
        "auth_methods": {
            "passkeys": {"enabled": true},
            "otp": {"enabled": false, "ttl": 0, "ttl_display_unit": "s"},
            "magic_link": {
                "enabled": app.features.magic_links_enabled,
                "ttl": DEFAULT_MAGIC_LINK_MINUTES,
                "ttl_display_unit": "m"
            }
        },
        "user_metadata_schema": [],
        "technologies": [],
        "layouts": {"profile": [], "registration": []},
        "element_customization": null,
        "element_customization_dark": null,
    })
}

/// `passkey` for a synced (backup-eligible) credential, else `platform` or `security_key`
/// from the attachment the browser reported; without one, a device-bound credential is
/// taken for a security key.
fn device_type(c: &CredentialRecord) -> &'static str {
    if c.backup_eligible == Some(true) {
        "passkey"
    } else if c.attachment.as_deref() == Some("platform") {
        "platform"
    } else {
        "security_key"
    }
}

fn device(s: &Services, c: CredentialRecord) -> PassageDevice {
    let icon = c.aaguid.as_deref().and_then(|a| {
        let aaguid = uuid::Uuid::parse_str(a).ok()?;
        s.metadata.as_ref()?.icon(&aaguid).map(str::to_owned)
    });
    let used = c.usage_count > 0;
    PassageDevice {
        id: URL_SAFE_NO_PAD.encode(&c.credential_id),
        cred_id: URL_SAFE_NO_PAD.encode(&c.credential_id),
        type_: device_type(&c),
        friendly_name: c.nickname.clone().unwrap_or_default(),
        usage_count: c.usage_count,
        created_at: format_time(c.created_at),
        updated_at: format_time(c.last_used_at),
        last_login_at: if used {
            format_time(c.last_used_at)
        } else {
            NEVER.to_owned()
        },
        icons: PassageIcons {
            light: icon.clone(),
            dark: icon,
        },
    }
}

fn metadata(u: &UserRecord) -> Option<Value> {
    u.metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
}

fn last_login(u: &UserRecord) -> String {
    u.last_login_at
        .map_or_else(|| NEVER.to_owned(), format_time)
}

fn item(u: &UserRecord) -> PassageUserItem {
    PassageUserItem {
        id: u.user_id.clone(),
        external_id: u.user_id.clone(),
        email: u.email.clone().unwrap_or_default(),
        email_verified: u.email_verified,
        phone: u.phone.clone().unwrap_or_default(),
        phone_verified: u.phone_verified,
        status: u.status.as_str(),
        user_metadata: metadata(u),
        created_at: format_time(u.created_at),
        updated_at: format_time(u.updated_at),
        last_login_at: last_login(u),
        login_count: u.login_count,
    }
}

async fn full_user(s: &Services, u: &UserRecord) -> ApiResult<PassageUser> {
    let devices: Vec<PassageDevice> = s
        .store
        .list_credentials(&u.app_id, &u.user_id)
        .await?
        .into_iter()
        .map(|c| device(s, c))
        .collect();
    let mut types: Vec<&'static str> = devices.iter().map(|d| d.type_).collect();
    types.sort_unstable();
    types.dedup();
    Ok(PassageUser {
        profile: item(u),
        webauthn: !devices.is_empty(),
        webauthn_devices: devices,
        webauthn_types: types,
        recent_events: Vec::new(),
        social_connections: json!({}),
    })
}

async fn find(s: &Services, tenant: &Tenant, user_id: &str) -> ApiResult<UserRecord> {
    s.store
        .find_user(&tenant.app.id, user_id)
        .await?
        .ok_or_else(user_not_found)
}

pub async fn get_user(s: &Services, tenant: &Tenant, user_id: &str) -> ApiResult<PassageUser> {
    let user = find(s, tenant, user_id).await?;
    full_user(s, &user).await
}

fn parse_number(v: &mut Validator, field: &str, value: Option<&str>) -> Option<i64> {
    let text = value.filter(|t| !t.is_empty())?;
    match text.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            v.error(
                field,
                format!("The {field} parameter must be a whole number."),
            );
            None
        }
    }
}

pub async fn list_users(
    s: &Services,
    tenant: &Tenant,
    q: PassageListQuery,
) -> ApiResult<PassageUserList> {
    let app_id = tenant.app.id.as_str();
    let mut v = Validator::default();
    let page = parse_number(&mut v, "page", q.page.as_deref()).unwrap_or(1);
    let limit = parse_number(&mut v, "limit", q.limit.as_deref()).unwrap_or(DEFAULT_PAGE_SIZE);
    if page < 1 {
        v.error("page", "The page parameter must be at least 1.");
    }
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        v.error(
            "limit",
            format!("The limit parameter must be between 1 and {MAX_PAGE_SIZE}."),
        );
    }
    let created_before = parse_number(&mut v, "created_before", q.created_before.as_deref())
        .unwrap_or_else(|| tenant.now.timestamp());
    let login_count = parse_number(&mut v, "login_count", q.login_count.as_deref());
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("active") => Some(UserStatus::Active),
        Some("inactive") => Some(UserStatus::Inactive),
        Some(_) => {
            v.error("status", "The status parameter must be active or inactive.");
            None
        }
    };
    let order_by = match q.order_by.as_deref().filter(|o| !o.is_empty()) {
        None => None,
        Some(text) => {
            let order = parse_order(text);
            if order.is_none() {
                v.error(
                    "order_by",
                    "The order_by parameter must be <field>:ASC or <field>:DESC, with field one of \
                     id, email, phone, status, created_at, updated_at, last_login_at, login_count.",
                );
            }
            order
        }
    };
    for (field, value) in [
        ("created_at", &q.created_at),
        ("updated_at", &q.updated_at),
        ("last_login_at", &q.last_login_at),
    ] {
        if value.as_deref().is_some_and(|t| !t.is_empty()) {
            v.error(
                field,
                format!("Filtering by {field} is not supported; use created_before."),
            );
        }
    }
    v.finish()?;
    let created_before_time = DateTime::<Utc>::from_timestamp(created_before, 0)
        .ok_or_else(|| invalid("The created_before parameter is out of range."))?;
    let mut query = UserQuery {
        user_id: q.id.filter(|i| !i.is_empty()),
        status,
        email: q.email.filter(|e| !e.is_empty()).map(|e| e.to_lowercase()),
        phone: q.phone.filter(|p| !p.is_empty()),
        login_count,
        // The snapshot is whole seconds; a user created in its last second is still in it.
        created_before: Some(created_before_time + Duration::seconds(1)),
        order_by,
        offset: (page - 1).saturating_mul(limit),
        limit,
    };
    let filters: Vec<(&str, String)> = [
        ("order_by", q.order_by.clone()),
        ("identifier", q.identifier.clone()),
        ("id", query.user_id.clone()),
        ("login_count", q.login_count.clone()),
        ("status", q.status.clone()),
        ("email", query.email.clone()),
        ("phone", query.phone.clone()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.filter(|v| !v.is_empty()).map(|v| (name, v)))
    .collect();
    let (users, total) = match q.identifier.filter(|i| !i.is_empty()) {
        // One user at most: the identifier is an alias (e-mail, phone) or a user id.
        Some(identifier) => {
            let found = s
                .store
                .find_user_by_identifier(app_id, &alias_hash(app_id, &identifier), &identifier)
                .await?;
            let users: Vec<UserRecord> = found
                .into_iter()
                .filter(|u| query.status.is_none_or(|st| st == u.status))
                .collect();
            let total = i64::try_from(users.len()).unwrap_or(0);
            query.offset = 0;
            (users, total)
        }
        None => s.store.list_user_records(app_id, &query).await?,
    };
    let last_page = ((total + limit - 1) / limit).max(1);
    // Links keep the filters, so following one pages through the same listing.
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &filters {
        kept.append_pair(name, value);
    }
    let kept = kept.finish();
    let base = format!("/v1/apps/{app_id}/users");
    let link = |p: i64| PassageLink {
        href: format!(
            "{base}?page={p}&limit={limit}&created_before={created_before}{}{kept}",
            if kept.is_empty() { "" } else { "&" }
        ),
    };
    Ok(PassageUserList {
        _links: PassageLinks {
            first: link(1),
            last: link(last_page),
            next: link((page + 1).min(last_page)),
            previous: link((page - 1).max(1)),
            self_: link(page),
        },
        created_before,
        limit,
        page,
        total_users: total,
        users: users.iter().map(item).collect(),
    })
}

fn parse_order(text: &str) -> Option<(UserOrder, bool)> {
    let (field, direction) = text.split_once(':').unwrap_or((text, "ASC"));
    let order = match field {
        "id" => UserOrder::Id,
        "email" => UserOrder::Email,
        "phone" => UserOrder::Phone,
        "status" => UserOrder::Status,
        "created_at" => UserOrder::CreatedAt,
        "updated_at" => UserOrder::UpdatedAt,
        "last_login_at" => UserOrder::LastLoginAt,
        "login_count" => UserOrder::LoginCount,
        _ => return None,
    };
    let descending = match direction.to_ascii_uppercase().as_str() {
        "ASC" => false,
        "DESC" => true,
        _ => return None,
    };
    Some((order, descending))
}

/// E.164: a plus, then up to fifteen digits, not starting with 0.
fn is_e164(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The checked e-mail, phone and metadata of a request: `Some(None)` clears a field.
struct Profile {
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    metadata: Option<Option<String>>,
}

fn check_profile(v: &mut Validator, req: &PassageUserRequest) -> Profile {
    let email = req.email.as_ref().map(|e| {
        let e = e.trim().to_lowercase();
        if e.is_empty() {
            return None;
        }
        if e.chars().count() > EMAIL_CHARS || !crate::mail::is_valid_address(&e) {
            v.error("email", "The email field is not a valid e-mail address.");
        }
        Some(e)
    });
    let phone = req.phone.as_ref().map(|p| {
        let p = p.trim().to_owned();
        if p.is_empty() {
            return None;
        }
        if !is_e164(&p) {
            v.error(
                "phone",
                "The phone field must be an E.164 number, such as +15551234567.",
            );
        }
        Some(p)
    });
    let metadata = req.user_metadata.as_ref().map(|m| match m {
        Value::Null => None,
        Value::Object(_) => {
            let text = m.to_string();
            if text.len() > METADATA_BYTES {
                v.error(
                    "user_metadata",
                    format!(
                        "The user_metadata field must be at most {METADATA_BYTES} bytes of JSON."
                    ),
                );
            }
            Some(text)
        }
        _ => {
            v.error(
                "user_metadata",
                "The user_metadata field must be a JSON object.",
            );
            None
        }
    });
    Profile {
        email,
        phone,
        metadata,
    }
}

/// Applies a profile to a user, returning the aliases to remove and add with it.
fn apply(app_id: &str, user: &mut UserRecord, p: Profile) -> (Vec<String>, Vec<AliasRecord>) {
    let mut remove = Vec::new();
    let mut add = Vec::new();
    for (new, old, verified) in [
        (p.email, &mut user.email, &mut user.email_verified),
        (p.phone, &mut user.phone, &mut user.phone_verified),
    ] {
        let Some(new) = new else { continue };
        if new == *old {
            continue;
        }
        if let Some(old) = old.as_deref() {
            remove.push(alias_hash(app_id, old));
        }
        if let Some(new) = &new {
            add.push(AliasRecord {
                hash: alias_hash(app_id, new),
                plaintext: Some(new.clone()),
            });
        }
        *old = new;
        *verified = false;
    }
    if let Some(metadata) = p.metadata {
        user.metadata = metadata;
    }
    (remove, add)
}

fn identifier_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "identifier_already_exists",
        "Another user of this app has this e-mail address or phone number.",
    )
}

fn save_error(e: crate::store::StoreError) -> ApiError {
    use crate::store::{Conflict, StoreError};
    match e {
        StoreError::Conflict(Conflict::Alias) => identifier_taken(),
        StoreError::Conflict(Conflict::User) => ApiError::new(
            StatusCode::CONFLICT,
            "user_already_exists",
            "A user with this id already exists.",
        ),
        other => other.into(),
    }
}

pub async fn create_user(
    s: &Services,
    tenant: &Tenant,
    req: PassageUserRequest,
) -> ApiResult<PassageUser> {
    let app_id = tenant.app.id.as_str();
    let mut v = Validator::default();
    let profile = check_profile(&mut v, &req);
    let user_id = match req.external_id.as_deref().filter(|i| !i.is_empty()) {
        Some(id) => {
            check_user_id(&mut v, "external_id", id);
            id.to_owned()
        }
        None => generated_user_id(),
    };
    v.finish()?;
    let now = tenant.now;
    let mut user = UserRecord {
        app_id: app_id.to_owned(),
        user_id,
        status: UserStatus::Active,
        email: None,
        email_verified: false,
        phone: None,
        phone_verified: false,
        metadata: None,
        created_at: now,
        updated_at: now,
        last_login_at: None,
        login_count: 0,
        tokens_revoked_at: None,
    };
    let (remove_aliases, add_aliases) = apply(app_id, &mut user, profile);
    s.store
        .save_user(&UserSave {
            user: user.clone(),
            remove_aliases,
            add_aliases,
            create: true,
        })
        .await
        .map_err(save_error)?;
    events::note(
        s,
        tenant,
        EventType::ApiAuthUserRegistered,
        "System",
        &user.user_id,
        format!("Created user {}.", user.user_id),
    )
    .await;
    full_user(s, &user).await
}

/// 24 random characters from an unambiguous alphabet (120 bits), like Passage's ids.
fn generated_user_id() -> String {
    use rand::Rng;
    // Lower case only: Passage's SDK lower-cases an identifier before it looks a user up.
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

pub async fn update_user(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
    req: PassageUserRequest,
) -> ApiResult<PassageUser> {
    let app_id = tenant.app.id.as_str();
    let mut v = Validator::default();
    let profile = check_profile(&mut v, &req);
    v.finish()?;
    let mut user = find(s, tenant, user_id).await?;
    let (remove_aliases, add_aliases) = apply(app_id, &mut user, profile);
    user.updated_at = tenant.now;
    s.store
        .save_user(&UserSave {
            user: user.clone(),
            remove_aliases,
            add_aliases,
            create: false,
        })
        .await
        .map_err(save_error)?;
    full_user(s, &user).await
}

pub async fn set_status(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
    status: UserStatus,
) -> ApiResult<PassageUser> {
    if !s
        .store
        .set_user_status(&tenant.app.id, user_id, status, tenant.now)
        .await?
    {
        return Err(user_not_found());
    }
    events::note(
        s,
        tenant,
        EventType::ApiUserUpdated,
        "System",
        user_id,
        format!("Set user {user_id} {}.", status.as_str()),
    )
    .await;
    get_user(s, tenant, user_id).await
}

pub async fn delete_user(s: &Services, tenant: &Tenant, user_id: &str) -> ApiResult<()> {
    find(s, tenant, user_id).await?;
    super::users::delete_user(s, tenant, Some(user_id.to_owned())).await
}

pub async fn list_devices(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
) -> ApiResult<Vec<PassageDevice>> {
    find(s, tenant, user_id).await?;
    Ok(s.store
        .list_credentials(&tenant.app.id, user_id)
        .await?
        .into_iter()
        .map(|c| device(s, c))
        .collect())
}

fn device_id(id: &str) -> ApiResult<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| not_found("device_not_found", "Device"))
}

pub async fn update_device(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
    id: &str,
    req: PassageDeviceRequest,
) -> ApiResult<PassageDevice> {
    let mut v = Validator::default();
    let name = v.required(
        "friendly_name",
        "friendly_name",
        req.friendly_name.as_deref(),
    );
    if name.chars().count() > 64 {
        v.error(
            "friendly_name",
            "The friendly_name field must be at most 64 characters.",
        );
    }
    v.finish()?;
    let credential_id = device_id(id)?;
    let app_id = tenant.app.id.as_str();
    if !s
        .store
        .rename_credential(app_id, user_id, &credential_id, &name)
        .await?
    {
        return Err(not_found("device_not_found", "Device"));
    }
    let credential = s
        .store
        .find_credential(app_id, &credential_id)
        .await?
        .ok_or_else(|| not_found("device_not_found", "Device"))?;
    Ok(device(s, credential))
}

pub async fn revoke_device(
    s: &Services,
    tenant: &Tenant,
    user_id: &str,
    id: &str,
) -> ApiResult<()> {
    let credential_id = device_id(id)?;
    let app_id = tenant.app.id.as_str();
    // Only the user's own device: another user's id answers as unknown.
    let owned = s
        .store
        .find_credential(app_id, &credential_id)
        .await?
        .is_some_and(|c| c.user_id == user_id);
    if !owned
        || s.store
            .delete_credential(app_id, &credential_id)
            .await?
            .is_none()
    {
        return Err(not_found("device_not_found", "Device"));
    }
    events::note(
        s,
        tenant,
        EventType::ApiUserDeleteCredential,
        "System",
        user_id,
        format!("Revoked a device of user {user_id}."),
    )
    .await;
    Ok(())
}

pub async fn revoke_tokens(s: &Services, tenant: &Tenant, user_id: &str) -> ApiResult<()> {
    if !s
        .store
        .revoke_user_tokens(&tenant.app.id, user_id, tenant.now)
        .await?
    {
        return Err(user_not_found());
    }
    Ok(())
}

/// Where a magic link points: the app's first allowed origin plus `magic_link_path`, or a full
/// `redirect_url` (which must stay on the app's origins when it has a policy). A relative
/// `redirect_url` is only echoed: it is where the app sends the user afterwards.
fn link_base(tenant: &Tenant, req: &PassageMagicLinkRequest) -> ApiResult<url::Url> {
    let origins = &tenant.app.features.allowed_origins;
    if let Some(redirect) = req.redirect_url.as_deref().filter(|r| !r.is_empty()) {
        if let Ok(url) = url::Url::parse(redirect) {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(invalid("The redirect_url must be an http or https URL."));
            }
            let origin = url.origin().ascii_serialization();
            if !origins.is_empty() && !origins.contains(&origin) {
                return Err(invalid(
                    "The redirect_url must be on one of the app's allowed origins.",
                ));
            }
            return Ok(url);
        }
    }
    let Some(origin) = origins.first() else {
        return Err(ApiError::bad_request(
            "magic_link_origin_missing",
            "A magic link needs a full redirect_url, or an app origin: set allowedOrigins with \
             POST /admin/apps/{appId}/features.",
        ));
    };
    let path = req
        .magic_link_path
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(invalid(
            "The magic_link_path must be a path that starts with '/'.",
        ));
    }
    url::Url::parse(origin)
        .and_then(|o| o.join(path))
        .map_err(|_| invalid("The magic_link_path is not a valid path."))
}

pub async fn create_magic_link(
    s: &Services,
    tenant: &Tenant,
    req: PassageMagicLinkRequest,
) -> ApiResult<PassageMagicLink> {
    let app_id = tenant.app.id.as_str();
    let mut v = Validator::default();
    let kind = match req.type_.as_deref().filter(|t| !t.is_empty()) {
        None | Some("login") => "login",
        Some("verify_identifier") => "verify_identifier",
        Some(_) => {
            v.error("type", "The type field must be login or verify_identifier.");
            "login"
        }
    };
    let ttl = req
        .ttl
        .filter(|t| *t != 0)
        .unwrap_or(DEFAULT_MAGIC_LINK_MINUTES);
    if !(1..=MAX_MAGIC_LINK_MINUTES).contains(&ttl) {
        v.error(
            "ttl",
            format!("The ttl field must be between 1 and {MAX_MAGIC_LINK_MINUTES} minutes."),
        );
    }
    let channel = match (req.channel.as_deref().filter(|c| !c.is_empty()), &req.phone) {
        (Some("email"), _) => "email",
        (Some("phone"), _) => "phone",
        (None, Some(p)) if !p.is_empty() && req.email.as_deref().is_none_or(str::is_empty) => {
            "phone"
        }
        (None, _) => "email",
        (Some(_), _) => {
            v.error("channel", "The channel field must be email or phone.");
            "email"
        }
    };
    v.finish()?;
    if !tenant.app.features.magic_links_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "magic_links_disabled",
            "Magic links are disabled for this app (POST /apps/features).",
        ));
    }
    if req.send == Some(true) && channel == "phone" {
        return Err(ApiError::bad_request(
            "sms_not_supported",
            "passkeyd does not send text messages: use send: false and deliver the URL.",
        ));
    }
    let base = link_base(tenant, &req)?;

    // The user: by id, else by the e-mail or phone identifier.
    let nonempty = |o: &Option<String>| o.as_deref().filter(|x| !x.is_empty()).map(str::to_owned);
    let user = if let Some(user_id) = nonempty(&req.user_id) {
        s.store.find_user(app_id, &user_id).await?
    } else if let Some(identifier) = nonempty(&req.email)
        .map(|e| e.to_lowercase())
        .or_else(|| nonempty(&req.phone))
    {
        s.store
            .find_user_by_identifier(app_id, &alias_hash(app_id, &identifier), "")
            .await?
    } else {
        return Err(invalid(
            "A magic link needs a user_id, an email or a phone.",
        ));
    };
    let user = user.ok_or_else(user_not_found)?;
    if user.status == UserStatus::Inactive {
        return Err(super::user_inactive());
    }
    let identifier = match channel {
        "phone" => user.phone.clone(),
        _ => user.email.clone(),
    }
    .ok_or_else(|| {
        invalid(format!(
            "The user has no {channel} to send a magic link to."
        ))
    })?;

    let now = tenant.now;
    let expires_at = now + Duration::minutes(ttl);
    let verified = VerifiedUser {
        device: Some(String::new()),
        country: Some(String::new()),
        // Redeeming the link proves the user controls this identifier.
        identifier: Some(identifier.clone()),
        ..verified_user("magic_link", user.user_id.clone(), now, expires_at)
    };
    let token = issue_token(
        s,
        tenant,
        TokenKind::Verify,
        tokens::VERIFY,
        &verified,
        expires_at,
        None,
    )
    .await?;
    let mut url = base.clone();
    url.query_pairs_mut().append_pair(MAGIC_LINK_PARAM, &token);
    let url = url.to_string();
    if req.send == Some(true) {
        let host = base.host_str().unwrap_or_default().to_owned();
        super::magic::deliver(
            s,
            tenant,
            &user.user_id,
            &identifier,
            &host,
            &url,
            expires_at,
        )
        .await?;
    }
    Ok(PassageMagicLink {
        id: verified.token_id,
        secret: token,
        activated: false,
        user_id: user.user_id,
        app_id: app_id.to_owned(),
        identifier,
        type_: if kind == "verify_identifier" {
            "verify_identifier"
        } else {
            "login"
        },
        redirect_url: req.redirect_url.clone().unwrap_or_default(),
        ttl,
        url,
    })
}

/// After a verify token is redeemed: a magic link proves the identifier it was sent to.
pub async fn note_redeemed(
    s: &Services,
    tenant: &Tenant,
    verified: &VerifiedUser,
) -> ApiResult<()> {
    let Some(identifier) = verified.identifier.as_deref() else {
        return Ok(());
    };
    let Some(mut user) = s.store.find_user(&tenant.app.id, &verified.user_id).await? else {
        return Ok(());
    };
    let mut changed = false;
    if user.email.as_deref() == Some(identifier) && !user.email_verified {
        user.email_verified = true;
        changed = true;
    }
    if user.phone.as_deref() == Some(identifier) && !user.phone_verified {
        user.phone_verified = true;
        changed = true;
    }
    if changed {
        user.updated_at = tenant.now;
        s.store
            .save_user(&UserSave {
                user,
                remove_aliases: Vec::new(),
                add_aliases: Vec::new(),
                create: false,
            })
            .await?;
    }
    Ok(())
}
