//! A software passkey plus the browser around it, trimmed from the test suite's
//! `tests/api/support/authenticator.rs` to what a benchmark needs: P-256 keys, `none`
//! attestation, assertions, and the JSON shape of `PublicKeyCredential.toJSON()`.
//!
//! Keys are ring's rather than RustCrypto's because the generator shares the machine with the
//! server: a ring P-256 signature costs ~20 µs against ~150 µs, CPU the server gets instead.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value as Cbor;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ORIGIN: &str = "https://bench.example";
pub const RP_ID: &str = "bench.example";

/// Authenticator-data flags (WebAuthn §6.1): user present, user verified, attested data.
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;
const COSE_ALG_ES256: i64 = -7;

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {s:?}: {e}"))
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The fields of `PublicKeyCredentialCreationOptions` this authenticator reads.
#[derive(Deserialize)]
pub struct CreationOptions {
    pub rp: RpEntity,
    pub user: UserEntity,
    pub challenge: String,
}

#[derive(Deserialize)]
pub struct RpEntity {
    pub id: String,
}

#[derive(Deserialize)]
pub struct UserEntity {
    pub id: String,
}

/// The fields of `PublicKeyCredentialRequestOptions` this authenticator reads.
#[derive(Deserialize)]
pub struct RequestOptions {
    pub challenge: String,
    #[serde(rename = "rpId")]
    pub rp_id: String,
}

/// `PublicKeyCredential.toJSON()` of a `navigator.credentials.create()`.
#[derive(Serialize)]
pub struct Attestation {
    id: String,
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    type_: &'static str,
    #[serde(rename = "authenticatorAttachment")]
    attachment: &'static str,
    #[serde(rename = "clientExtensionResults")]
    extensions: serde_json::Value,
    response: AttestationResponse,
}

#[derive(Serialize)]
struct AttestationResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
    transports: [&'static str; 1],
}

/// `PublicKeyCredential.toJSON()` of a `navigator.credentials.get()`.
#[derive(Serialize)]
pub struct Assertion {
    id: String,
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    type_: &'static str,
    #[serde(rename = "authenticatorAttachment")]
    attachment: &'static str,
    #[serde(rename = "clientExtensionResults")]
    extensions: serde_json::Map<String, serde_json::Value>,
    response: AssertionResponse,
}

#[derive(Serialize)]
struct AssertionResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle")]
    user_handle: String,
}

/// One registered credential: its key, id and signature counter. Each passkey is used by one
/// client at a time (see load.rs), so the counter needs no lock and always increases, as a
/// hardware authenticator's does.
pub struct Passkey {
    pub user_id: String,
    id: Vec<u8>,
    user_handle: Vec<u8>,
    key: EcdsaKeyPair,
    counter: u32,
}

fn client_data_json(type_: &str, challenge: &str) -> Vec<u8> {
    // Exactly the serialisation browsers use (WebAuthn §5.8.1.1), keys in this order.
    format!(
        r#"{{"type":"{type_}","challenge":"{challenge}","origin":"{ORIGIN}","crossOrigin":false}}"#
    )
    .into_bytes()
}

/// The authenticator refuses an RP ID its origin may not use, as a browser would; a benchmark
/// against a misconfigured server should fail loudly rather than measure errors.
fn check_rp_id(rp_id: &str) -> Result<(), String> {
    if rp_id == RP_ID {
        Ok(())
    } else {
        Err(format!(
            "SecurityError: RP ID {rp_id:?} is not valid for {ORIGIN}"
        ))
    }
}

/// COSE_Key of a P-256 public key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
fn cose_key(uncompressed_point: &[u8]) -> Vec<u8> {
    let (x, y) = uncompressed_point[1..].split_at(32);
    let int = |i: i64| Cbor::Integer(i.into());
    let map = Cbor::Map(vec![
        (int(1), int(2)),
        (int(3), int(COSE_ALG_ES256)),
        (int(-1), int(1)),
        (int(-2), Cbor::Bytes(x.to_vec())),
        (int(-3), Cbor::Bytes(y.to_vec())),
    ]);
    cbor_bytes(&map)
}

fn cbor_bytes(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR into a Vec cannot fail");
    out
}

/// rpIdHash | flags | signCount.
fn auth_data_header(rp_id: &str, flags: u8, counter: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(37 + 200);
    data.extend_from_slice(&sha256(rp_id.as_bytes()));
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    data
}

/// `navigator.credentials.create()`: a fresh P-256 credential with `none` attestation.
pub fn create(
    rng: &SystemRandom,
    user_id: &str,
    options: &CreationOptions,
) -> Result<(Passkey, Attestation), String> {
    check_rp_id(&options.rp.id)?;
    let user_handle = b64url_decode(&options.user.id)?;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng)
        .map_err(|_| "key generation failed")?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), rng)
        .map_err(|_| "key parsing failed")?;
    let mut id = vec![0u8; 16];
    rng.fill(&mut id).map_err(|_| "no randomness")?;

    let mut auth_data = auth_data_header(&options.rp.id, FLAG_UP | FLAG_UV | FLAG_AT, 0);
    auth_data.extend_from_slice(&[0; 16]); // AAGUID: none, like most software authenticators
    auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
    auth_data.extend_from_slice(&id);
    auth_data.extend(cose_key(key.public_key().as_ref()));
    // Keys in CTAP2 canonical order (shorter first).
    let attestation_object = cbor_bytes(&Cbor::Map(vec![
        (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
        (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
        (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
    ]));
    let client_data = client_data_json("webauthn.create", &options.challenge);

    let attestation = Attestation {
        id: b64url(&id),
        raw_id: b64url(&id),
        type_: "public-key",
        attachment: "platform",
        extensions: serde_json::json!({ "credProps": { "rk": true } }),
        response: AttestationResponse {
            client_data_json: b64url(&client_data),
            attestation_object: b64url(&attestation_object),
            transports: ["internal"],
        },
    };
    let passkey = Passkey {
        user_id: user_id.to_owned(),
        id,
        user_handle,
        key,
        counter: 0,
    };
    Ok((passkey, attestation))
}

impl Passkey {
    /// `navigator.credentials.get()` with this credential: the counter goes up by one and the
    /// signature covers authenticatorData | SHA-256(clientDataJSON).
    /// The counter of the last assertion made.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The credential id, base64url (as `/credentials/list` shows it in `descriptor.id`).
    pub fn id_b64url(&self) -> String {
        b64url(&self.id)
    }

    pub fn get(
        &mut self,
        rng: &SystemRandom,
        options: &RequestOptions,
    ) -> Result<Assertion, String> {
        check_rp_id(&options.rp_id)?;
        self.counter += 1;
        let auth_data = auth_data_header(&options.rp_id, FLAG_UP | FLAG_UV, self.counter);
        let client_data = client_data_json("webauthn.get", &options.challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data));
        let signature = self.key.sign(rng, &signed).map_err(|_| "signing failed")?;
        Ok(Assertion {
            id: b64url(&self.id),
            raw_id: b64url(&self.id),
            type_: "public-key",
            attachment: "platform",
            extensions: serde_json::Map::new(),
            response: AssertionResponse {
                client_data_json: b64url(&client_data),
                authenticator_data: b64url(&auth_data),
                signature: b64url(signature.as_ref()),
                user_handle: b64url(&self.user_handle),
            },
        })
    }
}

impl Passkey {
    /// The uncompressed SEC1 point (0x04 | x | y).
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }
}

impl Assertion {
    /// What the signature covers (authenticatorData | SHA-256(clientDataJSON)) and the DER
    /// signature, for timing the bare signature check.
    pub fn signed_data(&self) -> (Vec<u8>, Vec<u8>) {
        let decode = |s: &str| b64url_decode(s).expect("our own base64url");
        let mut signed = decode(&self.response.authenticator_data);
        signed.extend_from_slice(&sha256(&decode(&self.response.client_data_json)));
        (signed, decode(&self.response.signature))
    }
}
