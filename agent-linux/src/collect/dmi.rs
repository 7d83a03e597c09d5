//! The machine's identity from its firmware, `/sys/class/dmi/id/`, as node_exporter's dmi
//! collector reads it (through procfs 0.8): one `node_dmi_info` series whose labels are the
//! BIOS's, board's, chassis's and product's texts: what an inventory groups a fleet by.
//!
//! As node_exporter, the files are read once, when the agent starts (they change only with a
//! reboot), 128 bytes of each, trimmed. A file only root may read (the serial numbers, the
//! product's UUID) is left out, and so is its label; a file that fails otherwise, or a tree
//! with none of the files, gives no series.

use std::io;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f, label_names};

use super::families::Families;
use super::read::{SYSFS_READ, go_text, read_sysfs, regular_files};

/// How many texts label the series: `node_dmi_info`'s labels.
const LABELS: usize = 20;

/// The file of `label`: the label's own name, but `system_vendor`'s, which is `sys_vendor`.
fn file_of(label: &str) -> &str {
    if label == "system_vendor" {
        "sys_vendor"
    } else {
        label
    }
}

/// Which of `node_dmi_info`'s labels the file `name` gives.
fn label_of(name: &str) -> Option<usize> {
    label_names(f::DMI_INFO)?
        .iter()
        .position(|label| file_of(label) == name)
}

#[derive(Debug)]
pub(super) struct DmiCollector {
    /// `sys/class/dmi/id` under the root.
    dir: PathBuf,
    /// The texts, once read; `None` inside when there is no series.
    texts: Option<Option<[String; LABELS]>>,
}

impl DmiCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/dmi/id"),
            texts: None,
        }
    }
}

impl Families for DmiCollector {
    fn collect(&mut self) {
        if self.texts.is_none() {
            self.texts = Some(read_texts(&self.dir));
        }
    }

    fn series(&self, out: &mut dyn Series) {
        if let Some(Some(texts)) = &self.texts {
            let labels: [&str; LABELS] = std::array::from_fn(|i| texts[i].as_str());
            out.add(f::DMI_INFO, &labels, 1.0);
        }
    }
}

/// procfs' `DMIClass`: every regular file of `dir` but `modalias` and `uevent` read, those
/// only root may read skipped; `None` when `dir` cannot be listed, a file fails otherwise, or
/// none of the labels' files was read.
fn read_texts(dir: &Path) -> Option<[String; LABELS]> {
    let mut texts: [String; LABELS] = Default::default();
    let mut any = false;
    let mut buf = [0u8; SYSFS_READ];
    for name in regular_files(dir)? {
        if name == "modalias" || name == "uevent" {
            continue;
        }
        let bytes = match read_sysfs(&mut buf, &dir.join(&name)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => continue,
            Err(_) => return None,
        };
        if let Some(slot) = label_of(&name).and_then(|at| texts.get_mut(at)) {
            *slot = go_text(bytes);
            any = true;
        }
    }
    any.then_some(texts)
}

#[cfg(test)]
mod tests {
    use super::super::tests::FixtureTree;
    use super::*;

    fn listed(collector: &DmiCollector) -> Vec<(u16, Vec<String>, f64)> {
        super::super::families::listed::series(|out| collector.series(out))
    }

    #[test]
    fn the_fixtures_texts_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/dmi");
        let mut collector = DmiCollector::new(&root);
        collector.collect();
        let all = listed(&collector);
        assert_eq!(all.len(), 1);
        let labels = &all[0].1;
        assert_eq!(labels[2], "LENOVO");
        assert_eq!(labels[14], "20XW0055GE");
        assert_eq!(labels[19], "LENOVO");
        // Read once: a tree gone later changes nothing.
        collector.dir = root.join("nowhere");
        collector.collect();
        assert_eq!(listed(&collector), all);
    }

    #[test]
    fn each_label_has_its_file() {
        assert_eq!(label_names(f::DMI_INFO).map(<[_]>::len), Some(LABELS));
        assert_eq!(label_of("bios_date"), Some(0));
        assert_eq!(label_of("sys_vendor"), Some(LABELS - 1));
        assert_eq!(label_of("system_vendor"), None);
        assert_eq!(label_of("chassis_type"), None);
    }

    #[test]
    fn no_files_no_series() {
        let tree = FixtureTree::new("dmi");
        tree.write("sys/class/dmi/id/uevent", "MODALIAS=dmi:bvn\n");
        tree.write("sys/class/dmi/id/chassis_type", "10\n");
        let mut collector = DmiCollector::new(&tree.0);
        collector.collect();
        assert!(listed(&collector).is_empty());
        let mut collector = DmiCollector::new(&tree.0.join("nowhere"));
        collector.collect();
        assert!(listed(&collector).is_empty());
    }
}
