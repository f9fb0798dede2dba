//! The Passage-style backend API (`/v1/apps/{app_id}/…`): snake_case both ways, as the
//! published passage-node SDK sends and reads it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lenient;

/// `POST users` and `PATCH users/{id}`: absent fields stay as they are; `""` clears.
#[derive(Debug, Default, Deserialize)]
pub struct PassageUserRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    #[serde(default)]
    pub user_metadata: Option<Value>,
    /// Create only: the user id to use instead of a generated one.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PassageListQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub created_before: Option<String>,
    pub order_by: Option<String>,
    pub identifier: Option<String>,
    pub id: Option<String>,
    pub login_count: Option<String>,
    pub status: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub last_login_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PassageDeviceRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub friendly_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PassageMagicLinkRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string", rename = "type")]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub send: Option<bool>,
    /// Minutes.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub ttl: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub magic_link_path: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub redirect_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub language: Option<String>,
}

/// A user as `GET users/{id}` answers: the listing's fields and the passkeys.
#[derive(Debug, Serialize)]
pub struct PassageUser {
    #[serde(flatten)]
    pub profile: PassageUserItem,
    pub webauthn: bool,
    pub webauthn_devices: Vec<PassageDevice>,
    pub webauthn_types: Vec<&'static str>,
    pub recent_events: Vec<Value>,
    pub social_connections: Value,
}

#[derive(Debug, Serialize)]
pub struct PassageDevice {
    pub id: String,
    pub cred_id: String,
    pub friendly_name: String,
    pub usage_count: i64,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub icons: PassageIcons,
}

#[derive(Debug, Serialize)]
pub struct PassageIcons {
    pub light: Option<String>,
    pub dark: Option<String>,
}

/// A user as the listing shows them.
#[derive(Debug, Serialize)]
pub struct PassageUserItem {
    pub id: String,
    pub external_id: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: String,
    pub phone_verified: bool,
    pub status: &'static str,
    pub user_metadata: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub login_count: i64,
}

#[derive(Debug, Serialize)]
pub struct PassageUserList {
    pub _links: PassageLinks,
    /// Unix seconds: the listing's snapshot time, for stable paging.
    pub created_before: i64,
    pub limit: i64,
    pub page: i64,
    pub total_users: i64,
    pub users: Vec<PassageUserItem>,
}

#[derive(Debug, Serialize)]
pub struct PassageLinks {
    pub first: PassageLink,
    pub last: PassageLink,
    pub next: PassageLink,
    pub previous: PassageLink,
    #[serde(rename = "self")]
    pub self_: PassageLink,
}

#[derive(Debug, Serialize)]
pub struct PassageLink {
    pub href: String,
}

#[derive(Debug, Serialize)]
pub struct PassageMagicLink {
    pub id: String,
    pub secret: String,
    pub activated: bool,
    pub user_id: String,
    pub app_id: String,
    pub identifier: String,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub redirect_url: String,
    /// Minutes.
    pub ttl: i64,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct UserEnvelope {
    pub user: PassageUser,
}

#[derive(Debug, Serialize)]
pub struct DevicesEnvelope {
    pub devices: Vec<PassageDevice>,
}

#[derive(Debug, Serialize)]
pub struct DeviceEnvelope {
    pub device: PassageDevice,
}

#[derive(Debug, Serialize)]
pub struct MagicLinkEnvelope {
    pub magic_link: PassageMagicLink,
}

#[derive(Debug, Serialize)]
pub struct AppEnvelope {
    pub app: Value,
}
