//! Command-line flags. Hand-parsed: a dozen `--name value` pairs do not justify a parser
//! dependency, and keeping to crates the server already locks lets the bench build offline.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: passkeyd-bench [flags]

Against a running server:
  --url URL                  passkeyd base URL (default http://127.0.0.1:5701)
  --management-key KEY       the server's PASSKEYD_MANAGEMENT_KEY (default bench-management-key)
  --server-pid PID           read the server's CPU time and memory from /proc/PID
                             (turn its rate limits off: PASSKEYD_RATE_LIMIT_PER_IP=0 and
                             PASSKEYD_RATE_LIMIT_PER_APP=0, or the errors show 429s)

Load:
  --users N                  users to register (default 10000)
  --register-concurrency N   concurrent registrations (default 8)
  --concurrency C            concurrent sign-in clients (default 16)
  --duration SECONDS         measured time per sign-in phase (default 30)
  --warmup SECONDS           unmeasured load before each phase (default 3)
  --rate LIST                comma-separated phases: `max` (closed loop, as fast as the server
                             answers) or a target of complete sign-ins per second (paced);
                             default `max`
  --verify-iterations N      iterations of the bare library verify (default 3000)
  --after-register CMD       shell command run after registration, before the sign-in phases
                             (used to pre-fill the database; see bench/fill.sh)
  --db-match LIST            also sum the CPU time of every process whose command line
                             contains one of these comma-separated strings (PostgreSQL: the
                             database name picks out its backends; bench/run.sh does this)
  --json FILE                write the results as JSON

Starting the server itself (what bench/run.sh uses):
  --spawn PATH               start the passkeyd binary at PATH listening on --url's port, wait
                             until /health/http answers, run the benchmark, stop it; its rate
                             limits are turned off (all simulated users share one address)
  --database-url URL         PASSKEYD_DATABASE_URL for the spawned server (required with --spawn)
  --server-log FILE          the spawned server's output (default: discarded)
  --server-env NAME=VALUE    an extra environment variable for the spawned server (repeatable),
                             e.g. PASSKEYD_DB_POOL_SIZE=32 or TOKIO_WORKER_THREADS=4
";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Closed loop: every client starts its next sign-in as soon as the last one ends.
    Max,
    /// Paced: sign-ins start on a fixed schedule of this many per second.
    PerSecond(f64),
}

impl Rate {
    pub fn label(self) -> String {
        match self {
            Rate::Max => "max".to_owned(),
            Rate::PerSecond(r) => format!("{r:.0}/s"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub url: String,
    pub management_key: String,
    pub server_pid: Option<u32>,
    pub users: usize,
    pub register_concurrency: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub rates: Vec<Rate>,
    pub verify_iterations: usize,
    pub after_register: Option<String>,
    pub db_match: Vec<String>,
    pub json: Option<PathBuf>,
    pub spawn: Option<PathBuf>,
    pub database_url: Option<String>,
    pub server_log: Option<PathBuf>,
    pub server_env: Vec<(String, String)>,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:5701".to_owned(),
            management_key: "bench-management-key".to_owned(),
            server_pid: None,
            users: 10_000,
            register_concurrency: 8,
            concurrency: 16,
            duration: Duration::from_secs(30),
            warmup: Duration::from_secs(3),
            rates: vec![Rate::Max],
            verify_iterations: 3_000,
            after_register: None,
            db_match: Vec::new(),
            json: None,
            spawn: None,
            database_url: None,
            server_log: None,
            server_env: Vec::new(),
        }
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value:?}"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let s: f64 = number(flag, value)?;
    if !(s.is_finite() && s >= 0.0) {
        return Err(format!("{flag}: must be a non-negative number of seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn rates(value: &str) -> Result<Vec<Rate>, String> {
    value
        .split(',')
        .map(|part| match part.trim() {
            "max" => Ok(Rate::Max),
            n => match n.parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => Ok(Rate::PerSecond(r)),
                _ => Err(format!(
                    "--rate: expected `max` or a positive number, got {n:?}"
                )),
            },
        })
        .collect()
}

/// Parses `std::env::args()`; `Ok(None)` means `--help` was asked for.
pub fn parse(mut raw: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(flag) = raw.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let value = raw
            .next()
            .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_owned(),
            "--management-key" => args.management_key = value,
            "--server-pid" => args.server_pid = Some(number(&flag, &value)?),
            "--users" => args.users = number(&flag, &value)?,
            "--register-concurrency" => args.register_concurrency = number(&flag, &value)?,
            "--concurrency" => args.concurrency = number(&flag, &value)?,
            "--duration" => args.duration = seconds(&flag, &value)?,
            "--warmup" => args.warmup = seconds(&flag, &value)?,
            "--rate" => args.rates = rates(&value)?,
            "--verify-iterations" => args.verify_iterations = number(&flag, &value)?,
            "--after-register" => args.after_register = Some(value),
            "--db-match" => {
                args.db_match = value.split(',').map(str::to_owned).collect();
            }
            "--json" => args.json = Some(PathBuf::from(value)),
            "--spawn" => args.spawn = Some(PathBuf::from(value)),
            "--database-url" => args.database_url = Some(value),
            "--server-log" => args.server_log = Some(PathBuf::from(value)),
            "--server-env" => {
                let (name, v) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--server-env: expected NAME=VALUE, got {value:?}"))?;
                args.server_env.push((name.to_owned(), v.to_owned()));
            }
            other => return Err(format!("unknown flag {other} (see --help)")),
        }
    }
    if args.users == 0 || args.concurrency == 0 || args.register_concurrency == 0 {
        return Err("--users, --concurrency and --register-concurrency must be at least 1".into());
    }
    if args.concurrency > args.users {
        // Each client owns a disjoint slice of the users (see load.rs), so it needs at least one.
        return Err("--concurrency must not exceed --users".into());
    }
    if args.spawn.is_some() && args.database_url.is_none() {
        return Err("--spawn needs --database-url".into());
    }
    if args.spawn.is_some() && args.server_pid.is_some() {
        return Err("--spawn measures the process it starts; leave out --server-pid".into());
    }
    Ok(Some(args))
}
