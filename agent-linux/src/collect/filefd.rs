//! Open files, `/proc/sys/fs/file-nr`, as node_exporter's filefd collector reads it.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// Reads the count of allocated file handles and the system's maximum.
#[derive(Debug)]
pub(super) struct FilefdCollector {
    /// `proc/sys/fs/file-nr` under the root.
    path: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// Allocated and maximum, from the last sample; `None` when the file could not be read.
    read: Option<(u64, u64)>,
}

impl FilefdCollector {
    /// Reads `proc/sys/fs/file-nr` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        Self {
            path: ProcFile::new(root.join("proc/sys/fs/file-nr")),
            buf: Vec::new(),
            read: None,
        }
    }
}

impl Families for FilefdCollector {
    fn collect(&mut self) {
        self.read = self
            .path
            .read(&mut self.buf)
            .and_then(|text| parse_file_nr(&text));
    }

    fn series(&self, out: &mut dyn Series) {
        if let Some((allocated, maximum)) = self.read {
            out.add(f::FILEFD_ALLOCATED, &[], allocated as f64);
            out.add(f::FILEFD_MAXIMUM, &[], maximum as f64);
        }
    }
}

/// `allocated unused maximum`, whitespace-separated: the first and the last. (The kernel has
/// reported `unused` as 0 since 2.6.)
fn parse_file_nr(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    let allocated = fields.next()?.ok()?;
    let _unused = fields.next()?.ok()?;
    let maximum = fields.next()?.ok()?;
    Some((allocated, maximum))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each series as (family, labels, value).
    fn series_of(collector: &FilefdCollector) -> Vec<(u16, Vec<String>, f64)> {
        super::super::families::listed::series(|out| collector.series(out))
    }

    #[test]
    fn allocated_and_maximum_from_the_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/filefd");
        let mut collector = FilefdCollector::new(&root);
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::FILEFD_ALLOCATED, vec![], 1056.0),
                (f::FILEFD_MAXIMUM, vec![], 9_223_372_036_854_775_807.0),
            ]
        );
    }

    #[test]
    fn a_missing_or_malformed_file_gives_no_series() {
        let mut collector = FilefdCollector::new(Path::new("/nonexistent"));
        collector.collect();
        assert!(series_of(&collector).is_empty());
        assert_eq!(parse_file_nr("12 0"), None);
        assert_eq!(parse_file_nr("x 0 5"), None);
        assert_eq!(parse_file_nr(" 7\t0\t9\n"), Some((7, 9)));
    }
}
