//! The server's own `process_*` metrics: node_exporter's names, help and types, no labels, and
//! values that agree with what `/proc/<pid>` says of the real server at the same moment. Each
//! scrape is read between two readings of `/proc`, so a value must lie between them, give or
//! take what the scrape itself moves (its connection and thread).

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Server, metric_type, wait_for};

/// Each family's type and help, as node_exporter 1.5 writes them (`curl -s
/// localhost:9100/metrics | grep process_`).
const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
    ),
    (
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
    ),
    (
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
    ),
    (
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
    ),
    (
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    ),
    (
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
    ),
    (
        "process_virtual_memory_max_bytes",
        "gauge",
        "Maximum amount of virtual memory available in bytes.",
    ),
];

/// How far the resident and virtual memory may be from the readings around a scrape. `stat`'s
/// RSS (the server's and the Go client's source) sums the kernel's per-CPU counters lazily and
/// `status`'s exactly: 60 to 140 KiB apart on 2 cores, more with more. Besides, the scrape's
/// connection and render threads (glibc reuses their stacks and arena after the first) and
/// what it allocates: 24 KiB of virtual memory here.
const MEMORY_SLACK: f64 = 4.0 * 1024.0 * 1024.0;

/// Descriptors the scrape itself may hold beyond the readings around it: its connection and
/// the server's own listing of `/proc/self/fd`.
const FD_SLACK: f64 = 3.0;

/// What `/proc/<pid>` says of a process, in the families' units, read differently from the
/// server where `/proc` allows (`status` rather than `stat` for memory).
#[derive(Debug, Clone, Copy)]
struct Truth {
    cpu_seconds: f64,
    open_fds: f64,
    max_fds: f64,
    virtual_memory: f64,
    virtual_memory_max: f64,
    resident_memory: f64,
    start_time: f64,
}

impl Truth {
    fn of(pid: u32) -> Truth {
        let ticks = getconf("CLK_TCK");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Fields from the third (the state), after the command's name in parentheses.
        let fields: Vec<f64> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap())
            .collect();
        let field = |n: usize| fields[n - 4];
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib = |key: &str| -> f64 {
            let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
            line.trim().trim_end_matches("kB").trim().parse().unwrap()
        };
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let soft = |key: &str| -> f64 {
            let line = limits.lines().find_map(|l| l.strip_prefix(key)).unwrap();
            match line.split_whitespace().next().unwrap() {
                "unlimited" => u64::MAX as f64,
                n => n.parse().unwrap(),
            }
        };
        let btime: f64 = std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .unwrap()
            .parse()
            .unwrap();
        Truth {
            cpu_seconds: (field(14) + field(15)) / ticks,
            open_fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .count() as f64,
            max_fds: soft("Max open files"),
            virtual_memory: kib("VmSize:") * 1024.0,
            virtual_memory_max: soft("Max address space"),
            resident_memory: kib("VmRSS:") * 1024.0,
            start_time: field(22) / ticks + btime,
        }
    }
}

/// A `getconf` variable of this machine.
fn getconf(name: &str) -> f64 {
    let out = Command::new("getconf").arg(name).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The value of `name`'s one series, which must have no labels at all.
fn only_value(metrics: &str, name: &str) -> f64 {
    let lines: Vec<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .collect();
    let [line] = lines[..] else {
        panic!("{name}: one series expected, got {lines:?}")
    };
    let value = line
        .strip_prefix(name)
        .and_then(|v| v.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} has labels: {line}"));
    value.parse().unwrap()
}

/// Asserts that `value` lies between the readings `a` and `b`, give or take `slack`.
fn between(what: &str, value: f64, a: f64, b: f64, slack: f64) {
    let (low, high) = (a.min(b) - slack, a.max(b) + slack);
    assert!(
        (low..=high).contains(&value),
        "{what}: {value} scraped, /proc said {a} before and {b} after (slack {slack})"
    );
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn process_metrics_are_node_exporters_and_agree_with_proc() {
    let spawned = unix_now();
    let server = Server::start("127.0.0.1:0", "127.0.0.1:0", &[]);
    let started = unix_now();
    let pid = server.proc.child.id();

    let m = server.metrics();
    for (name, kind, help) in FAMILIES {
        assert_eq!(metric_type(&m, name), Some(*kind), "{name}");
        assert!(
            m.contains(&format!("# HELP {name} {help}\n")),
            "{name}: {m}"
        );
        only_value(&m, name);
    }

    let mut first_cpu = None;
    for _ in 0..3 {
        let before = Truth::of(pid);
        let m = server.metrics();
        let after = Truth::of(pid);
        let v = |name| only_value(&m, name);
        let cpu = v("process_cpu_seconds_total");
        first_cpu.get_or_insert(cpu);
        // The same counters of the kernel, read in between: no slack but the float's.
        between("cpu", cpu, before.cpu_seconds, after.cpu_seconds, 1e-9);
        between(
            "open fds",
            v("process_open_fds"),
            before.open_fds,
            after.open_fds,
            FD_SLACK,
        );
        assert_eq!(v("process_max_fds"), before.max_fds);
        assert_eq!(
            v("process_virtual_memory_max_bytes"),
            before.virtual_memory_max
        );
        between(
            "rss",
            v("process_resident_memory_bytes"),
            before.resident_memory,
            after.resident_memory,
            MEMORY_SLACK,
        );
        between(
            "vsize",
            v("process_virtual_memory_bytes"),
            before.virtual_memory,
            after.virtual_memory,
            MEMORY_SLACK,
        );
        let start = v("process_start_time_seconds");
        between(
            "start time",
            start,
            before.start_time,
            after.start_time,
            1e-6,
        );
        // The boot time is whole seconds, rounded down, so the start may read up to a second
        // early.
        between("start time (the clock)", start, spawned, started, 1.0);
    }

    // Work for the server, until the kernel has counted some of it: the counter follows.
    let first_cpu = first_cpu.unwrap();
    wait_for(
        "the server to spend CPU time",
        Duration::from_secs(30),
        || {
            for _ in 0..20 {
                server.metrics();
            }
            (Truth::of(pid).cpu_seconds >= first_cpu + 0.05).then_some(())
        },
    );
    let cpu = only_value(&server.metrics(), "process_cpu_seconds_total");
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(cpu >= first_cpu + 0.05, "{cpu} after {first_cpu}");
    assert!(
        cpu <= (unix_now() - spawned) * cores,
        "{cpu} CPU seconds in {} s on {cores} cores",
        unix_now() - spawned
    );
}
