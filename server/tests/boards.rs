//! The agent as built for ARM boards (`make cross-test`), run under qemu-user against the host's
//! `vitals-server` on loopback.
//!
//! The emulators are called by name rather than through binfmt_misc, which containers often lack.
//! Missing binaries fail the test: a skipped test would pass CI without ever running a board's build.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{Proc, Server, http_get, series, value, wait_for};

/// A board: the static binary for it and the emulator that runs it.
struct Board {
    /// The agent's `--id`.
    id: &'static str,
    triple: &'static str,
    qemu: &'static str,
    /// What `uname(2)` reports as the machine under that emulator, so the agent's `arch`.
    arch: &'static str,
}

const BOARDS: [Board; 2] = [
    Board {
        id: "board-aarch64",
        triple: "aarch64-unknown-linux-musl",
        qemu: "qemu-aarch64-static",
        arch: "aarch64",
    },
    Board {
        id: "board-armv7",
        triple: "armv7-unknown-linux-musleabihf",
        qemu: "qemu-arm-static",
        arch: "armv7l",
    },
];

/// `target/<triple>/board/vitals-agent`, where `make cross-test` leaves it.
fn board_bin(triple: &str) -> PathBuf {
    // This test runs as target/debug/deps/boards-<hash>.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    let path = target.join(triple).join("board").join("vitals-agent");
    assert!(
        path.exists(),
        "{} is missing: run `make cross-test` first (it builds the agent for the boards \
         and installs qemu-user-static)",
        path.display()
    );
    path
}

/// Starts the board's agent under its emulator, forwarding its stderr to ours with a prefix.
fn board_agent(board: &Board, bin: &Path, server: SocketAddr) -> Proc {
    let mut child = Command::new(board.qemu)
        .arg(bin)
        .args(["--id", board.id, "--interval", "500ms"])
        .args(["--server", &server.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}: run `make cross-test` first (it installs qemu-user-static)",
                board.qemu
            )
        });
    let stderr = child.stderr.take().unwrap();
    let id = board.id;
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{id}] {line}");
        }
    });
    Proc {
        child,
        name: board.id.to_owned(),
    }
}

#[test]
#[ignore = "needs qemu-user and the boards' builds (make cross-test): make test runs it"]
fn aarch64_and_armv7_agents_under_qemu_report_to_the_host_server() {
    // Look for every binary before starting anything, so a missing one fails at once.
    let bins: Vec<PathBuf> = BOARDS.iter().map(|b| board_bin(b.triple)).collect();
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let _agents: Vec<Proc> = BOARDS
        .iter()
        .zip(&bins)
        .map(|(board, bin)| board_agent(board, bin, server.agents))
        .collect();

    let m = wait_for(
        "both boards up with CPU series in /metrics",
        Duration::from_secs(30),
        || {
            let m = http_get(server.http, "/metrics")?.1;
            BOARDS
                .iter()
                .all(|b| {
                    value(&m, "vitals_agent_up", &[("instance", b.id)]) == Some(1.0)
                        && !series(&m, "node_cpu_seconds_total", &[("instance", b.id)]).is_empty()
                })
                .then_some(m)
        },
    );

    for board in &BOARDS {
        let info: Vec<&str> = m
            .lines()
            .filter(|l| l.starts_with("vitals_agent_info{") && l.contains(board.id))
            .collect();
        assert_eq!(
            value(
                &m,
                "vitals_agent_info",
                &[
                    ("instance", board.id),
                    ("arch", board.arch),
                    ("os", "Linux")
                ]
            ),
            Some(1.0),
            "{}: {info:?}",
            board.id
        );
        assert_eq!(
            value(
                &m,
                "node_uname_info",
                &[("instance", board.id), ("machine", board.arch)]
            ),
            Some(1.0),
            "{}",
            board.id
        );
        // The emulated agent reads the host's /proc: every CPU has idle time by now.
        let idle = series(
            &m,
            "node_cpu_seconds_total",
            &[("instance", board.id), ("mode", "idle")],
        );
        assert!(
            !idle.is_empty() && idle.iter().all(|&s| s > 0.0),
            "{}: {idle:?}",
            board.id
        );
    }
}
