//! WebAuthn ceremonies. This is the only module that uses webauthn-rs.
//!
//! passkeyd calls the library's expert layer (`webauthn-rs-core`) because the Passwordless.dev
//! contract needs policies the high-level `webauthn-rs` API fixes differently: user
//! verification `preferred`/`discouraged`, resident keys on demand, arbitrary user handles (the
//! UTF-8 of the app's userId) and an RP ID and origin chosen per request. The invariants the
//! library leaves to its caller are upheld here: single-use state (the caller consumes it from
//! the store), credential-id length, `crossOrigin`/`topOrigin` on sign-in, and the counter
//! compare-and-swap (done by the store with the counter this module returns).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use url::Url;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, AuthenticatorAssertionResponseRaw,
    AuthenticatorAttachment, AuthenticatorAttestationResponseRaw, COSEAlgorithm, CredProps,
    Credential, PublicKeyCredential, PublicKeyCredentialHints, RegisterPublicKeyCredential,
    RegistrationExtensionsClientOutputs, RegistrationState, RequestRegistrationExtensions,
    UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

/// What browsers are told; the server does not enforce it (the session lifetime does).
pub const TIMEOUT_MS: u32 = 60_000;
/// WebAuthn Level 3 §7.1: longer credential ids must be refused.
const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Algorithms this build can verify, in order of preference. (webauthn-rs 0.6 verifies no
/// EdDSA, so offering it would let an authenticator create a key we could never check.)
const ALGORITHMS: [COSEAlgorithm; 3] = [
    COSEAlgorithm::ES256,
    COSEAlgorithm::RS256,
    COSEAlgorithm::ES384,
];

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CeremonyError(pub String);

impl From<webauthn_rs_core::error::WebauthnError> for CeremonyError {
    fn from(e: webauthn_rs_core::error::WebauthnError) -> Self {
        Self(e.to_string())
    }
}

/// Attestation trust roots: certificates that an attestation chain must lead to wherever an
/// app keeps an authenticator allow-list, so that an allow-listed AAGUID cannot simply be
/// claimed. They come from the operator's PEM file (`PASSKEYD_ATTESTATION_ROOTS`); each root
/// vouches for any AAGUID, which the allow-list then decides on.
#[derive(Debug, Default)]
pub struct TrustRoots {
    list: webauthn_rs_core::proto::AttestationCaList,
}

impl TrustRoots {
    /// Reads every `CERTIFICATE` block of a PEM text.
    pub fn from_pem(text: &str) -> Result<Self, CeremonyError> {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let mut list = webauthn_rs_core::proto::AttestationCaList::default();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let body = &rest[start + "-----BEGIN CERTIFICATE-----".len()..];
            let end = body
                .find("-----END CERTIFICATE-----")
                .ok_or_else(|| fail("a CERTIFICATE block has no END line"))?;
            let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
            let der = STANDARD
                .decode(b64)
                .map_err(|_| fail("a CERTIFICATE block is not base64"))?;
            // The library builds a root that vouches for any AAGUID only from its serialised
            // form.
            let ca: webauthn_rs_core::proto::AttestationCa =
                serde_json::from_value(serde_json::json!({
                    "ca": URL_SAFE_NO_PAD.encode(&der),
                    "aaguids": {},
                    "blanket_allow": true,
                }))
                .map_err(|e| CeremonyError(format!("a certificate could not be read: {e}")))?;
            list.insert(ca)
                .map_err(|e| CeremonyError(format!("a certificate could not be used: {e:?}")))?;
            rest = &body[end..];
        }
        Ok(Self { list })
    }

    /// Adds a model's root from the FIDO metadata: it vouches for that AAGUID only.
    pub fn add_model_root(&mut self, der: &[u8], aaguid: uuid::Uuid) -> Result<(), CeremonyError> {
        let mut builder = webauthn_rs_core::proto::AttestationCaListBuilder::new();
        builder
            .insert_device_der(der, aaguid, aaguid.to_string(), Default::default())
            .map_err(|e| CeremonyError(format!("a metadata root could not be used: {e:?}")))?;
        self.list.union(&builder.build());
        Ok(())
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Prefix of the errors of an attestation that does not chain to a trust root.
pub const UNTRUSTED: &str = "Untrusted attestation: ";

fn fail(message: &str) -> CeremonyError {
    CeremonyError(message.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserVerification {
    #[serde(rename = "required")]
    Required,
    #[serde(rename = "preferred")]
    Preferred,
    #[serde(rename = "discouraged")]
    Discouraged,
}

impl UserVerification {
    /// Parses the contract's case-insensitive names.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "required" => Some(Self::Required),
            "preferred" => Some(Self::Preferred),
            "discouraged" => Some(Self::Discouraged),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }

    fn policy(self) -> UserVerificationPolicy {
        match self {
            Self::Required => UserVerificationPolicy::Required,
            Self::Preferred => UserVerificationPolicy::Preferred,
            Self::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    Platform,
    CrossPlatform,
}

impl Attachment {
    fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::CrossPlatform => "cross-platform",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    None,
    Indirect,
    Direct,
}

impl Attestation {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Indirect => "indirect",
            Self::Direct => "direct",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    SecurityKey,
    ClientDevice,
    Hybrid,
}

impl Hint {
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "security-key" => Some(Self::SecurityKey),
            "client-device" => Some(Self::ClientDevice),
            "hybrid" => Some(Self::Hybrid),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecurityKey => "security-key",
            Self::ClientDevice => "client-device",
            Self::Hybrid => "hybrid",
        }
    }

    fn proto(self) -> PublicKeyCredentialHints {
        match self {
            Self::SecurityKey => PublicKeyCredentialHints::SecurityKey,
            Self::ClientDevice => PublicKeyCredentialHints::ClientDevice,
            Self::Hybrid => PublicKeyCredentialHints::Hybrid,
        }
    }
}

/// A parsed origin: an `https://host[:port]` URL, or an app origin kept verbatim such as
/// `android:apk-key-hash:…`.
#[derive(Debug, Clone)]
pub struct Origin(Url);

impl Origin {
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Url::parse(value.trim()).ok().map(Self)
    }
}

/// The relying party of one ceremony: the contract takes RP ID and origin from each request.
/// Subdomains and other ports are never accepted (exact origin match).
fn relying_party(rp_id: &str, origin: Option<&Origin>) -> WebauthnCore {
    WebauthnCore::new_unsafe_experts_only(
        rp_id,
        rp_id,
        origin.map(|o| o.0.clone()).into_iter().collect(),
        Duration::from_millis(u64::from(TIMEOUT_MS)),
        Some(false),
        Some(false),
    )
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

// ---- Registration -----------------------------------------------------------------------

pub struct RegistrationRequest<'a> {
    pub rp_id: &'a str,
    pub user_handle: &'a [u8],
    pub username: &'a str,
    pub display_name: &'a str,
    pub user_verification: UserVerification,
    pub attachment: Option<Attachment>,
    pub discoverable: bool,
    pub attestation: Attestation,
    pub hints: &'a [Hint],
    pub exclude: Vec<Vec<u8>>,
}

/// `PublicKeyCredentialCreationOptions` as the browser client passes it to
/// `navigator.credentials.create`. Never `null` for `timeout` or `excludeCredentials`.
#[derive(Debug, Serialize)]
pub struct CreationOptions {
    #[serde(rename = "rp")]
    pub rp: RpEntity,
    #[serde(rename = "user")]
    pub user: UserEntity,
    #[serde(rename = "challenge")]
    pub challenge: String,
    #[serde(rename = "pubKeyCredParams")]
    pub pub_key_cred_params: Vec<CredentialParameter>,
    #[serde(rename = "timeout")]
    pub timeout: u32,
    #[serde(rename = "attestation")]
    pub attestation: &'static str,
    #[serde(rename = "attestationFormats")]
    pub attestation_formats: Vec<String>,
    #[serde(rename = "authenticatorSelection")]
    pub authenticator_selection: AuthenticatorSelection,
    #[serde(rename = "hints")]
    pub hints: Vec<&'static str>,
    #[serde(rename = "excludeCredentials")]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    #[serde(rename = "extensions")]
    pub extensions: CreationExtensions,
}

#[derive(Debug, Serialize)]
pub struct RpEntity {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "name")]
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct UserEntity {
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "displayName")]
    pub display_name: String,
}

#[derive(Debug, Serialize)]
pub struct CredentialParameter {
    #[serde(rename = "type")]
    pub type_: &'static str,
    #[serde(rename = "alg")]
    pub alg: i64,
}

#[derive(Debug, Serialize)]
pub struct AuthenticatorSelection {
    #[serde(
        rename = "authenticatorAttachment",
        skip_serializing_if = "Option::is_none"
    )]
    pub authenticator_attachment: Option<&'static str>,
    #[serde(rename = "residentKey")]
    pub resident_key: &'static str,
    #[serde(rename = "requireResidentKey")]
    pub require_resident_key: bool,
    #[serde(rename = "userVerification")]
    pub user_verification: &'static str,
}

#[derive(Debug, Serialize)]
pub struct CredentialDescriptor {
    #[serde(rename = "type")]
    pub type_: &'static str,
    #[serde(rename = "id")]
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct CreationExtensions {
    #[serde(rename = "credProps")]
    pub cred_props: bool,
}

/// Ceremony state as stored between begin and complete. Versioned so that a stored row
/// written by an older passkeyd is recognised rather than misread.
#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
enum StoredState {
    #[serde(rename = "1")]
    V1 {
        #[serde(rename = "registration", default)]
        registration: Option<RegistrationState>,
        #[serde(rename = "authentication", default)]
        authentication: Option<AuthenticationState>,
    },
}

fn corrupt_state() -> CeremonyError {
    fail("The session could not be read.")
}

pub fn begin_registration(
    req: &RegistrationRequest<'_>,
) -> Result<(CreationOptions, String), CeremonyError> {
    // Passwordless maps the first hint onto the attachment, as fido2-net-lib does.
    let attachment = match req.hints.first() {
        Some(Hint::SecurityKey | Hint::Hybrid) => Some(Attachment::CrossPlatform),
        Some(Hint::ClientDevice) => Some(Attachment::Platform),
        None => req.attachment,
    };
    let core = relying_party(req.rp_id, None);
    let builder = core
        .new_challenge_register_builder(req.user_handle, req.username, req.display_name)?
        .attestation(match req.attestation {
            Attestation::None => AttestationConveyancePreference::None,
            Attestation::Indirect => AttestationConveyancePreference::Indirect,
            Attestation::Direct => AttestationConveyancePreference::Direct,
        })
        .user_verification_policy(req.user_verification.policy())
        .exclude_credentials(Some(req.exclude.clone()))
        .extensions(Some(RequestRegistrationExtensions {
            cred_props: Some(true),
            ..Default::default()
        }))
        .credential_algorithms(ALGORITHMS.to_vec())
        .require_resident_key(req.discoverable)
        .authenticator_attachment(attachment.map(|a| match a {
            Attachment::Platform => AuthenticatorAttachment::Platform,
            Attachment::CrossPlatform => AuthenticatorAttachment::CrossPlatform,
        }))
        .hints(Some(req.hints.iter().map(|h| h.proto()).collect()));
    let (ccr, state) = core.generate_challenge_register(builder)?;

    let options = CreationOptions {
        rp: RpEntity {
            id: req.rp_id.to_owned(),
            name: req.rp_id.to_owned(),
        },
        user: UserEntity {
            name: req.username.to_owned(),
            id: b64url(req.user_handle),
            display_name: req.display_name.to_owned(),
        },
        challenge: b64url(&ccr.public_key.challenge),
        pub_key_cred_params: ALGORITHMS
            .iter()
            .map(|alg| CredentialParameter {
                type_: "public-key",
                alg: *alg as i64,
            })
            .collect(),
        timeout: TIMEOUT_MS,
        attestation: req.attestation.as_str(),
        attestation_formats: Vec::new(),
        authenticator_selection: AuthenticatorSelection {
            authenticator_attachment: attachment.map(Attachment::as_str),
            resident_key: if req.discoverable {
                "required"
            } else {
                "discouraged"
            },
            require_resident_key: req.discoverable,
            user_verification: req.user_verification.as_str(),
        },
        hints: req.hints.iter().map(|h| h.as_str()).collect(),
        exclude_credentials: req
            .exclude
            .iter()
            .map(|id| CredentialDescriptor {
                type_: "public-key",
                id: b64url(id),
            })
            .collect(),
        extensions: CreationExtensions { cred_props: true },
    };
    let state = serde_json::to_string(&StoredState::V1 {
        registration: Some(state),
        authentication: None,
    })
    .map_err(|_| corrupt_state())?;
    Ok((options, state))
}

/// An attestation credential as the client sent it, decoded from base64url.
pub struct AttestationResponse {
    pub id: String,
    pub raw_id: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub attestation_object: Vec<u8>,
    pub transports: Vec<String>,
    pub resident_key: Option<bool>,
}

/// A newly registered credential, ready to store.
pub struct Registered {
    pub credential_id: Vec<u8>,
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub aaguid: Option<String>,
    pub attestation_format: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// The library's credential record (versioned JSON), needed to verify later sign-ins.
    pub record: String,
}

/// Finishes a registration. With `trust`, the attestation must chain to one of its roots:
/// `none` and self-attestation are refused (errors start with [`UNTRUSTED`]).
pub fn finish_registration(
    state: &str,
    rp_id: &str,
    origin: &Origin,
    response: &AttestationResponse,
    trust: Option<&TrustRoots>,
) -> Result<Registered, CeremonyError> {
    let StoredState::V1 {
        registration: Some(state),
        ..
    } = serde_json::from_str(state).map_err(|_| corrupt_state())?
    else {
        return Err(corrupt_state());
    };
    check_client_data(&response.client_data_json, "webauthn.create")?;
    let request = RegisterPublicKeyCredential {
        id: response.id.clone(),
        raw_id: response.raw_id.clone(),
        response: AuthenticatorAttestationResponseRaw {
            attestation_object: response.attestation_object.clone(),
            client_data_json: response.client_data_json.clone(),
            transports: None,
        },
        type_: "public-key".to_owned(),
        extensions: RegistrationExtensionsClientOutputs {
            cred_props: response.resident_key.map(|rk| CredProps { rk: Some(rk) }),
            ..Default::default()
        },
    };
    let cas = trust.map(|t| &t.list);
    let credential = relying_party(rp_id, Some(origin))
        .register_credential(&request, &state, cas)
        .map_err(|e| {
            use webauthn_rs_core::error::WebauthnError as W;
            match e {
                W::MissingAttestationCaList
                | W::AttestationCertificateTrustStoreEmpty
                | W::AttestationNotVerifiable
                | W::AttestationChainNotTrusted(_)
                | W::AttestationUntrustedAaguid
                | W::AttestationFormatMissingAaguid => CeremonyError(format!("{UNTRUSTED}{e}")),
                other => other.into(),
            }
        })?;
    let id = credential.cred_id.as_slice();
    if id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(fail(
            "The credential id is longer than 1023 bytes, which WebAuthn does not allow.",
        ));
    }
    if response.raw_id != id {
        return Err(fail(
            "The rawId does not match the credential id in the attestation.",
        ));
    }
    let attested = parse_attested_data(&response.attestation_object)?;
    if attested.credential_id != id {
        return Err(fail("The attested credential data could not be read."));
    }
    Ok(Registered {
        credential_id: id.to_vec(),
        public_key: attested.public_key,
        sign_count: credential.counter,
        aaguid: attested.aaguid,
        attestation_format: attested.format,
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        record: encode_record(&credential)?,
    })
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
enum StoredCredential {
    #[serde(rename = "5")]
    V5 {
        #[serde(rename = "credential")]
        credential: Credential,
    },
}

fn encode_record(credential: &Credential) -> Result<String, CeremonyError> {
    serde_json::to_string(&StoredCredential::V5 {
        credential: credential.clone(),
    })
    .map_err(|_| fail("The credential could not be encoded."))
}

/// Rejects what the library does not check: iframes (`crossOrigin`, `topOrigin`) on every
/// ceremony, and a client data type other than expected.
fn check_client_data(client_data_json: &[u8], expected_type: &str) -> Result<(), CeremonyError> {
    #[derive(Deserialize)]
    struct ClientData {
        #[serde(rename = "type")]
        type_: String,
        #[serde(rename = "crossOrigin", default)]
        cross_origin: Option<bool>,
        #[serde(rename = "topOrigin", default)]
        top_origin: Option<serde_json::Value>,
    }
    let data: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|_| fail("The clientDataJSON could not be parsed."))?;
    if data.type_ != expected_type {
        return Err(fail(&format!(
            "The clientDataJSON type must be '{expected_type}'."
        )));
    }
    if data.cross_origin == Some(true) || data.top_origin.is_some() {
        return Err(fail(
            "Cross-origin ceremonies (crossOrigin/topOrigin in clientDataJSON) are not allowed.",
        ));
    }
    Ok(())
}

struct AttestedData {
    format: String,
    aaguid: Option<String>,
    credential_id: Vec<u8>,
    public_key: Vec<u8>,
}

/// Reads the attestation format, AAGUID, credential id and the COSE key bytes exactly as the
/// authenticator sent them (the library keeps only a parsed key).
fn parse_attested_data(attestation_object: &[u8]) -> Result<AttestedData, CeremonyError> {
    use ciborium::Value;
    let unreadable = || fail("The attestation object could not be read.");
    let value: Value = ciborium::from_reader(attestation_object).map_err(|_| unreadable())?;
    let map = value.as_map().ok_or_else(unreadable)?;
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
    };
    let format = field("fmt")
        .and_then(Value::as_text)
        .ok_or_else(unreadable)?
        .to_owned();
    let auth_data = field("authData")
        .and_then(Value::as_bytes)
        .ok_or_else(unreadable)?;
    // rpIdHash(32) flags(1) signCount(4) aaguid(16) credIdLen(2) credId credentialPublicKey
    let aaguid = auth_data.get(37..53).ok_or_else(unreadable)?;
    let len_bytes = auth_data.get(53..55).ok_or_else(unreadable)?;
    let id_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    let credential_id = auth_data.get(55..55 + id_len).ok_or_else(unreadable)?;
    let key_start = auth_data.get(55 + id_len..).ok_or_else(unreadable)?;
    let mut rest = key_start;
    let key: Value = ciborium::from_reader(&mut rest).map_err(|_| unreadable())?;
    let key_len = key_start.len() - rest.len();
    check_cose_key(&key, &key_start[..key_len])?;
    check_extensions(auth_data[32], rest)?;
    let aaguid = uuid::Uuid::from_slice(aaguid).map_err(|_| unreadable())?;
    Ok(AttestedData {
        format,
        aaguid: Some(aaguid.hyphenated().to_string()),
        credential_id: credential_id.to_vec(),
        public_key: key_start[..key_len].to_vec(),
    })
}

/// What webauthn-rs leaves unchecked in a credential public key: it must be canonical CBOR
/// (WebAuthn §6.5.1.1: definite lengths, shortest forms), use no label twice (RFC 9052 §3;
/// a repeated `kty` is a key-type confusion), and name the curve its algorithm requires
/// (WebAuthn §5.8.5: ES256 on P-256, ES384 on P-384; RS256 on an RSA key).
fn check_cose_key(key: &ciborium::Value, bytes: &[u8]) -> Result<(), CeremonyError> {
    use ciborium::Value;
    let bad = || fail("The credential public key is not a valid COSE key.");
    let map = key.as_map().ok_or_else(bad)?;
    let mut encoded = Vec::with_capacity(bytes.len());
    ciborium::into_writer(key, &mut encoded).map_err(|_| bad())?;
    if encoded != bytes {
        return Err(fail(
            "The credential public key is not canonical CBOR (indefinite or overlong items).",
        ));
    }
    let labels: Vec<&Value> = map.iter().map(|(k, _)| k).collect();
    for (i, label) in labels.iter().enumerate() {
        if labels[..i].contains(label) {
            return Err(fail("The credential public key repeats a label."));
        }
    }
    let int = |label: i64| -> Option<i128> {
        map.iter()
            .find(|(k, _)| k.as_integer().map(i128::from) == Some(i128::from(label)))
            .and_then(|(_, v)| v.as_integer().map(i128::from))
    };
    let (kty, alg, crv) = (int(1), int(3), int(-1));
    let consistent = match alg {
        Some(-7) => kty == Some(2) && crv == Some(1),
        Some(-35) => kty == Some(2) && crv == Some(2),
        Some(-257) => kty == Some(3),
        _ => false,
    };
    if !consistent {
        return Err(fail(
            "The credential public key's type or curve does not match its algorithm.",
        ));
    }
    Ok(())
}

/// After the fixed part (and the attested credential data, if any), authenticator data may
/// hold exactly one extensions map, and only when its ED flag is set. webauthn-rs ignores
/// anything else that follows; the original's library refuses it.
fn check_extensions(flags: u8, rest: &[u8]) -> Result<(), CeremonyError> {
    const ED: u8 = 0x80;
    let leftover = || fail("The authenticator data has bytes it does not account for.");
    if flags & ED == 0 {
        return if rest.is_empty() {
            Ok(())
        } else {
            Err(leftover())
        };
    }
    let mut tail = rest;
    let extensions: ciborium::Value = ciborium::from_reader(&mut tail).map_err(|_| leftover())?;
    if extensions.as_map().is_none() || !tail.is_empty() {
        return Err(leftover());
    }
    Ok(())
}

// ---- Authentication ---------------------------------------------------------------------

pub struct AuthenticationRequest<'a> {
    pub rp_id: &'a str,
    pub user_verification: UserVerification,
    pub hints: &'a [Hint],
    /// Empty for a discoverable (usernameless / autofill) sign-in.
    pub allow: &'a [Vec<u8>],
}

/// `PublicKeyCredentialRequestOptions` for `navigator.credentials.get`.
#[derive(Debug, Serialize)]
pub struct RequestOptions {
    #[serde(rename = "challenge")]
    pub challenge: String,
    #[serde(rename = "timeout")]
    pub timeout: u32,
    #[serde(rename = "rpId")]
    pub rp_id: String,
    #[serde(rename = "allowCredentials")]
    pub allow_credentials: Vec<CredentialDescriptor>,
    #[serde(rename = "userVerification")]
    pub user_verification: &'static str,
    #[serde(rename = "hints")]
    pub hints: Vec<&'static str>,
}

pub fn begin_authentication(
    req: &AuthenticationRequest<'_>,
) -> Result<(RequestOptions, String), CeremonyError> {
    let core = relying_party(req.rp_id, None);
    // The allow-list is kept by the caller and the credential is loaded fresh at completion,
    // so the library's state carries only the challenge and the policy.
    let builder = core
        .new_challenge_authenticate_builder(Vec::new(), Some(req.user_verification.policy()))?
        .allow_backup_eligible_upgrade(true)
        .hints(Some(req.hints.iter().map(|h| h.proto()).collect()));
    let (rcr, state) = core.generate_challenge_authenticate(builder)?;
    let options = RequestOptions {
        challenge: b64url(&rcr.public_key.challenge),
        timeout: TIMEOUT_MS,
        rp_id: req.rp_id.to_owned(),
        allow_credentials: req
            .allow
            .iter()
            .map(|id| CredentialDescriptor {
                type_: "public-key",
                id: b64url(id),
            })
            .collect(),
        user_verification: req.user_verification.as_str(),
        hints: req.hints.iter().map(|h| h.as_str()).collect(),
    };
    let state = serde_json::to_string(&StoredState::V1 {
        registration: None,
        authentication: Some(state),
    })
    .map_err(|_| corrupt_state())?;
    Ok((options, state))
}

/// An assertion as the client sent it, decoded from base64url.
pub struct AssertionResponse {
    pub id: String,
    pub raw_id: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

/// The outcome of a verified assertion.
#[derive(Debug)]
pub struct Asserted {
    pub sign_count: u32,
    pub user_verified: bool,
    /// The backup state (BS) the authenticator reports now: a passkey can become synced.
    pub backup_state: bool,
    /// The library's credential record, when the assertion changed it (the backup state).
    pub updated_record: Option<String>,
}

/// Verifies an assertion against the stored credential. `sign_count` is the counter as stored
/// now (not when the ceremony began), so a replay of an older assertion fails here and a race
/// between two fails at the store's compare-and-swap.
pub fn finish_authentication(
    state: &str,
    rp_id: &str,
    origin: &Origin,
    response: &AssertionResponse,
    record: &str,
    sign_count: u32,
) -> Result<Asserted, CeremonyError> {
    let StoredState::V1 {
        authentication: Some(state),
        ..
    } = serde_json::from_str(state).map_err(|_| corrupt_state())?
    else {
        return Err(corrupt_state());
    };
    let StoredCredential::V5 { mut credential } = serde_json::from_str(record)
        .map_err(|_| fail("The stored credential could not be read."))?;
    credential.counter = sign_count;
    check_client_data(&response.client_data_json, "webauthn.get")?;
    // rpIdHash(32) flags(1) signCount(4), then nothing but an optional extensions map.
    let flags = *response
        .authenticator_data
        .get(32)
        .ok_or_else(|| fail("The authenticator data is too short."))?;
    let rest = response
        .authenticator_data
        .get(37..)
        .ok_or_else(|| fail("The authenticator data is too short."))?;
    check_extensions(flags, rest)?;
    let request = PublicKeyCredential {
        id: response.id.clone(),
        raw_id: response.raw_id.clone(),
        response: AuthenticatorAssertionResponseRaw {
            authenticator_data: response.authenticator_data.clone(),
            client_data_json: response.client_data_json.clone(),
            signature: response.signature.clone(),
            user_handle: response.user_handle.clone(),
        },
        extensions: Default::default(),
        type_: "public-key".to_owned(),
    };
    let result = relying_party(rp_id, Some(origin)).authenticate_single_credential(
        &request,
        &state,
        &credential,
    )?;
    // Keep the library's record current, as its own examples do after a sign-in.
    let updated_record = if result.backup_state() == credential.backup_state {
        None
    } else {
        credential.backup_state = result.backup_state();
        Some(
            serde_json::to_string(&StoredCredential::V5 { credential })
                .map_err(|_| fail("The credential could not be stored."))?,
        )
    };
    Ok(Asserted {
        sign_count: result.counter(),
        user_verified: result.user_verified(),
        backup_state: result.backup_state(),
        updated_record,
    })
}
