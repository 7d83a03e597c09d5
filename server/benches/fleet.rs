//! `make bench`, the server's half: one table of what one vitals-server holds on this machine,
//! beside a do-nothing reader on the same sockets and beside Pushgateway holding the same series.
//!
//! - Protocol v1 (whole samples) and v2 (a declaration, then values) side by side: peak ingest,
//!   and the server's and the reader's CPU at 10,000 agents.
//! - Peak ingest: `vitals-loadgen --flat-out` against the real server and against
//!   `vitals-loadgen --sink` (reads lines, acknowledges them, decodes nothing; epoll, a thread
//!   per core, resting between passes as the server does, `io::pacer::Pacer`): the ceiling.
//!   The same reader's CPU at 10,000 agents a second is what the kernel alone costs for that
//!   load.
//! - Steady state at 1,000 and 10,000 agents sending a sample a second: server CPU and RSS, and
//!   the latency and size of a scrape, plain and gzipped. CPU is shown in user space (the
//!   server's own work) and in the kernel (sockets), beside the reader's: the median of three
//!   10 s windows, and the lowest and highest, as one window moves by a fifth on this VM.
//! - Pushgateway 1.5 (Debian's) holding the same number of agents' series, pushed over its HTTP
//!   API (consistency check off, or loading 10,000 groups would take hours): RSS and scrapes.
//! - Remote write (`--remote-write`) at 10,000 agents into a do-nothing store on loopback
//!   (`common::receiver`): samples delivered a second, the server's CPU and RSS beside the
//!   scrape-only server's above, and the delay from a sample's time to the store's answer.

mod common;

use common::{
    Running, bin, env_or, free_port, receiver, rss_mib, start_server, start_server_with,
    user_system_seconds,
};

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One GET; returns (seconds, body bytes as sent, body).
fn scrape(addr: SocketAddr, gzip: bool) -> (f64, usize, Vec<u8>) {
    let started = Instant::now();
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (f64::NAN, 0, Vec::new());
    };
    let enc = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{enc}Connection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let elapsed = started.elapsed().as_secs_f64();
    let head = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    let body = response.split_off(head);
    let chunked = String::from_utf8_lossy(&response)
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let sent = body.len();
    (
        elapsed,
        sent,
        if chunked {
            common::chunked::dechunk(&body)
        } else {
            body
        },
    )
}

/// The do-nothing reader, listening, acking as often as agents that say `ack_every`; and where.
/// (It reads no hello, so it must be told.)
fn start_sink(ack_every: &str) -> (Running, SocketAddr) {
    let addr = free_port();
    let sink = Running(
        Command::new(bin("vitals-loadgen"))
            .args(["--sink", &addr.to_string(), "--seconds", "600"])
            .args(["--ack-every", ack_every])
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    thread::sleep(Duration::from_millis(300));
    (sink, addr)
}

/// The peak's agents ask for an ack every 8 samples and send 16 ahead, as agents did before they
/// sized their acks by their samples, so that the peak stays comparable between runs.
const PEAK_ACK_EVERY: &str = "8";

/// How long agents have to connect and settle before anything is measured.
const SETTLE: Duration = Duration::from_secs(15);

/// How many 10 s windows of CPU are taken, of which the table shows the median.
const CPU_WINDOWS: usize = 3;

/// The steady load's agents ask for an ack every this many samples, as `vitals-agent` does with
/// its default `--buffer` and samples of their size.
fn steady_ack_every() -> String {
    server::synthetic::agent_ack_every().to_string()
}

/// `n` agents sending a sample a second to `to` for `steady` seconds in `protocol` ("1" or "2"),
/// on a thread that returns the load generator's report; returns once they have had [`SETTLE`]
/// to connect and settle.
fn steady_load(to: SocketAddr, n: u64, steady: u64, protocol: &str) -> thread::JoinHandle<String> {
    steady_load_with(to, n, steady, &strings(&["--protocol", protocol]))
}

/// [`steady_load`] with the load generator's `extra` arguments.
fn steady_load_with(
    to: SocketAddr,
    n: u64,
    steady: u64,
    extra: &[String],
) -> thread::JoinHandle<String> {
    let args = strings(&[
        "--server",
        &to.to_string(),
        "--agents",
        &n.to_string(),
        "--rate",
        "1",
        "--seconds",
        &steady.to_string(),
    ]);
    // The agent's ack_every, unless the series are a recording's (which has its own).
    let ack = if extra.iter().any(|a| a == "--record") {
        Vec::new()
    } else {
        strings(&["--ack-every", &steady_ack_every()])
    };
    let args = [args, ack, extra.to_vec()].concat();
    let generator = thread::spawn(move || loadgen(&args));
    thread::sleep(SETTLE);
    generator
}

/// A process's CPU in user space and in the kernel, as shares of one core.
type Cpu = (f64, f64);

/// A process's CPU over the next [`CPU_WINDOWS`] windows of ten seconds, sorted by total.
fn cpu_windows(pid: u32) -> Vec<Cpu> {
    let mut windows: Vec<Cpu> = (0..CPU_WINDOWS)
        .map(|_| {
            let ((user0, system0), at0) = (user_system_seconds(pid), Instant::now());
            thread::sleep(Duration::from_secs(10));
            let (user1, system1) = user_system_seconds(pid);
            let seconds = at0.elapsed().as_secs_f64();
            ((user1 - user0) / seconds, (system1 - system0) / seconds)
        })
        .collect();
    windows.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
    windows
}

/// The median window's share of one core, user and system together.
fn median(windows: &[Cpu]) -> f64 {
    windows
        .get(windows.len() / 2)
        .map_or(f64::NAN, |(user, system)| user + system)
}

/// CPU windows as the table shows them: the median's total, its user and system parts, and
/// the range of the totals.
fn cpu_figures(windows: &[Cpu]) -> String {
    let total = |(user, system): Cpu| (user + system) * 100.0;
    let Some(&(user, system)) = windows.get(windows.len() / 2) else {
        return "not measured".into();
    };
    let (low, high) = (
        windows.first().copied().map_or(f64::NAN, total),
        windows.last().copied().map_or(f64::NAN, total),
    );
    format!(
        "{:.1}% of one core (user {:.1}%, system {:.1}%; {low:.1}-{high:.1}% over {} windows of 10 s)",
        total((user, system)),
        user * 100.0,
        system * 100.0,
        windows.len()
    )
}

/// A scrape's time and size, and per series when the series are counted.
fn scrape_figures(seconds: f64, bytes: usize, series: Option<usize>) -> String {
    let head = format!("{:.0} ms, {:.1} MB", seconds * 1e3, bytes as f64 / 1e6);
    match series {
        None => head,
        Some(series) => format!(
            "{head}, {series} series: {:.2} µs and {:.0} B per series",
            seconds * 1e6 / series.max(1) as f64,
            bytes as f64 / series.max(1) as f64
        ),
    }
}

fn series_in(body: &[u8]) -> usize {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

/// Runs the load generator; returns its report line.
fn loadgen(args: &[String]) -> String {
    let out = Command::new(bin("vitals-loadgen"))
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The number after `label` in a load generator report.
fn field(report: &str, label: &str) -> f64 {
    report
        .split(label)
        .nth(1)
        .and_then(|r| {
            r.trim_start_matches([' ', '('])
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 10);
    // Long enough to settle, take the CPU windows and scrape while the agents still send.
    let least = SETTLE.as_secs() + 10 * CPU_WINDOWS as u64 + 5;
    let steady = env_or("BENCH_STEADY_SECONDS", least).max(least);
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |what: String, value: String| {
        eprintln!("  {what}: {value}");
        rows.push((what, value));
    };

    // ---- each protocol: peak ingest and 10k agents, the server against the reader -------------
    // v1 sends each sample whole; v2 a declaration per connection, then values.
    let mut reader_cpu = [f64::NAN; 2];
    for (k, protocol) in ["1", "2"].into_iter().enumerate() {
        let flat = strings(&[
            "--protocol",
            protocol,
            "--agents",
            "200",
            "--flat-out",
            "--window",
            "16",
            "--ack-every",
            PEAK_ACK_EVERY,
            "--seconds",
            &seconds.to_string(),
        ]);
        let (sink, sink_addr) = start_sink(PEAK_ACK_EVERY);
        let ceiling =
            loadgen(&[strings(&["--server", &sink_addr.to_string()]), flat.clone()].concat());
        drop(sink);
        let (server, agents, _) = start_server("127.0.0.1:0", "127.0.0.1:0");
        let ours = loadgen(&[strings(&["--server", &agents.to_string()]), flat].concat());
        drop(server);
        let per_s = |r: &str| field(r, "acknowledged") / seconds as f64;
        let bytes_per_sample =
            |r: &str| field(r, "/s,") * 1e6 / (field(r, "sent") / seconds as f64);
        row(
            format!("v{protocol}: peak ingest, do-nothing reader (200 agents flat out)"),
            format!(
                "{:.0} frames/s, {} MB/s",
                per_s(&ceiling),
                field(&ceiling, "/s,")
            ),
        );
        row(
            format!("v{protocol}: peak ingest, vitals-server (same load)"),
            format!(
                "{:.0} frames/s, {} MB/s, {:.0} B a sample",
                per_s(&ours),
                field(&ours, "/s,"),
                bytes_per_sample(&ours)
            ),
        );
        row(
            format!("v{protocol}: peak ingest, vitals-server / ceiling"),
            format!(
                "{:.0}% (goal >= 72%)",
                100.0 * per_s(&ours) / per_s(&ceiling)
            ),
        );

        // The do-nothing reader at 10k agents: what the kernel alone costs for these bytes.
        let (sink, sink_addr) = start_sink(&steady_ack_every());
        let generator = steady_load(sink_addr, 10_000, steady, protocol);
        let cpu = cpu_windows(sink.0.id());
        let _ = generator.join();
        drop(sink);
        reader_cpu[k] = median(&cpu);
        row(
            format!(
                "v{protocol}: 10000 agents: do-nothing reader CPU (a read a sample, an ack for {})",
                steady_ack_every()
            ),
            cpu_figures(&cpu),
        );
        if protocol == "1" {
            // v2's server is measured below, with its scrapes.
            let (server, agents, _) = start_server("127.0.0.1:0", "127.0.0.1:0");
            let generator = steady_load(agents, 10_000, steady, protocol);
            let cpu = cpu_windows(server.0.id());
            let _ = generator.join();
            drop(server);
            row(
                "v1: 10000 agents: server CPU".into(),
                format!(
                    "{}, {:.1}x the reader's",
                    cpu_figures(&cpu),
                    median(&cpu) / reader_cpu[0]
                ),
            );
        }
    }

    // ---- steady state at 1k and 10k v2 agents, and Pushgateway with as many -------------------
    // The server's CPU and RSS at 10k, for remote write's comparison.
    let mut scrape_only = (0.0, 0.0);
    for n in [1000u64, 10_000] {
        let (server, agents, http) = start_server("127.0.0.1:0", "127.0.0.1:0");
        let pid = server.0.id();
        let generator = steady_load(agents, n, steady, "2");
        let cpu = cpu_windows(pid);
        if n == 10_000 {
            scrape_only = (median(&cpu), rss_mib(pid));
        }
        let rss = rss_mib(pid);
        let (plain_s, plain_b, body) = scrape(http, false);
        let (gzip_s, gzip_b, _) = scrape(http, true);
        let series = series_in(&body);
        let report = generator.join().unwrap();
        drop(server);
        row(
            format!("{n} agents: samples sent, acknowledged"),
            format!(
                "{:.0}/s, {:.0}/s (an ack covers up to {}: the last few an agent sends are not \
                 acknowledged when the run ends) ({report})",
                field(&report, "sent") / steady as f64,
                field(&report, "acknowledged") / steady as f64,
                steady_ack_every()
            ),
        );
        row(
            format!("v2: {n} agents: server CPU"),
            if n == 10_000 {
                format!(
                    "{}, {:.1}x the reader's (goal < 10%, within 1.5x)",
                    cpu_figures(&cpu),
                    median(&cpu) / reader_cpu[1]
                )
            } else {
                format!("{} (goal < 10%)", cpu_figures(&cpu))
            },
        );
        row(
            format!("{n} agents: server RSS"),
            format!(
                "{rss:.0} MiB, {:.1} KiB per agent (goal < 512 MiB)",
                rss * 1024.0 / n as f64
            ),
        );
        row(
            format!("{n} agents: scrape, plain"),
            scrape_figures(plain_s, plain_b, Some(series)),
        );
        row(
            format!("{n} agents: scrape, gzip"),
            scrape_figures(gzip_s, gzip_b, None),
        );

        let port = free_port();
        let Ok(child) = Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address={port}"))
            .arg("--push.disable-consistency-check")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            row(
                "Pushgateway".into(),
                "not installed: `make bench` installs prometheus-pushgateway".into(),
            );
            continue;
        };
        let pushgateway = Running(child);
        let up = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(port).is_err() && Instant::now() < up {
            thread::sleep(Duration::from_millis(50));
        }
        let template = template_series();
        let started = Instant::now();
        for i in 0..n {
            let Ok(mut s) = TcpStream::connect(port) else {
                break;
            };
            let _ = write!(
                s,
                "PUT /metrics/job/vitals/agent/load-{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{template}",
                template.len()
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let push_s = started.elapsed().as_secs_f64();
        let (p_s, p_b, p_body) = scrape(port, false);
        let (pg_s, pg_b, _) = scrape(port, true);
        let p_series = series_in(&p_body);
        row(
            format!("{n} agents: Pushgateway RSS"),
            format!(
                "{:.0} MiB ({n} groups pushed in {push_s:.1} s)",
                rss_mib(pushgateway.0.id())
            ),
        );
        row(
            format!("{n} agents: Pushgateway scrape, plain"),
            scrape_figures(p_s, p_b, Some(p_series)),
        );
        row(
            format!("{n} agents: Pushgateway scrape, gzip"),
            scrape_figures(pg_s, pg_b, None),
        );
    }

    // ---- remote write at 10k agents, into a do-nothing store -------------------------------
    {
        let (store, seen) = receiver::start();
        let url = format!("http://{store}/api/v1/write");
        let (server, agents, _) =
            start_server_with("127.0.0.1:0", "127.0.0.1:0", &["--remote-write", &url]);
        let pid = server.0.id();
        let generator = steady_load(agents, 10_000, steady, "2");
        seen.delays_ms.lock().unwrap().clear();
        let before = seen.samples.load(std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let cpu = cpu_windows(pid);
        let delivered = (seen.samples.load(std::sync::atomic::Ordering::Relaxed) - before) as f64
            / started.elapsed().as_secs_f64();
        let rss = rss_mib(pid);
        let report = generator.join().unwrap();
        drop(server);
        let mut delays = std::mem::take(&mut *seen.delays_ms.lock().unwrap());
        delays.sort_unstable();
        let at = |q: f64| {
            delays
                .get(((delays.len() as f64 * q) as usize).min(delays.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        row(
            "remote write: 10000 agents: samples delivered".into(),
            format!("{delivered:.0} samples/s into a do-nothing store (agents: {report})"),
        );
        row(
            "remote write: 10000 agents: server CPU".into(),
            format!(
                "{}, {:.1}x scrape-only's {:.1}% (goal <= 2x)",
                cpu_figures(&cpu),
                median(&cpu) / scrape_only.0.max(f64::MIN_POSITIVE),
                100.0 * scrape_only.0
            ),
        );
        row(
            "remote write: 10000 agents: server RSS".into(),
            format!("{rss:.0} MiB (scrape-only: {:.0} MiB)", scrape_only.1),
        );
        row(
            "remote write: delay from a sample's time to the store's answer".into(),
            format!(
                "median {} ms, 99th percentile {} ms ({} agents' samples)",
                at(0.5),
                at(0.99),
                delays.len()
            ),
        );
    }

    // ---- 10k agents with this machine's series: vitals at full coverage ----------------------
    // Two samples a second apart, so that what changes here in a second changes on every
    // sample and the rest stays (see `server::recorded`).
    let run_once = || Command::new(bin("vitals-agent")).arg("--once").output();
    let once = run_once().and_then(|first| {
        std::thread::sleep(Duration::from_secs(1));
        let mut second = run_once()?;
        let mut both = first.stdout;
        both.append(&mut second.stdout);
        second.stdout = both;
        Ok(second)
    });
    let record = std::env::temp_dir().join(format!("vitals-record-{}.txt", std::process::id()));
    match once {
        Ok(out) if out.status.success() && fs::write(&record, &out.stdout).is_ok() => {
            let (server, agents, http) = start_server("127.0.0.1:0", "127.0.0.1:0");
            let pid = server.0.id();
            let extra = strings(&["--record", &record.to_string_lossy()]);
            let generator = steady_load_with(agents, 10_000, steady, &extra);
            let cpu = cpu_windows(pid);
            let rss = rss_mib(pid);
            let (plain_s, plain_b, body) = scrape(http, false);
            let series = series_in(&body);
            let report = generator.join().unwrap();
            drop(server);
            let per_agent =
                server::recorded::Recorded::parse(&String::from_utf8_lossy(&out.stdout))
                    .map_or(0, |r| r.len());
            row(
                "full coverage: 10000 agents with this machine's series".into(),
                format!(
                    "{per_agent} series each (`vitals-agent --once` here, twice a second \
                     apart), {:.0} samples/s sent ({report})",
                    field(&report, "sent") / steady as f64
                ),
            );
            row(
                "full coverage: 10000 agents: server CPU".into(),
                format!("{} (goal < 10%)", cpu_figures(&cpu)),
            );
            row(
                "full coverage: 10000 agents: server RSS".into(),
                format!("{rss:.0} MiB (goal < 1024 MiB)"),
            );
            row(
                "full coverage: 10000 agents: scrape, plain".into(),
                format!(
                    "{} (goal <= 0.37 µs per series)",
                    scrape_figures(plain_s, plain_b, Some(series))
                ),
            );
        }
        _ => row(
            "full coverage".into(),
            "not measured: `vitals-agent --once` did not run".into(),
        ),
    }
    let _ = fs::remove_file(&record);

    let w = rows
        .iter()
        .map(|(a, _)| a.chars().count())
        .max()
        .unwrap_or(0);
    println!("\n{:<w$}  result", "measure");
    println!("{}", "-".repeat(w + 60));
    for (a, b) in &rows {
        println!("{a:<w$}  {b}");
    }
}

/// The series of one simulated agent (the load generator's sample) in the text format, as
/// pushed to Pushgateway: four CPUs, three filesystems, three interfaces, two disks.
fn template_series() -> String {
    let mut s = String::new();
    for cpu in 0..4 {
        for mode in [
            "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
        ] {
            s += &format!("node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} 12345.67\n");
        }
    }
    for (dev, mp, fs) in [
        ("/dev/sda1", "/", "ext4"),
        ("/dev/sda2", "/home", "ext4"),
        ("tmpfs", "/run", "tmpfs"),
    ] {
        for m in [
            "size_bytes",
            "free_bytes",
            "avail_bytes",
            "files",
            "files_free",
            "readonly",
        ] {
            s += &format!(
                "node_filesystem_{m}{{device=\"{dev}\",fstype=\"{fs}\",mountpoint=\"{mp}\"}} 120000000000\n"
            );
        }
    }
    for dev in ["lo", "eth0", "wlan0"] {
        for m in [
            "receive_bytes_total",
            "receive_packets_total",
            "receive_errs_total",
            "receive_drop_total",
            "transmit_bytes_total",
            "transmit_packets_total",
            "transmit_errs_total",
            "transmit_drop_total",
            "up",
        ] {
            s += &format!("node_network_{m}{{device=\"{dev}\"}} 123456789\n");
        }
    }
    for dev in ["sda", "nvme0n1"] {
        for m in [
            "reads_completed_total",
            "reads_merged_total",
            "read_bytes_total",
            "read_time_seconds_total",
            "writes_completed_total",
            "writes_merged_total",
            "written_bytes_total",
            "write_time_seconds_total",
            "io_now",
            "io_time_seconds_total",
            "io_time_weighted_seconds_total",
        ] {
            s += &format!("node_disk_{m}{{device=\"{dev}\"}} 1234567\n");
        }
    }
    for m in [
        "load1",
        "load5",
        "load15",
        "memory_MemTotal_bytes",
        "memory_MemFree_bytes",
        "memory_MemAvailable_bytes",
        "memory_Buffers_bytes",
        "memory_Cached_bytes",
        "memory_SwapTotal_bytes",
        "memory_SwapFree_bytes",
        "boot_time_seconds",
        "time_seconds",
        "context_switches_total",
        "forks_total",
        "procs_running",
        "procs_blocked",
    ] {
        s += &format!("node_{m} 42\n");
    }
    s
}
