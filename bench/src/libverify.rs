//! The yardstick: CPU time of webauthn-rs-core's own assertion check, one credential, on one
//! thread, with nothing around it (no HTTP, no JSON bodies, no database). The server's CPU per
//! complete sign-in is compared with this.

use std::time::Duration;

use p256::ecdsa::signature::Verifier;
use ring::rand::SystemRandom;
use serde::Serialize;
use url::Url;
use webauthn_rs_core::proto::{
    Credential, PublicKeyCredential, RegisterPublicKeyCredential, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

use crate::authenticator::{self, b64url, CreationOptions, RequestOptions, ORIGIN, RP_ID};
use crate::procfs::thread_cpu_time;

/// Distinct assertions to cycle through; all answer one challenge with rising counters.
const ASSERTIONS: usize = 256;
const ROUNDS: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct BareVerify {
    pub iterations: usize,
    /// `WebauthnCore::authenticate_single_credential`, CPU µs per call (median of rounds).
    pub library_us: f64,
    pub library_us_min: f64,
    /// The ES256 signature check alone (RustCrypto p256 0.14 `VerifyingKey::verify`, the one webauthn-rs-core 0.6.2 calls), for the
    /// breakdown of the library figure.
    pub p256_verify_us: f64,
}

fn core() -> WebauthnCore {
    // The same construction the server uses for a sign-in (src/ceremony.rs `relying_party`).
    WebauthnCore::new_unsafe_experts_only(
        RP_ID,
        RP_ID,
        vec![Url::parse(ORIGIN).expect("origin")],
        Duration::from_secs(60),
        Some(false),
        Some(false),
    )
}

/// Through JSON and back: the authenticator speaks the browser's JSON, the library its types.
fn convert<A: Serialize, B: serde::de::DeserializeOwned>(a: &A) -> B {
    serde_json::from_value(serde_json::to_value(a).expect("serialize")).expect("deserialize")
}

/// Median and minimum of per-round CPU µs per call of `f`.
fn rounds(iterations: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let per_round = (iterations / ROUNDS).max(1);
    for i in 0..per_round.min(200) {
        f(i); // warm caches and the allocator
    }
    let mut results: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = thread_cpu_time();
            for i in 0..per_round {
                f(i);
            }
            (thread_cpu_time() - start).as_secs_f64() * 1e6 / per_round as f64
        })
        .collect();
    results.sort_by(f64::total_cmp);
    (results[ROUNDS / 2], results[0])
}

pub fn measure(iterations: usize) -> Result<BareVerify, String> {
    let rng = SystemRandom::new();
    let core = core();
    let e = |e: webauthn_rs_core::error::WebauthnError| e.to_string();

    // Register one credential with the library itself.
    let builder = core
        .new_challenge_register_builder(b"bench-user", "bench", "bench")
        .map_err(e)?
        .user_verification_policy(UserVerificationPolicy::Preferred);
    let (ccr, reg_state) = core.generate_challenge_register(builder).map_err(e)?;
    let options: CreationOptions = convert(&ccr.public_key);
    let (mut passkey, attestation) = authenticator::create(&rng, "bench-user", &options)?;
    let reg: RegisterPublicKeyCredential = convert(&attestation);
    let credential: Credential = core
        .register_credential(&reg, &reg_state, None)
        .map_err(e)?;

    // One challenge, as the server issues at /signin/begin, answered many times.
    let builder = core
        .new_challenge_authenticate_builder(Vec::new(), Some(UserVerificationPolicy::Preferred))
        .map_err(e)?
        .allow_backup_eligible_upgrade(true);
    let (rcr, auth_state) = core.generate_challenge_authenticate(builder).map_err(e)?;
    let options: RequestOptions = convert(&rcr.public_key);
    let mut assertions = Vec::with_capacity(ASSERTIONS);
    let mut raw = Vec::with_capacity(ASSERTIONS);
    for _ in 0..ASSERTIONS {
        let a = passkey.get(&rng, &options)?;
        let (signed, signature) = a.signed_data();
        raw.push((
            signed,
            p256::ecdsa::Signature::from_der(&signature).map_err(|e| e.to_string())?,
        ));
        assertions.push(convert::<_, PublicKeyCredential>(&a));
    }
    // The credential's stored counter stays 0, so every assertion (counter 1..) is accepted.
    core.authenticate_single_credential(&assertions[0], &auth_state, &credential)
        .map_err(|e| {
            format!(
                "the library refused the bench's assertion: {e} ({})",
                b64url(&assertions[0].raw_id)
            )
        })?;

    let (library_us, library_us_min) = rounds(iterations, |i| {
        let result = core.authenticate_single_credential(
            &assertions[i % ASSERTIONS],
            &auth_state,
            &credential,
        );
        assert!(result.is_ok(), "assertion {i} failed: {result:?}");
    });

    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(passkey.public_key())
        .map_err(|e| e.to_string())?;
    let (p256_verify_us, _) = rounds(iterations, |i| {
        let (signed, signature) = &raw[i % ASSERTIONS];
        assert!(key.verify(signed, signature).is_ok());
    });

    Ok(BareVerify {
        iterations,
        library_us,
        library_us_min,
        p256_verify_us,
    })
}
