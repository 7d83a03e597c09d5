//! The standard `process_*` metrics of the server itself, with the names, types and help that
//! every Prometheus client library gives them (node_exporter's are the Go client's), read from
//! `/proc/self` when a scrape gathers the server's registry: nothing runs between scrapes.
//!
//! Not the `prometheus` crate's `process` feature: it brings the `procfs` crate for a few small
//! files, gives whole CPU seconds where the Go client gives hundredths, and has no
//! `process_virtual_memory_max_bytes`.

use agent_core::catalogue::{self, Kind, f};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, Metric, MetricFamily, MetricType};
use rustix::process::{Resource, getrlimit};

/// One family: its row in the catalogue (which the agents' own `process_*` series share, so
/// that both go in one block of the exposition), and its value in a [`Reading`].
struct Family {
    row: &'static catalogue::Family,
    value: fn(&Reading) -> Option<f64>,
}

impl Family {
    const fn new(id: u16, value: fn(&Reading) -> Option<f64>) -> Self {
        let row = &catalogue::FAMILIES[id as usize];
        Family { row, value }
    }

    fn kind(&self) -> MetricType {
        match self.row.kind {
            Kind::Counter => MetricType::COUNTER,
            _ => MetricType::GAUGE,
        }
    }
}

/// The families, with the client libraries' names and help (`curl -s localhost:9100/metrics |
/// grep process_` on node_exporter 1.5 gives the same lines).
const FAMILIES: [Family; 7] = [
    Family::new(f::PROCESS_CPU, |r| r.cpu_seconds),
    Family::new(f::PROCESS_OPEN_FDS, |r| r.open_fds),
    Family::new(f::PROCESS_MAX_FDS, |r| r.max_fds),
    Family::new(f::PROCESS_VIRTUAL_MEMORY, |r| r.virtual_memory),
    Family::new(f::PROCESS_VIRTUAL_MEMORY_MAX, |r| r.virtual_memory_max),
    Family::new(f::PROCESS_RESIDENT_MEMORY, |r| r.resident_memory),
    Family::new(f::PROCESS_START_TIME, |r| r.start_time),
];

/// The collector of this process's metrics, for the server's registry.
#[derive(Debug)]
pub struct Process {
    /// The families' descriptions, which the registry checks for names used twice.
    descs: Vec<Desc>,
}

impl Default for Process {
    fn default() -> Self {
        let descs = FAMILIES
            .iter()
            .map(|f| {
                Desc::new(
                    f.row.name.into(),
                    f.row.help.into(),
                    Vec::new(),
                    Default::default(),
                )
                .expect("valid metric definition")
            })
            .collect();
        Process { descs }
    }
}

impl Collector for Process {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    /// This process's families now; one whose file cannot be read is left out, as the Go
    /// client leaves it.
    fn collect(&self) -> Vec<MetricFamily> {
        let reading = Reading::now();
        FAMILIES
            .iter()
            .filter_map(|f| Some(family(f, (f.value)(&reading)?)))
            .collect()
    }
}

/// `f`'s family with one series, without labels, of `value`.
fn family(f: &Family, value: f64) -> MetricFamily {
    let mut metric = Metric::default();
    if f.kind() == MetricType::COUNTER {
        let mut counter = Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
    let mut family = MetricFamily::default();
    family.set_name(f.row.name.into());
    family.set_help(f.row.help.into());
    family.set_field_type(f.kind());
    family.set_metric(vec![metric]);
    family
}

/// What the kernel says of this process at one moment; `None` where it could not be read.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Reading {
    /// User and system time of every thread, dead ones included, in seconds.
    cpu_seconds: Option<f64>,
    /// Entries of `/proc/self/fd`, the one this count opens included (as the Go client's).
    open_fds: Option<f64>,
    /// The soft `RLIMIT_NOFILE`.
    max_fds: Option<f64>,
    virtual_memory: Option<f64>,
    /// The soft `RLIMIT_AS`.
    virtual_memory_max: Option<f64>,
    resident_memory: Option<f64>,
    /// Seconds since the epoch.
    start_time: Option<f64>,
}

impl Reading {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| Stat::parse(&s));
        let boot_time = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| boot_time(&s));
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as f64);
        Reading::of(
            stat,
            boot_time,
            open_fds,
            Limits {
                fds: limit(getrlimit(Resource::Nofile).current),
                address_space: limit(getrlimit(Resource::As).current),
            },
            Units {
                ticks: rustix::param::clock_ticks_per_second(),
                page: rustix::param::page_size() as u64,
            },
        )
    }

    /// The reading from what was read, in the units the families want.
    fn of(
        stat: Option<Stat>,
        boot_time: Option<u64>,
        open_fds: Option<f64>,
        limits: Limits,
        units: Units,
    ) -> Self {
        let ticks = units.ticks as f64;
        Reading {
            cpu_seconds: stat.map(|s| s.utime.saturating_add(s.stime) as f64 / ticks),
            open_fds,
            max_fds: Some(limits.fds),
            virtual_memory: stat.map(|s| s.vsize as f64),
            virtual_memory_max: Some(limits.address_space),
            resident_memory: stat.map(|s| s.rss.saturating_mul(units.page) as f64),
            start_time: stat
                .zip(boot_time)
                .map(|(s, boot)| s.start_time as f64 / ticks + boot as f64),
        }
    }
}

/// A limit as the Go client gives it: `unlimited` is the largest `u64` (`RLIM_INFINITY`).
fn limit(current: Option<u64>) -> f64 {
    current.unwrap_or(u64::MAX) as f64
}

/// This process's soft limits, as [`limit`] gives them.
#[derive(Debug, Clone, Copy)]
struct Limits {
    fds: f64,
    address_space: f64,
}

/// The units of `/proc/self/stat`'s fields.
#[derive(Debug, Clone, Copy)]
struct Units {
    /// Clock ticks a second (`USER_HZ`), of the times.
    ticks: u64,
    /// Bytes a page, of `rss`.
    page: u64,
}

/// The fields of `/proc/self/stat` the families need (proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    /// Field 14, in clock ticks.
    utime: u64,
    /// Field 15, in clock ticks.
    stime: u64,
    /// Field 22: clock ticks after boot.
    start_time: u64,
    /// Field 23, in bytes.
    vsize: u64,
    /// Field 24, in pages.
    rss: u64,
}

impl Stat {
    /// The fields of a `/proc/<pid>/stat` line, whose second field is the command's name in
    /// parentheses, which may hold spaces and parentheses itself: the fields are counted from
    /// its last `)`.
    fn parse(line: &str) -> Option<Self> {
        let (_, after) = line.rsplit_once(')')?;
        // Field 3 (the state) first.
        let mut fields = after.split_ascii_whitespace();
        let mut field = |n: usize| -> Option<u64> { fields.nth(n).and_then(|f| f.parse().ok()) };
        let utime = field(14 - 3)?;
        let stime = field(0)?;
        let start_time = field(22 - 16)?;
        let vsize = field(0)?;
        let rss = field(0)?;
        Some(Stat {
            utime,
            stime,
            start_time,
            vsize,
            rss,
        })
    }
}

/// `btime` of `/proc/stat`: the boot time, in seconds since the epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    use prometheus::{Encoder, Registry, TextEncoder};

    /// node_exporter's line, read on the development machine, and a name with `) ` in it.
    const STAT: &str = "6638 (prometheus-node) S 1 6635 4161 0 -1 4194560 2009 0 0 0 2 1 0 0 \
        20 0 5 0 46506 1047793664 4693 18446744073709551615 4202496 10874237 140731034720096 0 \
        0 0 0 2 2143420157 0 0 0 17 1 0 0 0 0 0 17538544 17899544 787664896 140731034720907 \
        140731034720969 140731034720969 140731034722262 0\n";
    /// Each field after the name is its number.
    const STAT_ODD_NAME: &str =
        "77 (a) b (c) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26\n";
    /// [`STAT`] cut before its `vsize`.
    const STAT_CUT: &str = "6638 (prometheus-node) S 1 6635 4161 0 -1 4194560 2009 0 0 0 2 1 0 \
        0 20 0 5 0 46506";

    const PROC_STAT: &str = "cpu  1 2 3 4 5 6 7 8 9 10\nintr 7 8\nctxt 9\nbtime 1796277220\n\
        processes 4000\n";

    const UNITS: Units = Units {
        ticks: 100,
        page: 4096,
    };

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        assert_eq!(
            Stat::parse(STAT),
            Some(Stat {
                utime: 2,
                stime: 1,
                start_time: 46506,
                vsize: 1_047_793_664,
                rss: 4693,
            })
        );
        assert_eq!(
            Stat::parse(STAT_ODD_NAME),
            Some(Stat {
                utime: 14,
                stime: 15,
                start_time: 22,
                vsize: 23,
                rss: 24,
            })
        );
    }

    #[test]
    fn a_garbled_or_cut_stat_gives_nothing() {
        for bad in ["", "6638 prometheus-node S 1", STAT_CUT, "1 (x) S 1 x 3"] {
            assert_eq!(Stat::parse(bad), None, "{bad:?}");
        }
        assert_eq!(boot_time("cpu 1 2\n"), None);
        assert_eq!(boot_time("btime x\n"), None);
    }

    /// The values node_exporter gave for its process with this `stat` (but its RSS, read a
    /// moment later).
    #[test]
    fn a_reading_is_in_the_go_clients_units() {
        let reading = Reading::of(
            Stat::parse(STAT),
            boot_time(PROC_STAT),
            Some(11.0),
            Limits {
                fds: 20000.0,
                address_space: limit(None),
            },
            UNITS,
        );
        assert_eq!(
            reading,
            Reading {
                cpu_seconds: Some(0.03),
                open_fds: Some(11.0),
                max_fds: Some(20000.0),
                virtual_memory: Some(1.047793664e9),
                virtual_memory_max: Some(1.8446744073709552e19),
                resident_memory: Some(4693.0 * 4096.0),
                start_time: Some(1.79627768506e9),
            }
        );
    }

    #[test]
    fn what_cannot_be_read_is_left_out() {
        let limits = Limits {
            fds: 1024.0,
            address_space: 1e9,
        };
        let reading = Reading::of(None, boot_time(PROC_STAT), None, limits, UNITS);
        let named: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| (f.value)(&reading).is_some())
            .map(|f| f.row.name)
            .collect();
        assert_eq!(
            named,
            ["process_max_fds", "process_virtual_memory_max_bytes"]
        );
    }

    #[test]
    fn every_family_is_exposed_with_its_help_and_type() {
        let registry = Registry::new();
        registry.register(Box::new(Process::default())).unwrap();
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut text)
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        for f in &FAMILIES {
            let kind = if f.kind() == MetricType::COUNTER {
                "counter"
            } else {
                "gauge"
            };
            let (name, help) = (f.row.name, f.row.help);
            let head = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} ");
            assert!(text.contains(&head), "{name}: {text}");
        }
    }
}
