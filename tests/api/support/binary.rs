//! The real passkeyd binary with its log captured (JSON), for what only the process does:
//! logging set-up, start-up work, signals and graceful shutdown, and replicas and crashes.

// Not every test uses every helper.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::server::MANAGEMENT_KEY;

pub struct Binary {
    pub base: String,
    pub addr: SocketAddr,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts `passkeyd serve` on `database_url` on an ephemeral loopback port, with JSON logs,
    /// the test management key and e-mails to a file; `vars` add to or override these. Returns
    /// once it listens (its address is read from its log).
    pub async fn start(database_url: &str, vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let stdout = dir.path().join("stdout.log");
        let stderr = dir.path().join("stderr.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_passkeyd"));
        // Nothing from the test's own environment leaks into the server's configuration.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PASSKEYD_") {
                command.env_remove(name);
            }
        }
        let mail = dir.path().join("mail.txt");
        command
            .arg("serve")
            .env("PASSKEYD_LISTEN", "127.0.0.1:0")
            .env("PASSKEYD_DATABASE_URL", database_url)
            .env("PASSKEYD_MANAGEMENT_KEY", MANAGEMENT_KEY)
            .env("PASSKEYD_LOG_FORMAT", "json")
            .env("PASSKEYD_MAIL_FILE", &mail);
        for (k, v) in vars {
            command.env(k, v);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start the passkeyd binary");
        let mut process = Self {
            base: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            stdout,
            stderr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listening = process
                .log_lines()
                .into_iter()
                .find(|l| l["fields"]["message"] == "passkeyd listening");
            if let Some(line) = listening {
                let address = line["fields"]["address"].as_str().expect("address");
                process.addr = address.parse().expect("a socket address");
                process.base = format!("http://{address}");
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "passkeyd exited with {status} before listening\nstdout:\n{}\nstderr:\n{}",
                    process.log(),
                    process.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "passkeyd did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Everything the process has written to stdout (its log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The JSON log lines written so far.
    pub fn log_lines(&self) -> Vec<Value> {
        self.log()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`libc::SIGTERM`, `libc::SIGINT`).
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.pid()).expect("a pid");
        // SAFETY: kill(2) with our own child's pid has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "passkeyd did not exit within {timeout:?}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Binary {
    /// A replica for load: quiet logs and no rate limits (tests send bursts from one address).
    pub async fn start_replica(database_url: &str) -> Self {
        Self::start(
            database_url,
            &[
                ("PASSKEYD_LOG", "warn,passkeyd=info"),
                ("PASSKEYD_RATE_LIMIT_PER_IP", "0"),
                ("PASSKEYD_RATE_LIMIT_PER_APP", "0"),
                ("PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP", "0"),
            ],
        )
        .await
    }

    /// SIGKILL: no shutdown, no flush, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.kill();
    }
}
