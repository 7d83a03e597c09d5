//! The scheduler's statistics per CPU, `/proc/schedstat`, as node_exporter 1.5's schedstat
//! collector reads them. The file exists only in kernels built with `CONFIG_SCHEDSTATS`.

use std::path::Path;

use agent_core::catalogue::{Series, f};
use agent_core::sample::{MAX_CPUS, decimal};

use super::families::Families;
use super::proc_file::ProcFile;

/// Nanoseconds in a second: the kernel counts the times in nanoseconds (since 2.6.23, though
/// its documentation long said jiffies).
const NANOS: f64 = 1e9;

/// One CPU's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedstat {
    /// The CPU's number, the `cpu` label.
    cpu: u16,
    /// Nanoseconds its tasks ran (`rq_cpu_time`).
    running: u64,
    /// Nanoseconds tasks waited to run on it (`run_delay`).
    waiting: u64,
    /// Tasks run on it (`pcount`).
    timeslices: u64,
}

/// Reads each CPU's time running and waiting, and its timeslices.
#[derive(Debug)]
pub(super) struct SchedstatCollector {
    /// `proc/schedstat` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// Each CPU's line, of the last sample, in file order; empty when the file could not be
    /// read.
    cpus: Vec<Schedstat>,
}

impl SchedstatCollector {
    /// Reads `proc/schedstat` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::with_long_lines(root.join("proc/schedstat")),
            buf: Vec::new(),
            cpus: Vec::new(),
        }
    }
}

impl Families for SchedstatCollector {
    fn collect(&mut self) {
        self.cpus.clear();
        let Some(text) = self.path.read(&mut self.buf) else {
            return;
        };
        for line in text.lines().filter_map(parse_cpu_line) {
            // node_exporter would give a repeat as a second series of the same labels, which
            // the server refuses: the first is kept.
            if self.cpus.len() < MAX_CPUS && !self.cpus.iter().any(|c| c.cpu == line.cpu) {
                self.cpus.push(line);
            }
        }
    }

    fn series(&self, out: &mut dyn Series) {
        if self.cpus.is_empty() {
            return;
        }
        out.section("schedstat");
        let mut digits = [0u8; 20];
        for line in &self.cpus {
            let cpu = decimal(line.cpu.into(), &mut digits);
            out.identity(cpu);
            out.add(f::SCHEDSTAT_RUNNING, &[cpu], line.running as f64 / NANOS);
            out.add(f::SCHEDSTAT_WAITING, &[cpu], line.waiting as f64 / NANOS);
            out.add(f::SCHEDSTAT_TIMESLICES, &[cpu], line.timeslices as f64);
        }
    }
}

/// A `cpuN` line: `N` and nine numbers, separated by single spaces as node_exporter's pattern
/// wants them, of which the last three are read. Any other line (the version, the timestamp,
/// a `domainN` line) is `None`, as is one whose three numbers overflow 64 bits.
fn parse_cpu_line(line: &str) -> Option<Schedstat> {
    let number = |field: &str| !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit());
    let mut fields = line.strip_prefix("cpu")?.split(' ');
    let cpu = fields.next().filter(|f| number(f))?.parse().ok()?;
    let mut columns = [""; 9];
    for column in &mut columns {
        *column = fields.next().filter(|f| number(f))?;
    }
    let [.., running, waiting, timeslices] = columns;
    Some(Schedstat {
        cpu,
        running: running.parse().ok()?,
        waiting: waiting.parse().ok()?,
        timeslices: timeslices.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::families::listed;
    use std::path::PathBuf;

    /// A real `/proc/schedstat` of two CPUs (version 15, from prometheus/procfs's fixtures: the
    /// development machine's kernel has no `CONFIG_SCHEDSTATS`).
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/schedstat")
    }

    #[test]
    fn each_cpu_in_seconds_from_the_fixture() {
        let mut collector = SchedstatCollector::new(&fixture());
        collector.collect();
        let cpu = |n: &str| vec![n.to_owned()];
        assert_eq!(
            listed::named(|out| collector.series(out)),
            [
                (
                    "node_schedstat_running_seconds_total",
                    cpu("0"),
                    2_045_936.778_163_039
                ),
                (
                    "node_schedstat_waiting_seconds_total",
                    cpu("0"),
                    343_796.328_169_361
                ),
                ("node_schedstat_timeslices_total", cpu("0"), 4_767_485_306.0),
                (
                    "node_schedstat_running_seconds_total",
                    cpu("1"),
                    1_904_686.152_592_476
                ),
                (
                    "node_schedstat_waiting_seconds_total",
                    cpu("1"),
                    364_107.263_788_241
                ),
                ("node_schedstat_timeslices_total", cpu("1"), 5_145_567_945.0),
            ]
        );
    }

    #[test]
    fn lines_of_another_shape_are_skipped() {
        let line = |text: &str| parse_cpu_line(text).map(|s| (s.cpu, s.running, s.timeslices));
        assert_eq!(line("cpu3 0 0 0 0 0 0 7 8 9"), Some((3, 7, 9)));
        assert_eq!(line("cpu3 0 0 0 0 0 0 7 8 9 10 11"), Some((3, 7, 9)));
        for bad in [
            "cpu3 0 0 0 0 0 0 7 8",
            "cpu3  0 0 0 0 0 0 7 8 9",
            "cpu3\t0 0 0 0 0 0 7 8 9",
            "cpu3 0 0 0 0 0 -1 7 8 9",
            "cpu3 0 0 0 0 0 0 7 8 x",
            "cpu3 0 0 0 0 0 0 7 8 99999999999999999999",
            "cpu 0 0 0 0 0 0 7 8 9",
            "cpux 0 0 0 0 0 0 7 8 9",
            "domain0 00000003 1 2 3 4 5 6 7 8 9",
            "version 15",
            "\u{fffd}",
            "",
        ] {
            assert_eq!(parse_cpu_line(bad), None, "{bad:?}");
        }
    }

    /// The fixture with cpu1's line cut after four numbers and cpu0's given again after it:
    /// the cut line is skipped and the first cpu0 kept. A missing file gives no series.
    #[test]
    fn cut_lines_repeats_and_a_missing_file() {
        let mut collector = SchedstatCollector::new(&fixture());
        collector.path = ProcFile::with_long_lines(fixture().join("proc/schedstat.garbled"));
        collector.collect();
        assert_eq!(
            collector.cpus,
            [Schedstat {
                cpu: 0,
                running: 2_045_936_778_163_039,
                waiting: 343_796_328_169_361,
                timeslices: 4_767_485_306,
            }]
        );

        let mut collector = SchedstatCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(listed::series(|out| collector.series(out)).is_empty());
    }
}
