//! The two kinds of load: registering users, then phases of complete sign-ins.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use ring::rand::SystemRandom;
use serde::Serialize;
use tokio::time::sleep_until;

use crate::api::Api;
use crate::authenticator::{self, Passkey};
use crate::cli::Rate;
use crate::procfs;
use crate::stats::{Errors, Samples, Summary};

// ---- Registration ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct RegistrationReport {
    pub users: usize,
    pub registered: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub registrations_per_s: f64,
    pub token: Summary,
    pub begin: Summary,
    pub complete: Summary,
    pub errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Default)]
struct RegistrationSamples {
    token: Samples,
    begin: Samples,
    complete: Samples,
    errors: Errors,
    passkeys: Vec<Passkey>,
}

/// One user through `/register/token` → `/register/begin` → authenticator → `/register/complete`.
async fn register_one(
    api: &Api,
    rng: &SystemRandom,
    user_id: String,
    s: &mut RegistrationSamples,
) -> Option<Passkey> {
    let t0 = Instant::now();
    let token = api
        .register_token(&user_id)
        .await
        .map_err(|e| s.errors.add("register/token", &e.0))
        .ok()?;
    let t1 = Instant::now();
    s.token.push(t1 - t0);
    let (options, session) = api
        .register_begin(&token)
        .await
        .map_err(|e| s.errors.add("register/begin", &e.0))
        .ok()?;
    let t2 = Instant::now();
    s.begin.push(t2 - t1);
    let (passkey, attestation) = authenticator::create(rng, &user_id, &options)
        .map_err(|e| s.errors.add("authenticator", &e))
        .ok()?;
    let t3 = Instant::now();
    api.register_complete(&session, &attestation)
        .await
        .map_err(|e| s.errors.add("register/complete", &e.0))
        .ok()?;
    s.complete.push(t3.elapsed());
    Some(passkey)
}

/// Registers `users` users with `concurrency` concurrent ceremonies; returns their passkeys.
pub async fn register(
    api: &Api,
    users: usize,
    concurrency: usize,
) -> (Vec<Passkey>, RegistrationReport) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let api = api.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let rng = SystemRandom::new();
                let mut s = RegistrationSamples::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= users {
                        break;
                    }
                    if users >= 10 && (i + 1).is_multiple_of(users / 10) {
                        eprintln!("  registered {}/{users}", i + 1);
                    }
                    // Random, evenly spread user ids, so that rows copied in by bench/fill.sh
                    // (also random) interleave with these in the user index.
                    let user_id = format!("u{:016x}", rand::thread_rng().gen::<u64>());
                    if let Some(p) = register_one(&api, &rng, user_id, &mut s).await {
                        s.passkeys.push(p);
                    }
                }
                s
            })
        })
        .collect();
    let mut all = RegistrationSamples::default();
    for task in tasks {
        let s = task.await.expect("registration task");
        all.token.merge(s.token);
        all.begin.merge(s.begin);
        all.complete.merge(s.complete);
        all.errors.merge(s.errors);
        all.passkeys.extend(s.passkeys);
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = RegistrationReport {
        users,
        registered: all.passkeys.len(),
        concurrency,
        seconds,
        registrations_per_s: all.passkeys.len() as f64 / seconds,
        token: all.token.summary(),
        begin: all.begin.summary(),
        complete: all.complete.summary(),
        errors: all.errors.0,
    };
    (all.passkeys, report)
}

// ---- Sign-in phases ----------------------------------------------------------------------

/// What to measure besides latency: CPU of the server process and of the database processes.
#[derive(Clone)]
pub struct Probes {
    pub server_pid: Option<u32>,
    /// Command-line substrings of the database's processes (see `procfs::cpu_seconds_matching`).
    pub db_match: Vec<String>,
}

#[derive(Clone, Copy)]
struct Cpu {
    server: Option<f64>,
    db: Option<f64>,
    generator: f64,
    machine: f64,
    steal: f64,
    switches: Option<u64>,
}

impl Probes {
    fn cpu(&self) -> Cpu {
        Cpu {
            server: self.server_pid.and_then(procfs::cpu_seconds),
            db: (!self.db_match.is_empty()).then(|| procfs::cpu_seconds_matching(&self.db_match)),
            generator: procfs::cpu_seconds(std::process::id()).unwrap_or(0.0),
            machine: procfs::machine_cpu_seconds().0,
            steal: procfs::machine_cpu_seconds().1,
            switches: self.server_pid.and_then(procfs::context_switches),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub rate: String,
    pub target_per_s: Option<f64>,
    pub concurrency: usize,
    pub seconds: f64,
    pub completed: u64,
    pub signins_per_s: f64,
    pub begin: Summary,
    pub complete: Summary,
    pub verify: Summary,
    pub signin: Summary,
    pub errors: std::collections::BTreeMap<String, u64>,
    pub server_cpu_us_per_signin: Option<f64>,
    /// Context switches of the server's threads per complete sign-in.
    pub server_context_switches_per_signin: Option<f64>,
    /// Average number of cores the server kept busy.
    pub server_cores: Option<f64>,
    pub db_cpu_us_per_signin: Option<f64>,
    pub generator_cpu_us_per_signin: f64,
    pub generator_cores: f64,
    /// Cores kept busy by everything else on the machine (other programs, the kernel's
    /// networking outside the processes above): 0 on a quiet machine.
    pub other_cores: f64,
    /// Cores the hypervisor took away (steal time).
    pub steal_cores: f64,
}

#[derive(Default)]
struct PhaseSamples {
    begin: Samples,
    complete: Samples,
    verify: Samples,
    signin: Samples,
    errors: Errors,
    completed: u64,
}

/// The latencies of one successful sign-in.
struct Timings {
    begin: Duration,
    complete: Duration,
    verify: Duration,
}

/// `/signin/begin` → authenticator → `/signin/complete` → `/signin/verify`.
async fn sign_in(api: &Api, rng: &SystemRandom, passkey: &mut Passkey) -> Result<Timings, String> {
    let t0 = Instant::now();
    let (options, session) = api
        .signin_begin(&passkey.user_id)
        .await
        .map_err(|e| format!("signin/begin: {}", e.0))?;
    let t1 = Instant::now();
    let assertion = passkey
        .get(rng, &options)
        .map_err(|e| format!("authenticator: {e}"))?;
    let t2 = Instant::now();
    let token = api
        .signin_complete(&session, &assertion)
        .await
        .map_err(|e| format!("signin/complete: {}", e.0))?;
    let t3 = Instant::now();
    let verified = api
        .verify(&token)
        .await
        .map_err(|e| format!("signin/verify: {}", e.0))?;
    let t4 = Instant::now();
    if !verified.success || verified.user_id != passkey.user_id {
        return Err("signin/verify: 200 wrong user or success=false".to_owned());
    }
    Ok(Timings {
        begin: t1 - t0,
        complete: t3 - t2,
        verify: t4 - t3,
    })
}

/// The schedule of one phase: warm-up from `start`, measurement from `measure` to `end`.
#[derive(Clone, Copy)]
struct Window {
    start: tokio::time::Instant,
    measure: Instant,
    end: Instant,
}

/// One client: signs in with its own passkeys (picked at random) until the phase ends.
/// Only sign-ins that start and end inside the measured window are recorded.
async fn client(
    api: Api,
    mut passkeys: Vec<Passkey>,
    window: Window,
    pace: Option<(Arc<AtomicU64>, Duration)>,
) -> (Vec<Passkey>, PhaseSamples) {
    let rng = SystemRandom::new();
    let mut s = PhaseSamples::default();
    loop {
        if let Some((next_slot, interval)) = &pace {
            // Open loop: the next start time in the phase's schedule, whoever is free takes it.
            let slot = next_slot.fetch_add(1, Ordering::Relaxed);
            let at = window.start + interval.mul_f64(slot as f64);
            if at.into_std() >= window.end {
                break;
            }
            sleep_until(at).await;
        } else if Instant::now() >= window.end {
            break;
        }
        let i = rand::thread_rng().gen_range(0..passkeys.len());
        let started = Instant::now();
        let result = sign_in(&api, &rng, &mut passkeys[i]).await;
        let ended = Instant::now();
        if started < window.measure || ended > window.end {
            continue;
        }
        match result {
            Ok(t) => {
                s.begin.push(t.begin);
                s.complete.push(t.complete);
                s.verify.push(t.verify);
                s.signin.push(ended - started);
                s.completed += 1;
            }
            Err(label) => {
                let (call, what) = label.split_once(": ").unwrap_or(("?", &label));
                s.errors.add(call, what);
            }
        }
    }
    (passkeys, s)
}

/// Runs one phase with `concurrency` clients; the passkeys come back for the next phase.
pub async fn sign_in_phase(
    api: &Api,
    passkeys: Vec<Passkey>,
    concurrency: usize,
    rate: Rate,
    warmup: Duration,
    duration: Duration,
    probes: &Probes,
) -> (Vec<Passkey>, PhaseReport) {
    // Client k owns passkeys k, k+C, k+2C, …: no two sign-ins of one credential overlap, so
    // the counters rise strictly and the server's clone detection never fires spuriously.
    let mut slices: Vec<Vec<Passkey>> = (0..concurrency).map(|_| Vec::new()).collect();
    for (i, p) in passkeys.into_iter().enumerate() {
        slices[i % concurrency].push(p);
    }
    let start = tokio::time::Instant::now();
    let window = Window {
        start,
        measure: start.into_std() + warmup,
        end: start.into_std() + warmup + duration,
    };
    let pace = match rate {
        Rate::Max => None,
        Rate::PerSecond(r) => Some((
            Arc::new(AtomicU64::new(0)),
            Duration::from_secs_f64(1.0 / r),
        )),
    };
    let tasks: Vec<_> = slices
        .into_iter()
        .map(|slice| tokio::spawn(client(api.clone(), slice, window, pace.clone())))
        .collect();

    sleep_until(window.measure.into()).await;
    let before = probes.cpu();
    sleep_until(window.end.into()).await;
    let after = probes.cpu();

    let mut all = PhaseSamples::default();
    let mut passkeys = Vec::new();
    for task in tasks {
        let (slice, s) = task.await.expect("sign-in client");
        passkeys.extend(slice);
        all.begin.merge(s.begin);
        all.complete.merge(s.complete);
        all.verify.merge(s.verify);
        all.signin.merge(s.signin);
        all.errors.merge(s.errors);
        all.completed += s.completed;
    }
    let seconds = duration.as_secs_f64();
    let n = all.completed.max(1) as f64;
    let per_signin = |a: Option<f64>, b: Option<f64>| Some((b? - a?) * 1e6 / n);
    let cores = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / seconds);
    let report = PhaseReport {
        rate: rate.label(),
        target_per_s: match rate {
            Rate::Max => None,
            Rate::PerSecond(r) => Some(r),
        },
        concurrency,
        seconds,
        completed: all.completed,
        signins_per_s: all.completed as f64 / seconds,
        begin: all.begin.summary(),
        complete: all.complete.summary(),
        verify: all.verify.summary(),
        signin: all.signin.summary(),
        errors: all.errors.0,
        server_cpu_us_per_signin: per_signin(before.server, after.server),
        server_context_switches_per_signin: before
            .switches
            .zip(after.switches)
            .map(|(a, b)| (b - a) as f64 / n),
        server_cores: cores(before.server, after.server),
        db_cpu_us_per_signin: per_signin(before.db, after.db),
        generator_cpu_us_per_signin: (after.generator - before.generator) * 1e6 / n,
        generator_cores: (after.generator - before.generator) / seconds,
        other_cores: ((after.machine - before.machine)
            - (after.generator - before.generator)
            - cores(before.server, after.server).unwrap_or(0.0) * seconds
            - (after.db.unwrap_or(0.0) - before.db.unwrap_or(0.0)))
            / seconds,
        steal_cores: (after.steal - before.steal) / seconds,
    };
    (passkeys, report)
}
