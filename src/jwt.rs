//! Session JWTs: RS256 keys, their JWKs, and signing (RFC 7515, 7517, 7519, 7638).
//!
//! A leaf module: callers hand it key material from the store and claims to sign.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// 2048-bit keys: what RS256 verifiers expect, and fast to sign with.
const KEY_BITS: usize = 2048;

/// A new signing key: its id, its private half (PKCS#8 DER) and its public JWK (JSON text).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub kid: String,
    pub private_key: Vec<u8>,
    pub public_jwk: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JwtError(String);

/// Generates a key. Takes tens of milliseconds: call it off the async threads.
pub fn generate() -> Result<NewKey, JwtError> {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| JwtError(format!("RSA key generation: {e}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| JwtError(format!("PKCS#8 encoding: {e}")))?;
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    // RFC 7638: the thumbprint hashes the required members in lexical order, no spaces.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
    Ok(NewKey {
        kid,
        private_key: der.as_bytes().to_vec(),
        public_jwk: jwk.to_string(),
    })
}

/// A parsed private key, ready to sign.
pub struct Signer {
    kid: String,
    key: RsaKeyPair,
}

impl Signer {
    pub fn new(kid: &str, private_key: &[u8]) -> Result<Self, JwtError> {
        let key = RsaKeyPair::from_pkcs8(private_key)
            .map_err(|e| JwtError(format!("stored session key {kid}: {e}")))?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// `header.payload.signature`, with `alg` RS256, `typ` JWT and this key's `kid`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, JwtError> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let payload = serde_json::to_vec(claims).map_err(|e| JwtError(format!("claims: {e}")))?;
        let mut input = URL_SAFE_NO_PAD.encode(header.to_string());
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| JwtError("RS256 signing failed".to_owned()))?;
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_jwk_verifies() {
        let key = generate().unwrap();
        let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
        assert_eq!(jwk["kid"], key.kid.as_str());
        let token = Signer::new(&key.kid, &key.private_key)
            .unwrap()
            .sign(&json!({"sub": "u1"}))
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
        let signed = format!("{}.{}", parts[0], parts[1]);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &signature,
            )
            .unwrap();
        // One changed byte of the payload and the signature no longer holds.
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                tampered.as_bytes(),
                &signature,
            )
            .is_err());
    }
}
