//! Request and response bodies of the v4 API.
//!
//! Request keys are matched case-insensitively, as ASP.NET does: `CompatJson` lower-cases
//! every key before these types see it, so request fields are renamed to lower case here.
//! Response fields carry the exact camelCase names clients read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod flex;
mod lenient;
mod passage;
mod sessions;

pub use flex::*;
pub use passage::*;

pub use sessions::{SessionKeyInfo, SessionResponse, SessionSettings, SessionSettingsRequest};

// ---- Requests ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct RegisterTokenRequest {
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "username", default, deserialize_with = "lenient::opt_string")]
    pub username: Option<String>,
    #[serde(
        rename = "displayname",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub display_name: Option<String>,
    #[serde(
        rename = "attestation",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub attestation: Option<String>,
    #[serde(
        rename = "authenticatortype",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub authenticator_type: Option<String>,
    #[serde(
        rename = "discoverable",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub discoverable: Option<bool>,
    #[serde(
        rename = "userverification",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub user_verification: Option<String>,
    #[serde(rename = "aliases", default, deserialize_with = "lenient::opt_strings")]
    pub aliases: Option<Vec<String>>,
    #[serde(
        rename = "aliashashing",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub alias_hashing: Option<bool>,
    #[serde(rename = "hints", default, deserialize_with = "lenient::opt_strings")]
    pub hints: Option<Vec<String>>,
    #[serde(
        rename = "expiresat",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub expires_at: Option<String>,
}

/// `origin` and `RPID`, sent with every browser call.
#[derive(Debug, Default, Deserialize)]
pub struct Caller {
    #[serde(rename = "origin", default, deserialize_with = "lenient::opt_string")]
    pub origin: Option<String>,
    #[serde(rename = "rpid", default, deserialize_with = "lenient::opt_string")]
    pub rp_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterBeginRequest {
    #[serde(rename = "token", default, deserialize_with = "lenient::opt_string")]
    pub token: Option<String>,
    #[serde(flatten)]
    pub caller: Caller,
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterCompleteRequest {
    #[serde(rename = "session", default, deserialize_with = "lenient::opt_string")]
    pub session: Option<String>,
    #[serde(rename = "response", default)]
    pub response: Option<AttestationCredential>,
    #[serde(rename = "nickname", default, deserialize_with = "lenient::opt_string")]
    pub nickname: Option<String>,
    #[serde(flatten)]
    pub caller: Caller,
}

#[derive(Debug, Default, Deserialize)]
pub struct AttestationCredential {
    #[serde(rename = "id", default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "rawid", default, deserialize_with = "lenient::opt_string")]
    pub raw_id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub type_: Option<String>,
    #[serde(rename = "response", default)]
    pub response: Option<AttestationResponseBody>,
    #[serde(rename = "clientextensionresults", default)]
    pub client_extension_results: Option<Value>,
    /// `platform` or `cross-platform` (PublicKeyCredential.authenticatorAttachment).
    #[serde(
        rename = "authenticatorattachment",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub authenticator_attachment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AttestationResponseBody {
    #[serde(
        rename = "attestationobject",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub attestation_object: Option<String>,
    #[serde(
        rename = "clientdatajson",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub client_data_json: Option<String>,
    #[serde(
        rename = "transports",
        default,
        deserialize_with = "lenient::opt_strings"
    )]
    pub transports: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SigninBeginRequest {
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "alias", default, deserialize_with = "lenient::opt_string")]
    pub alias: Option<String>,
    #[serde(rename = "purpose", default, deserialize_with = "lenient::opt_string")]
    pub purpose: Option<String>,
    #[serde(flatten)]
    pub caller: Caller,
}

#[derive(Debug, Default, Deserialize)]
pub struct SigninCompleteRequest {
    #[serde(rename = "session", default, deserialize_with = "lenient::opt_string")]
    pub session: Option<String>,
    #[serde(rename = "response", default)]
    pub response: Option<AssertionCredential>,
    #[serde(flatten)]
    pub caller: Caller,
}

#[derive(Debug, Default, Deserialize)]
pub struct AssertionCredential {
    #[serde(rename = "id", default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "rawid", default, deserialize_with = "lenient::opt_string")]
    pub raw_id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub type_: Option<String>,
    #[serde(rename = "response", default)]
    pub response: Option<AssertionResponseBody>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AssertionResponseBody {
    #[serde(
        rename = "authenticatordata",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub authenticator_data: Option<String>,
    #[serde(
        rename = "clientdatajson",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub client_data_json: Option<String>,
    #[serde(
        rename = "signature",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub signature: Option<String>,
    #[serde(
        rename = "userhandle",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub user_handle: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyRequest {
    #[serde(rename = "token", default, deserialize_with = "lenient::opt_string")]
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GenerateTokenRequest {
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "timetolive", default, deserialize_with = "lenient::opt_i64")]
    pub time_to_live: Option<i64>,
    #[serde(rename = "purpose", default, deserialize_with = "lenient::opt_string")]
    pub purpose: Option<String>,
    #[serde(flatten)]
    pub caller: Caller,
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateAppRequest {
    #[serde(
        rename = "adminemail",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub admin_email: Option<String>,
    #[serde(
        rename = "eventloggingisenabled",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub event_logging_enabled: Option<bool>,
    #[serde(
        rename = "eventloggingretentionperiod",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub event_logging_retention_period: Option<i64>,
    #[serde(
        rename = "magiclinkemailmonthlyquota",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub magic_link_monthly_quota: Option<i64>,
    #[serde(rename = "maxusers", default, deserialize_with = "lenient::opt_i64")]
    pub max_users: Option<i64>,
    #[serde(
        rename = "allowattestation",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub allow_attestation: Option<bool>,
}

// ---- Responses --------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    #[serde(rename = "token")]
    pub token: String,
}

/// The `{data, session}` envelope of both begin endpoints.
#[derive(Debug, Serialize)]
pub struct BeginResponse<T> {
    #[serde(rename = "data")]
    pub data: T,
    #[serde(rename = "session")]
    pub session: String,
}

/// The decoded verify token (`/signin/verify`); every key is always present.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifiedUser {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "timestamp")]
    pub timestamp: String,
    #[serde(rename = "rpId")]
    pub rp_id: Option<String>,
    #[serde(rename = "origin")]
    pub origin: Option<String>,
    #[serde(rename = "success")]
    pub success: bool,
    #[serde(rename = "device")]
    pub device: Option<String>,
    #[serde(rename = "country")]
    pub country: Option<String>,
    #[serde(rename = "nickname")]
    pub nickname: Option<String>,
    /// Standard base64 with padding, as the .NET SDK's `byte[]` expects.
    #[serde(rename = "credentialId")]
    pub credential_id: Option<String>,
    #[serde(rename = "purpose")]
    pub purpose: Option<String>,
    #[serde(rename = "expiresAt")]
    pub expires_at: String,
    #[serde(rename = "tokenId")]
    pub token_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    /// Magic links only: the e-mail or phone the link was sent to, which redeeming it proves.
    #[serde(
        rename = "identifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub identifier: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CreateAppResponse {
    #[serde(rename = "message")]
    pub message: &'static str,
    #[serde(rename = "apiKey1")]
    pub api_key1: String,
    #[serde(rename = "apiKey2")]
    pub api_key2: String,
    #[serde(rename = "apiSecret1")]
    pub api_secret1: String,
    #[serde(rename = "apiSecret2")]
    pub api_secret2: String,
}

#[derive(Debug, Serialize)]
pub struct AvailableResponse {
    #[serde(rename = "available")]
    pub available: bool,
}

// ---- Aliases, credentials and users -----------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct SetAliasesRequest {
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "aliases", default, deserialize_with = "lenient::opt_strings")]
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "hashing", default, deserialize_with = "lenient::opt_bool")]
    pub hashing: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserIdRequest {
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteCredentialRequest {
    #[serde(
        rename = "credentialid",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub credential_id: Option<String>,
}

/// The `{values: […]}` envelope of every list.
#[derive(Debug, Serialize)]
pub struct ListResponse<T> {
    #[serde(rename = "values")]
    pub values: Vec<T>,
}

#[derive(Debug, Serialize)]
pub struct AliasItem {
    #[serde(rename = "tenant")]
    pub tenant: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The stored hash.
    #[serde(rename = "alias")]
    pub alias: String,
    #[serde(rename = "plaintext")]
    pub plaintext: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CredentialItem {
    #[serde(rename = "descriptor")]
    pub descriptor: CredentialDescriptorItem,
    /// COSE_Key, standard base64.
    #[serde(rename = "publicKey")]
    pub public_key: String,
    /// UTF-8 of the userId, standard base64.
    #[serde(rename = "userHandle")]
    pub user_handle: String,
    #[serde(rename = "signatureCounter")]
    pub signature_counter: u32,
    #[serde(rename = "attestationFmt")]
    pub attestation_fmt: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "aaGuid")]
    pub aa_guid: String,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: String,
    /// All lower case, as System.Text.Json camel-cases `RPID`.
    #[serde(rename = "rpid")]
    pub rp_id: String,
    #[serde(rename = "origin")]
    pub origin: String,
    #[serde(rename = "country")]
    pub country: String,
    #[serde(rename = "device")]
    pub device: String,
    #[serde(rename = "nickname")]
    pub nickname: Option<String>,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "backupState")]
    pub backup_state: Option<bool>,
    #[serde(rename = "isBackupEligible")]
    pub is_backup_eligible: Option<bool>,
    #[serde(rename = "isDiscoverable")]
    pub is_discoverable: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct CredentialDescriptorItem {
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// base64url.
    #[serde(rename = "id")]
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct UserItem {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "aliasCount")]
    pub alias_count: usize,
    /// Plaintext aliases; hashed ones are `null`.
    #[serde(rename = "aliases")]
    pub aliases: Vec<Option<String>>,
    #[serde(rename = "credentialsCount")]
    pub credentials_count: i64,
    #[serde(rename = "lastUsedAt")]
    pub last_used_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CountResponse {
    #[serde(rename = "count")]
    pub count: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetFeaturesRequest {
    #[serde(
        rename = "eventloggingretentionperiod",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub event_logging_retention_period: Option<i64>,
    #[serde(
        rename = "enablemanuallygeneratedauthenticationtokens",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub enable_generated_tokens: Option<bool>,
    #[serde(
        rename = "enablemagiclinks",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub enable_magic_links: Option<bool>,
    #[serde(
        rename = "performedby",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub performed_by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    #[serde(rename = "pagenumber", default, deserialize_with = "lenient::opt_i64")]
    pub page_number: Option<i64>,
    #[serde(
        rename = "numberofresults",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub number_of_results: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct EventsResponse {
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    #[serde(rename = "events")]
    pub events: Vec<EventItem>,
    #[serde(rename = "totalEventCount")]
    pub total_event_count: i64,
}

#[derive(Debug, Serialize)]
pub struct EventItem {
    #[serde(rename = "performedAt")]
    pub performed_at: String,
    #[serde(rename = "message")]
    pub message: String,
    #[serde(rename = "performedBy")]
    pub performed_by: String,
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(rename = "severity")]
    pub severity: String,
    #[serde(rename = "subject")]
    pub subject: String,
    #[serde(rename = "apiKeyId")]
    pub api_key_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuthConfigRequest {
    #[serde(rename = "purpose", default, deserialize_with = "lenient::opt_string")]
    pub purpose: Option<String>,
    #[serde(
        rename = "userverificationrequirement",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub user_verification: Option<String>,
    /// A .NET TimeSpan (`[d.]hh:mm:ss[.fffffff]`) or a number of seconds.
    #[serde(
        rename = "timetolive",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub time_to_live: Option<String>,
    #[serde(rename = "hints", default, deserialize_with = "lenient::opt_strings")]
    pub hints: Option<Vec<String>>,
    #[serde(
        rename = "performedby",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub performed_by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PurposeQuery {
    #[serde(rename = "purpose", default, deserialize_with = "lenient::opt_string")]
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AuthConfigsResponse {
    #[serde(rename = "configurations")]
    pub configurations: Vec<AuthConfigItem>,
}

#[derive(Debug, Serialize)]
pub struct AuthConfigItem {
    #[serde(rename = "purpose")]
    pub purpose: String,
    #[serde(rename = "userVerificationRequirement")]
    pub user_verification_requirement: String,
    /// Seconds.
    #[serde(rename = "timeToLive")]
    pub time_to_live: i64,
    /// Enum names joined by ", ", e.g. "SecurityKey, ClientDevice".
    #[serde(rename = "hints")]
    pub hints: String,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    #[serde(rename = "createdOn")]
    pub created_on: Option<String>,
    #[serde(rename = "editedBy")]
    pub edited_by: Option<String>,
    #[serde(rename = "editedOn")]
    pub edited_on: Option<String>,
    #[serde(rename = "lastUsedOn")]
    pub last_used_on: Option<String>,
}

// ---- Management -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct CreateKeyRequest {
    /// Integers, as the original's enums: public 0 = register, 1 = login; secret
    /// 0 = token_register, 1 = token_verify. Scope names are accepted too.
    #[serde(rename = "scopes", default, deserialize_with = "lenient::opt_strings")]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct CreateKeyResponse {
    #[serde(rename = "apiKey")]
    pub api_key: String,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyItem {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// The public key, or the secret masked but for its last four characters.
    #[serde(rename = "apiKey")]
    pub api_key: String,
    /// 1 = public, 2 = secret.
    #[serde(rename = "type")]
    pub type_: u8,
    #[serde(rename = "scopes")]
    pub scopes: Vec<String>,
    #[serde(rename = "isLocked")]
    pub is_locked: bool,
    #[serde(rename = "lastLockedAt")]
    pub last_locked_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AppFeaturesResponse {
    #[serde(rename = "eventLoggingIsEnabled")]
    pub event_logging_is_enabled: bool,
    #[serde(rename = "eventLoggingRetentionPeriod")]
    pub event_logging_retention_period: i64,
    #[serde(rename = "developerLoggingEndsAt")]
    pub developer_logging_ends_at: Option<String>,
    #[serde(rename = "maxUsers")]
    pub max_users: Option<i64>,
    #[serde(rename = "allowAttestation")]
    pub allow_attestation: bool,
    #[serde(rename = "isGenerateSignInTokenEndpointEnabled")]
    pub is_generate_sign_in_token_endpoint_enabled: bool,
    #[serde(rename = "isMagicLinksEnabled")]
    pub is_magic_links_enabled: bool,
    #[serde(rename = "magicLinkEmailMonthlyQuota")]
    pub magic_link_email_monthly_quota: i64,
    /// passkeyd's per-app origin policy; empty lists mean any origin / RP ID.
    #[serde(rename = "allowedOrigins")]
    pub allowed_origins: Vec<String>,
    #[serde(rename = "allowedRpIds")]
    pub allowed_rp_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ManageFeaturesRequest {
    #[serde(
        rename = "eventloggingisenabled",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub event_logging_enabled: Option<bool>,
    #[serde(
        rename = "eventloggingretentionperiod",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub event_logging_retention_period: Option<i64>,
    #[serde(
        rename = "magiclinkemailmonthlyquota",
        default,
        deserialize_with = "lenient::opt_i64"
    )]
    pub magic_link_monthly_quota: Option<i64>,
    #[serde(rename = "maxusers", default, deserialize_with = "lenient::opt_i64")]
    pub max_users: Option<i64>,
    #[serde(
        rename = "allowattestation",
        default,
        deserialize_with = "lenient::opt_bool"
    )]
    pub allow_attestation: Option<bool>,
    /// Absent keeps the current list; `[]` turns the policy off.
    #[serde(
        rename = "allowedorigins",
        default,
        deserialize_with = "lenient::opt_strings"
    )]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(
        rename = "allowedrpids",
        default,
        deserialize_with = "lenient::opt_strings"
    )]
    pub allowed_rp_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MarkDeleteRequest {
    #[serde(
        rename = "deletedby",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub deleted_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeletionResponse {
    #[serde(rename = "message")]
    pub message: String,
    #[serde(rename = "isDeleted")]
    pub is_deleted: bool,
    #[serde(rename = "deleteAt")]
    pub delete_at: Option<String>,
    #[serde(rename = "adminEmails")]
    pub admin_emails: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MessageResponse {
    #[serde(rename = "message")]
    pub message: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct MagicLinkRequest {
    #[serde(
        rename = "emailaddress",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub email_address: Option<String>,
    #[serde(
        rename = "urltemplate",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub url_template: Option<String>,
    #[serde(rename = "userid", default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    #[serde(rename = "timetolive", default, deserialize_with = "lenient::opt_i64")]
    pub time_to_live: Option<i64>,
}

// ---- Authenticators and reports ---------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct AuthenticatorsQuery {
    #[serde(rename = "isallowed", default, deserialize_with = "lenient::opt_bool")]
    pub is_allowed: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuthenticatorsRequest {
    #[serde(rename = "aaguids", default, deserialize_with = "lenient::opt_strings")]
    pub aaguids: Option<Vec<String>>,
    #[serde(rename = "isallowed", default, deserialize_with = "lenient::opt_bool")]
    pub is_allowed: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct AuthenticatorItem {
    #[serde(rename = "aaGuid")]
    pub aa_guid: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(rename = "from", default, deserialize_with = "lenient::opt_string")]
    pub from: Option<String>,
    #[serde(rename = "to", default, deserialize_with = "lenient::opt_string")]
    pub to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CredentialReportItem {
    /// `YYYY-MM-DD`.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "users")]
    pub users: i64,
    #[serde(rename = "credentials")]
    pub credentials: i64,
}

#[derive(Debug, Serialize)]
pub struct ActiveUserReportItem {
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "dailyActiveUsers")]
    pub daily_active_users: i64,
    #[serde(rename = "weeklyActiveUsers")]
    pub weekly_active_users: i64,
    #[serde(rename = "totalUsers")]
    pub total_users: i64,
}
