//! The real `passkeyd` binary as a child process, for replica and crash tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::MANAGEMENT_KEY;

pub struct Process {
    child: Child,
    pub base: String,
}

impl Process {
    /// Starts passkeyd on `database_url` on a free loopback port and waits until it is healthy.
    pub async fn start(database_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
            .env("PASSKEYD_LISTEN", format!("127.0.0.1:{port}"))
            .env("PASSKEYD_DATABASE_URL", database_url)
            .env("PASSKEYD_MANAGEMENT_KEY", MANAGEMENT_KEY)
            .env("PASSKEYD_LOG", "warn")
            // Tests send bursts from one address.
            .env("PASSKEYD_RATE_LIMIT_PER_IP", "0")
            .env("PASSKEYD_RATE_LIMIT_PER_APP", "0")
            .env("PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP", "0")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the passkeyd binary");
        let process = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = http
                .get(format!("{}/health/http", process.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return process;
            }
            assert!(Instant::now() < deadline, "passkeyd did not become healthy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
