//! Memory errors, `/sys/devices/system/edac/mc/`, as node_exporter's edac collector reads them:
//! each memory controller's correctable and uncorrectable errors, and those of each of its
//! chip-select rows (`csrow="unknown"` for the errors the driver could not place in a row).
//!
//! node_exporter reads the files one after another and stops at the first that it cannot read
//! as a number, keeping the series it had already handed over; the same here, so that a server
//! whose driver lacks a file shows the same series with either.

use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::read_uint;

/// One series: its family, controller, row (none for a controller's own), value.
type Count = (u16, String, Option<String>, f64);

#[derive(Debug)]
pub(super) struct EdacCollector {
    /// `sys/devices/system/edac/mc` under the root.
    dir: PathBuf,
    buf: Vec<u8>,
    counts: Vec<Count>,
}

impl EdacCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/devices/system/edac/mc"),
            buf: Vec::new(),
            counts: Vec::new(),
        }
    }
}

impl Families for EdacCollector {
    fn collect(&mut self) {
        self.counts.clear();
        let mut reader = Reader {
            buf: &mut self.buf,
            counts: &mut self.counts,
        };
        // Stopping at the first file that fails is the whole of the error handling.
        let _ = reader.controllers(&self.dir);
    }

    fn series(&self, out: &mut dyn Series) {
        for (family, controller, row, value) in &self.counts {
            match row {
                Some(row) => out.add(*family, &[controller, row], *value),
                None => out.add(*family, &[controller], *value),
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a mut Vec<u8>,
    counts: &'a mut Vec<Count>,
}

impl Reader<'_> {
    /// Each controller in name order (as Go's `filepath.Glob` lists them), until a file fails.
    fn controllers(&mut self, dir: &Path) -> Option<()> {
        for (name, number) in numbered(dir, "mc") {
            let controller = dir.join(&name);
            let file = |name: &str| controller.join(name);
            self.count(&file("ce_count"), f::EDAC_CORRECTABLE, &number, None)?;
            let unknown = Some("unknown");
            self.count(
                &file("ce_noinfo_count"),
                f::EDAC_CSROW_CORRECTABLE,
                &number,
                unknown,
            )?;
            self.count(&file("ue_count"), f::EDAC_UNCORRECTABLE, &number, None)?;
            self.count(
                &file("ue_noinfo_count"),
                f::EDAC_CSROW_UNCORRECTABLE,
                &number,
                unknown,
            )?;
            for (row_name, row) in numbered(&controller, "csrow") {
                let dir = controller.join(row_name);
                let row = Some(row.as_str());
                self.count(
                    &dir.join("ce_count"),
                    f::EDAC_CSROW_CORRECTABLE,
                    &number,
                    row,
                )?;
                self.count(
                    &dir.join("ue_count"),
                    f::EDAC_CSROW_UNCORRECTABLE,
                    &number,
                    row,
                )?;
            }
        }
        Some(())
    }

    /// The number in `path` (node_exporter's `readUintFromFile`) as one series; `None` if it
    /// cannot be read.
    fn count(
        &mut self,
        path: &Path,
        family: u16,
        controller: &str,
        row: Option<&str>,
    ) -> Option<()> {
        let value = read_uint(self.buf, path)?;
        self.counts.push((
            family,
            controller.to_owned(),
            row.map(str::to_owned),
            value as f64,
        ));
        Some(())
    }
}

/// The entries of `dir` that Go's `filepath.Glob` matches with `<prefix>[0-9]*`, sorted by
/// name, each with the digits after the prefix (what node_exporter's pattern `<prefix>([0-9]*)`
/// takes from it); none when `dir` cannot be listed.
fn numbered(dir: &Path, prefix: &str) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, String)> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let rest = name.strip_prefix(prefix)?;
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let number = rest.get(..digits).filter(|d| !d.is_empty())?.to_owned();
            Some((name, number))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/edac")
    }

    fn listed(collector: &EdacCollector) -> Vec<(u16, Vec<String>, f64)> {
        super::super::families::listed::series(|out| collector.series(out))
    }

    fn labels(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn each_controller_and_row_from_the_fixture() {
        let mut collector = EdacCollector::new(&fixture());
        collector.collect();
        let all = listed(&collector);
        // Two controllers, the second with two rows; `mc` and `power` are not controllers.
        assert_eq!(all.len(), 4 + 4 + 2 * 2, "{all:?}");
        assert!(all.contains(&(f::EDAC_CORRECTABLE, labels(&["0"]), 3.0)));
        assert!(all.contains(&(f::EDAC_CSROW_UNCORRECTABLE, labels(&["0", "unknown"]), 0.0)));
        assert!(all.contains(&(f::EDAC_CSROW_CORRECTABLE, labels(&["1", "unknown"]), 5.0)));
        assert!(all.contains(&(f::EDAC_CSROW_UNCORRECTABLE, labels(&["1", "1"]), 2.0)));
        assert!(all.contains(&(f::EDAC_UNCORRECTABLE, labels(&["1"]), 1.0)));
    }

    #[test]
    fn a_file_that_fails_ends_the_series_there() {
        let tree = super::super::tests::FixtureTree::new("edac");
        let mc = "sys/devices/system/edac/mc/mc0";
        tree.write(&format!("{mc}/ce_count"), "7\n");
        tree.write(&format!("{mc}/ce_noinfo_count"), "x\n");
        tree.write(&format!("{mc}/ue_count"), "1\n");
        let mut collector = EdacCollector::new(&tree.0);
        collector.collect();
        assert_eq!(
            listed(&collector),
            [(f::EDAC_CORRECTABLE, labels(&["0"]), 7.0)]
        );
        collector.dir = tree.0.join("nowhere");
        collector.collect();
        assert!(listed(&collector).is_empty());
    }
}
