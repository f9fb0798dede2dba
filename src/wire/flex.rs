//! Passkey Flex (Passage's passkeys for apps with their own users): snake_case, as
//! passage-flex-node and passage-flex-js send and read it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{lenient, AssertionCredential, AttestationCredential};

/// `POST transactions/register` and `transactions/authenticate` (backend).
#[derive(Debug, Default, Deserialize)]
pub struct FlexTransactionRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
    /// Registration only: the nickname and the name the browser prompt shows.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub passkey_display_name: Option<String>,
    /// passkeyd's addition: `required` makes the ceremony verify the user (a second factor).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_verification: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FlexTransactionResponse {
    pub transaction_id: String,
}

/// The browser's `…/webauthn/start`.
#[derive(Debug, Default, Deserialize)]
pub struct FlexStartRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub transaction_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub authenticator_attachment: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FlexStartResponse {
    pub handshake: FlexHandshake,
}

#[derive(Debug, Serialize)]
pub struct FlexHandshake {
    pub id: String,
    pub challenge: FlexChallenge,
}

#[derive(Debug, Serialize)]
pub struct FlexChallenge {
    #[serde(rename = "publicKey")]
    pub public_key: Value,
}

/// The browser's `…/webauthn/finish` for a registration. Keys arrive lower-cased (see
/// `CompatJson`), so the credential reads like the Passwordless.dev one.
#[derive(Debug, Default, Deserialize)]
pub struct FlexRegisterFinishRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub transaction_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub handshake_id: Option<String>,
    #[serde(default)]
    pub handshake_response: Option<AttestationCredential>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FlexAuthenticateFinishRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub transaction_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub handshake_id: Option<String>,
    #[serde(default)]
    pub handshake_response: Option<AssertionCredential>,
}

#[derive(Debug, Serialize)]
pub struct FlexNonceResponse {
    pub nonce: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct FlexVerifyRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub nonce: Option<String>,
}

/// `POST authenticate/verify`: whose nonce it was, and (for a second factor) which passkey
/// answered and when.
#[derive(Debug, Serialize)]
pub struct FlexVerifyResponse {
    pub external_id: String,
    /// `register` or `authenticate`.
    pub ceremony: &'static str,
    /// The credential id, unpadded base64url.
    pub credential_id: Option<String>,
    pub used_at: String,
}
