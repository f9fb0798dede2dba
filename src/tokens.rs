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
    let body = &value[prefix.len()..];
    let well_formed = body.len() == ENCODED_LEN
        && URL_SAFE_NO_PAD
            .decode(body)
            .is_ok_and(|b| b.len() == RANDOM_BYTES);
    if !well_formed {
        return Err(ApiError::bad_request(
            "invalid_token_format",
            "The token you supplied was not formatted correctly. It should be valid base64url.",
        ));
    }
    // Tokens are minted with a lower-case prefix; the contract matches prefixes in any case.
    Ok(hash(&format!("{prefix}{body}")))
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
    fn humanized_spans() {
        assert_eq!(humanize(Duration::seconds(10)), "10 seconds");
        assert_eq!(humanize(Duration::seconds(1)), "1 second");
        assert_eq!(humanize(Duration::seconds(61)), "1 minute");
        assert_eq!(humanize(Duration::hours(5)), "5 hours");
        assert_eq!(humanize(Duration::days(15)), "2 weeks");
        assert_eq!(humanize(Duration::milliseconds(1)), "1 millisecond");
    }
}
