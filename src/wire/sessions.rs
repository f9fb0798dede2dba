//! Session JWTs: `/signin/session` and the management of an app's session keys.

use serde::{Deserialize, Serialize};

use super::{lenient, VerifiedUser};

/// `/signin/verify`'s answer plus the session JWT.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    #[serde(flatten)]
    pub verified: VerifiedUser,
    pub auth_token: String,
    pub auth_token_expires_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionSettingsRequest {
    #[serde(
        rename = "lifetimeseconds",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub lifetime_seconds: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    pub lifetime_seconds: i64,
    pub keys: Vec<SessionKeyInfo>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionKeyInfo {
    pub kid: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    pub published_until: Option<String>,
}
