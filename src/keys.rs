//! API keys: `<app>:public:<32 hex>` and `<app>:secret:<32 hex>`.
//!
//! Secrets carry 128 random bits, so a slow password hash buys nothing (OWASP ASVS 6.5.2):
//! they are stored as HMAC-SHA-256 under a per-installation key and compared in constant time.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Which of an app's two key kinds: `ApiKey` (public) or `ApiSecret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Public,
    Secret,
}

impl KeyKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Secret => "secret",
        }
    }
}

/// `^[a-z][a-z0-9]{2,61}$`, the original's route rule for new app ids.
#[must_use]
pub fn is_valid_app_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (3..=62).contains(&id.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

pub const SCOPE_REGISTER: &str = "register";
pub const SCOPE_LOGIN: &str = "login";
pub const SCOPE_TOKEN_REGISTER: &str = "token_register";
pub const SCOPE_TOKEN_VERIFY: &str = "token_verify";

/// A fresh key for `app_id`.
#[must_use]
pub fn generate(app_id: &str, kind: KeyKind) -> String {
    let mut random = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut random);
    format!("{app_id}:{}:{}", kind.as_str(), hex(&random))
}

/// The app id (everything before the first `:`) and the key id (the last four characters).
#[must_use]
pub fn split(key: &str) -> Option<(&str, &str)> {
    let (app_id, _) = key.split_once(':')?;
    let key_id = key.get(key.len().checked_sub(4)?..)?;
    (!app_id.is_empty()).then_some((app_id, key_id))
}

/// The key id of a key: its last four characters.
#[must_use]
pub fn key_id(key: &str) -> String {
    split(key).map(|(_, id)| id.to_owned()).unwrap_or_default()
}

/// The keyed hash stored in place of a secret.
#[must_use]
pub fn hash_secret(instance_key: &[u8], secret: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(instance_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(secret.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Deterministic, unguessable stand-ins for the credential ids of an unknown user, so that a
/// sign-in for them looks like one for a known user and the same every time it is asked for.
/// `shapes` are the id lengths of real users' lists in this app; one is picked by a keyed hash
/// of the identifier, so the count and the lengths follow what real users have. With no real
/// list to follow, one id of 32 bytes.
#[must_use]
pub fn stand_in_ids(
    instance_key: &[u8],
    app_id: &str,
    identifier: &str,
    shapes: &[Vec<u16>],
) -> Vec<Vec<u8>> {
    let block = |counter: u32| {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(instance_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"fake-credential\0");
        mac.update(app_id.as_bytes());
        mac.update(b"\0");
        mac.update(identifier.as_bytes());
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes()
    };
    let default = [32u16];
    let shape: &[u16] = if shapes.is_empty() {
        &default
    } else {
        let pick = block(u32::MAX);
        let n = u64::from_be_bytes(pick[..8].try_into().unwrap_or_default());
        let index = usize::try_from(n % shapes.len() as u64).unwrap_or(0);
        &shapes[index]
    };
    let mut counter = 0u32;
    shape
        .iter()
        .map(|&len| {
            let mut id = Vec::with_capacity(usize::from(len));
            while id.len() < usize::from(len) {
                id.extend_from_slice(&block(counter));
                counter += 1;
            }
            id.truncate(usize::from(len));
            id
        })
        .collect()
}

/// Constant-time string comparison.
#[must_use]
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_contract_shape() {
        let key = generate("myapp", KeyKind::Public);
        let parts: Vec<&str> = key.split(':').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "myapp");
        assert_eq!(parts[1], "public");
        assert_eq!(parts[2].len(), 32);
        assert!(parts[2]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(key, generate("myapp", KeyKind::Public));
    }

    #[test]
    fn split_takes_app_and_last_four() {
        assert_eq!(
            split("app:secret:0123456789abcdef0123456789abcdef"),
            Some(("app", "cdef"))
        );
        assert_eq!(split("nocolon"), None);
        assert_eq!(split(":x:abcd"), None);
    }

    #[test]
    fn hash_is_keyed() {
        let a = hash_secret(b"k1", "app:secret:00");
        assert_eq!(a, hash_secret(b"k1", "app:secret:00"));
        assert_ne!(a, hash_secret(b"k2", "app:secret:00"));
        assert_eq!(a.len(), 64);
    }
}
