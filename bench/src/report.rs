//! The results: one serialisable report, printed as a table and optionally written as JSON.

use serde::Serialize;

use crate::libverify::BareVerify;
use crate::load::{PhaseReport, RegistrationReport};
use crate::server::StartReport;
use crate::stats::Summary;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub config: Config,
    pub bare_verify: BareVerify,
    /// Present with `--spawn`: the fresh start, and a restart on the filled database.
    pub start: Option<StartReport>,
    pub restart: Option<StartReport>,
    pub registration: RegistrationReport,
    pub prefill: Option<Prefill>,
    pub phases: Vec<Phase>,
    /// Server memory after the last phase, when the server is local.
    pub server_memory: Option<Memory>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// /proc/loadavg (1, 5, 15 minutes) when the run began: above 0.1 or so, other programs
    /// were competing for the CPUs.
    pub load_average_at_start: String,
    pub note: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub url: String,
    pub database: String,
    pub app_id: String,
    pub users: usize,
    pub concurrency: usize,
    pub register_concurrency: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// `--server-env` settings of the spawned server.
    pub server_env: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prefill {
    pub command: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    #[serde(flatten)]
    pub load: PhaseReport,
    /// Server CPU per complete sign-in ÷ the bare library verify.
    pub server_cpu_ratio_to_bare_verify: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// VmHWM: the most the server ever had resident.
    pub peak_rss_mib: f64,
    pub rss_mib: f64,
}

impl Machine {
    pub fn this(load_average_at_start: String) -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let memory_gib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_average_at_start,
            note: "the load generator runs on the same machine and shares its CPUs",
        }
    }
}

fn row(name: &str, s: &Summary) -> String {
    format!(
        "  {name:<18} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
        s.count, s.mean_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms
    )
}

const HEADER: &str = "  call                      n  mean ms   p50 ms   p95 ms   p99 ms   max ms";

fn errors(map: &std::collections::BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn print(r: &Report) {
    let m = &r.machine;
    println!(
        "\npasskeyd-bench: {} CPUs ({}), {:.0} GiB, Linux {}; {}",
        m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.note
    );
    println!("load average at start: {}", m.load_average_at_start);
    let c = &r.config;
    println!(
        "database {}, app {}, {} users, {} clients, {:.0} s per phase after {:.0} s warm-up",
        c.database, c.app_id, c.users, c.concurrency, c.duration_s, c.warmup_s
    );
    if !c.server_env.is_empty() {
        println!("server environment: {}", c.server_env.join(" "));
    }
    if let Some(s) = &r.start {
        println!(
            "start (fresh database): healthy after {:.1} ms, idle RSS {:.1} MiB",
            s.start_to_healthy_ms, s.idle_rss_mib
        );
    }
    let b = &r.bare_verify;
    println!(
        "bare verify (webauthn-rs-core authenticate_single_credential, thread CPU, {} calls): \
         {:.1} µs (min round {:.1}); of which ES256 verify ≈ {:.1} µs",
        b.iterations, b.library_us, b.library_us_min, b.p256_verify_us
    );

    let g = &r.registration;
    println!(
        "\nregistration: {}/{} users in {:.1} s = {:.0} registrations/s ({} concurrent); errors: {}",
        g.registered,
        g.users,
        g.seconds,
        g.registrations_per_s,
        g.concurrency,
        errors(&g.errors)
    );
    println!("{HEADER}");
    println!("{}", row("register/token", &g.token));
    println!("{}", row("register/begin", &g.begin));
    println!("{}", row("register/complete", &g.complete));
    if let Some(p) = &r.prefill {
        println!("\nprefill: `{}` took {:.1} s", p.command, p.seconds);
    }

    for phase in &r.phases {
        let p = &phase.load;
        let target = p
            .target_per_s
            .map_or("closed loop".to_owned(), |t| format!("target {t:.0}/s"));
        println!(
            "\nsign-ins, rate {} ({target}, {} clients): {:.0} complete sign-ins/s ({} in {:.0} s); errors: {}",
            p.rate,
            p.concurrency,
            p.signins_per_s,
            p.completed,
            p.seconds,
            errors(&p.errors)
        );
        println!("{HEADER}");
        println!("{}", row("signin/begin", &p.begin));
        println!("{}", row("signin/complete", &p.complete));
        println!("{}", row("signin/verify", &p.verify));
        println!("{}", row("full sign-in", &p.signin));
        if let (Some(cpu), Some(cores)) = (p.server_cpu_us_per_signin, p.server_cores) {
            let ratio = phase
                .server_cpu_ratio_to_bare_verify
                .map_or(String::new(), |x| format!(" = {x:.2}× bare verify"));
            println!("  server CPU {cpu:.0} µs per complete sign-in{ratio}; {cores:.2} cores busy");
        }
        if let Some(db) = p.db_cpu_us_per_signin {
            println!("  database processes CPU {db:.0} µs per sign-in");
        }
        println!(
            "  generator CPU {:.0} µs per sign-in; {:.2} cores busy",
            p.generator_cpu_us_per_signin, p.generator_cores
        );
        println!(
            "  other programs on the machine: {:.2} cores busy; hypervisor steal {:.2} cores",
            p.other_cores, p.steal_cores
        );
    }
    if let Some(mem) = &r.server_memory {
        println!(
            "\nserver memory: peak RSS (VmHWM) {:.1} MiB, RSS after the load {:.1} MiB",
            mem.peak_rss_mib, mem.rss_mib
        );
    }
    if let Some(s) = &r.restart {
        println!(
            "restart on the filled database: healthy after {:.1} ms, idle RSS {:.1} MiB",
            s.start_to_healthy_ms, s.idle_rss_mib
        );
    }
}
