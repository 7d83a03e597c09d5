//! Connection tracking: `/proc/sys/net/netfilter/nf_conntrack_{count,max}` and the per-CPU
//! statistics of `/proc/net/stat/nf_conntrack`, as node_exporter's conntrack collector reads
//! them. None of it exists until the kernel's `nf_conntrack` module is loaded.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// The statistics exposed: their column in `nf_conntrack` (which node_exporter 1.5 finds by
/// position, in lines of exactly 17 columns) and their family, summed over the CPUs.
const STATS: [(usize, u16); 8] = [
    (2, f::CONNTRACK_STAT_FOUND),
    (4, f::CONNTRACK_STAT_INVALID),
    (5, f::CONNTRACK_STAT_IGNORE),
    (8, f::CONNTRACK_STAT_INSERT),
    (9, f::CONNTRACK_STAT_INSERT_FAILED),
    (10, f::CONNTRACK_STAT_DROP),
    (11, f::CONNTRACK_STAT_EARLY_DROP),
    (16, f::CONNTRACK_STAT_SEARCH_RESTART),
];

/// The columns of a line of `nf_conntrack` since Linux 2.6.35 (`search_restart` the last).
const COLUMNS: usize = 17;

/// What one sample read. node_exporter reads the three files in order and stops at the first
/// that fails, keeping what it had: so a limit needs a count, and statistics need both.
#[derive(Debug, Default)]
struct Read {
    /// `nf_conntrack_count`.
    entries: Option<u64>,
    /// `nf_conntrack_max`.
    limit: Option<u64>,
    /// The sums of [`STATS`]' columns, in its order.
    stats: Option<[u64; STATS.len()]>,
}

/// Reads the table's size and limit and the statistics.
#[derive(Debug)]
pub(super) struct ConntrackCollector {
    /// `proc/sys/net/netfilter/nf_conntrack_count` under the root.
    count: ProcFile,
    /// `proc/sys/net/netfilter/nf_conntrack_max` under the root.
    max: ProcFile,
    /// `proc/net/stat/nf_conntrack` under the root.
    stat: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The last sample's.
    read: Read,
}

impl ConntrackCollector {
    /// Reads the files under `root`.
    pub(super) fn new(root: &Path) -> Self {
        let netfilter = root.join("proc/sys/net/netfilter");
        Self {
            count: ProcFile::new(netfilter.join("nf_conntrack_count")),
            max: ProcFile::new(netfilter.join("nf_conntrack_max")),
            stat: ProcFile::new(root.join("proc/net/stat/nf_conntrack")),
            buf: Vec::new(),
            read: Read::default(),
        }
    }
}

impl Families for ConntrackCollector {
    fn collect(&mut self) {
        let entries = read_number(&mut self.buf, &mut self.count);
        let limit = entries.and_then(|_| read_number(&mut self.buf, &mut self.max));
        let stats = limit.and_then(|_| {
            self.stat
                .read(&mut self.buf)
                .and_then(|text| parse_stat(&text))
        });
        self.read = Read {
            entries,
            limit,
            stats,
        };
    }

    fn series(&self, out: &mut dyn Series) {
        let Some(entries) = self.read.entries else {
            return;
        };
        out.section("conntrack");
        out.add(f::CONNTRACK_ENTRIES, &[], entries as f64);
        if let Some(limit) = self.read.limit {
            out.add(f::CONNTRACK_ENTRIES_LIMIT, &[], limit as f64);
        }
        if let Some(stats) = &self.read.stats {
            for ((_, family), sum) in STATS.iter().zip(stats) {
                out.add(*family, &[], *sum as f64);
            }
        }
    }
}

/// A file holding one decimal number, spaces around it allowed.
fn read_number(buf: &mut Vec<u8>, file: &mut ProcFile) -> Option<u64> {
    file.read(buf).and_then(|text| text.trim().parse().ok())
}

/// `nf_conntrack`: a header line, then a line per CPU of [`COLUMNS`] hexadecimal numbers.
/// `None`, as node_exporter fails, if any line has another number of columns or a column it
/// reads is not hexadecimal.
fn parse_stat(text: &str) -> Option<[u64; STATS.len()]> {
    let mut sums = [0u64; STATS.len()];
    for line in text.lines().skip(1) {
        let mut columns = [""; COLUMNS];
        let mut n = 0;
        for column in line.split_ascii_whitespace() {
            *columns.get_mut(n)? = column;
            n += 1;
        }
        if n != COLUMNS {
            return None;
        }
        // node_exporter reads `entries` too, and fails on it, though it exposes no sum of it.
        let hex = |i: usize| u64::from_str_radix(columns.get(i)?, 16).ok();
        hex(0)?;
        for ((column, _), sum) in STATS.iter().zip(&mut sums) {
            *sum = sum.wrapping_add(hex(*column)?);
        }
    }
    Some(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// Each series as (family, value).
    fn series_of(collector: &ConntrackCollector) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| collector.series(out))
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/conntrack")
    }

    /// Two CPUs' statistics, summed.
    #[test]
    fn sizes_and_summed_statistics_from_the_fixture() {
        let mut collector = ConntrackCollector::new(&fixture());
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::CONNTRACK_ENTRIES, 123.0),
                (f::CONNTRACK_ENTRIES_LIMIT, 65_536.0),
                (f::CONNTRACK_STAT_FOUND, 0x11 as f64),
                (f::CONNTRACK_STAT_INVALID, 0x1f4 as f64),
                (f::CONNTRACK_STAT_IGNORE, 0x3000 as f64),
                (f::CONNTRACK_STAT_INSERT, 2.0),
                (f::CONNTRACK_STAT_INSERT_FAILED, 1.0),
                (f::CONNTRACK_STAT_DROP, 0.0),
                (f::CONNTRACK_STAT_EARLY_DROP, 0x10 as f64),
                (f::CONNTRACK_STAT_SEARCH_RESTART, 0xff as f64),
            ]
        );
    }

    /// Without the module nothing exists; a missing limit or statistics file ends what is
    /// read there, as it ends node_exporter's collector.
    #[test]
    fn what_is_read_stops_at_the_first_missing_file() {
        let mut collector = ConntrackCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(series_of(&collector).is_empty());

        let mut collector = ConntrackCollector::new(&fixture());
        collector.stat = ProcFile::new(PathBuf::from("/nonexistent"));
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::CONNTRACK_ENTRIES, 123.0),
                (f::CONNTRACK_ENTRIES_LIMIT, 65_536.0)
            ]
        );

        collector.max = ProcFile::new(PathBuf::from("/nonexistent"));
        collector.stat = ProcFile::new(fixture().join("proc/net/stat/nf_conntrack"));
        collector.collect();
        assert_eq!(series_of(&collector), [(f::CONNTRACK_ENTRIES, 123.0)]);
    }

    #[test]
    fn statistics_lines_of_another_shape_fail_the_file() {
        let good = fs::read_to_string(fixture().join("proc/net/stat/nf_conntrack")).unwrap();
        assert!(parse_stat(&good).is_some());
        let header = good.lines().next().unwrap();
        assert_eq!(parse_stat(header), Some([0; 8]), "no CPU lines: all zero");
        let short = format!("{header}\n{}\n", "0 ".repeat(16));
        assert_eq!(parse_stat(&short), None, "16 columns (before 2.6.35)");
        let long = format!("{header}\n{}\n", "0 ".repeat(18));
        assert_eq!(parse_stat(&long), None);
        let not_hex = format!("{header}\n{}zz\n", "0 ".repeat(16));
        assert_eq!(parse_stat(&not_hex), None);
        let blank = format!("{header}\n\n{}0\n", "0 ".repeat(16));
        assert_eq!(parse_stat(&blank), None, "a blank line has no columns");
        // Columns node_exporter does not read may hold anything but must be there.
        let odd = format!("{header}\n1 x 2 y 3 4 z z 5 6 7 8 z z z z 9\n");
        assert_eq!(parse_stat(&odd), Some([2, 3, 4, 5, 6, 7, 8, 9]));
    }
}
