//! Authenticator allow- and block-lists (`/authenticators/*`), their enforcement at
//! `/register/complete` with real ceremonies, and the FIDO metadata (MDS) checks.

use serde_json::{json, Value};

use crate::support::attestation::TestCa;
use crate::support::authenticator::{TestAuthenticator, Tweaks};
use crate::support::mds::write_blob;
use crate::support::server::{Resp, TestApp, TestServer, ORIGIN};

const KEY_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const KEY_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const KEY_C: &str = "cccccccc-0000-4000-8000-00000000000c";

fn uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).expect("test AAGUID")
}

/// A software authenticator that reports `aaguid` as its model.
fn authenticator(aaguid: &str) -> TestAuthenticator {
    let mut auth = TestAuthenticator::new();
    auth.aaguid = *uuid(aaguid).as_bytes();
    auth
}

/// Turns on the "Enterprise" feature through the management API (a full replace of the five
/// management-controlled features).
async fn allow_attestation(server: &TestServer, app: &TestApp<'_>) {
    let r = server
        .admin(
            reqwest::Method::POST,
            &format!("/admin/apps/{}/features", app.app_id),
            Some(&json!({"allowAttestation": true})),
        )
        .await;
    assert!(r.status < 300, "set features: {} {}", r.status, r.text);
}

async fn get(app: &TestApp<'_>, path: &str) -> Resp {
    app.server.get(path, &[("ApiSecret", &app.secret)]).await
}

/// The AAGUIDs on one list, checking each item's shape on the way.
async fn listed(app: &TestApp<'_>, allowed: bool) -> Vec<String> {
    let r = get(app, &format!("/authenticators/list?isAllowed={allowed}")).await;
    let items = r.ok().as_array().expect("an array").clone();
    items
        .iter()
        .map(|item| {
            let created = item["createdAt"].as_str().expect("createdAt");
            chrono::DateTime::parse_from_rfc3339(created).expect("createdAt is RFC 3339");
            item["aaGuid"].as_str().expect("aaGuid").to_owned()
        })
        .collect()
}

async fn add(app: &TestApp<'_>, aaguids: &[&str], allowed: bool) -> Resp {
    app.backend(
        "/authenticators/add",
        &json!({"aaGuids": aaguids, "isAllowed": allowed}),
    )
    .await
}

async fn remove(app: &TestApp<'_>, aaguids: &[&str]) -> Resp {
    app.backend("/authenticators/remove", &json!({ "aaGuids": aaguids }))
        .await
}

#[track_caller]
fn assert_no_content(r: &Resp) {
    assert_eq!(r.status, 204, "expected 204; body: {}", r.text);
}

/// One registration ceremony. `attestation` goes into the register token; anything but
/// `none` makes the authenticator answer with packed self-attestation.
async fn try_register(
    app: &TestApp<'_>,
    auth: &mut TestAuthenticator,
    user_id: &str,
    attestation: &str,
) -> Resp {
    let (options, session) = app
        .register_begin(
            &json!({"userId": user_id, "username": user_id, "attestation": attestation}),
        )
        .await;
    assert_eq!(options["attestation"], attestation);
    let tweaks = Tweaks {
        attestation_fmt: (attestation != "none").then(|| "packed".to_owned()),
        ..Tweaks::default()
    };
    let credential = auth.create_with(&options, ORIGIN, &tweaks);
    app.register_complete(&session, &credential).await
}

async fn credentials_of(app: &TestApp<'_>, user_id: &str) -> Vec<Value> {
    let r = get(app, &format!("/credentials/list?userId={user_id}")).await;
    r.ok()["values"].as_array().expect("values").clone()
}

#[track_caller]
fn assert_refused(r: &Resp, error_code: &str, title: &str) {
    assert_eq!(r.problem(400, error_code)["title"], title);
}

const BLOCKED: &str =
    "The authenticator is on the blocklist and is not allowed to be used for registration.";
const NOT_ON_ALLOW_LIST: &str = "An allowlist was configured. The authenticator is not found on the allowlist and is not allowed to be used for registration.";
const NONE_WITH_ALLOW_LIST: &str = "Attestation 'none' was used for registration, but an allowlist was configured. Please use a supported attestation method.";

#[tokio::test]
async fn lists_need_the_attestation_feature() {
    let server = TestServer::start().await;
    let app = server.create_app("basicplan").await;
    let responses = [
        get(&app, "/authenticators/list?isAllowed=true").await,
        add(&app, &[KEY_A], true).await,
        remove(&app, &[KEY_A]).await,
    ];
    for r in &responses {
        assert_eq!(
            r.problem(403, "attestation_not_supported_on_plan")["title"],
            "Attestation is not supported on your plan."
        );
    }
}

#[tokio::test]
async fn allow_and_block_lists_are_kept() {
    let server = TestServer::start().await;
    let app = server.create_app("listapp").await;
    allow_attestation(&server, &app).await;
    assert!(listed(&app, true).await.is_empty());

    // Upper case in, canonical lower case out.
    assert_no_content(&add(&app, &[KEY_A, &KEY_B.to_ascii_uppercase()], true).await);
    assert_no_content(&add(&app, &[KEY_C], false).await);
    let mut allowed = listed(&app, true).await;
    allowed.sort();
    assert_eq!(allowed, vec![KEY_A, KEY_B]);
    assert_eq!(listed(&app, false).await, vec![KEY_C]);
    let r = get(&app, "/authenticators/list?isAllowed=false").await;
    assert_eq!(
        r.ok()[0]["createdAt"],
        server
            .clock_now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );

    // Adding to the other list moves an entry rather than duplicating it.
    assert_no_content(&add(&app, &[KEY_B], false).await);
    assert_eq!(listed(&app, true).await, vec![KEY_A]);
    let mut blocked = listed(&app, false).await;
    blocked.sort();
    assert_eq!(blocked, vec![KEY_B, KEY_C]);

    // Removal takes an entry off whichever list holds it.
    assert_no_content(&remove(&app, &[KEY_A, KEY_C]).await);
    assert!(listed(&app, true).await.is_empty());
    assert_eq!(listed(&app, false).await, vec![KEY_B]);

    // Another app's lists are its own.
    let other = server.create_app("otherlist").await;
    allow_attestation(&server, &other).await;
    assert!(listed(&other, false).await.is_empty());
}

#[tokio::test]
async fn malformed_list_requests_are_refused() {
    let server = TestServer::start().await;
    let app = server.create_app("badlist").await;
    allow_attestation(&server, &app).await;
    let r = get(&app, "/authenticators/list").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));

    let not_guid = add(&app, &[KEY_A, "not-a-guid"], true).await;
    assert_eq!(
        not_guid.problem(400, "validation_error")["errors"]["aaGuids"][0],
        "'not-a-guid' is not a GUID."
    );
    let empty = add(&app, &[], true).await;
    assert!(empty.problem(400, "validation_error")["errors"]["aaGuids"].is_array());
    let no_list = app
        .backend("/authenticators/add", &json!({ "aaGuids": [KEY_A] }))
        .await;
    assert!(no_list.problem(400, "validation_error")["errors"]["isAllowed"].is_array());
    let remove_bad = remove(&app, &["{zzz}"]).await;
    assert!(remove_bad.problem(400, "validation_error")["errors"]["aaGuids"].is_array());
    let remove_empty = remove(&app, &[]).await;
    assert!(remove_empty.problem(400, "validation_error")["errors"]["aaGuids"].is_array());
    // A refused request changes nothing, not even its valid part.
    assert!(listed(&app, true).await.is_empty());
}

#[tokio::test]
async fn blocked_authenticator_cannot_register() {
    let server = TestServer::start().await;
    let app = server.create_app("blockapp").await;
    allow_attestation(&server, &app).await;
    assert_no_content(&add(&app, &[KEY_A], false).await);

    let mut blocked = authenticator(KEY_A);
    let r = try_register(&app, &mut blocked, "u1", "none").await;
    assert_refused(&r, "authenticator_not_allowed", BLOCKED);
    // Attestation does not get a blocked model in either.
    let r = try_register(&app, &mut blocked, "u1", "direct").await;
    assert_refused(&r, "authenticator_not_allowed", BLOCKED);
    assert!(credentials_of(&app, "u1").await.is_empty(), "stored anyway");
    let count = get(&app, "/users/count").await;
    assert_eq!(count.ok()["count"], 0);

    // Without an allow-list, any other model may register, with or without attestation.
    let r = try_register(&app, &mut authenticator(KEY_B), "u1", "none").await;
    assert!(r.ok()["token"].as_str().unwrap().starts_with("verify_"));
    let stored = credentials_of(&app, "u1").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["aaGuid"], KEY_B);
}

/// An allow-listed model must be proven: the attestation has to chain to a trust root
/// (`PASSKEYD_ATTESTATION_ROOTS`). Claiming the AAGUID with `none`, self-attestation or a chain
/// to an unknown root is refused.
#[tokio::test]
async fn allow_list_needs_a_trusted_attestation_and_a_listed_model() {
    let trusted = TestCa::new("passkeyd test root");
    let stranger = TestCa::new("someone else's root");
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, &trusted.root_pem).unwrap();
    let server =
        TestServer::start_with(&[("PASSKEYD_ATTESTATION_ROOTS", roots.to_str().unwrap())]).await;
    let app = server.create_app("allowapp").await;
    allow_attestation(&server, &app).await;
    assert_no_content(&add(&app, &[KEY_A], true).await);
    let attested = |aaguid: &str, ca: &TestCa| {
        let mut auth = authenticator(aaguid);
        auth.attestation = Some(ca.attestation_for(*uuid(aaguid).as_bytes()));
        auth
    };

    // With attestation `none` the server cannot know the model for sure, so it asks for more.
    let r = try_register(&app, &mut authenticator(KEY_B), "u2", "none").await;
    assert_refused(&r, "attestation_required", NONE_WITH_ALLOW_LIST);
    // A proven model that is not on the list.
    let r = try_register(&app, &mut attested(KEY_B, &trusted), "u2", "direct").await;
    assert_refused(&r, "authenticator_not_allowed", NOT_ON_ALLOW_LIST);
    // The listed AAGUID, merely claimed: self-attestation, or a chain to an unknown root.
    for (how, mut auth) in [
        ("self-attestation", authenticator(KEY_A)),
        ("an unknown root", attested(KEY_A, &stranger)),
    ] {
        let r = try_register(&app, &mut auth, "u2", "direct").await;
        let body = r.problem(400, "attestation_not_trusted");
        assert!(
            body["title"].as_str().unwrap().contains("allow-list"),
            "{how}: {body}"
        );
    }
    assert!(credentials_of(&app, "u2").await.is_empty());

    // Proven by a chain to the trusted root: accepted.
    let r = try_register(&app, &mut attested(KEY_A, &trusted), "u2", "direct").await;
    r.ok();
    let stored = credentials_of(&app, "u2").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["aaGuid"], KEY_A);
    assert_eq!(stored[0]["attestationFmt"], "packed");

    // Taking the model off the list (leaving the list empty) lifts the restriction.
    assert_no_content(&remove(&app, &[KEY_A]).await);
    let r = try_register(&app, &mut authenticator(KEY_B), "u3", "none").await;
    r.ok();
}

/// Without trust roots, an allow-list cannot be satisfied by a mere claim either.
#[tokio::test]
async fn allow_list_without_trust_roots_refuses_claims() {
    let server = TestServer::start().await;
    let app = server.create_app("norootsapp").await;
    allow_attestation(&server, &app).await;
    assert_no_content(&add(&app, &[KEY_A], true).await);
    let r = try_register(&app, &mut authenticator(KEY_A), "u1", "direct").await;
    r.problem(400, "attestation_not_trusted");
    assert!(credentials_of(&app, "u1").await.is_empty());
}

#[tokio::test]
async fn metadata_refuses_unknown_and_revoked_authenticators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blob = write_blob(
        dir.path(),
        &[
            (uuid(KEY_A), "Certified Key", "FIDO_CERTIFIED_L1"),
            (uuid(KEY_B), "Revoked Key", "REVOKED"),
        ],
    );
    let blob = blob.to_str().expect("UTF-8 path");
    // The enterprise app keeps an allow-list, so its authenticators must be attested.
    let ca = TestCa::new("passkeyd test root");
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, &ca.root_pem).unwrap();
    let server = TestServer::start_with(&[
        ("PASSKEYD_MDS_FILE", blob),
        ("PASSKEYD_ATTESTATION_ROOTS", roots.to_str().unwrap()),
    ])
    .await;
    let attested = |aaguid: &str| {
        let mut auth = authenticator(aaguid);
        auth.attestation = Some(ca.attestation_for(*uuid(aaguid).as_bytes()));
        auth
    };

    let enterprise = server.create_app("mdsapp").await;
    allow_attestation(&server, &enterprise).await;
    let unknown = add(&enterprise, &[KEY_C], true).await;
    assert_refused(
        &unknown,
        "unknown_authenticator",
        "One or more authenticators do not exist in the FIDO2 MDS.",
    );
    // One unknown AAGUID refuses the whole request.
    let mixed = add(&enterprise, &[KEY_A, KEY_C], true).await;
    mixed.problem(400, "unknown_authenticator");
    assert!(listed(&enterprise, true).await.is_empty());
    // Known ones are accepted, revoked ones included (they are in the MDS).
    assert_no_content(&add(&enterprise, &[KEY_A, KEY_B], true).await);

    // The metadata's verdict wins over the app's allow-list…
    let revoked_title = "The authenticator's metadata reports it as compromised or revoked.";
    let r = try_register(&enterprise, &mut attested(KEY_B), "u4", "direct").await;
    assert_refused(&r, "fido2_invalid_registration", revoked_title);
    // …and applies to apps without the attestation feature too.
    let basic = server.create_app("mdsbasic").await;
    let r = try_register(&basic, &mut authenticator(KEY_B), "u5", "none").await;
    assert_refused(&r, "fido2_invalid_registration", revoked_title);
    assert!(credentials_of(&basic, "u5").await.is_empty());

    let r = try_register(&basic, &mut authenticator(KEY_A), "u5", "none").await;
    r.ok();
    let r = try_register(&enterprise, &mut attested(KEY_A), "u4", "direct").await;
    r.ok();
    // A model the metadata does not know is not refused for that alone.
    let r = try_register(&basic, &mut authenticator(KEY_C), "u6", "none").await;
    r.ok();
}

/// Roots from the MDS3 blob prove only their own model: a chain to KEY_A's root proves KEY_A,
/// and cannot be used to claim KEY_B.
#[tokio::test]
async fn metadata_roots_prove_their_own_model_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("model A's root");
    let blob = crate::support::mds::write_blob_with_roots(
        dir.path(),
        &[
            (
                uuid(KEY_A),
                "Key A",
                "FIDO_CERTIFIED_L1",
                vec![ca.root_b64.clone()],
            ),
            (uuid(KEY_B), "Key B", "FIDO_CERTIFIED_L1", Vec::new()),
        ],
    );
    let server = TestServer::start_with(&[("PASSKEYD_MDS_FILE", blob.to_str().unwrap())]).await;
    let app = server.create_app("mdsroots").await;
    allow_attestation(&server, &app).await;
    assert_no_content(&add(&app, &[KEY_A, KEY_B], true).await);

    let mut a = authenticator(KEY_A);
    a.attestation = Some(ca.attestation_for(*uuid(KEY_A).as_bytes()));
    try_register(&app, &mut a, "u1", "direct").await.ok();

    // A's root signing a certificate for B: B is on the list, but this root does not vouch for it.
    let mut b = authenticator(KEY_B);
    b.attestation = Some(ca.attestation_for(*uuid(KEY_B).as_bytes()));
    try_register(&app, &mut b, "u2", "direct")
        .await
        .problem(400, "attestation_not_trusted");
    assert!(credentials_of(&app, "u2").await.is_empty());
}
