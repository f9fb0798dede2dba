//! `passkeyd-bench faults`: crashes under load, then an audit of what was acknowledged.
//!
//! Eight clients register users and sign in (begin → complete → verify) without pause while
//! passkeyd is killed with SIGKILL every `--interval-ms` and started again, `--kills` times;
//! on PostgreSQL the database itself can also be restarted (`--pg-restart "15 main"`,
//! `--pg-restarts N`). Every answer a client got is an acknowledgement. Afterwards, with the
//! server up once more, it checks:
//! - every acknowledged registration still exists (its credential is listed);
//! - no counter went backwards: each credential's stored counter is at least the highest one a
//!   sign-in was acknowledged with;
//! - no single-use token worked twice: every verify token that verified once is refused now,
//!   and every acknowledged token that was never verified verifies exactly once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use ring::rand::SystemRandom;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::api::{self, Api};
use crate::authenticator::{self, Passkey};
use crate::server;

struct Options {
    binary: PathBuf,
    database_url: String,
    url: String,
    management_key: String,
    kills: u32,
    interval: Duration,
    pg_restart: Option<String>,
    pg_restarts: u32,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        binary: PathBuf::from("target/release/passkeyd"),
        database_url: String::new(),
        url: "http://127.0.0.1:5799".to_owned(),
        management_key: "faults-management-key".to_owned(),
        kills: 20,
        interval: Duration::from_millis(1500),
        pg_restart: None,
        pg_restarts: 0,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--spawn" => o.binary = PathBuf::from(value()?),
            "--database-url" => o.database_url = value()?,
            "--url" => o.url = value()?,
            "--kills" => o.kills = value()?.parse().map_err(|_| "--kills: a number")?,
            "--interval-ms" => {
                o.interval =
                    Duration::from_millis(value()?.parse().map_err(|_| "--interval-ms: a number")?);
            }
            "--pg-restart" => o.pg_restart = Some(value()?),
            "--pg-restarts" => {
                o.pg_restarts = value()?.parse().map_err(|_| "--pg-restarts: a number")?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if o.database_url.is_empty() {
        return Err("--database-url is required".to_owned());
    }
    Ok(o)
}

/// What the clients were told.
#[derive(Default)]
struct Ledger {
    /// Registered and acknowledged, with the passkey (taken out while a client uses it).
    users: Vec<Option<Passkey>>,
    /// Per credential (base64url id): the highest counter a sign-in was acknowledged with.
    counters: HashMap<String, (String, u32)>,
    /// Verify tokens that verified once.
    verified: Vec<String>,
    /// Verify tokens acknowledged by `/signin/complete` whose verify got no answer.
    unverified: Vec<String>,
    registrations: u64,
    signins: u64,
    failures: u64,
}

#[derive(Deserialize)]
struct CredentialList {
    values: Vec<CredentialItem>,
}

#[derive(Deserialize)]
struct CredentialItem {
    descriptor: Descriptor,
    #[serde(rename = "signatureCounter")]
    signature_counter: u32,
}

#[derive(Deserialize)]
struct Descriptor {
    id: String,
}

async fn client(
    api: Arc<Mutex<Option<Api>>>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let rng = SystemRandom::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(api) = api.lock().await.clone() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let register = {
            let l = ledger.lock().await;
            l.users.len() < 50 || rand::thread_rng().gen_ratio(1, 4)
        };
        if register {
            let user = format!("u{:016x}", rand::thread_rng().gen::<u64>());
            let result = async {
                let token = api.register_token(&user).await.map_err(|e| e.0)?;
                let (options, session) = api.register_begin(&token).await.map_err(|e| e.0)?;
                let (passkey, attestation) = authenticator::create(&rng, &user, &options)?;
                api.register_complete(&session, &attestation)
                    .await
                    .map_err(|e| e.0)?;
                Ok::<_, String>(passkey)
            }
            .await;
            let mut l = ledger.lock().await;
            match result {
                Ok(passkey) => {
                    l.counters.insert(passkey.id_b64url(), (user, 0));
                    l.users.push(Some(passkey));
                    l.registrations += 1;
                }
                Err(_) => {
                    l.failures += 1;
                    drop(l);
                    // The server is down: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            continue;
        }
        // Take a passkey no other client is using.
        let taken = {
            let mut l = ledger.lock().await;
            let n = l.users.len();
            let start = rand::thread_rng().gen_range(0..n);
            (0..n)
                .map(|i| (start + i) % n)
                .find_map(|i| l.users[i].take().map(|p| (i, p)))
        };
        let Some((slot, mut passkey)) = taken else {
            continue;
        };
        let outcome = async {
            let (options, session) = api
                .signin_begin(&passkey.user_id)
                .await
                .map_err(|e| (e.0, None))?;
            let assertion = passkey.get(&rng, &options).map_err(|e| (e, None))?;
            let token = api
                .signin_complete(&session, &assertion)
                .await
                .map_err(|e| (e.0, None))?;
            api.verify(&token)
                .await
                .map(|_| token.clone())
                .map_err(|e| (e.0, Some(token)))
        }
        .await;
        let mut l = ledger.lock().await;
        let id = passkey.id_b64url();
        let counter = passkey.counter();
        match outcome {
            Ok(token) => {
                l.verified.push(token);
                l.signins += 1;
                if let Some(entry) = l.counters.get_mut(&id) {
                    entry.1 = entry.1.max(counter);
                }
            }
            Err((_, Some(token))) => {
                // Acknowledged by complete; the verify got no answer.
                l.unverified.push(token);
                if let Some(entry) = l.counters.get_mut(&id) {
                    entry.1 = entry.1.max(counter);
                }
                l.failures += 1;
            }
            Err(_) => l.failures += 1,
        }
        l.users[slot] = Some(passkey);
    }
}

pub async fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let http = api::client(16);
    let mut spawned = server::spawn(
        &o.binary,
        &o.url,
        &o.database_url,
        &o.management_key,
        None,
        &[],
    )
    .await?;
    let app_id = format!("faults{:08x}", rand::thread_rng().gen::<u32>());
    let keys = api::create_app(&http, &o.url, &o.management_key, &app_id)
        .await
        .map_err(|e| format!("create app: {}", e.0))?;
    let api_slot = Arc::new(Mutex::new(Some(Api::new(
        http.clone(),
        &o.url,
        keys.clone(),
    ))));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| tokio::spawn(client(api_slot.clone(), ledger.clone(), stop.clone())))
        .collect();

    let mut restarts = Vec::new();
    for kill in 0..o.kills {
        tokio::time::sleep(o.interval).await;
        spawned.kill();
        spawned = server::spawn(
            &o.binary,
            &o.url,
            &o.database_url,
            &o.management_key,
            None,
            &[],
        )
        .await?;
        restarts.push(spawned.start.start_to_healthy_ms);
        eprintln!(
            "  kill {}/{}: healthy again after {:.1} ms",
            kill + 1,
            o.kills,
            spawned.start.start_to_healthy_ms
        );
    }
    let mut pg_answers = Vec::new();
    if let Some(cluster) = &o.pg_restart {
        for n in 0..o.pg_restarts {
            tokio::time::sleep(o.interval).await;
            let mut parts = cluster.split_whitespace();
            let (version, name) = (parts.next().unwrap_or("15"), parts.next().unwrap_or("main"));
            let status = std::process::Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", version, name, "restart"])
                .status()
                .map_err(|e| format!("pg_ctlcluster: {e}"))?;
            // How long until passkeyd answers a storage health check again.
            let t = Instant::now();
            let back = loop {
                let ok = http
                    .get(format!("{}/health/storage", o.url))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok || t.elapsed() > Duration::from_secs(60) {
                    break t.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            eprintln!(
                "  PostgreSQL restart {}/{} ({status}): storage healthy again after {:.0} ms",
                n + 1,
                o.pg_restarts,
                back.as_secs_f64() * 1000.0
            );
            pg_answers.push(back);
        }
    }
    tokio::time::sleep(o.interval).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }

    // The audit, against the last server.
    let l = ledger.lock().await;
    let mut lost = 0u64;
    let mut backwards = 0u64;
    let mut users: HashMap<&str, Vec<(&str, u32)>> = HashMap::new();
    for (id, (user, counter)) in &l.counters {
        users
            .entry(user.as_str())
            .or_default()
            .push((id.as_str(), *counter));
    }
    for (user, creds) in &users {
        let r = http
            .get(format!("{}/credentials/list?userId={user}", o.url))
            .header("ApiSecret", &keys.secret)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let list: CredentialList = r.json().await.map_err(|e| e.to_string())?;
        for (id, acked) in creds {
            match list.values.iter().find(|c| c.descriptor.id == *id) {
                None => lost += 1,
                Some(c) if c.signature_counter < *acked => backwards += 1,
                Some(_) => {}
            }
        }
    }
    let api = Api::new(http.clone(), &o.url, keys.clone());
    let mut twice = 0u64;
    for token in &l.verified {
        if api.verify(token).await.is_ok() {
            twice += 1;
        }
    }
    let (mut once, mut not_once) = (0u64, 0u64);
    for token in &l.unverified {
        let first = api.verify(token).await.is_ok();
        let second = api.verify(token).await.is_ok();
        match (first, second) {
            (_, true) => twice += 1,
            (true, false) => once += 1,
            // Expired, or the verify whose answer was lost had gone through: not a second use.
            (false, false) => not_once += 1,
        }
    }
    spawned.stop();

    let worst = restarts.iter().copied().fold(0.0, f64::max);
    println!(
        "faults: {} SIGKILLs{}; {} registrations and {} sign-ins acknowledged, {} calls failed during the faults",
        o.kills,
        if o.pg_restarts > 0 {
            format!(" and {} PostgreSQL restarts", o.pg_restarts)
        } else {
            String::new()
        },
        l.registrations,
        l.signins,
        l.failures
    );
    println!(
        "restart to healthy: worst {worst:.1} ms over {} restarts",
        restarts.len()
    );
    println!(
        "audit: {} credentials checked, {lost} lost, {backwards} counters behind an acknowledged sign-in; \
         {} verified tokens re-tried, {twice} worked twice; {} unverified tokens: {once} verified once, {not_once} not at all",
        l.counters.len(),
        l.verified.len(),
        l.unverified.len()
    );
    if lost + backwards + twice > 0 {
        return Err("violations found".to_owned());
    }
    println!("no violations");
    Ok(())
}
