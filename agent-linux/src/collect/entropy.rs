//! The kernel's entropy pool, `/proc/sys/kernel/random/`, as node_exporter's entropy collector
//! reads it.

use std::path::Path;

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::proc_file::ProcFile;

/// Reads the bits of entropy available and the pool's size. Since Linux 5.18 both are 256.
#[derive(Debug)]
pub(super) struct EntropyCollector {
    /// `proc/sys/kernel/random/entropy_avail` under the root.
    available: ProcFile,
    /// `proc/sys/kernel/random/poolsize` under the root.
    pool_size: ProcFile,
    /// Holds the file being parsed; reused.
    buf: Vec<u8>,
    /// The bits available and, if it could be read, the pool's size, from the last sample;
    /// `None` when the bits available could not be read. node_exporter gives nothing without
    /// the first, and the first alone without the second.
    read: Option<(u64, Option<u64>)>,
}

impl EntropyCollector {
    /// Reads `proc/sys/kernel/random/` under `root`.
    pub(super) fn new(root: &Path) -> Self {
        let random = root.join("proc/sys/kernel/random");
        Self {
            available: ProcFile::new(random.join("entropy_avail")),
            pool_size: ProcFile::new(random.join("poolsize")),
            buf: Vec::new(),
            read: None,
        }
    }
}

impl Families for EntropyCollector {
    fn collect(&mut self) {
        self.read = read_bits(&mut self.buf, &mut self.available)
            .map(|available| (available, read_bits(&mut self.buf, &mut self.pool_size)));
    }

    fn series(&self, out: &mut dyn Series) {
        if let Some((available, pool_size)) = self.read {
            out.add(f::ENTROPY_AVAILABLE, &[], available as f64);
            if let Some(pool_size) = pool_size {
                out.add(f::ENTROPY_POOL_SIZE, &[], pool_size as f64);
            }
        }
    }
}

/// The whole number a file of `/proc/sys` holds, surrounding white space aside.
fn read_bits(buf: &mut Vec<u8>, file: &mut ProcFile) -> Option<u64> {
    file.read(buf)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Each series as (family, value); none of these has labels.
    fn series_of(collector: &EntropyCollector) -> Vec<(u16, f64)> {
        super::super::families::listed::unlabelled(|out| collector.series(out))
    }

    /// A kernel before 5.18, whose pool held 4096 bits.
    #[test]
    fn available_and_pool_size_from_the_fixture() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/entropy");
        let mut collector = EntropyCollector::new(&root);
        collector.collect();
        assert_eq!(
            series_of(&collector),
            [
                (f::ENTROPY_AVAILABLE, 3754.0),
                (f::ENTROPY_POOL_SIZE, 4096.0)
            ]
        );

        // Without the pool's size, the bits available alone; without those, nothing.
        collector.pool_size = ProcFile::new(PathBuf::from("/nonexistent/poolsize"));
        collector.collect();
        assert_eq!(series_of(&collector), [(f::ENTROPY_AVAILABLE, 3754.0)]);
        collector.available = ProcFile::new(PathBuf::from("/nonexistent/entropy_avail"));
        collector.collect();
        assert_eq!(series_of(&collector), []);
    }

    #[test]
    fn a_file_that_is_not_one_whole_number_is_not_read() {
        let dir = std::env::temp_dir().join(format!("vitals-entropy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut buf = Vec::new();
        for (text, want) in [
            ("256\n", Some(256)),
            (" 17 \n", Some(17)),
            ("", None),
            ("-1\n", None),
            ("12 13\n", None),
            ("4096 bits\n", None),
        ] {
            std::fs::write(dir.join("bits"), text).unwrap();
            let mut file = ProcFile::new(dir.join("bits"));
            assert_eq!(read_bits(&mut buf, &mut file), want, "{text:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
