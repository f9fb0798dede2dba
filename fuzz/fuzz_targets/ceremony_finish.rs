//! The ceremony finish paths: arbitrary client data, attestation objects, authenticator data
//! and signatures against real ceremony state and a real stored credential must be verified
//! or refused, never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use passkeyd::ceremony::{self, AssertionResponse, AttestationResponse, Origin};

#[path = "../../tests/api/support/authenticator.rs"]
#[allow(dead_code, clippy::all)]
mod authenticator;

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";

struct Fixture {
    registration_state: String,
    authentication_state: String,
    record: String,
}

/// A real registration made once, so that the fuzzed sign-ins meet a real credential.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let request = |discoverable| ceremony::RegistrationRequest {
            rp_id: RP_ID,
            user_handle: b"user-1",
            username: "alice",
            display_name: "Alice",
            user_verification: ceremony::UserVerification::Preferred,
            attachment: None,
            discoverable,
            attestation: ceremony::Attestation::None,
            hints: &[],
            exclude: Vec::new(),
        };
        let (options, state) = ceremony::begin_registration(&request(true)).expect("begin");
        let options = serde_json::to_value(&options).expect("options");
        let mut auth = authenticator::TestAuthenticator::new();
        let credential = auth.create(&options, ORIGIN);
        let b64 = |v: &serde_json::Value| authenticator::b64url_decode(v.as_str().expect("b64"));
        let response = AttestationResponse {
            id: credential["id"].as_str().expect("id").to_owned(),
            raw_id: b64(&credential["rawId"]),
            client_data_json: b64(&credential["response"]["clientDataJSON"]),
            attestation_object: b64(&credential["response"]["attestationObject"]),
            transports: Vec::new(),
            resident_key: Some(true),
        };
        let origin = Origin::parse(ORIGIN).expect("origin");
        let registered =
            ceremony::finish_registration(&state, RP_ID, &origin, &response).expect("register");
        let (_, registration_state) = ceremony::begin_registration(&request(false)).expect("begin");
        let (_, authentication_state) =
            ceremony::begin_authentication(&ceremony::AuthenticationRequest {
                rp_id: RP_ID,
                user_verification: ceremony::UserVerification::Preferred,
                hints: &[],
                allow: &[],
            })
            .expect("begin sign-in");
        Fixture {
            registration_state,
            authentication_state,
            record: registered.record,
        }
    })
}

/// Splits the input into length-prefixed parts.
fn parts(mut data: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let Some((&len, rest)) = data.split_first() else {
            out.push(Vec::new());
            continue;
        };
        let len = usize::from(len).min(rest.len());
        out.push(rest[..len].to_vec());
        data = &rest[len..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let origin = Origin::parse(ORIGIN).expect("origin");
    let p = parts(data, 4);
    let registration = AttestationResponse {
        id: String::new(),
        raw_id: p[0].clone(),
        client_data_json: p[1].clone(),
        attestation_object: p[2].clone(),
        transports: Vec::new(),
        resident_key: None,
    };
    let _ = ceremony::finish_registration(&f.registration_state, RP_ID, &origin, &registration);
    let assertion = AssertionResponse {
        id: String::new(),
        raw_id: p[0].clone(),
        client_data_json: p[1].clone(),
        authenticator_data: p[2].clone(),
        signature: p[3].clone(),
        user_handle: None,
    };
    let _ = ceremony::finish_authentication(
        &f.authentication_state,
        RP_ID,
        &origin,
        &assertion,
        &f.record,
        0,
    );
});
