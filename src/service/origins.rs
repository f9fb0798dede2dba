//! passkeyd's per-app origin policy, beyond the original and off by default: an app may list
//! the origins (web, Android, iOS) and RP IDs its ceremonies may come from.

use crate::error::{ApiError, ApiResult};
use crate::store::AppRecord;

/// The comparable form of an origin: `scheme://host[:port]` (lower case, default port left
/// out, path dropped) for URLs with a host; other forms (app origins) verbatim.
#[must_use]
pub fn normalize(origin: &str) -> String {
    let origin = origin.trim();
    match url::Url::parse(origin) {
        Ok(url) if url.host().is_some() => url.origin().ascii_serialization(),
        _ => origin.to_owned(),
    }
}

/// Validates an origin an operator allows: http(s) with a host, or a native app origin.
#[must_use]
pub fn normalize_allowed(origin: &str) -> Option<String> {
    let origin = origin.trim();
    if let Some(rest) = origin
        .strip_prefix("android:apk-key-hash:")
        .or_else(|| origin.strip_prefix("ios:bundle-id:"))
    {
        return (!rest.is_empty() && !rest.contains(char::is_whitespace))
            .then(|| origin.to_owned());
    }
    let url = url::Url::parse(origin).ok()?;
    (matches!(url.scheme(), "https" | "http") && url.host().is_some())
        .then(|| url.origin().ascii_serialization())
}

/// Validates an RP ID: a domain name (letters, digits, hyphens, dots), lower-cased.
#[must_use]
pub fn normalize_rp_id(rp_id: &str) -> Option<String> {
    let rp_id = rp_id.trim().to_ascii_lowercase();
    let labels_ok = rp_id.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    (labels_ok && rp_id.len() <= 253).then_some(rp_id)
}

/// Refuses a ceremony from an origin or RP ID the app does not list (when it lists any).
pub fn check(app: &AppRecord, origin: &str, rp_id: Option<&str>) -> ApiResult<()> {
    let f = &app.features;
    if !f.allowed_origins.is_empty() && !f.allowed_origins.contains(&normalize(origin)) {
        return Err(ApiError::bad_request(
            "origin_not_allowed",
            "This origin is not allowed for this application.",
        ));
    }
    if let Some(rp_id) = rp_id {
        let listed = f
            .allowed_rp_ids
            .iter()
            .any(|r| r.eq_ignore_ascii_case(rp_id.trim()));
        if !f.allowed_rp_ids.is_empty() && !listed {
            return Err(ApiError::bad_request(
                "rp_id_not_allowed",
                "This RP ID is not allowed for this application.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_normal_form() {
        assert_eq!(
            normalize("https://Example.com:443/path/"),
            "https://example.com"
        );
        assert_eq!(
            normalize("https://example.com:8443"),
            "https://example.com:8443"
        );
        assert_eq!(
            normalize("android:apk-key-hash:abc"),
            "android:apk-key-hash:abc"
        );
        assert_ne!(normalize("https://example.com."), "https://example.com");
        assert_ne!(normalize("http://example.com"), "https://example.com");
    }

    #[test]
    fn allowed_forms() {
        assert_eq!(
            normalize_allowed("https://a.example/").as_deref(),
            Some("https://a.example")
        );
        assert!(normalize_allowed("ios:bundle-id:com.example.app").is_some());
        assert!(normalize_allowed("ftp://a.example").is_none());
        assert!(normalize_allowed("not an origin").is_none());
        assert_eq!(
            normalize_rp_id("Example.COM").as_deref(),
            Some("example.com")
        );
        assert!(normalize_rp_id("exa mple.com").is_none());
        assert!(normalize_rp_id("-bad.com").is_none());
    }
}
