//! FIDO Metadata Service (MDS3) data, read from a BLOB file named in configuration.
//!
//! passkeyd has no network at run time, so it never fetches `https://mds3.fidoalliance.org/`
//! itself. The operator downloads the BLOB (a JWS in compact form, `header.payload.signature`)
//! over TLS from the FIDO Alliance and points passkeyd at the file. The metadata answers three
//! questions: is an AAGUID known (the allow/block lists refuse unknown ones, as the original
//! server does), is it compromised or revoked (registration refuses those), and what is the
//! authenticator called.
//!
//! **The BLOB's signature is not verified.** The JWS is signed by a key whose `x5c` chain leads
//! to the FIDO Alliance root; checking it needs X.509 path validation and RSA/ECDSA
//! verification, which this module does not do. The file is treated as trusted,
//! operator-supplied input: whoever can replace it can also replace passkeyd's configuration,
//! and the operator is responsible for having fetched it from the FIDO Alliance over TLS. The
//! header and signature parts are only checked for shape, so that a wrong file is refused
//! instead of silently yielding no metadata.
//!
//! Parsing is lenient per entry and strict per file: an entry that does not have the MDS3
//! shape is skipped (counted, one WARN for the whole file) so one odd entry cannot take the
//! server down, but a file that is not an MDS3 BLOB at all is an error.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Latest statuses for which registration must be refused (the same set as
/// fido2-net-lib's undesired statuses).
pub const COMPROMISED_STATUSES: [&str; 5] = [
    "ATTESTATION_KEY_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "REVOKED",
];

#[derive(Debug, thiserror::Error)]
pub enum MdsError {
    /// The I/O error is part of the message (not a `source`) so a single `{}` says everything
    /// and `{:#}` does not repeat it.
    #[error("cannot read the FIDO MDS blob {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{origin} is not a FIDO MDS3 blob: {problem}")]
    Malformed { origin: String, problem: String },
}

/// One FIDO2 authenticator's metadata, reduced to what passkeyd uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    description: Option<String>,
    /// A `data:` URL of the model's icon.
    icon: Option<String>,
    /// The status of the latest status report, if the entry has any.
    latest_status: Option<String>,
    /// DER root certificates that this model's attestations chain to.
    roots: Vec<Vec<u8>>,
}

/// Parsed MDS3 metadata, keyed by AAGUID. Immutable once built, so it can be shared behind an
/// `Arc` by every request.
#[derive(Clone)]
pub struct Metadata {
    entries: HashMap<Uuid, Entry>,
    next_update: Option<String>,
    skipped: usize,
}

/// Thousands of entries: `Debug` gives the summary, not the contents.
impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("entries", &self.entries.len())
            .field("skipped", &self.skipped)
            .field("next_update", &self.next_update)
            .finish()
    }
}

/// The MDS3 `MetadataBLOBPayloadEntry` fields passkeyd reads; the rest are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    aaguid: Option<String>,
    metadata_statement: Option<RawStatement>,
    #[serde(default)]
    status_reports: Vec<RawStatusReport>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatement {
    description: Option<String>,
    icon: Option<String>,
    /// Standard base64 DER certificates.
    #[serde(default)]
    attestation_root_certificates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatusReport {
    status: String,
    effective_date: Option<String>,
}

impl Metadata {
    /// Reads an MDS3 BLOB (a JWS in compact form: header.payload.signature) from `path`.
    pub fn load(path: &Path) -> Result<Self, MdsError> {
        let text = std::fs::read_to_string(path).map_err(|error| MdsError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the text of an MDS3 BLOB. Surrounding whitespace (a trailing newline) is ignored.
    pub fn from_jwt(text: &str) -> Result<Self, MdsError> {
        Self::parse(text, "the given text")
    }

    /// `origin` names the file in error messages and the log.
    fn parse(text: &str, origin: &str) -> Result<Self, MdsError> {
        let malformed = |problem: String| MdsError::Malformed {
            origin: origin.to_owned(),
            problem,
        };
        let parts: Vec<&str> = text.trim().split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err(malformed(format!(
                "expected a JWS in compact form (header.payload.signature), found {} dot-separated part(s)",
                parts.len()
            )));
        };
        if signature.is_empty() {
            return Err(malformed("the signature part is empty".to_owned()));
        }
        let header = decode_json(header).map_err(|e| malformed(format!("header: {e}")))?;
        if !header.is_object() {
            return Err(malformed("header: not a JSON object".to_owned()));
        }
        let payload = decode_json(payload).map_err(|e| malformed(format!("payload: {e}")))?;
        let Value::Object(mut payload) = payload else {
            return Err(malformed("payload: not a JSON object".to_owned()));
        };
        let Some(Value::Array(raw_entries)) = payload.remove("entries") else {
            return Err(malformed("payload: no \"entries\" array".to_owned()));
        };
        let next_update = match payload.remove("nextUpdate") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };

        let mut entries = HashMap::with_capacity(raw_entries.len());
        let mut skipped = 0;
        let mut first_problem = None;
        for (index, raw) in raw_entries.into_iter().enumerate() {
            match parse_entry(raw) {
                Ok(Some((aaguid, entry))) => {
                    // MDS3 lists each AAGUID once; should it not, the later entry wins.
                    entries.insert(aaguid, entry);
                }
                Ok(None) => {} // U2F or UAF authenticator: no AAGUID, nothing for WebAuthn.
                Err(problem) => {
                    skipped += 1;
                    first_problem.get_or_insert_with(|| format!("entry {index}: {problem}"));
                }
            }
        }
        if let Some(first_problem) = first_problem {
            tracing::warn!(
                file = origin,
                skipped,
                first_problem,
                "skipped malformed entries in the FIDO MDS blob"
            );
        }
        Ok(Self {
            entries,
            next_update,
            skipped,
        })
    }

    pub fn knows(&self, aaguid: &Uuid) -> bool {
        self.entries.contains_key(aaguid)
    }

    /// The authenticator's description from its metadata statement, if any.
    pub fn description(&self, aaguid: &Uuid) -> Option<&str> {
        self.entries.get(aaguid)?.description.as_deref()
    }

    /// The model's icon (a `data:` URL), if its metadata statement has one.
    pub fn icon(&self, aaguid: &Uuid) -> Option<&str> {
        self.entries.get(aaguid)?.icon.as_deref()
    }

    /// Each model with the root certificates its attestations chain to.
    pub fn attestation_roots(&self) -> impl Iterator<Item = (Uuid, &[Vec<u8>])> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.roots.is_empty())
            .map(|(aaguid, e)| (*aaguid, e.roots.as_slice()))
    }

    /// The status of the entry's latest status report (e.g. `FIDO_CERTIFIED_L1`, `REVOKED`).
    pub fn latest_status(&self, aaguid: &Uuid) -> Option<&str> {
        self.entries.get(aaguid)?.latest_status.as_deref()
    }

    /// True when the latest status report is one of [`COMPROMISED_STATUSES`]. An unknown AAGUID
    /// is not compromised: whether unknown authenticators may register is the caller's policy.
    pub fn is_compromised(&self, aaguid: &Uuid) -> bool {
        self.latest_status(aaguid)
            .is_some_and(|status| COMPROMISED_STATUSES.contains(&status))
    }

    /// Number of FIDO2 entries (those with an AAGUID).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries skipped because they did not have the MDS3 shape.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The payload's `nextUpdate` (a date), for the start-up log: after it the file is stale.
    pub fn next_update(&self) -> Option<&str> {
        self.next_update.as_deref()
    }
}

/// Decodes one base64url JWS part (padding tolerated) and parses it as JSON.
fn decode_json(part: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("not base64url ({e})"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON ({e})"))
}

/// `Ok(None)` for an entry without an AAGUID (U2F/UAF); `Err` names what is wrong.
fn parse_entry(raw: Value) -> Result<Option<(Uuid, Entry)>, String> {
    let raw: RawEntry = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    let Some(aaguid) = raw.aaguid else {
        return Ok(None);
    };
    // MDS3 writes AAGUIDs in the hyphenated 36-character form; `Uuid::parse_str` alone would
    // also take braces, URNs and bare hex.
    let parsed = match Uuid::parse_str(&aaguid) {
        Ok(parsed) if aaguid.len() == 36 => parsed,
        _ => return Err(format!("aaguid {aaguid:?} is not a hyphenated UUID")),
    };

    // The latest report is the last by effectiveDate. A report without a date cannot be
    // placed, so it sorts first; equal dates keep the file's order (the sort is stable). A
    // report dated in the future counts already, which errs towards refusing.
    let mut reports = Vec::with_capacity(raw.status_reports.len());
    for report in raw.status_reports {
        let date = report
            .effective_date
            .as_deref()
            .map(|d| parse_date(d).ok_or_else(|| format!("effectiveDate {d:?} is not a date")))
            .transpose()?;
        reports.push((date, report.status));
    }
    reports.sort_by_key(|(date, _)| *date);
    let latest_status = reports.pop().map(|(_, status)| status);

    let (description, icon, roots) = match raw.metadata_statement {
        Some(s) => {
            let roots = s
                .attestation_root_certificates
                .iter()
                .map(|c| {
                    base64::engine::general_purpose::STANDARD
                        .decode(c.trim())
                        .map_err(|_| {
                            "an attestationRootCertificates entry is not base64".to_owned()
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Only images inline: a link elsewhere would make clients fetch from a third party.
            let icon = s.icon.filter(|i| i.starts_with("data:image/"));
            (s.description, icon, roots)
        }
        None => (None, None, Vec::new()),
    };
    let entry = Entry {
        description,
        icon,
        latest_status,
        roots,
    };
    Ok(Some((parsed, entry)))
}

/// MDS3 dates are ISO-8601 `YYYY-MM-DD`; a full RFC 3339 timestamp is accepted too.
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.date_naive())
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CERTIFIED: &str = "ee882879-721c-4913-9775-3dfcce97072a";
    const REVOKED: &str = "2fc0579f-8113-47ea-b116-bb5a8db9202a";

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn jwt(payload: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT"});
        format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(payload))
    }

    fn payload() -> Value {
        json!({
            "legalHeader": "Retrieval and use of this BLOB indicates acceptance of the terms.",
            "no": 80,
            "nextUpdate": "2025-12-01",
            "entries": [
                {
                    "aaguid": CERTIFIED,
                    "metadataStatement": {
                        "description": "YubiKey 5 Series",
                        "aaguid": CERTIFIED,
                        "authenticatorVersion": 50100,
                        "protocolFamily": "fido2"
                    },
                    "statusReports": [
                        {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-05-12"}
                    ],
                    "timeOfLastStatusChange": "2020-05-12"
                },
                {
                    "aaguid": REVOKED,
                    "metadataStatement": {"description": "Leaky Key"},
                    // Deliberately out of order: the later date wins, not the last element.
                    "statusReports": [
                        {"status": "REVOKED", "effectiveDate": "2023-02-01"},
                        {"status": "FIDO_CERTIFIED", "effectiveDate": "2021-01-01"}
                    ],
                    "timeOfLastStatusChange": "2023-02-01"
                },
                {
                    "attestationCertificateKeyIdentifiers": ["bf7bcaa0d0c6187a8c6abbdd16a15640e7c7bde2"],
                    "metadataStatement": {"description": "Old U2F Key", "protocolFamily": "u2f"},
                    "statusReports": [{"status": "FIDO_CERTIFIED"}]
                }
            ]
        })
    }

    fn uuid(text: &str) -> Uuid {
        Uuid::parse_str(text).unwrap()
    }

    fn problem(result: Result<Metadata, MdsError>) -> String {
        match result {
            Err(MdsError::Malformed { problem, .. }) => problem,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn parses_fido2_entries_and_skips_u2f() {
        let mds = Metadata::from_jwt(&jwt(&payload())).unwrap();
        assert_eq!(mds.len(), 2);
        assert!(!mds.is_empty());
        assert_eq!(mds.skipped(), 0);
        assert_eq!(mds.next_update(), Some("2025-12-01"));

        let (certified, revoked) = (uuid(CERTIFIED), uuid(REVOKED));
        assert!(mds.knows(&certified));
        assert!(mds.knows(&revoked));
        assert!(!mds.knows(&Uuid::nil()));

        assert_eq!(mds.description(&certified), Some("YubiKey 5 Series"));
        assert_eq!(mds.description(&revoked), Some("Leaky Key"));
        assert_eq!(mds.description(&Uuid::nil()), None);

        assert_eq!(mds.latest_status(&certified), Some("FIDO_CERTIFIED"));
        assert_eq!(mds.latest_status(&revoked), Some("REVOKED"));
        assert!(!mds.is_compromised(&certified));
        assert!(mds.is_compromised(&revoked));
        assert!(!mds.is_compromised(&Uuid::nil()));
    }

    #[test]
    fn every_compromised_status_counts_and_the_latest_wins() {
        for status in COMPROMISED_STATUSES {
            let p = json!({"entries": [{"aaguid": CERTIFIED, "statusReports": [
                {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"},
                {"status": status, "effectiveDate": "2022-01-01"}
            ]}]});
            let mds = Metadata::from_jwt(&jwt(&p)).unwrap();
            assert!(mds.is_compromised(&uuid(CERTIFIED)), "{status}");
        }
        // Re-certified after a compromise: no longer compromised.
        let p = json!({"entries": [{"aaguid": CERTIFIED, "statusReports": [
            {"status": "USER_VERIFICATION_BYPASS", "effectiveDate": "2020-01-01"},
            {"status": "UPDATE_AVAILABLE", "effectiveDate": "2020-06-01T00:00:00Z"},
            {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-01-01"}
        ]}]});
        let mds = Metadata::from_jwt(&jwt(&p)).unwrap();
        assert!(!mds.is_compromised(&uuid(CERTIFIED)));
        // A dated report beats an undated one; without reports there is no status.
        let p = json!({"entries": [
            {"aaguid": CERTIFIED, "statusReports": [
                {"status": "REVOKED", "effectiveDate": "2021-01-01"},
                {"status": "FIDO_CERTIFIED"}
            ]},
            {"aaguid": REVOKED}
        ]});
        let mds = Metadata::from_jwt(&jwt(&p)).unwrap();
        assert!(mds.is_compromised(&uuid(CERTIFIED)));
        assert_eq!(mds.latest_status(&uuid(REVOKED)), None);
        assert!(!mds.is_compromised(&uuid(REVOKED)));
        assert_eq!(mds.description(&uuid(REVOKED)), None);
        assert_eq!(mds.next_update(), None);
    }

    #[test]
    fn malformed_entries_are_skipped_and_counted() {
        let p = json!({"entries": [
            {"aaguid": CERTIFIED, "statusReports": [{"status": "FIDO_CERTIFIED"}]},
            "not an object",
            {"aaguid": "not-a-uuid"},
            {"aaguid": "ee882879721c491397753dfcce97072a"},
            {"aaguid": 42},
            {"aaguid": REVOKED, "statusReports": [{"effectiveDate": "2020-01-01"}]},
            {"aaguid": REVOKED, "statusReports": [{"status": "REVOKED", "effectiveDate": "soon"}]},
            {"aaguid": REVOKED, "statusReports": {"status": "REVOKED"}},
            {"aaguid": REVOKED, "metadataStatement": {"description": 7}}
        ]});
        let mds = Metadata::from_jwt(&jwt(&p)).unwrap();
        assert_eq!(mds.len(), 1);
        assert_eq!(mds.skipped(), 8);
        assert!(mds.knows(&uuid(CERTIFIED)));
        assert!(!mds.knows(&uuid(REVOKED)));
    }

    #[test]
    fn tolerates_padding_and_surrounding_whitespace() {
        // `{"a":1}` is 7 bytes, so its padded form ends in "==".
        let header = base64::engine::general_purpose::URL_SAFE.encode(r#"{"a":1}"#);
        assert!(header.ends_with("=="));
        let body = base64::engine::general_purpose::URL_SAFE.encode(payload().to_string());
        let text = format!("\n{header}.{body}.c2ln\n");
        let mds = Metadata::from_jwt(&text).unwrap();
        assert_eq!(mds.len(), 2);
    }

    #[test]
    fn malformed_blobs_are_errors() {
        let header = b64(&json!({"alg": "ES256", "typ": "JWT"}));
        let good = b64(&payload());

        assert!(problem(Metadata::from_jwt("")).contains("found 1"));
        assert!(problem(Metadata::from_jwt(&format!("{header}.{good}"))).contains("found 2"));
        assert!(
            problem(Metadata::from_jwt(&format!("{header}.{good}.c2ln.c2ln"))).contains("found 4")
        );
        assert!(problem(Metadata::from_jwt(&format!("{header}.{good}."))).contains("signature"));
        assert!(problem(Metadata::from_jwt(&format!("{header}.%%%.c2ln"))).contains("base64url"));
        let not_json = URL_SAFE_NO_PAD.encode("<html>");
        assert!(problem(Metadata::from_jwt(&format!("{header}.{not_json}.c2ln"))).contains("JSON"));
        assert!(problem(Metadata::from_jwt(&format!("{not_json}.{good}.c2ln"))).contains("header"));
        let array = b64(&json!([1, 2]));
        assert!(problem(Metadata::from_jwt(&format!("{array}.{good}.c2ln"))).contains("header"));
        assert!(problem(Metadata::from_jwt(&format!("{header}.{array}.c2ln"))).contains("object"));
        for payload in [json!({"no": 1}), json!({"entries": {"aaguid": CERTIFIED}})] {
            let text = format!("{header}.{}.c2ln", b64(&payload));
            assert!(problem(Metadata::from_jwt(&text)).contains("entries"));
        }
        // An empty but well-formed list is valid, just empty.
        let empty = Metadata::from_jwt(&jwt(&json!({"entries": []}))).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.jwt");
        let e = Metadata::load(&missing).unwrap_err();
        assert!(matches!(e, MdsError::Read { .. }));
        assert!(e.to_string().contains("missing.jwt"), "{e}");

        let bad = dir.path().join("bad.jwt");
        std::fs::write(&bad, "hello").unwrap();
        let e = Metadata::load(&bad).unwrap_err();
        assert!(e.to_string().starts_with(&bad.display().to_string()), "{e}");
        assert!(e.to_string().contains("not a FIDO MDS3 blob"), "{e}");

        let good = dir.path().join("mds.jwt");
        std::fs::write(&good, jwt(&payload()) + "\n").unwrap();
        assert_eq!(Metadata::load(&good).unwrap().len(), 2);
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Metadata>();
    }
}
