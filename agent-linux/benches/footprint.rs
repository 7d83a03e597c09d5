//! `make bench`: the agent's footprint, measured on this machine beside node_exporter.
//!
//! - CPU time per sample: collect + encode (protocol v2) + send to a real `vitals-server` (release build) over
//!   loopback, against the floor of simply reading the `/proc` and `/sys` files and `statvfs`
//!   calls the sample needs, and against node_exporter answering one scrape.
//! - Bytes of this machine's sample on the wire: its v1 line, its v2 values line, and the v2
//!   declaration sent once per connection and change of series; and the next sample a second
//!   later, leaving out what did not change.
//! - Resident memory of the real `vitals-agent` binary over many samples at a fast interval.
//! - Stripped binary sizes per target (after `make cross`) beside node_exporter's.
//!
//! Heap allocations per sample are counted by the `allocs` bench (it needs a counting
//! allocator, which would slow this one down).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_core::agent::{Agent, Config, Protocol};
use agent_core::sample::Sample;
use agent_core::time::Instant as CoreInstant;
use agent_core::wire::{
    self, Hello, Message, SampleMessage, ValuesHeader, ValuesWriter, encode_declare,
};
use agent_linux::collect::Collector;
use agent_linux::transport::TcpTransport;
use rustix::time::{ClockId, clock_gettime};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// Kills the child when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> (Running, String) {
    let bin = target_dir().join("release/vitals-server");
    assert!(
        bin.exists(),
        "{} is missing: `make bench` builds it (cargo build --release)",
        bin.display()
    );
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let (agents, _) = server::parse_startup_line(&first).expect("server says where it listens");
    let agents = agents.to_string();
    (Running(child), agents)
}

/// Utime + stime of a process, from `/proc/<pid>/stat`, in seconds.
fn cpu_of(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// A `/proc/PID/status` field in KiB: `VmRSS`, or `RssAnon` (the heap and stacks, without the
/// pages of the binary and of shared libraries, which the kernel maps in as it likes).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix(" kB")?
            .parse()
            .ok()
    })
}

fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// What the real agent reads in its steady state, as strace saw it: files (read whole, as
/// [`floor`] reads them), directories (listed) and mount points (`statfs`).
#[derive(Debug, Default)]
struct Reads {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
    statfs: BTreeSet<PathBuf>,
}

/// Watches the `vitals-agent` process `pid` with strace for `window` (after its start-up, so
/// that only what it reads every sample is seen). Its own `/proc/<pid>/` becomes the bench's
/// `/proc/self/`.
fn what_the_agent_reads(pid: u32, window: Duration) -> Result<Reads, String> {
    let log = std::env::temp_dir().join(format!("vitals-floor-{}.strace", std::process::id()));
    let mut strace = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=read,pread64,getdents64,statfs",
            "-o",
        ])
        .arg(&log)
        .args(["-p", &pid.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("strace: {e} (make bench installs it)"))?;
    std::thread::sleep(window);
    // SIGINT: strace detaches and writes what it saw.
    let _ = Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = strace.wait();
    let text = fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let _ = fs::remove_file(&log);
    let own = format!("/proc/{pid}/");
    let path = |p: &str| PathBuf::from(p.replacen(&own, "/proc/self/", 1));
    let mut reads = Reads::default();
    for line in text.lines() {
        let Some((head, args)) = line.split_once('(') else {
            continue;
        };
        let call = head.rsplit(' ').next().unwrap_or_default();
        if call == "statfs" {
            if let Some(p) = args.strip_prefix('"').and_then(|a| a.split('"').next()) {
                reads.statfs.insert(path(p));
            }
            continue;
        }
        // `fd</path>` is strace -y's way of naming the descriptor's file.
        let Some(p) = args
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once(">,"))
            .map(|(p, _)| p)
            .filter(|p| p.starts_with('/'))
        else {
            continue;
        };
        match call {
            "read" | "pread64" => reads.files.insert(path(p)),
            "getdents64" => reads.dirs.insert(path(p)),
            _ => false,
        };
    }
    if reads.files.is_empty() {
        return Err("strace saw no file read".into());
    }
    Ok(reads)
}

/// The floor of any collector: the agent's files read plainly (opened, read whole and closed),
/// its directories listed and its mount points' `statvfs`, once each.
fn floor(reads: &Reads, buf: &mut Vec<u8>) {
    for path in &reads.files {
        buf.clear();
        if let Ok(mut f) = fs::File::open(path) {
            let _ = f.read_to_end(buf);
        }
    }
    for dir in &reads.dirs {
        if let Ok(entries) = fs::read_dir(dir) {
            std::hint::black_box(entries.count());
        }
    }
    for mount in &reads.statfs {
        let _ = rustix::fs::statvfs(mount);
    }
}

struct Row(String, String, String);

fn main() {
    let samples: u32 = env_or("BENCH_SAMPLES", 2000);
    let mut rows = Vec::new();

    // ---- CPU per sample, in this process, through the real code paths -------------------------
    let (_server, agents) = start_server();
    let start = Instant::now();
    let now = || CoreInstant::from_millis(start.elapsed().as_millis() as u64);
    let hello = Hello {
        id: agent_core::sample::bounded("bench"),
        interval_ms: 1,
        session: 1,
        ..Hello::default()
    };
    // What the real agent reads each sample: the floor reads the same.
    let reads = {
        let child = Command::new(target_dir().join("release/vitals-agent"))
            .args(["--server", &agents, "--id", "floor", "--interval", "100ms"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let watched = Running(child);
        std::thread::sleep(Duration::from_millis(1500));
        what_the_agent_reads(watched.0.id(), Duration::from_secs(2))
    };
    let mut collector = Collector::new();
    let mut storage = vec![0u8; 256 * 1024];
    // Protocol v2, as vitals-agent speaks by default.
    let mut agent: Agent<TcpTransport> = Agent::with_protocol(
        TcpTransport::new(vec![agents.clone()]),
        &hello,
        Config::new(Duration::from_millis(1), 1),
        Protocol::V2,
        &mut storage,
        now(),
    );
    let ready = Instant::now() + Duration::from_secs(10);
    while !agent.is_ready() {
        assert!(
            Instant::now() < ready,
            "the bench agent could not reach the server"
        );
        while agent.poll(now()).is_some() {}
        agent.transport().wait(Duration::from_millis(10));
    }
    // Warm up (caches, the files the collectors keep open), then measure.
    let record = |agent: &mut Agent<TcpTransport>, collector: &Collector, sample: &Sample| {
        agent
            .record_series(
                &mut |out| collector.series(sample, out),
                sample.time_ms,
                now(),
            )
            .unwrap();
    };
    for _ in 0..20 {
        let sample = collector.collect(0);
        record(&mut agent, &collector, &sample);
        while agent.poll(now()).is_some() {}
    }
    let cpu0 = process_cpu();
    let wall0 = Instant::now();
    for _ in 0..samples {
        let sample = collector.collect(0);
        record(&mut agent, &collector, &sample);
        while agent.poll(now()).is_some() {}
    }
    let agent_cpu = (process_cpu() - cpu0).as_secs_f64() / f64::from(samples);
    let agent_wall = wall0.elapsed().as_secs_f64() / f64::from(samples);
    let stats = agent.stats();

    let sample = collector.collect(0);
    let series = {
        struct Count(usize);
        impl agent_core::catalogue::Series for Count {
            fn add(&mut self, _: u16, _: &[&str], _: f64) {
                self.0 += 1;
            }
        }
        let mut count = Count(0);
        collector.series(&sample, &mut count);
        count.0
    };

    rows.push(Row(
        "agent CPU per sample (collect+encode+send)".into(),
        format!("{:.1} µs", agent_cpu * 1e6),
        format!(
            "{samples} samples, wall {:.1} µs each, {} pending at end",
            agent_wall * 1e6,
            stats.pending
        ),
    ));
    match &reads {
        Ok(reads) => {
            let mut buf = Vec::with_capacity(64 * 1024);
            let cpu0 = process_cpu();
            for _ in 0..samples {
                floor(reads, &mut buf);
            }
            let floor_cpu = (process_cpu() - cpu0).as_secs_f64() / f64::from(samples);
            rows.push(Row(
                "floor: read the same files + statvfs".into(),
                format!("{:.1} µs", floor_cpu * 1e6),
                format!(
                    "agent / floor = {:.2}x (goal <= 3x); {} files, {} directories, {} statfs, \
                     as strace saw the real agent read them",
                    agent_cpu / floor_cpu,
                    reads.files.len(),
                    reads.dirs.len(),
                    reads.statfs.len()
                ),
            ));
        }
        Err(e) => rows.push(Row(
            "floor: read the same files + statvfs".into(),
            "-".into(),
            format!("not measured: {e}"),
        )),
    }
    rows.push(Row(
        "series per sample".into(),
        series.to_string(),
        "what this machine's agent declares (protocol v2)".into(),
    ));

    // ---- bytes of this machine's sample on the wire, in each protocol -------------------------
    let mut line = vec![0u8; wire::MAX_LINE + 1];
    let message = Message::Sample(SampleMessage {
        seq: 1,
        dropped: 0,
        sample: &sample,
    });
    let v1 = wire::encode(&message, &mut line).unwrap();
    let declaration =
        encode_declare(1, &mut |out| collector.series(&sample, out), &mut line).unwrap();
    let header = ValuesHeader {
        seq: 1,
        dropped: 0,
        g: 1,
        t: sample.time_ms,
    };
    // The same series as v1's line, then every series the agent declares.
    let mut writer = ValuesWriter::new(&header, &mut line);
    sample.series(&mut writer);
    let values = writer.finish().unwrap();
    let mut writer = ValuesWriter::new(&header, &mut line);
    collector.series(&sample, &mut writer);
    let all_values = writer.finish().unwrap();
    rows.push(Row(
        "bytes per sample on the wire, v2 (v1), v1's series".into(),
        format!("{values} B ({v1} B)"),
        format!("v2 / v1 = {:.2}", values as f64 / v1 as f64),
    ));
    rows.push(Row(
        "bytes per sample on the wire, v2, every series".into(),
        format!("{all_values} B"),
        format!(
            "{series} series; the v2 declaration, once per connection and change: {declaration} B"
        ),
    ));
    // The next sample a second later, leaving out what it shares with this one, as the agent
    // sends it to a server that reads such lines.
    let first = line[..all_values].to_vec();
    std::thread::sleep(Duration::from_secs(1));
    let next = collector.collect(0);
    let header = ValuesHeader {
        seq: 2,
        t: next.time_ms,
        ..header
    };
    let mut writer = ValuesWriter::new(&header, &mut line);
    collector.series(&next, &mut writer);
    let next_len = writer.finish().unwrap();
    let mut shorter = vec![0u8; wire::MAX_LINE + 1];
    let same = wire::delta(&first, &line[..next_len], &mut shorter).unwrap_or(next_len);
    rows.push(Row(
        "bytes per sample on the wire, v2, every series, a second later".into(),
        format!("{same} B"),
        format!(
            "leaving out what did not change (`same`): {:.2} of the whole line ({next_len} B)",
            same as f64 / next_len as f64
        ),
    ));

    // ---- node_exporter answering one scrape ----------------------------------------------------
    let scrapes: u32 = env_or("BENCH_SCRAPES", 50);
    match Command::new("prometheus-node-exporter")
        .arg("--web.listen-address=127.0.0.1:19111")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => {
            let ne = Running(child);
            let pid = ne.0.id();
            let get = || -> Option<usize> {
                let mut s = TcpStream::connect("127.0.0.1:19111").ok()?;
                write!(
                    s,
                    "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                .ok()?;
                let mut body = Vec::new();
                s.read_to_end(&mut body).ok()?;
                // Its series: the lines of the body but comments.
                let text = String::from_utf8_lossy(&body);
                let (_, body) = text.split_once("\r\n\r\n")?;
                Some(
                    body.lines()
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .count(),
                )
            };
            let up = Instant::now() + Duration::from_secs(10);
            while get().is_none() && Instant::now() < up {
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut ne_series = 0;
            for _ in 0..3 {
                ne_series = get().unwrap_or(0);
            }
            let before = cpu_of(pid);
            for _ in 0..scrapes {
                get();
            }
            let per_scrape = (cpu_of(pid) - before) / f64::from(scrapes);
            rows.push(Row(
                "node_exporter CPU per scrape (defaults)".into(),
                format!("{:.1} µs", per_scrape * 1e6),
                format!(
                    "{scrapes} scrapes of {ne_series} series (its go_*, process_* and \
                     promhttp_* among them) against the agent's {series}; node_exporter / agent \
                     = {:.1}x (goal >= 10x)",
                    per_scrape / agent_cpu
                ),
            ));
            rows.push(Row(
                "node_exporter RSS".into(),
                format!("{} KiB", rss_kib(pid).unwrap_or(0)),
                "after the scrapes".into(),
            ));
        }
        Err(e) => rows.push(Row(
            "node_exporter".into(),
            "-".into(),
            format!("not run: {e}"),
        )),
    }

    // ---- RSS of the real agent over many samples -----------------------------------------------
    // The release build (glibc, dynamic) and, when `make images` or `make bench` built it, the
    // static musl build that the images and boards run, side by side.
    let rss_samples: u64 = env_or("BENCH_RSS_SAMPLES", 3600);
    let interval_ms: u64 = env_or("BENCH_RSS_INTERVAL_MS", 100);
    let builds: Vec<(&str, PathBuf)> = [
        (
            "release, x86_64 glibc",
            target_dir().join("release/vitals-agent"),
        ),
        (
            "static, x86_64 musl",
            target_dir().join("x86_64-unknown-linux-musl/board/vitals-agent"),
        ),
    ]
    .into_iter()
    .filter(|(_, bin)| bin.exists())
    .collect();
    let running: Vec<Running> = builds
        .iter()
        .map(|(_, bin)| {
            let child = Command::new(bin)
                .args([
                    "--server",
                    &agents,
                    "--id",
                    "rss",
                    "--interval",
                    &format!("{interval_ms}ms"),
                ])
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            Running(child)
        })
        .collect();
    let total = Duration::from_millis(rss_samples * interval_ms);
    let began = Instant::now();
    // (seconds, RSS, anonymous) of each build.
    let mut readings: Vec<Vec<(u64, u64, u64)>> = vec![Vec::new(); running.len()];
    while began.elapsed() < total {
        std::thread::sleep(
            (total / 10)
                .min(total.saturating_sub(began.elapsed()))
                .max(Duration::from_millis(100)),
        );
        for (agent, out) in running.iter().zip(&mut readings) {
            let pid = agent.0.id();
            out.push((
                began.elapsed().as_secs(),
                rss_kib(pid).unwrap_or(0),
                status_kib(pid, "RssAnon").unwrap_or(0),
            ));
        }
    }
    for ((build, _), readings) in builds.iter().zip(&readings) {
        let first = readings.first().copied().unwrap_or_default();
        let last = readings.last().copied().unwrap_or_default();
        let max = readings.iter().map(|r| r.1).max().unwrap_or(0);
        rows.push(Row(
            format!("vitals-agent RSS ({build})"),
            format!("{} KiB", last.1),
            format!(
                "{rss_samples} samples at {interval_ms} ms: first {} KiB, max {max} KiB, last {} KiB \
                 (goal < 3072, flat); of which anonymous (heap, stacks) {} then {} KiB, the rest \
                 the binary's and shared libraries' pages: {}",
                first.1,
                last.1,
                first.2,
                last.2,
                readings
                    .iter()
                    .map(|(t, r, _)| format!("{t}s:{r}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
    }
    drop(running);

    // ---- binary sizes ----------------------------------------------------------------------------
    for triple in [
        "x86_64-unknown-linux-gnu (release)",
        "aarch64-unknown-linux-gnu",
        "armv7-unknown-linux-gnueabihf",
        "aarch64-unknown-linux-musl",
        "armv7-unknown-linux-musleabihf",
    ] {
        let path = match triple.split_once(' ') {
            Some(_) => target_dir().join("release/vitals-agent"),
            None => target_dir().join(triple).join("board/vitals-agent"),
        };
        let size = fs::metadata(&path).map(|m| format!("{} KiB", m.len() / 1024));
        rows.push(Row(
            format!("vitals-agent size, {triple}"),
            size.unwrap_or_else(|_| "-".into()),
            if triple == "aarch64-unknown-linux-musl" {
                "stripped (goal < 1024 KiB)".into()
            } else {
                "stripped".into()
            },
        ));
    }
    if let Ok(m) = fs::metadata("/usr/bin/prometheus-node-exporter") {
        rows.push(Row(
            "node_exporter size (Debian, x86_64)".into(),
            format!("{} KiB", m.len() / 1024),
            String::new(),
        ));
    }

    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    println!("\n{:<w0$}  {:>w1$}  notes", "measure", "value");
    println!("{}", "-".repeat(w0 + w1 + 10));
    for Row(a, b, c) in rows {
        println!("{a:<w0$}  {b:>w1$}  {c}");
    }
}
