//! Opaque tokens handed to clients: `register_…`, `session_…` and `verify_…`.
//!
//! A token is its prefix plus 32 random bytes in base64url. The server keeps the token's
//! payload in the store under the SHA-256 of the whole string; lookups are scoped to the app,
//! so a token of another app is simply unknown.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const REGISTER: &str = "register_";
pub const SESSION: &str = "session_";
pub const VERIFY: &str = "verify_";
/// Passkey Flex authentication transactions.
pub const TRANSACTION: &str = "transaction_";

const RANDOM_BYTES: usize = 32;
const ENCODED_LEN: usize = 43;

/// A new token with `prefix`, and the hash to store it under.
#[must_use]
pub fn mint(prefix: &str) -> (String, Vec<u8>) {
    let mut random = [0u8; RANDOM_BYTES];
    rand::thread_rng().fill_bytes(&mut random);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random));
    let hash = hash(&token);
    (token, hash)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Checks a token's form and returns the hash to look it up by. The errors are the contract's.
pub fn parse(value: Option<&str>, prefix: &str) -> Result<Vec<u8>, ApiError> {
    let value = check_prefix(value, prefix)?;
    let body = &value[prefix.len()..];
    let well_formed = body.len() == ENCODED_LEN
        && URL_SAFE_NO_PAD
            .decode(body)
            .is_ok_and(|b| b.len() == RANDOM_BYTES);
    if !well_formed {
        return Err(bad_format());
    }
    // Tokens are minted with a lower-case prefix; the contract matches prefixes in any case.
    Ok(hash(&format!("{prefix}{body}")))
}

fn bad_format() -> ApiError {
    ApiError::bad_request(
        "invalid_token_format",
        "The token you supplied was not formatted correctly. It should be valid base64url.",
    )
}

/// The token, present and with `prefix` (in any case); the errors are the contract's.
fn check_prefix<'a>(value: Option<&'a str>, prefix: &str) -> Result<&'a str, ApiError> {
    let value = value.unwrap_or_default();
    if value.is_empty() {
        return Err(ApiError::bad_request(
            "missing_token",
            format!("This operation requires a token that starts with '{prefix}' to be passed."),
        ));
    }
    let has_prefix = value
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    if !has_prefix {
        let start: String = value.chars().take(10).collect();
        return Err(ApiError::bad_request(
            "invalid_token",
            format!(
                "The token you sent was not correct. The token used for this endpoint should start \
                 with '{prefix}'. Make sure you are not sending the wrong value. The value you sent \
                 started with '{start}'"
            ),
        ));
    }
    Ok(value)
}

/// A ceremony session opened from its token.
#[derive(Debug)]
pub struct Sealed {
    /// The expiry and 8 random bytes; recorded when the ceremony ends, so the session works
    /// once.
    pub id: Vec<u8>,
    pub payload: String,
}

const NONCE_LEN: usize = 12;
const ID_LEN: usize = 16;
/// Larger session tokens are refused unread; a real one is well under 2 KiB.
const MAX_SEALED_LEN: usize = 16 * 1024;

fn associated_data(app_id: &str, kind: &str) -> Vec<u8> {
    [app_id.as_bytes(), b"\0", kind.as_bytes()].concat()
}

/// Seals a ceremony session into its `session_` token (AES-256-GCM under a key all replicas
/// share), bound to the app and the ceremony kind. Nothing is stored at begin, so begins that
/// are never completed cost no storage.
#[must_use]
pub fn seal(
    key: &[u8; 32],
    app_id: &str,
    kind: &str,
    expires_at: DateTime<Utc>,
    payload: &str,
) -> String {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let mut nonce = [0u8; NONCE_LEN];
    let mut id = [0u8; ID_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    // The expiry first, then randomness: used sessions are recorded in time order and purged
    // by a range of ids (see the `spent_sessions` migration).
    id[..8].copy_from_slice(&expires_at.timestamp_millis().to_be_bytes());
    rand::thread_rng().fill_bytes(&mut id[8..]);
    let mut plain = Vec::with_capacity(ID_LEN + payload.len());
    plain.extend_from_slice(&id);
    plain.extend_from_slice(payload.as_bytes());
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let aad = associated_data(app_id, kind);
    // Encryption with a valid key and nonce length cannot fail.
    let sealed = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    // The length makes a truncated or padded token a format error, as for the other tokens.
    let mut out = Vec::with_capacity(NONCE_LEN + 2 + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(
        &u16::try_from(sealed.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(&sealed);
    format!("{SESSION}{}", URL_SAFE_NO_PAD.encode(out))
}

/// Opens a session token sealed for this app and kind. Another app's token, a tampered one or
/// one sealed under another key is unknown; an expired one is refused as expired.
pub fn open_sealed(
    key: &[u8; 32],
    app_id: &str,
    kind: &str,
    value: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Sealed, ApiError> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let value = check_prefix(value, SESSION)?;
    let body = &value[SESSION.len()..];
    let bytes = (body.len() <= MAX_SEALED_LEN)
        .then(|| URL_SAFE_NO_PAD.decode(body).ok())
        .flatten()
        .filter(|b| {
            b.len() >= NONCE_LEN + 2 + ID_LEN + 16
                && usize::from(u16::from_be_bytes([b[NONCE_LEN], b[NONCE_LEN + 1]]))
                    == b.len() - NONCE_LEN - 2
        })
        .ok_or_else(bad_format)?;
    let (nonce, rest) = bytes.split_at(NONCE_LEN);
    let sealed = &rest[2..];
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let aad = associated_data(app_id, kind);
    let plain = cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| unknown())?;
    let (id, payload) = plain.split_at(ID_LEN);
    let expiry = &id[..8];
    let expires_at = DateTime::from_timestamp_millis(i64::from_be_bytes(
        expiry.try_into().map_err(|_| unknown())?,
    ))
    .ok_or_else(unknown)?;
    check_expiry(expires_at, now)?;
    Ok(Sealed {
        id: id.to_vec(),
        payload: String::from_utf8(payload.to_vec()).map_err(|_| unknown())?,
    })
}

/// A well-formed token that this app does not have (never issued, used up, or another app's).
#[must_use]
pub fn unknown() -> ApiError {
    ApiError::bad_request(
        "invalid_token",
        "The token you supplied was not valid. It could be that the token has expired or that it \
         was not issued for this tenant.",
    )
}

/// Fails with the contract's 403 `expired_token` when `expires_at` is in the past.
pub fn check_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ApiError> {
    if expires_at >= now {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "expired_token",
        format!("The token expired {} ago.", humanize(now - expires_at)),
    ))
}

/// A span in words with its largest unit, as Humanizer writes it ("10 seconds", "1 minute").
#[must_use]
pub fn humanize(span: chrono::Duration) -> String {
    let ms = span.num_milliseconds().max(0);
    let (n, unit) = if ms < 1_000 {
        (ms, "millisecond")
    } else if ms < 60_000 {
        (ms / 1_000, "second")
    } else if ms < 3_600_000 {
        (ms / 60_000, "minute")
    } else if ms < 86_400_000 {
        (ms / 3_600_000, "hour")
    } else if ms < 7 * 86_400_000 {
        (ms / 86_400_000, "day")
    } else {
        (ms / (7 * 86_400_000), "week")
    };
    match n {
        0 => "no time".to_owned(),
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn minted_tokens_parse_to_their_hash() {
        let (token, hash) = mint(VERIFY);
        assert!(token.starts_with("verify_"));
        assert_eq!(parse(Some(&token), VERIFY).unwrap(), hash);
        let upper = token.replacen("verify_", "VERIFY_", 1);
        assert_eq!(parse(Some(&upper), VERIFY).unwrap(), hash);
    }

    #[test]
    fn contract_errors() {
        assert_eq!(parse(None, VERIFY).unwrap_err().error_code, "missing_token");
        assert_eq!(
            parse(Some("register_x"), VERIFY).unwrap_err().error_code,
            "invalid_token"
        );
        assert_eq!(
            parse(Some("verify_!!"), VERIFY).unwrap_err().error_code,
            "invalid_token_format"
        );
    }

    #[test]
    fn sealed_sessions_open_only_for_their_app_and_kind() {
        let key = [7u8; 32];
        let now = Utc::now();
        let later = now + Duration::seconds(60);
        let token = seal(&key, "app", "signin", later, "{\"a\":1}");
        let opened = open_sealed(&key, "app", "signin", Some(&token), now).unwrap();
        assert_eq!(opened.payload, "{\"a\":1}");
        assert_eq!(opened.id.len(), 16);
        let code = |r: Result<Sealed, ApiError>| r.unwrap_err().error_code;
        assert_eq!(
            code(open_sealed(&key, "app2", "signin", Some(&token), now)),
            "invalid_token"
        );
        assert_eq!(
            code(open_sealed(&key, "app", "register", Some(&token), now)),
            "invalid_token"
        );
        assert_eq!(
            code(open_sealed(&[8; 32], "app", "signin", Some(&token), now)),
            "invalid_token"
        );
        assert_eq!(
            code(open_sealed(
                &key,
                "app",
                "signin",
                Some(&token),
                later + Duration::seconds(1)
            )),
            "expired_token"
        );
        assert_eq!(
            code(open_sealed(&key, "app", "signin", Some("session_abc"), now)),
            "invalid_token_format"
        );
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            code(open_sealed(&key, "app", "signin", Some(&tampered), now)),
            "invalid_token"
        );
    }

    #[test]
    fn humanized_spans() {
        assert_eq!(humanize(Duration::seconds(10)), "10 seconds");
        assert_eq!(humanize(Duration::seconds(1)), "1 second");
        assert_eq!(humanize(Duration::seconds(61)), "1 minute");
        assert_eq!(humanize(Duration::hours(5)), "5 hours");
        assert_eq!(humanize(Duration::days(15)), "2 weeks");
        assert_eq!(humanize(Duration::milliseconds(1)), "1 millisecond");
    }
}
