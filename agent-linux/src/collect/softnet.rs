//! Packet processing per CPU, `/proc/net/softnet_stat`, as node_exporter 1.5's softnet
//! collector reads it.

use std::path::Path;

use agent_core::catalogue::{Series, f};
use agent_core::sample::{MAX_CPUS, decimal};

use super::families::Families;
use super::proc_file::ProcFile;

/// The columns every line has had since Linux 2.6.23, which node_exporter 1.5 requires of each
/// (of which it reads the first three).
const MIN_COLUMNS: usize = 9;

/// One line's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Softnet {
    /// Packets processed.
    processed: u32,
    /// Packets dropped, the backlog queue being full.
    dropped: u32,
    /// Times the packet processing ran out of its quota (budget or time) with work left.
    times_squeezed: u32,
}

/// Reads each CPU's packets processed, dropped and squeezed.
#[derive(Debug)]
pub(super) struct SoftnetCollector {
    /// `proc/net/softnet_stat` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// Each line's counters, of the last sample, in file order; empty when the file could not
    /// be read or parsed. A line's place is its `cpu` label: node_exporter 1.5 numbers the
    /// lines, though the kernel leaves offline CPUs out of them.
    cpus: Vec<Softnet>,
}

impl SoftnetCollector {
    /// Reads `proc/net/softnet_stat` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/net/softnet_stat")),
            buf: Vec::new(),
            cpus: Vec::new(),
        }
    }
}

impl Families for SoftnetCollector {
    fn collect(&mut self) {
        let read = self
            .path
            .read(&mut self.buf)
            .and_then(|text| parse_softnet(&text, &mut self.cpus));
        if read.is_none() {
            self.cpus.clear();
        }
    }

    fn series(&self, out: &mut dyn Series) {
        if self.cpus.is_empty() {
            return;
        }
        out.section("softnet");
        let mut digits = [0u8; 20];
        for (n, line) in (0u64..).zip(&self.cpus) {
            let cpu = decimal(n, &mut digits);
            out.identity(cpu);
            out.add(f::SOFTNET_PROCESSED, &[cpu], f64::from(line.processed));
            out.add(f::SOFTNET_DROPPED, &[cpu], f64::from(line.dropped));
            out.add(
                f::SOFTNET_TIMES_SQUEEZED,
                &[cpu],
                f64::from(line.times_squeezed),
            );
        }
    }
}

/// Puts each line's counters into `cpus`, the first [`MAX_CPUS`] lines (as a sample keeps as
/// many CPUs). `None`, as node_exporter fails, if any line has fewer than [`MIN_COLUMNS`]
/// columns or one of the three it reads is not a 32-bit hexadecimal number.
fn parse_softnet(text: &str, cpus: &mut Vec<Softnet>) -> Option<()> {
    cpus.clear();
    for line in text.lines() {
        let mut columns = line.split_ascii_whitespace();
        let mut hex = || u32::from_str_radix(columns.next()?, 16).ok();
        let (processed, dropped, times_squeezed) = (hex()?, hex()?, hex()?);
        if columns.count() < MIN_COLUMNS - 3 {
            return None;
        }
        if cpus.len() < MAX_CPUS {
            cpus.push(Softnet {
                processed,
                dropped,
                times_squeezed,
            });
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::families::listed;
    use std::path::PathBuf;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/softnet")
    }

    /// This machine's: two CPUs, Linux 6.18 (15 columns).
    #[test]
    fn each_line_numbered_from_the_fixture() {
        let mut collector = SoftnetCollector::new(&fixture());
        collector.collect();
        let cpu = |n: &str| vec![n.to_owned()];
        assert_eq!(
            listed::named(|out| collector.series(out)),
            [
                ("node_softnet_processed_total", cpu("0"), 448_034.0),
                ("node_softnet_dropped_total", cpu("0"), 0.0),
                ("node_softnet_times_squeezed_total", cpu("0"), 1.0),
                ("node_softnet_processed_total", cpu("1"), 430_679.0),
                ("node_softnet_dropped_total", cpu("1"), 0.0),
                ("node_softnet_times_squeezed_total", cpu("1"), 1.0),
            ]
        );
    }

    #[test]
    fn hexadecimal_columns_of_lines_of_nine_or_more() {
        let mut cpus = Vec::new();
        let old = "00015c73 00020e76 F0000769 0 0 0 0 0 0\n01663fb2 0 000109a4 0 0 0 0 0 0 0 0\n";
        assert_eq!(parse_softnet(old, &mut cpus), Some(()));
        assert_eq!(
            cpus,
            [
                Softnet {
                    processed: 0x15c73,
                    dropped: 0x20e76,
                    times_squeezed: 0xf000_0769,
                },
                Softnet {
                    processed: 0x0166_3fb2,
                    dropped: 0,
                    times_squeezed: 0x109a4,
                },
            ]
        );
        assert_eq!(parse_softnet("", &mut cpus), Some(()));
        assert!(cpus.is_empty());

        let many = "1 2 3 0 0 0 0 0 0\n".repeat(MAX_CPUS + 3);
        assert_eq!(parse_softnet(&many, &mut cpus), Some(()));
        assert_eq!(cpus.len(), MAX_CPUS);
    }

    /// node_exporter gives none of the file's series when one line is wrong, nor when the
    /// file is missing.
    #[test]
    fn a_garbled_line_fails_the_file() {
        let mut cpus = Vec::new();
        let good = "1 2 3 0 0 0 0 0 0\n";
        for bad in [
            "00015c73 00020e76 F0000769 00000000\n",
            "1 2 3 0 0 0 0 0\n",
            "1 2 zz 0 0 0 0 0 0\n",
            "1 100000000 3 0 0 0 0 0 0\n",
            "\n",
            "\u{fffd}\n",
        ] {
            assert_eq!(
                parse_softnet(&format!("{good}{bad}"), &mut cpus),
                None,
                "{bad:?}"
            );
        }

        // The fixture with its second line cut after four columns.
        let mut collector = SoftnetCollector::new(&fixture());
        collector.collect();
        assert_eq!(listed::series(|out| collector.series(out)).len(), 6);
        collector.path = ProcFile::new(fixture().join("proc/net/softnet_stat.garbled"));
        collector.collect();
        assert!(listed::series(|out| collector.series(out)).is_empty());

        let mut collector = SoftnetCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(listed::series(|out| collector.series(out)).is_empty());
    }
}
