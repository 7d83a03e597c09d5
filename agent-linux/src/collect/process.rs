//! The agent's own process, as every Prometheus client exposes its own (`process_*`): what
//! node_exporter's dashboards show as the exporter's footprint on each host.
//!
//! Always the agent's `/proc/self`, whatever root the host's files are read under: it is this
//! process that is measured.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};
use rustix::fs::{CWD, Mode, OFlags, PROC_SUPER_MAGIC, fstat, fstatfs, openat};
use rustix::process::{Resource, getrlimit};

use super::families::Families;
use super::proc_file::ProcFile;
use super::read::read_text;

/// Reads the agent's CPU time, memory and file descriptors.
#[derive(Debug)]
pub(super) struct ProcessCollector {
    /// `/proc/self/stat`.
    stat: ProcFile,
    /// `/proc/self/fd`, listed to count the descriptors when [`Self::fd_count`] is `None`.
    fd_dir: PathBuf,
    /// The same directory, kept open when its size is the count of descriptors (see
    /// [`fd_count`]); itself one of them, as the listing's own descriptor is one of those it
    /// counts.
    fd_count: Option<OwnedFd>,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// Clock ticks a second and bytes a page: the units of `stat`.
    units: Units,
    /// When the agent started, in seconds since the epoch: its `stat`'s start in ticks after
    /// boot, read once with the boot time (`None` when either could not be read).
    start_time: Option<f64>,
    /// The last sample's reading.
    read: Reading,
}

/// The units of `/proc/<pid>/stat`'s times and resident size.
#[derive(Debug, Clone, Copy)]
struct Units {
    /// Clock ticks a second (`USER_HZ`).
    ticks: f64,
    /// Bytes a page.
    page: f64,
}

/// One sample's values; `None` for what could not be read, which then has no series.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Reading {
    cpu_seconds: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
    virtual_memory: Option<f64>,
    virtual_memory_max: Option<f64>,
    resident_memory: Option<f64>,
}

impl ProcessCollector {
    /// Reads `/proc/self` (and `/proc/stat`'s boot time, once) under `proc`: `/proc` but in
    /// tests.
    pub(super) fn new(proc: &Path) -> Self {
        let units = Units {
            ticks: rustix::param::clock_ticks_per_second() as f64,
            page: rustix::param::page_size() as f64,
        };
        let mut buf = Vec::new();
        let mut stat = ProcFile::new(proc.join("self/stat"));
        let started = stat.read(&mut buf).and_then(|t| Stat::parse(&t));
        let boot_time = read_text(&mut buf, &proc.join("stat")).and_then(|t| boot_time(&t));
        let fd_dir = proc.join("self/fd");
        Self {
            stat,
            fd_count: fd_count(&fd_dir),
            fd_dir,
            buf,
            units,
            start_time: started
                .zip(boot_time)
                .map(|(s, boot)| s.start_ticks as f64 / units.ticks + boot as f64),
            read: Reading::default(),
        }
    }
}

impl Families for ProcessCollector {
    fn collect(&mut self) {
        let stat = self.stat.read(&mut self.buf).and_then(|t| Stat::parse(&t));
        let units = self.units;
        self.read = Reading {
            cpu_seconds: stat.map(|s| s.cpu_ticks as f64 / units.ticks),
            open_fds: match &self.fd_count {
                Some(dir) => fstat(dir).ok().map(|stat| stat.st_size as f64),
                None => fs::read_dir(&self.fd_dir).ok().map(|d| d.count() as f64),
            },
            max_fds: Some(limit(getrlimit(Resource::Nofile).current)),
            virtual_memory: stat.map(|s| s.vsize as f64),
            virtual_memory_max: Some(limit(getrlimit(Resource::As).current)),
            resident_memory: stat.map(|s| s.rss_pages as f64 * units.page),
        };
    }

    fn series(&self, out: &mut dyn Series) {
        let r = &self.read;
        for (family, value) in [
            (f::PROCESS_CPU, r.cpu_seconds),
            (f::PROCESS_OPEN_FDS, r.open_fds),
            (f::PROCESS_MAX_FDS, r.max_fds),
            (f::PROCESS_VIRTUAL_MEMORY, r.virtual_memory),
            (f::PROCESS_VIRTUAL_MEMORY_MAX, r.virtual_memory_max),
            (f::PROCESS_RESIDENT_MEMORY, r.resident_memory),
            (f::PROCESS_START_TIME, self.start_time),
        ] {
            if let Some(value) = value {
                out.add(family, &[], value);
            }
        }
    }
}

/// `dir` (a `/proc/<pid>/fd`) open, if the kernel gives the count of its entries as its size
/// (Linux 6.2 and later), which spares listing it: the listing made a dentry and an inode for
/// each descriptor and freed them, 15% of the agent's CPU at 100 ms with netclass's 110 files
/// open (`perf record -g` of `vitals-agent --interval 100ms`). `None` elsewhere (an older
/// kernel says 0, a directory that is not procfs its own size).
fn fd_count(dir: &Path) -> Option<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = openat(CWD, dir, flags, Mode::empty()).ok()?;
    let procfs = fstatfs(&fd).ok()?.f_type == PROC_SUPER_MAGIC;
    (procfs && fstat(&fd).ok()?.st_size > 0).then_some(fd)
}

/// A limit as the client libraries give it: unlimited is the largest `u64`.
fn limit(current: Option<u64>) -> f64 {
    current.unwrap_or(u64::MAX) as f64
}

/// What the families need of a `/proc/<pid>/stat` line (proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    /// Fields 14 and 15, user and system time, in clock ticks.
    cpu_ticks: u64,
    /// Field 22: clock ticks after boot.
    start_ticks: u64,
    /// Field 23, in bytes.
    vsize: u64,
    /// Field 24, in pages.
    rss_pages: u64,
}

impl Stat {
    /// The command's name (field 2) is in parentheses and may hold spaces and parentheses
    /// itself, so the fields are counted from the last `)`: field 3 comes first after it.
    fn parse(line: &str) -> Option<Self> {
        let (_, after) = line.rsplit_once(')')?;
        // Fields 3 to 24 (some of the others may be negative, so only these are parsed).
        let mut words = [""; 22];
        let mut filled = 0;
        for (slot, word) in words.iter_mut().zip(after.split_ascii_whitespace()) {
            *slot = word;
            filled += 1;
        }
        if filled < words.len() {
            return None;
        }
        let field = |n: usize| words.get(n - 3)?.parse::<u64>().ok();
        Some(Stat {
            cpu_ticks: field(14)?.checked_add(field(15)?)?,
            start_ticks: field(22)?,
            vsize: field(23)?,
            rss_pages: field(24)?,
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
    use crate::collect::families::listed;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/collect/fixtures/process");

    #[test]
    fn a_fixture_process_reads_in_the_client_libraries_units() {
        let mut c = ProcessCollector::new(Path::new(FIXTURE));
        c.units = Units {
            ticks: 100.0,
            page: 4096.0,
        };
        c.collect();
        let named = listed::named(|out| c.series(out));
        let value = |name: &str| {
            named
                .iter()
                .find(|(n, labels, _)| *n == name && labels.is_empty())
                .map(|(_, _, v)| *v)
        };
        assert_eq!(value("process_cpu_seconds_total"), Some(2.0));
        assert_eq!(value("process_open_fds"), Some(4.0));
        assert_eq!(value("process_virtual_memory_bytes"), Some(9_437_184.0));
        assert_eq!(value("process_resident_memory_bytes"), Some(512.0 * 4096.0));
        // 123,400 ticks after a boot at 1,700,000,000 with the host's USER_HZ (100 on Linux).
        assert_eq!(
            value("process_start_time_seconds"),
            Some(1_700_001_234.0).filter(|_| rustix::param::clock_ticks_per_second() == 100)
        );
        assert!(value("process_max_fds").is_some_and(|v| v >= 1.0));
        assert!(value("process_virtual_memory_max_bytes").is_some_and(|v| v >= 1.0));
    }

    #[test]
    fn a_name_with_parentheses_and_spaces_does_not_shift_the_fields() {
        let s = Stat::parse(
            "7 (a) b (c) S 4 5 6 -1 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24\n",
        );
        assert_eq!(
            s,
            Some(Stat {
                cpu_ticks: 14 + 15,
                start_ticks: 22,
                vsize: 23,
                rss_pages: 24,
            })
        );
    }

    #[test]
    fn a_cut_or_garbled_stat_gives_no_series_of_it() {
        for bad in [
            "",
            "7 agent S 1 2",
            "7 (a) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
            "7 (a) S 4 5 6 7 8 9 10 11 12 13 x 15 16 17 18 19 20 21 22 23 24",
        ] {
            assert_eq!(Stat::parse(bad), None, "{bad:?}");
        }
        let mut c = ProcessCollector::new(Path::new("/nonexistent"));
        c.collect();
        let names: Vec<&str> = listed::named(|out| c.series(out))
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        assert_eq!(
            names,
            ["process_max_fds", "process_virtual_memory_max_bytes"]
        );
    }

    /// On a kernel that gives the count as the directory's size, it is the count a listing
    /// gives. Other tests open and close files meanwhile, so the two are taken in turn until
    /// they agree, as they do unless a file was opened or closed between them.
    #[test]
    fn the_count_of_descriptors_is_that_of_the_listing() {
        let c = ProcessCollector::new(Path::new("/proc"));
        let Some(dir) = &c.fd_count else {
            return;
        };
        let agree = (0..100).any(|_| {
            let size = fstat(dir).unwrap().st_size as usize;
            // The listing's own descriptor is not the kept one: one more than the size.
            let listed = fs::read_dir(&c.fd_dir).unwrap().count();
            size + 1 == listed
        });
        assert!(agree);
    }

    /// The agent's own process, read for real: its CPU time only grows.
    #[test]
    fn the_real_process_is_read() {
        let mut c = ProcessCollector::new(Path::new("/proc"));
        c.collect();
        let first = c.read;
        let mut spin = 0u64;
        for i in 0..20_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        std::hint::black_box(spin);
        c.collect();
        assert!(first.resident_memory.is_some_and(|v| v > 0.0), "{first:?}");
        assert!(first.open_fds.is_some_and(|v| v >= 3.0), "{first:?}");
        assert!(
            c.read.cpu_seconds >= first.cpu_seconds,
            "{first:?} {:?}",
            c.read
        );
        assert!(c.start_time.is_some_and(|t| t > 1.6e9));
    }
}
