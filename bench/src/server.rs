//! `--spawn`: starts passkeyd, times how long it takes to answer `/health/http`, notes its
//! idle memory, and stops it again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::procfs;

pub struct Spawned {
    child: Child,
    pub pid: u32,
    pub start: StartReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    /// From `spawn()` to the first 200 from `/health/http`.
    pub start_to_healthy_ms: f64,
    /// VmRSS one second after it became healthy, before any request but the health checks.
    pub idle_rss_mib: f64,
}

/// How long to sit idle before reading the idle RSS: long enough for start-up work (pool
/// connections, migrations' allocations) to settle.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

fn listen_address(url: &str) -> Result<String, String> {
    let u = url::Url::parse(url).map_err(|e| format!("--url {url:?}: {e}"))?;
    let host = u.host_str().ok_or("--url has no host")?;
    let port = u.port_or_known_default().ok_or("--url has no port")?;
    Ok(format!("{host}:{port}"))
}

/// Starts `binary` on `database_url` and waits until it is healthy.
pub async fn spawn(
    binary: &Path,
    url: &str,
    database_url: &str,
    management_key: &str,
    log: Option<&Path>,
    extra_env: &[(String, String)],
) -> Result<Spawned, String> {
    let listen = listen_address(url)?;
    // A server already on the port would answer the health check and be measured instead.
    if std::net::TcpStream::connect(&listen).is_ok() {
        return Err(format!("something already listens on {listen}"));
    }
    let (output, errors) = match log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let copy = file.try_clone().map_err(|e| e.to_string())?;
            (Stdio::from(file), Stdio::from(copy))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let http = reqwest::Client::new();
    let health = format!("{url}/health/http");

    let started = Instant::now();
    let mut child = Command::new(binary)
        .env("PASSKEYD_DATABASE_URL", database_url)
        .env("PASSKEYD_MANAGEMENT_KEY", management_key)
        .env("PASSKEYD_LISTEN", &listen)
        .env("PASSKEYD_LOG", "warn")
        // Every simulated user comes from 127.0.0.1 and one app, so the per-address and per-app
        // limits (600 and 30,000 browser requests a minute by default) would measure the
        // limiter, not the server. Servers without limits ignore these; --server-env overrides.
        .env("PASSKEYD_RATE_LIMIT_PER_IP", "0")
        .env("PASSKEYD_RATE_LIMIT_PER_APP", "0")
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        // The load comes from one address at thousands of requests per second.
        .env("PASSKEYD_RATE_LIMIT_PER_IP", "0")
        .env("PASSKEYD_RATE_LIMIT_PER_APP", "0")
        .env("PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP", "0")
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id();
    // Poll as fast as refused connections come back (microseconds), so the figure is the
    // server's, not the poll interval's.
    let start_to_healthy = loop {
        if http
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break started.elapsed();
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "passkeyd exited during start-up ({status}); see --server-log"
            ));
        }
        if started.elapsed() > Duration::from_secs(60) {
            stop(child);
            return Err("passkeyd did not become healthy within 60 s".to_owned());
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle_rss_mib = procfs::memory_mib(pid).map_or(0.0, |(_, rss)| rss);
    Ok(Spawned {
        child,
        pid,
        start: StartReport {
            start_to_healthy_ms: start_to_healthy.as_secs_f64() * 1000.0,
            idle_rss_mib,
        },
    })
}

impl Spawned {
    /// SIGTERM, then SIGKILL if it has not exited within ten seconds.
    pub fn stop(self) {
        stop(self.child);
    }

    /// SIGKILL at once, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stop(mut child: Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling our own child by its id.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
