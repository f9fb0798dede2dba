//! A throwaway PostgreSQL cluster that a test may stop and start, for outage tests. It uses
//! the PostgreSQL server binaries installed on the machine (Debian: /usr/lib/postgresql/N/bin).

use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The newest installed PostgreSQL server's bin folder, if any.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn run(tool: &PathBuf, args: &[&str]) {
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(tool)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    } else {
        Command::new(tool)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    }
    .expect("run a PostgreSQL tool");
    assert!(status.success(), "{} {args:?} failed", tool.display());
}

impl Cluster {
    /// A new cluster on a free port, with trust authentication; `None` when no PostgreSQL
    /// server is installed.
    pub fn start() -> Option<Self> {
        let bin = server_bin()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data folder");
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(owned.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data_arg = data.to_string_lossy().into_owned();
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let cluster = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        cluster.up();
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.data.join("server.log").to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        run(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash or a network cut would.
    pub fn down(&self) {
        let data = self.data.to_string_lossy().into_owned();
        run(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let stop = |tool: PathBuf| {
            let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
            if is_root() {
                let _ = Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(tool)
                    .args(args)
                    .status();
            } else {
                let _ = Command::new(tool).args(args).status();
            }
        };
        stop(self.bin.join("pg_ctl"));
    }
}
