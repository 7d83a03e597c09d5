//! XFS filesystems' statistics, `/sys/fs/xfs/<device>/stats/stats`, as node_exporter's xfs
//! collector reads them (through procfs 0.8): 39 counters per filesystem, named after the XFS
//! wiki's runtime statistics (`node_xfs_read_calls_total{device="sda1"}`).
//!
//! procfs' parser is strict, and node_exporter gives no `node_xfs_*` series at all when it
//! fails on one filesystem: a line of numbers that are not all unsigned 32-bit (64-bit on the
//! `xpc` line), or a known line with another count of them than it expects. The same here.
//! Lines it does not know are still read as numbers, and skipped.

use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::{parse_uint, read_text};

/// The lines procfs knows, with the counts of numbers it accepts on each (`xpc`'s are 64-bit).
const LINES: [(&str, &[usize]); 22] = [
    ("extent_alloc", &[4]),
    ("abt", &[4]),
    ("blk_map", &[7]),
    ("bmbt", &[4]),
    ("dir", &[4]),
    ("trans", &[3]),
    ("ig", &[7]),
    ("log", &[5]),
    ("push_ail", &[10]),
    ("xstrat", &[2]),
    ("rw", &[2]),
    ("attr", &[4]),
    ("icluster", &[3]),
    ("vnodes", &[7, 8]),
    ("buf", &[9]),
    ("xpc", &[3]),
    ("abtb2", &[15]),
    ("abtc2", &[15]),
    ("bmbt2", &[15]),
    ("ibt2", &[15]),
    ("qm", &[8, 9]),
    ("debug", &[1]),
];

/// The series node_exporter exports, in its order: the line and the place of the number on it
/// (`rw` has the writes first).
const EXPORTED: [(&str, usize); 39] = [
    ("extent_alloc", 0),
    ("extent_alloc", 1),
    ("extent_alloc", 2),
    ("extent_alloc", 3),
    ("abt", 0),
    ("abt", 1),
    ("abt", 2),
    ("abt", 3),
    ("blk_map", 0),
    ("blk_map", 1),
    ("blk_map", 2),
    ("blk_map", 3),
    ("blk_map", 4),
    ("blk_map", 5),
    ("blk_map", 6),
    ("bmbt", 0),
    ("bmbt", 1),
    ("bmbt", 2),
    ("bmbt", 3),
    ("dir", 0),
    ("dir", 1),
    ("dir", 2),
    ("dir", 3),
    ("ig", 0),
    ("ig", 1),
    ("ig", 2),
    ("ig", 3),
    ("ig", 4),
    ("ig", 5),
    ("ig", 6),
    ("rw", 1),
    ("rw", 0),
    ("vnodes", 0),
    ("vnodes", 1),
    ("vnodes", 2),
    ("vnodes", 3),
    ("vnodes", 4),
    ("vnodes", 5),
    ("vnodes", 6),
];

/// One filesystem: its device and the values of [`EXPORTED`] (0 for a line it lacks).
type Filesystem = (String, [f64; 39]);

#[derive(Debug)]
pub(super) struct XfsCollector {
    /// `sys/fs/xfs` under the root.
    dir: PathBuf,
    buf: Vec<u8>,
    filesystems: Vec<Filesystem>,
}

impl XfsCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/fs/xfs"),
            buf: Vec::new(),
            filesystems: Vec::new(),
        }
    }
}

impl Families for XfsCollector {
    fn collect(&mut self) {
        self.filesystems = read_all(&self.dir, &mut self.buf).unwrap_or_default();
    }

    fn series(&self, out: &mut dyn Series) {
        for (device, values) in &self.filesystems {
            for (&family, &value) in f::XFS.iter().zip(values) {
                out.add(family, &[device], value);
            }
        }
    }
}

/// Every `<device>/stats/stats` under `dir`, in name order (Go's `filepath.Glob` matches
/// `*` to any name, dot names too); `None` when one cannot be read or parsed.
fn read_all(dir: &Path, buf: &mut Vec<u8>) -> Option<Vec<Filesystem>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Some(Vec::new());
    };
    let mut devices: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| dir.join(name).join("stats/stats").exists())
        .collect();
    devices.sort();
    devices
        .into_iter()
        .map(|device| {
            let text = read_text(buf, &dir.join(&device).join("stats/stats"))?;
            Some((device, parse(&text)?))
        })
        .collect()
}

/// procfs' `ParseStats`, keeping what node_exporter exports.
fn parse(text: &str) -> Option<[f64; 39]> {
    let mut lines: Vec<(&str, Vec<u64>)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(label), rest) = (fields.next(), fields) else {
            continue;
        };
        let bits = if label == "xpc" { 64 } else { 32 };
        let numbers: Vec<u64> = rest.map(|n| parse_bits(n, bits)).collect::<Option<_>>()?;
        if numbers.is_empty() {
            continue;
        }
        if let Some((_, counts)) = LINES.iter().find(|(name, _)| *name == label) {
            if !counts.contains(&numbers.len()) {
                return None;
            }
        }
        lines.push((label, numbers));
    }
    let mut values = [0.0; 39];
    for (value, (line, at)) in values.iter_mut().zip(EXPORTED) {
        // A line given twice: the last one counts, as procfs overwrites the first.
        if let Some((_, numbers)) = lines.iter().rev().find(|(label, _)| *label == line) {
            *value = numbers.get(at).copied().unwrap_or(0) as f64;
        }
    }
    Some(values)
}

/// Go's `strconv.ParseUint(text, 10, bits)`: an unsigned number within `bits`.
fn parse_bits(text: &str, bits: u32) -> Option<u64> {
    parse_uint(text.as_bytes()).filter(|n| bits == 64 || n >> bits == 0)
}

#[cfg(test)]
mod tests {
    use super::super::tests::FixtureTree;
    use super::*;

    #[test]
    fn each_filesystem_of_the_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/xfs");
        let mut collector = XfsCollector::new(&root);
        collector.collect();
        let devices: Vec<&str> = collector
            .filesystems
            .iter()
            .map(|(d, _)| d.as_str())
            .collect();
        // `stats/stats` of `sys/fs/xfs` itself is the sum of all, not a filesystem.
        assert_eq!(devices, ["dm-0", "sda1"]);
        let (_, sda1) = &collector.filesystems[1];
        assert_eq!(sda1[0], 4_260_849.0);
        // Reads are `rw`'s second number.
        assert_eq!(sda1[30], 136_853_212.0);
        assert_eq!(sda1[31], 50_567_880.0);
    }

    #[test]
    fn a_line_procfs_refuses_gives_nothing_at_all() {
        let tree = FixtureTree::new("xfs");
        tree.write("sys/fs/xfs/sda1/stats/stats", "rw 1 2\n");
        tree.write("sys/fs/xfs/sdb1/stats/stats", "rw 3 4\n");
        let mut collector = XfsCollector::new(&tree.0);
        collector.collect();
        assert_eq!(collector.filesystems.len(), 2);
        for bad in [
            "rw 1 2 3\n",
            "rw 1 4294967296\n",
            "defer_relog -1\n",
            "rw +1 2\n",
        ] {
            tree.write("sys/fs/xfs/sdb1/stats/stats", bad);
            collector.collect();
            assert!(collector.filesystems.is_empty(), "{bad}");
        }
        // 64-bit numbers on `xpc`, and a line of one word, are fine.
        tree.write("sys/fs/xfs/sdb1/stats/stats", "xpc 1 2 4294967296\nalone\n");
        collector.collect();
        assert_eq!(collector.filesystems.len(), 2);
    }
}
