//! NVMe controllers, `/sys/class/nvme/<device>/`, as node_exporter's nvme collector reads them:
//! one `node_nvme_info` series each, with its firmware revision, model, serial number and
//! state as labels.
//!
//! As node_exporter, a controller whose four files cannot all be read gives no series at all.
//! The files are read each sample, as node_exporter reads them each scrape: `state` changes
//! (`live`, `resetting`, `dead`).

use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::{SYSFS_READ, read_sysfs, sorted_names};

/// The files of a controller, in the order of `node_nvme_info`'s labels after `device`.
const FILES: [&str; 4] = ["firmware_rev", "model", "serial", "state"];

#[derive(Debug)]
pub(super) struct NvmeCollector {
    /// `sys/class/nvme` under the root.
    class: PathBuf,
    /// Each controller: its name, then the files' texts.
    devices: Vec<[String; 5]>,
}

impl NvmeCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            class: root.join("sys/class/nvme"),
            devices: Vec::new(),
        }
    }
}

impl Families for NvmeCollector {
    fn collect(&mut self) {
        self.devices = read_devices(&self.class).unwrap_or_default();
    }

    fn series(&self, out: &mut dyn Series) {
        for device in &self.devices {
            let labels: [&str; 5] = std::array::from_fn(|i| device[i].as_str());
            out.add(f::NVME_INFO, &labels, 1.0);
        }
    }
}

/// Every controller's name and files; `None` when the class cannot be listed or one file of
/// one controller cannot be read.
fn read_devices(class: &Path) -> Option<Vec<[String; 5]>> {
    let names = sorted_names(class)?;
    let mut buf = [0u8; SYSFS_READ];
    let mut devices = Vec::with_capacity(names.len());
    for name in names {
        let dir = class.join(&name);
        let mut device: [String; 5] = Default::default();
        for (slot, file) in device.iter_mut().skip(1).zip(FILES) {
            let text = read_sysfs(&mut buf, &dir.join(file)).ok()?;
            *slot = String::from_utf8_lossy(text).trim().to_owned();
        }
        device[0] = name;
        devices.push(device);
    }
    Some(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_controller_from_the_fixture_trimmed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/nvme");
        let mut collector = NvmeCollector::new(&root);
        collector.collect();
        let listed = super::super::families::listed::series(|out| collector.series(out));
        let labels = |l: [&str; 5]| l.map(str::to_owned).to_vec();
        assert_eq!(
            listed,
            [
                (
                    f::NVME_INFO,
                    labels([
                        "nvme0",
                        "2B2QEXM7",
                        "Samsung SSD 970 EVO Plus 1TB",
                        "S4EWNX0R123456A",
                        "live"
                    ]),
                    1.0
                ),
                (
                    f::NVME_INFO,
                    labels([
                        "nvme1",
                        "11300DR0",
                        "WDC WDS500G2B0C-00PXH0",
                        "2049AB440123",
                        "resetting"
                    ]),
                    1.0
                ),
            ]
        );
        collector.class = root.join("nowhere");
        collector.collect();
        assert!(collector.devices.is_empty());
    }
}
