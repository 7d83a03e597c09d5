//! What the server's benches share: the release binaries, settings from the environment,
//! children that die with the bench, free ports, and a process's CPU, memory and descriptors.
#![allow(dead_code)] // each bench uses a different part

#[path = "../../tests/common/chunked.rs"]
pub mod chunked;
pub mod receiver;
#[path = "../../tests/common/store.rs"]
pub mod store;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A release binary of the workspace (under `CARGO_TARGET_DIR` when that is set); `make bench`
/// and `make soak` build them first.
pub fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    );
    let path = target.join("release").join(name);
    assert!(
        path.exists(),
        "{} is missing: `make bench` or `make soak` builds it",
        path.display()
    );
    path
}

/// A whole number from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `vitals-server` listening for agents on `agents` and for scrapes on `http` (`:0` for any
/// free port), once it has said where; its log is drained and dropped. Returns where it
/// listens.
pub fn start_server(agents: &str, http: &str) -> (Running, SocketAddr, SocketAddr) {
    start_server_with(agents, http, &[])
}

/// [`start_server`] with more flags.
pub fn start_server_with(
    agents: &str,
    http: &str,
    extra: &[&str],
) -> (Running, SocketAddr, SocketAddr) {
    let mut child = Command::new(bin("vitals-server"))
        .args(["--listen", agents, "--http", http])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (agents, http) = server::parse_startup_line(&first)
        .unwrap_or_else(|| panic!("server did not start: {first}"));
    (Running(child), agents, http)
}

/// Kills the child when dropped.
pub struct Running(pub Child);

impl Running {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn signal(&mut self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
    }

    /// Waits for the exit; how long it took, if within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(_)) = self.0.try_wait() {
                return Some(started.elapsed());
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// User and system CPU time of a process so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let (user, system) = user_system_seconds(pid);
    user + system
}

/// CPU time of a process so far, in user space (its own work) and in the kernel (system
/// calls, and the network stack's work done on its behalf).
pub fn user_system_seconds(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let f: Vec<u64> = after.split(' ').map(|x| x.parse().unwrap_or(0)).collect();
    let ticks = |i: usize| *f.get(i).unwrap_or(&0) as f64 / 100.0;
    (ticks(11), ticks(12))
}

/// Resident memory of a process.
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix(" kB")?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}
