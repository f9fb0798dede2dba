//! Writes FIDO MDS3 blob files for tests: the real JWS shape with a fake signature, which
//! passkeyd accepts because it does not verify the blob (see `passkeyd::mds`).

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// Writes `mds.jwt` into `dir` with one FIDO2 entry per `(aaguid, description, latest status)`
/// and returns its path. Entries whose latest status is not `FIDO_CERTIFIED` also get an
/// earlier `FIDO_CERTIFIED` report, as real revoked authenticators have.
pub fn write_blob(dir: &Path, entries: &[(uuid::Uuid, &str, &str)]) -> PathBuf {
    let entries: Vec<_> = entries
        .iter()
        .map(|(a, d, s)| (*a, *d, *s, Vec::new()))
        .collect();
    write_blob_with_roots(dir, &entries)
}

/// As [`write_blob`], with each model's `attestationRootCertificates` (base64 DER).
pub fn write_blob_with_roots(
    dir: &Path,
    entries: &[(uuid::Uuid, &str, &str, Vec<String>)],
) -> PathBuf {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(aaguid, description, status, roots)| {
            let aaguid = aaguid.hyphenated().to_string();
            let mut reports = Vec::new();
            if *status != "FIDO_CERTIFIED" {
                reports.push(json!({"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}));
            }
            reports.push(json!({"status": status, "effectiveDate": "2024-01-01"}));
            json!({
                "aaguid": aaguid,
                "metadataStatement": {
                    "legalHeader": "Test metadata.",
                    "aaguid": aaguid,
                    "description": description,
                    "authenticatorVersion": 1,
                    "protocolFamily": "fido2",
                    "schema": 3,
                    "attestationTypes": ["basic_full"],
                    "attestationRootCertificates": roots
                },
                "statusReports": reports,
                "timeOfLastStatusChange": "2024-01-01"
            })
        })
        .collect();
    write_entries(dir, entries)
}

/// One model with an icon in its metadata statement.
pub fn write_blob_with_icon(dir: &Path, aaguid: uuid::Uuid, icon: &str) -> PathBuf {
    let aaguid = aaguid.hyphenated().to_string();
    write_entries(
        dir,
        vec![json!({
            "aaguid": aaguid,
            "metadataStatement": {"aaguid": aaguid, "description": "Icon Key", "icon": icon},
            "statusReports": [{"status": "FIDO_CERTIFIED", "effectiveDate": "2024-01-01"}]
        })],
    )
}

fn write_entries(dir: &Path, entries: Vec<Value>) -> PathBuf {
    let payload = json!({
        "legalHeader": "Test metadata, not from the FIDO Alliance.",
        "no": 1,
        "nextUpdate": "2099-01-01",
        "entries": entries
    });
    let header = json!({"alg": "ES256", "typ": "JWT"});
    let blob = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(b"not a real signature"),
    );
    let path = dir.join("mds.jwt");
    std::fs::write(&path, blob).expect("write the MDS blob");
    path
}

#[test]
fn write_blob_is_read_back_by_passkeyd() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let path = write_blob(
        dir.path(),
        &[
            (good, "Good Key", "FIDO_CERTIFIED_L1"),
            (bad, "Bad Key", "REVOKED"),
        ],
    );
    let mds = passkeyd::mds::Metadata::load(&path).unwrap();
    assert_eq!(mds.len(), 2);
    assert_eq!(mds.skipped(), 0);
    assert_eq!(mds.description(&good), Some("Good Key"));
    assert!(!mds.is_compromised(&good));
    assert!(mds.is_compromised(&bad));
    assert_eq!(mds.next_update(), Some("2099-01-01"));
}
