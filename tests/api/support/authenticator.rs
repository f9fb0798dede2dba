//! A software WebAuthn authenticator *and* browser client for integration tests.
//!
//! `TestAuthenticator` takes the server's options JSON (the `data` object of
//! `/register/begin` or `/signin/begin`) and returns the credential JSON a
//! browser would produce with `PublicKeyCredential.toJSON()` (all binary as
//! unpadded base64url). Unlike webauthn-authenticator-rs's `SoftPasskey` it
//! keeps resident (discoverable) keys, returns `userHandle`, and can forge
//! malformed responses through [`Tweaks`] for negative tests.
//!
//! Only P-256 / ES256 keys are generated. Everything panics with a message on
//! misuse: this is test code, and a panic is the clearest failure there.

// Not every test uses every helper.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Authenticator-data flag bits (WebAuthn §6.1).
pub const FLAG_UP: u8 = 0x01;
pub const FLAG_UV: u8 = 0x04;
pub const FLAG_BE: u8 = 0x08;
pub const FLAG_BS: u8 = 0x10;
pub const FLAG_AT: u8 = 0x40;
pub const FLAG_ED: u8 = 0x80;

/// COSE algorithm identifier for ES256 (ECDSA P-256 with SHA-256).
pub const COSE_ALG_ES256: i64 = -7;

/// A credential held by the authenticator.
#[derive(Clone)]
pub struct StoredCredential {
    pub id: Vec<u8>,
    pub rp_id: String,
    /// `user.id` from the creation options, returned as `userHandle` on get.
    pub user_handle: Vec<u8>,
    pub signing_key: p256::ecdsa::SigningKey,
    /// The last counter value written into authenticator data.
    pub counter: u32,
    /// Discoverable: usable by a get with an empty `allowCredentials`.
    pub resident: bool,
}

/// Ways to make a response deviate from what an honest browser + authenticator
/// would send. `Tweaks::default()` changes nothing.
#[derive(Default, Clone)]
pub struct Tweaks {
    /// Origin written in clientDataJSON (default: the `origin` argument).
    pub client_data_origin: Option<String>,
    /// clientDataJSON `type` (default "webauthn.create" / "webauthn.get").
    pub client_data_type: Option<String>,
    /// Challenge string written in clientDataJSON instead of the options' one.
    pub challenge: Option<String>,
    /// clientDataJSON `crossOrigin` value (default false).
    pub cross_origin: Option<bool>,
    /// Adds clientDataJSON `topOrigin`.
    pub top_origin: Option<String>,
    /// rpIdHash is computed over this instead of the options' RP ID.
    pub rp_id_for_hash: Option<String>,
    /// Raw authenticator-data flags. On create, AT is still OR-ed in because the
    /// attested credential data is always present (otherwise the authenticator
    /// data could not be parsed at all). ED is never added: no extension data is
    /// emitted, so setting it here produces a deliberately inconsistent blob.
    pub flags: Option<u8>,
    /// Counter written into authenticator data. On get the stored counter is
    /// left untouched (the forged value is a one-off); on create it becomes the
    /// stored counter, so later gets continue from it.
    pub counter: Option<u32>,
    /// Sign data with one bit flipped: the signature is well-formed DER but
    /// does not verify. On create this applies to the "packed" attStmt sig.
    pub tamper_signature: bool,
    /// Raw signature bytes to send instead (e.g. truncated, r=0). On create
    /// this replaces the "packed" attStmt sig.
    pub signature: Option<Vec<u8>>,
    /// Leave `userHandle` out of the assertion (the key is absent).
    pub omit_user_handle: bool,
    /// Send this `userHandle` instead of the stored one.
    pub user_handle: Option<Vec<u8>>,
    /// create: use this credential id (e.g. 1024 bytes). If a credential with
    /// that id already exists for the RP it is kept and the new key is not
    /// stored. get: assert with this stored credential, ignoring
    /// `allowCredentials` and the RP ID.
    pub credential_id: Option<Vec<u8>>,
    /// `id`/`rawId` sent in the JSON, while the assertion is still made with
    /// the selected credential (forges a mismatched id).
    pub response_credential_id: Option<Vec<u8>>,
    /// COSE alg written in the COSE key (default -7); the key stays P-256.
    pub alg: Option<i64>,
    /// Attestation format (default "none" with empty attStmt). "packed" gives
    /// self-attestation; any other value is written with an empty attStmt.
    pub attestation_fmt: Option<String>,
    /// Raw CBOR bytes written as the credential public key.
    pub cose_key_override: Option<Vec<u8>>,
    /// Bytes appended after the authenticator data (and covered by signatures).
    pub trailing_auth_data: Option<Vec<u8>>,
    /// Create even if an `excludeCredentials` entry is held (a misbehaving
    /// client), e.g. to test the server's duplicate-credential check.
    pub ignore_exclude_credentials: bool,
    /// Emit the keys exactly as @passwordlessdev/passwordless-client does:
    /// `{id, rawId, type, clientExtensionResults, response}` with
    /// `response.{AttestationObject, clientDataJson, transports}` on create and
    /// `response.{authenticatorData, clientDataJson, signature}` on get. That
    /// client never sends `userHandle`, so it is omitted unless `user_handle`
    /// is set explicitly.
    pub js_client_casing: bool,
}

/// A platform authenticator with a resident-key store, plus the browser logic
/// around it (clientDataJSON, RP ID checks, JSON encoding).
#[derive(Clone)]
pub struct TestAuthenticator {
    credentials: Vec<StoredCredential>,
    pub aaguid: [u8; 16],
    /// Sets UV in authenticator data. Default true.
    pub user_verifying: bool,
    /// Sets BE in authenticator data.
    pub backup_eligible: bool,
    /// Sets BS in authenticator data.
    pub backup_state: bool,
    /// With "packed": sign the attestation with this key and send its certificate chain
    /// (`x5c`, leaf first) instead of self-attestation.
    pub attestation: Option<(SigningKey, Vec<Vec<u8>>)>,
}

impl Default for TestAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl TestAuthenticator {
    pub fn new() -> Self {
        Self {
            credentials: Vec::new(),
            aaguid: [0; 16],
            user_verifying: true,
            backup_eligible: false,
            backup_state: false,
            attestation: None,
        }
    }

    pub fn credentials(&self) -> &[StoredCredential] {
        &self.credentials
    }

    /// For tests that need to rewind a counter, drop a key, etc.
    pub fn credentials_mut(&mut self) -> &mut Vec<StoredCredential> {
        &mut self.credentials
    }

    /// The first held credential listed in the options' `excludeCredentials`.
    pub fn excluded_credential(&self, options: &Value) -> Option<Vec<u8>> {
        let options = unwrap_public_key(options);
        let rp_id = options
            .pointer("/rp/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        descriptor_ids(options.get("excludeCredentials"))
            .into_iter()
            .find(|id| {
                self.credentials
                    .iter()
                    .any(|c| &c.id == id && (rp_id.is_empty() || c.rp_id == rp_id))
            })
    }

    /// `navigator.credentials.create()` followed by `toJSON()`.
    ///
    /// `options` is the server's `data` object (PublicKeyCredentialCreationOptions
    /// JSON: rp.id, user.id base64url, challenge base64url, excludeCredentials,
    /// authenticatorSelection.residentKey/requireResidentKey, ...). A wrapping
    /// `{"publicKey": ...}` is accepted too.
    pub fn create(&mut self, options: &Value, origin: &str) -> Value {
        self.create_with(options, origin, &Tweaks::default())
    }

    pub fn create_with(&mut self, options: &Value, origin: &str, tweaks: &Tweaks) -> Value {
        let options = unwrap_public_key(options);

        // Browser-side checks, so a broken server fails here like it would in a browser.
        let rp_id = options
            .pointer("/rp/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| host_of(origin));
        check_rp_id(&rp_id, origin);
        let user_handle = b64url_decode(required_str(options, "/user/id"));
        assert!(
            (1..=64).contains(&user_handle.len()),
            "TypeError: user.id must be 1..=64 bytes, got {}",
            user_handle.len()
        );
        let challenge = match &tweaks.challenge {
            Some(c) => c.clone(),
            None => required_str(options, "/challenge").to_owned(),
        };
        if tweaks.alg.is_none() && tweaks.cose_key_override.is_none() {
            check_es256_offered(options);
        }

        // Authenticator-side checks.
        if !tweaks.ignore_exclude_credentials {
            if let Some(id) = self.excluded_credential(options) {
                panic!(
                    "InvalidStateError: authenticator holds excluded credential {} for RP {rp_id:?}",
                    b64url(&id)
                );
            }
        }
        let selection = options.get("authenticatorSelection");
        let resident = selection
            .and_then(|s| s.get("residentKey"))
            .and_then(Value::as_str)
            == Some("required")
            || selection
                .and_then(|s| s.get("requireResidentKey"))
                .and_then(Value::as_bool)
                == Some(true);

        let id = tweaks.credential_id.clone().unwrap_or_else(|| {
            let mut id = vec![0u8; 16];
            OsRng.fill_bytes(&mut id);
            id
        });
        let id_len = u16::try_from(id.len()).expect("credential id longer than 65535 bytes");
        let signing_key = SigningKey::random(&mut OsRng);
        let counter = tweaks.counter.unwrap_or(0);

        let mut auth_data = auth_data_header(
            tweaks.rp_id_for_hash.as_deref().unwrap_or(&rp_id),
            tweaks.flags.unwrap_or(self.default_flags(FLAG_AT)) | FLAG_AT,
            counter,
        );
        auth_data.extend_from_slice(&self.aaguid);
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&id);
        match &tweaks.cose_key_override {
            Some(raw) => auth_data.extend_from_slice(raw),
            None => auth_data.extend(cose_key(&signing_key, tweaks.alg.unwrap_or(COSE_ALG_ES256))),
        }
        if let Some(extra) = &tweaks.trailing_auth_data {
            auth_data.extend_from_slice(extra);
        }

        let client_data = client_data_json("webauthn.create", &challenge, origin, tweaks);
        let fmt = tweaks.attestation_fmt.as_deref().unwrap_or("none");
        let att_stmt = if let (true, Some((key, chain))) = (fmt == "packed", &self.attestation) {
            // Full attestation: signed by the attestation key, with its certificate chain.
            let sig = sign(key, &auth_data, &client_data, tweaks);
            Cbor::Map(vec![
                (
                    Cbor::Text("alg".into()),
                    Cbor::Integer(COSE_ALG_ES256.into()),
                ),
                (Cbor::Text("sig".into()), Cbor::Bytes(sig)),
                (
                    Cbor::Text("x5c".into()),
                    Cbor::Array(chain.iter().map(|c| Cbor::Bytes(c.clone())).collect()),
                ),
            ])
        } else if fmt == "packed" {
            // Self-attestation: signed by the credential key itself.
            let sig = sign(&signing_key, &auth_data, &client_data, tweaks);
            Cbor::Map(vec![
                (
                    Cbor::Text("alg".into()),
                    Cbor::Integer(tweaks.alg.unwrap_or(COSE_ALG_ES256).into()),
                ),
                (Cbor::Text("sig".into()), Cbor::Bytes(sig)),
            ])
        } else {
            Cbor::Map(Vec::new())
        };
        // Keys in CTAP2 canonical order (shorter first).
        let attestation_object = cbor_bytes(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text(fmt.into())),
            (Cbor::Text("attStmt".into()), att_stmt),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));

        let duplicate = self
            .credentials
            .iter()
            .any(|c| c.id == id && c.rp_id == rp_id);
        if !duplicate {
            self.credentials.push(StoredCredential {
                id: id.clone(),
                rp_id,
                user_handle,
                signing_key,
                counter,
                resident,
            });
        }

        let sent_id = tweaks.response_credential_id.as_ref().unwrap_or(&id);
        let extension_results = json!({ "credProps": { "rk": resident } });
        if tweaks.js_client_casing {
            json!({
                "id": b64url(sent_id),
                "rawId": b64url(sent_id),
                "type": "public-key",
                "clientExtensionResults": extension_results,
                "response": {
                    "AttestationObject": b64url(&attestation_object),
                    "clientDataJson": b64url(&client_data),
                    "transports": ["internal"],
                },
            })
        } else {
            json!({
                "id": b64url(sent_id),
                "rawId": b64url(sent_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": extension_results,
                "response": {
                    "clientDataJSON": b64url(&client_data),
                    "attestationObject": b64url(&attestation_object),
                    "transports": ["internal"],
                },
            })
        }
    }

    /// `navigator.credentials.get()` followed by `toJSON()`.
    ///
    /// `options` is the server's `data` object (PublicKeyCredentialRequestOptions
    /// JSON: rpId, challenge, allowCredentials [{type,id}], userVerification).
    /// With a non-empty allowCredentials it uses a stored credential for rpId
    /// whose id is listed; with an empty/absent list it uses the most recently
    /// created resident credential for rpId (discoverable). Panics if none matches.
    pub fn get(&mut self, options: &Value, origin: &str) -> Value {
        self.get_with(options, origin, &Tweaks::default())
    }

    pub fn get_with(&mut self, options: &Value, origin: &str, tweaks: &Tweaks) -> Value {
        let options = unwrap_public_key(options);
        let rp_id = options
            .get("rpId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| host_of(origin));
        check_rp_id(&rp_id, origin);
        let challenge = match &tweaks.challenge {
            Some(c) => c.clone(),
            None => required_str(options, "/challenge").to_owned(),
        };
        let allowed = descriptor_ids(options.get("allowCredentials"));
        let index = self.select_credential(&rp_id, &allowed, tweaks);

        let flags = tweaks.flags.unwrap_or(self.default_flags(0));
        let counter = match tweaks.counter {
            Some(forged) => forged,
            None => {
                let cred = &mut self.credentials[index];
                cred.counter = cred.counter.wrapping_add(1);
                cred.counter
            }
        };
        let cred = &self.credentials[index];

        let mut auth_data = auth_data_header(
            tweaks.rp_id_for_hash.as_deref().unwrap_or(&rp_id),
            flags,
            counter,
        );
        if let Some(extra) = &tweaks.trailing_auth_data {
            auth_data.extend_from_slice(extra);
        }
        let client_data = client_data_json("webauthn.get", &challenge, origin, tweaks);
        let signature = sign(&cred.signing_key, &auth_data, &client_data, tweaks);

        let user_handle = if tweaks.omit_user_handle {
            None
        } else if let Some(forged) = &tweaks.user_handle {
            Some(forged.clone())
        } else if tweaks.js_client_casing {
            None
        } else {
            Some(cred.user_handle.clone())
        };

        let sent_id = tweaks.response_credential_id.as_ref().unwrap_or(&cred.id);
        let mut response = if tweaks.js_client_casing {
            json!({
                "authenticatorData": b64url(&auth_data),
                "clientDataJson": b64url(&client_data),
                "signature": b64url(&signature),
            })
        } else {
            json!({
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&auth_data),
                "signature": b64url(&signature),
            })
        };
        if let Some(handle) = user_handle {
            response["userHandle"] = Value::String(b64url(&handle));
        }

        let mut credential = json!({
            "id": b64url(sent_id),
            "rawId": b64url(sent_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": response,
        });
        if !tweaks.js_client_casing {
            credential["authenticatorAttachment"] = json!("platform");
        }
        credential
    }

    /// Index of the credential a get should use.
    fn select_credential(&self, rp_id: &str, allowed: &[Vec<u8>], tweaks: &Tweaks) -> usize {
        if let Some(id) = &tweaks.credential_id {
            return self
                .credentials
                .iter()
                .position(|c| &c.id == id)
                .unwrap_or_else(|| panic!("Tweaks::credential_id {} is not held", b64url(id)));
        }
        let found = if allowed.is_empty() {
            // Discoverable: the newest resident key stands in for the account picker.
            self.credentials
                .iter()
                .rposition(|c| c.resident && c.rp_id == rp_id)
        } else {
            self.credentials
                .iter()
                .position(|c| c.rp_id == rp_id && allowed.contains(&c.id))
        };
        found.unwrap_or_else(|| {
            let kind = if allowed.is_empty() {
                "resident"
            } else {
                "allowed"
            };
            let allowed: Vec<_> = allowed.iter().map(|id| b64url(id)).collect();
            panic!(
                "NotAllowedError: no {kind} credential for RP {rp_id:?} \
                 (allowCredentials: {allowed:?}; held: {:?})",
                self.describe_credentials()
            )
        })
    }

    /// "id@rp (rk)" per held credential, for panic messages.
    fn describe_credentials(&self) -> Vec<String> {
        self.credentials
            .iter()
            .map(|c| {
                let rk = if c.resident { " (rk)" } else { "" };
                format!("{}@{}{rk}", b64url(&c.id), c.rp_id)
            })
            .collect()
    }

    fn default_flags(&self, extra: u8) -> u8 {
        let mut flags = FLAG_UP | extra;
        if self.user_verifying {
            flags |= FLAG_UV;
        }
        if self.backup_eligible {
            flags |= FLAG_BE;
        }
        if self.backup_state {
            flags |= FLAG_BS;
        }
        flags
    }
}

/// Unpadded base64url, as browsers' `toJSON()` emits.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating padding and the standard alphabet, since
/// servers are not always strict about what they emit.
pub fn b64url_decode(s: &str) -> Vec<u8> {
    let normalized: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(normalized)
        .unwrap_or_else(|e| panic!("not base64url: {s:?}: {e}"))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Accepts both the bare options object and `{"publicKey": {...}}`.
fn unwrap_public_key(options: &Value) -> &Value {
    options.get("publicKey").unwrap_or(options)
}

fn required_str<'a>(options: &'a Value, pointer: &str) -> &'a str {
    options
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("options lack string {pointer}: {options}"))
}

/// Decoded ids of a `[{type, id}]` descriptor list; absent or null means empty.
fn descriptor_ids(list: Option<&Value>) -> Vec<Vec<u8>> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| {
            let id = d
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("credential descriptor without string id: {d}"));
            b64url_decode(id)
        })
        .collect()
}

fn host_of(origin: &str) -> String {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("origin {origin:?} has no host"))
}

/// The browser only lets an origin use its own host or a parent domain as RP ID.
/// To send a foreign origin to the server, pass a matching `origin` and set
/// `Tweaks::client_data_origin`.
fn check_rp_id(rp_id: &str, origin: &str) {
    let host = host_of(origin);
    assert!(
        host == rp_id || host.ends_with(&format!(".{rp_id}")),
        "SecurityError: RP ID {rp_id:?} is not valid for origin {origin:?} \
         (use Tweaks::client_data_origin / rp_id_for_hash to forge)"
    );
}

/// Like a real authenticator, only ES256 is supported; an empty list means the
/// WebAuthn default (ES256 and RS256).
fn check_es256_offered(options: &Value) {
    let params = options
        .get("pubKeyCredParams")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let offered = params.is_empty()
        || params
            .iter()
            .any(|p| p.get("alg").and_then(Value::as_i64) == Some(COSE_ALG_ES256));
    assert!(
        offered,
        "NotSupportedError: pubKeyCredParams does not offer ES256 (-7): {params:?}"
    );
}

/// rpIdHash | flags | signCount.
fn auth_data_header(rp_id: &str, flags: u8, counter: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(37);
    data.extend_from_slice(&sha256(rp_id.as_bytes()));
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    data
}

/// COSE_Key for an EC2 P-256 key with integer keys in canonical order.
fn cose_key(key: &SigningKey, alg: i64) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let x = point.x().expect("uncompressed point has x").to_vec();
    let y = point.y().expect("uncompressed point has y").to_vec();
    cbor_bytes(&Cbor::Map(vec![
        (Cbor::Integer(1.into()), Cbor::Integer(2.into())), // kty: EC2
        (Cbor::Integer(3.into()), Cbor::Integer(alg.into())),
        (Cbor::Integer((-1).into()), Cbor::Integer(1.into())), // crv: P-256
        (Cbor::Integer((-2).into()), Cbor::Bytes(x)),
        (Cbor::Integer((-3).into()), Cbor::Bytes(y)),
    ]))
}

fn cbor_bytes(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).expect("CBOR serialization into a Vec");
    out
}

/// clientDataJSON field order matches what browsers emit.
#[derive(Serialize)]
struct ClientData<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    challenge: &'a str,
    origin: &'a str,
    #[serde(rename = "crossOrigin")]
    cross_origin: bool,
    #[serde(rename = "topOrigin", skip_serializing_if = "Option::is_none")]
    top_origin: Option<&'a str>,
}

fn client_data_json(default_type: &str, challenge: &str, origin: &str, tweaks: &Tweaks) -> Vec<u8> {
    serde_json::to_vec(&ClientData {
        type_: tweaks.client_data_type.as_deref().unwrap_or(default_type),
        challenge,
        origin: tweaks.client_data_origin.as_deref().unwrap_or(origin),
        cross_origin: tweaks.cross_origin.unwrap_or(false),
        top_origin: tweaks.top_origin.as_deref(),
    })
    .expect("clientDataJSON serializes")
}

/// ECDSA P-256/SHA-256 over authData || SHA-256(clientDataJSON), DER-encoded,
/// unless the tweaks replace or corrupt it.
fn sign(key: &SigningKey, auth_data: &[u8], client_data: &[u8], tweaks: &Tweaks) -> Vec<u8> {
    if let Some(raw) = &tweaks.signature {
        return raw.clone();
    }
    let mut signed = auth_data.to_vec();
    signed.extend_from_slice(&sha256(client_data));
    if tweaks.tamper_signature {
        // Sign something else so the DER stays valid but verification fails.
        signed[0] ^= 0x01;
    }
    let signature: DerSignature = key.sign(&signed);
    signature.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    //! Self-tests against webauthn-rs-core as the relying party.

    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use std::time::Duration;
    use url::Url;
    use webauthn_rs_core::error::WebauthnError;
    use webauthn_rs_core::proto::{
        Credential, PublicKeyCredential, RegisterPublicKeyCredential, UserVerificationPolicy,
    };
    use webauthn_rs_core::WebauthnCore;

    const ORIGIN: &str = "https://example.com";

    fn relying_party() -> WebauthnCore {
        WebauthnCore::new_unsafe_experts_only(
            "example.com",
            "example.com",
            vec![Url::parse(ORIGIN).expect("origin parses")],
            Duration::from_secs(60),
            None,
            None,
        )
    }

    /// Registers a resident credential for "user-1"; returns what the RP stored.
    fn register(rp: &WebauthnCore, auth: &mut TestAuthenticator, tweaks: &Tweaks) -> Credential {
        try_register(rp, auth, tweaks, true).expect("registration succeeds")
    }

    fn try_register(
        rp: &WebauthnCore,
        auth: &mut TestAuthenticator,
        tweaks: &Tweaks,
        resident: bool,
    ) -> Result<Credential, WebauthnError> {
        let builder = rp
            .new_challenge_register_builder(b"user-1", "alice", "Alice")
            .expect("register builder")
            .require_resident_key(resident);
        let (ccr, state) = rp
            .generate_challenge_register(builder)
            .expect("register challenge");
        let options = serde_json::to_value(&ccr.public_key).expect("options serialize");
        let response = auth.create_with(&options, ORIGIN, tweaks);
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(response).expect("registration response deserializes");
        rp.register_credential(&reg, &state, None)
    }

    /// Runs a non-discoverable assertion for `cred` with the given tweaks.
    fn try_authenticate(
        rp: &WebauthnCore,
        auth: &mut TestAuthenticator,
        cred: &Credential,
        tweaks: &Tweaks,
    ) -> Result<webauthn_rs_core::proto::AuthenticationResult, WebauthnError> {
        let builder = rp
            .new_challenge_authenticate_builder(vec![cred.clone()], None)
            .expect("authenticate builder");
        let (rcr, state) = rp
            .generate_challenge_authenticate(builder)
            .expect("authenticate challenge");
        let options = serde_json::to_value(&rcr.public_key).expect("options serialize");
        let response = auth.get_with(&options, ORIGIN, tweaks);
        let assertion: PublicKeyCredential =
            serde_json::from_value(response).expect("assertion deserializes");
        rp.authenticate_credential(&assertion, &state)
    }

    #[test]
    fn authenticator_registers_and_authenticates() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());

        let stored = &auth.credentials()[0];
        assert_eq!(cred.cred_id, stored.id);
        assert_eq!(stored.id.len(), 16);
        assert!(stored.resident);
        assert_eq!(stored.user_handle, b"user-1");
        assert_eq!(stored.rp_id, "example.com");
        assert!(cred.user_verified);

        let first = try_authenticate(&rp, &mut auth, &cred, &Tweaks::default())
            .expect("first assertion verifies");
        assert_eq!(first.counter(), 1);
        assert!(first.user_verified());
        let second = try_authenticate(&rp, &mut auth, &cred, &Tweaks::default())
            .expect("second assertion verifies");
        assert_eq!(second.counter(), 2);
    }

    #[test]
    fn authenticator_discoverable_get_returns_user_handle() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());

        let builder = rp
            .new_challenge_authenticate_builder(vec![], Some(UserVerificationPolicy::Required))
            .expect("discoverable builder");
        let (rcr, mut state) = rp
            .generate_challenge_authenticate(builder)
            .expect("discoverable challenge");
        let options = serde_json::to_value(&rcr.public_key).expect("options serialize");
        assert_eq!(options["allowCredentials"], json!([]));

        let response = auth.get(&options, ORIGIN);
        assert_eq!(response["response"]["userHandle"], json!(b64url(b"user-1")));
        let assertion: PublicKeyCredential =
            serde_json::from_value(response).expect("assertion deserializes");
        assert_eq!(assertion.get_user_unique_id(), Some(&b"user-1"[..]));

        // As a discoverable RP does: look the credential up by userHandle, then verify.
        state.set_allowed_credentials(vec![cred]);
        let result = rp
            .authenticate_credential(&assertion, &state)
            .expect("discoverable assertion verifies");
        assert_eq!(result.counter(), 1);
    }

    #[test]
    fn authenticator_tampered_or_forged_signatures_fail() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());

        let tampered = Tweaks {
            tamper_signature: true,
            ..Tweaks::default()
        };
        assert!(try_authenticate(&rp, &mut auth, &cred, &tampered).is_err());

        let truncated = Tweaks {
            signature: Some(vec![0x30, 0x06, 0x02, 0x01, 0x00]),
            ..Tweaks::default()
        };
        assert!(try_authenticate(&rp, &mut auth, &cred, &truncated).is_err());

        // The authenticator itself is still fine afterwards.
        try_authenticate(&rp, &mut auth, &cred, &Tweaks::default())
            .expect("honest assertion still verifies");
    }

    #[test]
    fn authenticator_client_data_and_auth_data_tweaks_are_rejected() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());

        let cases = [
            Tweaks {
                client_data_origin: Some("https://evil.example.net".into()),
                ..Tweaks::default()
            },
            Tweaks {
                client_data_type: Some("webauthn.create".into()),
                ..Tweaks::default()
            },
            Tweaks {
                challenge: Some(b64url(b"not the challenge")),
                ..Tweaks::default()
            },
            Tweaks {
                rp_id_for_hash: Some("evil.example.net".into()),
                ..Tweaks::default()
            },
            // The credential was registered with UV, and the policy requires it.
            Tweaks {
                flags: Some(FLAG_UP),
                ..Tweaks::default()
            },
            Tweaks {
                credential_id: Some(cred.cred_id.clone()),
                response_credential_id: Some(vec![7; 16]),
                ..Tweaks::default()
            },
        ];
        for (i, tweaks) in cases.iter().enumerate() {
            assert!(
                try_authenticate(&rp, &mut auth, &cred, tweaks).is_err(),
                "case {i} should be rejected"
            );
        }

        let origin_at_create = Tweaks {
            client_data_origin: Some("https://evil.example.net".into()),
            ..Tweaks::default()
        };
        assert!(matches!(
            try_register(&rp, &mut auth, &origin_at_create, true),
            Err(WebauthnError::InvalidRPOrigin)
        ));

        // webauthn-rs-core 0.6.2 checks crossOrigin only at registration.
        let cross_origin = Tweaks {
            cross_origin: Some(true),
            top_origin: Some("https://embedder.example.net".into()),
            ..Tweaks::default()
        };
        assert!(matches!(
            try_register(&rp, &mut auth, &cross_origin, true),
            Err(WebauthnError::CredentialCrossOrigin)
        ));
        let options = json!({ "rpId": "example.com", "challenge": "AAAA", "allowCredentials": [] });
        let asserted = auth.get_with(&options, ORIGIN, &cross_origin);
        let client_data = b64url_decode(
            asserted["response"]["clientDataJSON"]
                .as_str()
                .expect("string"),
        );
        assert_eq!(
            std::str::from_utf8(&client_data).expect("utf-8"),
            r#"{"type":"webauthn.get","challenge":"AAAA","origin":"https://example.com","crossOrigin":true,"topOrigin":"https://embedder.example.net"}"#
        );
    }

    #[test]
    fn authenticator_without_user_verification_fails_required_policy() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        auth.user_verifying = false;
        let builder = rp
            .new_challenge_register_builder(b"user-1", "alice", "Alice")
            .expect("register builder")
            .user_verification_policy(UserVerificationPolicy::Required);
        let (ccr, state) = rp
            .generate_challenge_register(builder)
            .expect("register challenge");
        let options = serde_json::to_value(&ccr.public_key).expect("options serialize");
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(auth.create(&options, ORIGIN)).expect("deserializes");
        assert!(matches!(
            rp.register_credential(&reg, &state, None),
            Err(WebauthnError::UserNotVerified)
        ));
    }

    #[test]
    fn authenticator_packed_self_attestation_and_backup_flags_verify() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        auth.backup_eligible = true;
        auth.backup_state = true;
        let packed = Tweaks {
            attestation_fmt: Some("packed".into()),
            ..Tweaks::default()
        };
        let cred = register(&rp, &mut auth, &packed);
        assert!(cred.backup_eligible);
        assert!(cred.backup_state);
        try_authenticate(&rp, &mut auth, &cred, &Tweaks::default())
            .expect("assertion with BE|BS verifies");

        let bad_packed = Tweaks {
            attestation_fmt: Some("packed".into()),
            tamper_signature: true,
            ..Tweaks::default()
        };
        assert!(try_register(&rp, &mut auth, &bad_packed, true).is_err());
    }

    #[test]
    fn authenticator_counter_tweak_does_not_advance_stored_counter() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());
        let forged = Tweaks {
            counter: Some(100),
            ..Tweaks::default()
        };
        let result = try_authenticate(&rp, &mut auth, &cred, &forged).expect("verifies");
        assert_eq!(result.counter(), 100);
        assert_eq!(auth.credentials()[0].counter, 0);
        let result = try_authenticate(&rp, &mut auth, &cred, &Tweaks::default()).expect("verifies");
        assert_eq!(result.counter(), 1);
    }

    /// Options in the exact shape the passkeyd server emits, and an
    /// independent decode of what the authenticator produced.
    #[test]
    fn authenticator_wire_format_matches_spec() {
        let mut auth = TestAuthenticator::new();
        auth.aaguid = [0xAA; 16];
        let create_options = json!({
            "rp": { "id": "example.com", "name": "Example" },
            "user": { "id": b64url(b"user-2"), "name": "bob", "displayName": "Bob" },
            "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZQ",
            "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
            "excludeCredentials": [],
            "authenticatorSelection": { "residentKey": "required", "userVerification": "required" },
            "attestation": "none",
        });
        let created = auth.create(&create_options, ORIGIN);
        assert_eq!(created["type"], "public-key");
        assert_eq!(created["authenticatorAttachment"], "platform");
        assert_eq!(created["clientExtensionResults"]["credProps"]["rk"], true);
        assert_eq!(created["response"]["transports"], json!(["internal"]));
        assert_eq!(created["id"], created["rawId"]);

        let client_data = b64url_decode(
            created["response"]["clientDataJSON"]
                .as_str()
                .expect("string"),
        );
        assert_eq!(
            std::str::from_utf8(&client_data).expect("utf-8"),
            r#"{"type":"webauthn.create","challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZQ","origin":"https://example.com","crossOrigin":false}"#
        );

        let attestation: Cbor = ciborium::de::from_reader(
            &b64url_decode(
                created["response"]["attestationObject"]
                    .as_str()
                    .expect("string"),
            )[..],
        )
        .expect("attestationObject is CBOR");
        let entries = attestation.as_map().expect("attestationObject is a map");
        let keys: Vec<_> = entries
            .iter()
            .map(|(k, _)| k.as_text().expect("text key"))
            .collect();
        assert_eq!(keys, ["fmt", "attStmt", "authData"]);
        assert_eq!(entries[0].1.as_text(), Some("none"));
        assert_eq!(entries[1].1.as_map().map(Vec::len), Some(0));
        let auth_data = entries[2].1.as_bytes().expect("authData bytes");

        assert_eq!(auth_data[..32], sha256(b"example.com"));
        assert_eq!(auth_data[32], FLAG_UP | FLAG_UV | FLAG_AT);
        assert_eq!(auth_data[33..37], [0, 0, 0, 0]);
        assert_eq!(auth_data[37..53], [0xAA; 16]);
        assert_eq!(auth_data[53..55], [0, 16]);
        let id = &auth_data[55..71];
        assert_eq!(b64url(id), created["rawId"]);
        let cose: Cbor = ciborium::de::from_reader(&auth_data[71..]).expect("COSE key is CBOR");
        let cose_keys: Vec<i128> = cose
            .as_map()
            .expect("COSE key is a map")
            .iter()
            .map(|(k, _)| k.as_integer().expect("integer key").into())
            .collect();
        assert_eq!(cose_keys, [1, 3, -1, -2, -3]);
        assert_eq!(
            cbor_bytes(&cose).len(),
            auth_data.len() - 71,
            "no trailing bytes"
        );

        let stored = auth.credentials()[0].clone();
        assert_eq!(stored.user_handle, b"user-2");

        // Server-style request options: camelCase rpId + allowCredentials.
        let get_options = json!({
            "rpId": "example.com",
            "challenge": "Z2V0LWNoYWxsZW5nZS1ieXRlcw",
            "allowCredentials": [{ "type": "public-key", "id": created["id"] }],
            "userVerification": "required",
        });
        let asserted = auth.get(&get_options, ORIGIN);
        assert_eq!(asserted["id"], created["id"]);
        assert_eq!(asserted["clientExtensionResults"], json!({}));
        assert_eq!(asserted["response"]["userHandle"], json!(b64url(b"user-2")));
        let auth_data = b64url_decode(
            asserted["response"]["authenticatorData"]
                .as_str()
                .expect("string"),
        );
        assert_eq!(auth_data.len(), 37);
        assert_eq!(auth_data[32], FLAG_UP | FLAG_UV);
        assert_eq!(auth_data[33..37], [0, 0, 0, 1]);
        let client_data = b64url_decode(
            asserted["response"]["clientDataJSON"]
                .as_str()
                .expect("string"),
        );
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data));
        let signature = Signature::from_der(&b64url_decode(
            asserted["response"]["signature"].as_str().expect("string"),
        ))
        .expect("signature is DER");
        VerifyingKey::from(&stored.signing_key)
            .verify(&signed, &signature)
            .expect("signature verifies over authData || SHA-256(clientDataJSON)");
    }

    #[test]
    fn authenticator_js_client_casing_and_user_handle_tweaks() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let js = Tweaks {
            js_client_casing: true,
            ..Tweaks::default()
        };
        let builder = rp
            .new_challenge_register_builder(b"user-1", "alice", "Alice")
            .expect("register builder")
            .require_resident_key(true);
        let (ccr, _) = rp
            .generate_challenge_register(builder)
            .expect("register challenge");
        let options = serde_json::to_value(&ccr.public_key).expect("options serialize");
        let created = auth.create_with(&options, ORIGIN, &js);
        let mut keys: Vec<_> = created["response"]
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, ["AttestationObject", "clientDataJson", "transports"]);
        assert!(created.get("authenticatorAttachment").is_none());

        let get_options =
            json!({ "rpId": "example.com", "challenge": "AAAA", "allowCredentials": [] });
        let asserted = auth.get_with(&get_options, ORIGIN, &js);
        let mut keys: Vec<_> = asserted["response"]
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, ["authenticatorData", "clientDataJson", "signature"]);

        let omitted = auth.get_with(
            &get_options,
            ORIGIN,
            &Tweaks {
                omit_user_handle: true,
                ..Tweaks::default()
            },
        );
        assert!(omitted["response"].get("userHandle").is_none());
        let forged = auth.get_with(
            &get_options,
            ORIGIN,
            &Tweaks {
                user_handle: Some(b"mallory".to_vec()),
                ..Tweaks::default()
            },
        );
        assert_eq!(forged["response"]["userHandle"], json!(b64url(b"mallory")));
        assert_eq!(auth.credentials()[0].counter, 3);
    }

    #[test]
    fn authenticator_forged_create_shapes() {
        let mut auth = TestAuthenticator::new();
        let options = json!({
            "rp": { "id": "example.com" },
            "user": { "id": "dXNlcg" },
            "challenge": "AAAA",
        });
        let created = auth.create_with(
            &options,
            ORIGIN,
            &Tweaks {
                credential_id: Some(vec![1; 1024]),
                cose_key_override: Some(vec![0xA0]),
                trailing_auth_data: Some(vec![0xFF; 3]),
                flags: Some(FLAG_UP),
                ..Tweaks::default()
            },
        );
        let attestation: Cbor = ciborium::de::from_reader(
            &b64url_decode(
                created["response"]["attestationObject"]
                    .as_str()
                    .expect("string"),
            )[..],
        )
        .expect("CBOR");
        let auth_data = attestation.as_map().expect("map")[2]
            .1
            .as_bytes()
            .expect("bytes")
            .clone();
        assert_eq!(auth_data[32], FLAG_UP | FLAG_AT, "AT is forced on create");
        assert_eq!(auth_data[53..55], [0x04, 0x00]);
        assert_eq!(auth_data[55 + 1024..], [0xA0, 0xFF, 0xFF, 0xFF]);
        // Not resident: neither residentKey nor requireResidentKey was set.
        assert!(!auth.credentials()[0].resident);
        assert_eq!(created["clientExtensionResults"]["credProps"]["rk"], false);
    }

    #[test]
    fn authenticator_exclude_credentials_is_enforced() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        let cred = register(&rp, &mut auth, &Tweaks::default());
        let builder = rp
            .new_challenge_register_builder(b"user-1", "alice", "Alice")
            .expect("register builder")
            .exclude_credentials(Some(vec![cred.cred_id.clone()]));
        let (ccr, _) = rp
            .generate_challenge_register(builder)
            .expect("register challenge");
        let options = serde_json::to_value(&ccr.public_key).expect("options serialize");
        assert_eq!(
            auth.excluded_credential(&options),
            Some(cred.cred_id.clone())
        );

        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            auth.clone().create(&options, ORIGIN)
        }));
        assert!(
            refused.is_err(),
            "create must refuse an excluded credential"
        );

        // A misbehaving client re-using the same id: the original key is kept.
        let original_key = auth.credentials()[0].signing_key.clone();
        auth.create_with(
            &options,
            ORIGIN,
            &Tweaks {
                ignore_exclude_credentials: true,
                credential_id: Some(cred.cred_id.clone()),
                ..Tweaks::default()
            },
        );
        assert_eq!(auth.credentials().len(), 1);
        assert!(auth.credentials()[0].signing_key == original_key);
    }

    #[test]
    #[should_panic(expected = "NotAllowedError")]
    fn authenticator_discoverable_get_needs_resident_key() {
        let rp = relying_party();
        let mut auth = TestAuthenticator::new();
        try_register(&rp, &mut auth, &Tweaks::default(), false).expect("registers");
        assert!(!auth.credentials()[0].resident);
        let options = json!({ "rpId": "example.com", "challenge": "AAAA", "allowCredentials": [] });
        auth.get(&options, ORIGIN);
    }

    #[test]
    #[should_panic(expected = "SecurityError")]
    fn authenticator_refuses_rp_id_foreign_to_origin() {
        let mut auth = TestAuthenticator::new();
        let options = json!({
            "rp": { "id": "example.com" },
            "user": { "id": "dXNlcg" },
            "challenge": "AAAA",
        });
        auth.create(&options, "https://example.org");
    }
}
