//! `make soak`: a few hundred simulated agents against one vitals-server for a long time, with
//! faults injected on a schedule, and the server's resident memory and open descriptors printed
//! as a table as it goes. They must stay flat, every agent must come back after every fault
//! within the agents' backoff cap, and no agent may have a gap in its sequence numbers.
//!
//! The faults, in turn: a quarter of the agents' connections reset (`ss -K`, as a flaky network
//! would); a third of the agents killed and started again (new sessions); the server stopped with
//! SIGTERM and started again on the same port; the server killed (SIGKILL) and started again.
//! The agents are `vitals-loadgen --reconnect` processes, one per third of the fleet.
//!
//! `SOAK_SECONDS` (default 1800), `SOAK_AGENTS` (default 300), `SOAK_FAULT_EVERY` seconds
//! (default a twelfth of the run, 10 to 120). Everything stays on 127.0.0.1.

mod common;

use common::{Running, bin, env_or, free_port, open_fds, rss_mib, start_server};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Simulated agents come back within this after a fault (their backoff cap), plus the time to
/// reconnect a few hundred of them.
const BACK_WITHIN: Duration = Duration::from_secs(35);

/// Loadgen processes: each holds a third of the agents, so that one can be killed.
const GROUPS: usize = 3;

fn start_group(agents: SocketAddr, group: usize, count: u64, seconds: u64) -> Running {
    let child = Command::new(bin("vitals-loadgen"))
        .args(["--server", &agents.to_string()])
        .args(["--agents", &count.to_string(), "--rate", "1", "--reconnect"])
        .args(["--threads", "1", "--prefix", &format!("soak{group}")])
        .args(["--seconds", &seconds.min(3600).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child)
}

fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.0\r\nHost: soak\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}

/// The sum of every series of `name` (0 when there is none).
fn sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Connections the server has accepted.
fn accepted(http: SocketAddr) -> f64 {
    scrape(http).map_or(0.0, |m| sum(&m, "vitals_server_connections_total"))
}

/// Polls until all `agents` are connected and the server has accepted at least `accepted`
/// connections (so that agents that were cut off are counted only once they have come back);
/// how long it took.
fn all_back(http: SocketAddr, agents: u64, accepted: f64) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < BACK_WITHIN {
        if scrape(http).is_some_and(|m| {
            sum(&m, "vitals_server_agents_connected") == agents as f64
                && sum(&m, "vitals_server_connections_total") >= accepted
        }) {
            return Some(started.elapsed());
        }
        thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Resets about a quarter of the agents' connections from outside, as a flaky network would.
fn reset_some(agents: SocketAddr) -> usize {
    let port = agents.port();
    let out = Command::new("ss")
        .args([
            "-tnH",
            "state",
            "established",
            &format!("( dport = :{port} )"),
        ])
        .output();
    let Ok(out) = out else { return 0 };
    let ports: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .nth(2)?
                .rsplit(':')
                .next()
                .map(str::to_owned)
        })
        .step_by(4)
        .collect();
    for chunk in ports.chunks(32) {
        let filter = chunk
            .iter()
            .map(|p| format!("sport = :{p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let _ = Command::new("ss")
            .args(["-K", "-tnH", "state", "established"])
            .arg(format!("( dport = :{port} ) and ( {filter} )"))
            .stdout(Stdio::null())
            .status();
    }
    ports.len()
}

/// One line of the table.
struct Reading {
    at: Duration,
    server: u32,
    uptime: Duration,
    rss: f64,
    fds: usize,
    connected: f64,
    frames_per_s: f64,
    gaps: f64,
    event: String,
}

fn main() -> ExitCode {
    let seconds = env_or("SOAK_SECONDS", 1800);
    let agents = env_or("SOAK_AGENTS", 300).max(GROUPS as u64);
    let fault_every =
        Duration::from_secs(env_or("SOAK_FAULT_EVERY", (seconds / 12).clamp(10, 120)));
    let report_every = Duration::from_secs((seconds / 60).clamp(5, 30));
    let per_group = agents / GROUPS as u64;
    let agents = per_group * GROUPS as u64;
    let (agents_addr, http) = (free_port(), free_port());
    println!(
        "soak: {agents} agents (vitals-loadgen --reconnect, 1 sample/s) for {seconds} s, a fault every {} s, server on {agents_addr}",
        fault_every.as_secs()
    );

    let started = Instant::now();
    let mut server = start_server(&agents_addr.to_string(), &http.to_string()).0;
    let mut server_started = Instant::now();
    // Loadgen runs past the end, so that it does not stop first.
    let mut groups: Vec<Running> = (0..GROUPS)
        .map(|g| start_group(agents_addr, g, per_group, seconds + 120))
        .collect();
    let Some(took) = all_back(http, agents, agents as f64) else {
        eprintln!("soak: the agents did not all connect");
        return ExitCode::FAILURE;
    };
    println!("all {agents} connected in {took:.1?}\n");
    println!(
        "{:>7} {:>8} {:>8} {:>8} {:>6} {:>7} {:>9} {:>5}  event",
        "t (s)", "server", "up (s)", "RSS MiB", "fds", "agents", "frames/s", "gaps"
    );

    let mut readings: Vec<Reading> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    let mut last_frames: Option<(Instant, f64, u32)> = None;
    let mut next_report = Instant::now();
    let mut next_fault = Instant::now() + fault_every;
    let mut fault = 0usize;
    let end = started + Duration::from_secs(seconds);
    while Instant::now() < end {
        if Instant::now() >= next_fault {
            next_fault += fault_every;
            // The connections the server must have accepted for everyone to be back.
            let mut expect = accepted(http);
            let what = match fault % 4 {
                0 => {
                    let n = reset_some(agents_addr);
                    expect += n as f64;
                    format!("reset {n} connections")
                }
                1 => {
                    expect += per_group as f64;
                    let g = (fault / 4) % GROUPS;
                    groups[g].signal("KILL");
                    let _ = groups[g].wait_exit(Duration::from_secs(5));
                    let left = end.saturating_duration_since(Instant::now()).as_secs();
                    groups[g] = start_group(agents_addr, g, per_group, left + 120);
                    format!("killed and restarted {per_group} agents")
                }
                k => {
                    let signal = if k == 2 { "TERM" } else { "KILL" };
                    server.signal(signal);
                    let exited = server.wait_exit(Duration::from_secs(5));
                    if signal == "TERM" && exited.is_none_or(|t| t > Duration::from_secs(1)) {
                        failures.push(format!("SIGTERM: server exit took {exited:?}"));
                    }
                    drop(server);
                    expect = agents as f64;
                    server = start_server(&agents_addr.to_string(), &http.to_string()).0;
                    server_started = Instant::now();
                    match exited {
                        Some(t) if signal == "TERM" => {
                            format!("server SIGTERM (exit in {} ms), restarted", t.as_millis())
                        }
                        _ => format!("server SIG{signal}, restarted"),
                    }
                }
            };
            fault += 1;
            let back = all_back(http, agents, expect);
            if back.is_none() {
                failures.push(format!(
                    "after `{what}` not every agent was back within {BACK_WITHIN:?}"
                ));
            }
            let back = back.map_or("NOT ALL BACK".to_owned(), |t| {
                format!("all back in {t:.1?}")
            });
            events.push(format!("{what}; {back}"));
        }
        if Instant::now() >= next_report {
            next_report += report_every;
            let Some(m) = scrape(http) else {
                events.push("scrape failed".into());
                continue;
            };
            let now = Instant::now();
            let pid = server.pid();
            let frames = sum(&m, "vitals_server_frames_received_total");
            let frames_per_s = match last_frames {
                Some((at, before, same)) if same == pid && frames >= before => {
                    (frames - before) / now.duration_since(at).as_secs_f64()
                }
                _ => f64::NAN,
            };
            last_frames = Some((now, frames, pid));
            let r = Reading {
                at: started.elapsed(),
                server: pid,
                uptime: server_started.elapsed(),
                rss: rss_mib(pid),
                fds: open_fds(pid),
                connected: sum(&m, "vitals_server_agents_connected"),
                frames_per_s,
                gaps: sum(&m, "vitals_agent_sequence_gaps_total"),
                event: events.join("; "),
            };
            events.clear();
            let frames_per_s = if r.frames_per_s.is_finite() {
                format!("{:.0}", r.frames_per_s)
            } else {
                "-".to_owned()
            };
            println!(
                "{:>7.0} {:>8} {:>8.0} {:>8.1} {:>6} {:>7} {:>9} {:>5}  {}",
                r.at.as_secs_f64(),
                r.server,
                r.uptime.as_secs_f64(),
                r.rss,
                r.fds,
                r.connected,
                frames_per_s,
                r.gaps,
                r.event
            );
            if r.gaps > 0.0 {
                failures.push(format!("{} samples missing at {:.0?}", r.gaps, r.at));
            }
            readings.push(r);
        }
        let next = next_report.min(next_fault).min(end);
        thread::sleep(
            next.saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1)),
        );
    }

    // Flat: among readings with every agent connected and the server up for a while (its
    // memory reaches its level within about ten seconds of a fleet's samples), memory stays
    // within a quarter (and 4 MiB) of the least, and the descriptors are the agents' sockets
    // plus a constant.
    let warm = report_every.max(Duration::from_secs(10));
    let steady: Vec<&Reading> = readings
        .iter()
        .filter(|r| r.connected == agents as f64 && r.uptime >= warm)
        .collect();
    if let (Some(min), Some(max)) = (
        steady.iter().map(|r| r.rss).reduce(f64::min),
        steady.iter().map(|r| r.rss).reduce(f64::max),
    ) {
        println!(
            "\nRSS with all {agents} agents: {min:.1} to {max:.1} MiB over {} readings",
            steady.len()
        );
        if max > min * 1.25 + 4.0 {
            failures.push(format!("RSS grew from {min:.1} to {max:.1} MiB"));
        }
    } else {
        failures.push("no steady reading".into());
    }
    let overhead: Vec<usize> = steady
        .iter()
        .map(|r| r.fds.saturating_sub(agents as usize))
        .collect();
    if let (Some(min), Some(max)) = (overhead.iter().min(), overhead.iter().max()) {
        println!("open descriptors besides the agents' sockets: {min} to {max}");
        if max - min > 8 {
            failures.push(format!(
                "descriptors besides the agents' grew from {min} to {max}"
            ));
        }
    }
    drop(groups);
    if failures.is_empty() {
        println!("soak: passed (flat, every agent back after every fault, no sequence gaps)");
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            println!("soak: FAILED: {f}");
        }
        ExitCode::FAILURE
    }
}
