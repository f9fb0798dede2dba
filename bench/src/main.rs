//! passkeyd-bench: a reproducible load benchmark of complete passkey sign-ins.
//!
//! It creates an app through the management API, registers users with a software
//! authenticator, then drives phases of complete sign-ins (`/signin/begin` → authenticator →
//! `/signin/complete` → `/signin/verify`) and reports throughput, latency per call, errors, and
//! — when the server is local — its CPU per sign-in and memory, next to the CPU cost of the
//! WebAuthn library's own verify measured in the same run. See BENCHMARKS.md.

mod api;
mod authenticator;
mod cli;
mod faults;
mod libverify;
mod load;
mod procfs;
mod report;
mod server;
mod stats;

use std::process::ExitCode;
use std::time::Instant;

use rand::Rng;

use crate::cli::Args;
use crate::load::Probes;
use crate::report::{Config, Machine, Memory, Phase, Prefill, Report};

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("faults") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        return match runtime.block_on(faults::run(&all[1..])) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("passkeyd-bench faults: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("passkeyd-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passkeyd-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn database_kind(url: Option<&str>) -> String {
    match url {
        Some(u) if u.starts_with("sqlite") => "sqlite".to_owned(),
        Some(u) if u.starts_with("postgres") => "postgres".to_owned(),
        Some(_) => "other".to_owned(),
        None => "unknown (external server)".to_owned(),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut spawned = match &args.spawn {
        Some(binary) => {
            eprintln!("starting {} …", binary.display());
            let s = server::spawn(
                binary,
                &args.url,
                args.database_url.as_deref().unwrap_or_default(),
                &args.management_key,
                args.server_log.as_deref(),
                &args.server_env,
            )
            .await?;
            eprintln!(
                "  healthy after {:.1} ms, idle RSS {:.1} MiB",
                s.start.start_to_healthy_ms, s.start.idle_rss_mib
            );
            Some(s)
        }
        None => None,
    };
    let result = bench(&args, spawned.as_ref()).await;
    // Restart on the database the run left behind: start-up once the store is full.
    let restart = match (spawned.take(), &result) {
        (Some(s), Ok(_)) => {
            s.stop();
            let binary = args.spawn.as_deref().expect("spawned");
            let again = server::spawn(
                binary,
                &args.url,
                args.database_url.as_deref().unwrap_or_default(),
                &args.management_key,
                args.server_log.as_deref(),
                &args.server_env,
            )
            .await?;
            let start = again.start.clone();
            again.stop();
            Some(start)
        }
        (Some(s), Err(_)) => {
            s.stop();
            None
        }
        (None, _) => None,
    };
    let mut report = result?;
    report.restart = restart;
    report::print(&report);
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        println!("\nJSON written to {}", path.display());
    }
    Ok(())
}

async fn bench(args: &Args, spawned: Option<&server::Spawned>) -> Result<Report, String> {
    let load_average: String = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let server_pid = args.server_pid.or(spawned.map(|s| s.pid));
    let probes = Probes {
        server_pid,
        db_match: args.db_match.clone(),
    };

    // The yardstick first, while the server is idle. CPU time of one thread, so the result
    // does not depend on what else the machine is doing.
    eprintln!("timing the bare library verify …");
    let iterations = args.verify_iterations;
    let bare = std::thread::spawn(move || libverify::measure(iterations))
        .join()
        .map_err(|_| "the bare verify panicked")??;

    let http = api::client(args.concurrency.max(args.register_concurrency) + 4);
    // A fresh app per run; ids are lower-case letters and digits.
    let app_id = format!("bench{:08x}", rand::thread_rng().gen::<u32>());
    let keys = api::create_app(&http, &args.url, &args.management_key, &app_id)
        .await
        .map_err(|e| format!("creating app {app_id}: {}", e.0))?;
    let api = api::Api::new(http, &args.url, keys);

    eprintln!(
        "registering {} users ({} concurrent) …",
        args.users, args.register_concurrency
    );
    let (passkeys, registration) =
        load::register(&api, args.users, args.register_concurrency).await;
    if passkeys.len() < args.concurrency {
        return Err(format!(
            "only {} of {} users registered; errors: {:?}",
            passkeys.len(),
            args.users,
            registration.errors
        ));
    }

    let prefill = match &args.after_register {
        Some(command) => Some(after_register(command, &app_id)?),
        None => None,
    };

    let mut phases = Vec::new();
    let mut passkeys = passkeys;
    for &rate in &args.rates {
        eprintln!(
            "sign-in phase, rate {}: {:.0} s warm-up + {:.0} s …",
            rate.label(),
            args.warmup.as_secs_f64(),
            args.duration.as_secs_f64()
        );
        let (back, load) = load::sign_in_phase(
            &api,
            passkeys,
            args.concurrency,
            rate,
            args.warmup,
            args.duration,
            &probes,
        )
        .await;
        passkeys = back;
        eprintln!("  {:.0} sign-ins/s", load.signins_per_s);
        phases.push(Phase {
            server_cpu_ratio_to_bare_verify: load
                .server_cpu_us_per_signin
                .map(|cpu| cpu / bare.library_us),
            load,
        });
    }

    Ok(Report {
        machine: Machine::this(load_average),
        config: Config {
            url: args.url.clone(),
            database: database_kind(args.database_url.as_deref()),
            app_id,
            users: args.users,
            concurrency: args.concurrency,
            register_concurrency: args.register_concurrency,
            warmup_s: args.warmup.as_secs_f64(),
            duration_s: args.duration.as_secs_f64(),
            server_env: args
                .server_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        },
        bare_verify: bare,
        start: spawned.map(|s| s.start.clone()),
        restart: None,
        registration,
        prefill,
        phases,
        server_memory: server_pid
            .and_then(procfs::memory_mib)
            .map(|(peak, rss)| Memory {
                peak_rss_mib: peak,
                rss_mib: rss,
            }),
    })
}

/// Runs `--after-register` through `sh -c`, with the app id in `BENCH_APP_ID`.
fn after_register(command: &str, app_id: &str) -> Result<Prefill, String> {
    eprintln!("running `{command}` …");
    let started = Instant::now();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("BENCH_APP_ID", app_id)
        .status()
        .map_err(|e| format!("--after-register: {e}"))?;
    if !status.success() {
        return Err(format!("--after-register `{command}` failed: {status}"));
    }
    Ok(Prefill {
        command: command.to_owned(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
