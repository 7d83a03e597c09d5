//! The firmware (`make firmware`: agent-core on a Cortex-M3) in qemu-system-arm's lm3s6965evb,
//! its UART0 joined to a real `vitals-server`'s agent port through QEMU's reconnecting socket
//! chardev: the board appears in `/metrics` as a `thumbv7m` agent, and when the server is killed
//! and a new one starts on the same port, the board comes back by itself, without a reboot.
//!
//! A second test runs the board beside a v1 and a v2 `vitals-agent` on one server.
//!
//! A missing ELF or emulator fails the test, as in `boards.rs`: skipping would pass CI without
//! ever running the firmware.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Proc, Server, http_get, value, wait_for};

/// The agent id the firmware is built with by default.
const ID: &str = "lm3s6965evb";

/// `target/thumbv7m-none-eabi/release/vitals-firmware`, where `make firmware` leaves it.
fn firmware_elf() -> PathBuf {
    // This test runs as target/debug/deps/firmware-<hash>.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    let path = target
        .join("thumbv7m-none-eabi")
        .join("release")
        .join("vitals-firmware");
    assert!(
        path.exists(),
        "{} is missing: run `make firmware` first (it builds the firmware and installs \
         qemu-system-arm)",
        path.display()
    );
    path
}

/// The board in QEMU, UART0 a TCP client of `server` that reconnects every second, UART1 (the
/// firmware's console) on QEMU's stdout: forwarded to ours, and each line to the receiver.
fn board(elf: &PathBuf, server: SocketAddr) -> (Proc, mpsc::Receiver<String>) {
    let link = format!(
        "socket,id=link,host={},port={},reconnect=1",
        server.ip(),
        server.port()
    );
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "lm3s6965evb", "-nodefaults", "-display", "none"])
        .arg("-kernel")
        .arg(elf)
        .args(["-chardev", &link, "-serial", "chardev:link"])
        .args(["-serial", "stdio"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start qemu-system-arm: {e}: run `make firmware` first (it installs it)")
        });
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let line = line.trim_end().to_owned();
            eprintln!("[board] {line}");
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[qemu] {line}");
        }
    });
    (
        Proc {
            child,
            name: "qemu-system-arm".into(),
        },
        rx,
    )
}

/// A scrape in which the board is up with samples merged, as a thumbv7m agent without an OS.
fn board_up(server: &Server) -> Option<String> {
    let m = http_get(server.http, "/metrics")?.1;
    let info = [("instance", ID), ("arch", "thumbv7m"), ("os", "none")];
    (value(&m, "vitals_agent_info", &info) == Some(1.0)
        && value(&m, "vitals_agent_up", &[("instance", ID)]) == Some(1.0)
        && value(&m, "vitals_agent_samples_total", &[("instance", ID)]).is_some_and(|n| n >= 2.0))
    .then_some(m)
}

/// The board's uptime, which its clock (SysTick) gives as `node_time_seconds` (the board's
/// clock starts at the epoch when it boots: `node_boot_time_seconds` is 0).
fn uptime(m: &str) -> f64 {
    value(m, "node_time_seconds", &[("instance", ID)]).expect("node_time_seconds")
}

/// The number after `prefix` in the last console line that has it.
fn last_logged(console: &[String], prefix: &str) -> Option<u64> {
    console.iter().rev().find_map(|line| {
        let rest = &line[line.find(prefix)? + prefix.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

#[test]
#[ignore = "needs qemu-system-arm and the firmware's build (make firmware): make test runs it"]
fn the_firmware_reports_through_its_uart_and_survives_a_server_restart() {
    let elf = firmware_elf();
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let started = Instant::now();
    let (_board, console_rx) = board(&elf, server.agents);
    let mut console = Vec::new();

    let m = wait_for(
        "the board in /metrics as a thumbv7m agent",
        Duration::from_secs(30),
        || board_up(&server),
    );
    let first_seen = started.elapsed();
    let mut uname = vec![
        ("instance", ID),
        ("machine", "thumbv7m"),
        ("sysname", "none"),
    ];
    uname.push(("nodename", ID));
    assert_eq!(value(&m, "node_uname_info", &uname), Some(1.0), "{m}");
    assert_eq!(
        value(&m, "node_memory_MemTotal_bytes", &[("instance", ID)]),
        Some(65536.0)
    );
    assert_eq!(
        value(&m, "node_boot_time_seconds", &[("instance", ID)]),
        Some(0.0)
    );
    let idle = value(
        &m,
        "node_cpu_seconds_total",
        &[("instance", ID), ("mode", "idle")],
    );
    assert!(idle.is_some_and(|s| s > 0.0), "idle seconds {idle:?}");
    let usage = value(&m, "vitals_cpu_usage_ratio", &[("instance", ID)]);
    assert!(usage.is_some_and(|u| (0.0..=1.0).contains(&u)), "{usage:?}");
    let celsius = value(
        &m,
        "node_hwmon_temp_celsius",
        &[("instance", ID), ("chip", "synthetic"), ("sensor", "temp1")],
    );
    assert!(
        celsius.is_some_and(|c| (22.0..=28.0).contains(&c)),
        "{celsius:?}"
    );
    let (uptime_before, wall_before) = (uptime(&m), Instant::now());

    // The server goes away without a word; a new one takes the same port.
    let agents = server.agents;
    let mut server = server;
    server.proc.kill();
    let restarted = Instant::now();
    let server = Server::start(&agents.to_string(), "127.0.0.1:0", &[]);
    assert_eq!(server.agents, agents);
    let m = wait_for(
        "the board back in the new server's /metrics",
        Duration::from_secs(40),
        || board_up(&server),
    );
    let back_after = restarted.elapsed();

    // The same run of the firmware, not a reboot: its clock went on, at the wall clock's pace
    // (each side read within one sample interval of the other).
    let (uptime_after, wall) = (uptime(&m), wall_before.elapsed().as_secs_f64());
    let advanced = uptime_after - uptime_before;
    assert!(
        (advanced - wall).abs() < 2.5,
        "the board's clock advanced {advanced:.3} s in {wall:.3} s of wall time"
    );

    // The console tells the same story: lost, then welcomed again on a later connection.
    console.extend(console_rx.try_iter());
    let text = console.join("\n");
    assert!(text.contains("link: lost ("), "{text}");
    assert!(
        last_logged(&console, "hello sent (connection ").is_some_and(|n| n >= 2),
        "{text}"
    );
    assert!(text.matches("link: welcomed").count() >= 2, "{text}");

    // RAM the board reports free is what its statics and its deepest stack left: the stack's
    // high watermark, which the console logs when it grows.
    let statics = last_logged(&console, "statics ").expect("the console says the statics");
    let (peak, free) = wait_for(
        "node_memory_MemFree_bytes to match the logged stack peak",
        Duration::from_secs(10),
        || {
            console.extend(console_rx.try_iter());
            let peak = last_logged(&console, "stack peak ")?;
            let m = http_get(server.http, "/metrics")?.1;
            let free = value(&m, "node_memory_MemFree_bytes", &[("instance", ID)])?;
            (65536.0 - free - statics as f64 == peak as f64).then_some((peak, free))
        },
    );
    eprintln!(
        "firmware: in /metrics {:.1} s after QEMU started; back {:.1} s after the server \
         restarted; statics {statics} B, stack peak {peak} B, RAM never used {free} B",
        first_seen.as_secs_f64(),
        back_after.as_secs_f64()
    );
}

#[test]
#[ignore = "needs qemu-system-arm and the firmware's build (make firmware): make test runs it"]
fn a_v1_agent_a_v2_agent_and_the_firmware_share_one_server() {
    let elf = firmware_elf();
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let (_board, _console) = board(&elf, server.agents);
    let _old = common::agent_with("host-v1", &[server.agents], "1s", &["--protocol", "1"]);
    let _new = common::agent("host-v2", &[server.agents], "1s");
    let m = wait_for(
        "the board, a v1 agent and a v2 agent in one /metrics",
        Duration::from_secs(30),
        || {
            let m = http_get(server.http, "/metrics")?.1;
            let merged = |agent| {
                value(&m, "vitals_agent_samples_total", &[("instance", agent)])
                    .is_some_and(|n| n >= 2.0)
            };
            [ID, "host-v1", "host-v2"]
                .into_iter()
                .all(merged)
                .then_some(m)
        },
    );
    for (agent, protocol) in [(ID, "2"), ("host-v1", "1"), ("host-v2", "2")] {
        let info = [("instance", agent), ("protocol", protocol)];
        assert_eq!(value(&m, "vitals_agent_info", &info), Some(1.0), "{m}");
        let idle = [("instance", agent), ("mode", "idle")];
        assert!(
            value(&m, "node_cpu_seconds_total", &idle).is_some_and(|s| s > 0.0),
            "{agent}: {m}"
        );
    }
    // The two hosts are this machine, seen through either protocol: the same CPUs. (Not every
    // series: tests running beside this one make and remove network interfaces.)
    let cpus = |agent| common::series(&m, "node_cpu_seconds_total", &[("instance", agent)]).len();
    assert!(cpus("host-v1") >= 8);
    assert_eq!(cpus("host-v1"), cpus("host-v2"));
    assert!(common::promtool_complaints(&m).is_empty());
}
