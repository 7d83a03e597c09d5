//! The energy a CPU package, its cores, its memory draw, `/sys/class/powercap/`, as
//! node_exporter's rapl collector reads the RAPL zones: one counter of joules per zone, in a
//! family named after the zone (`node_rapl_package_joules_total{index="0"}`), with the zone's
//! directory as `path`.
//!
//! As node_exporter (through procfs 0.8): a zone is a directory with a `name` file; `package-0`
//! is zone `package` with index 0, and a name without an index takes the count of zones of that
//! name before it. A zone whose `max_energy_range_uj` cannot be read gives no series at all, and
//! the first `energy_uj` that cannot be read ends the series there (since Linux 5.10 only root
//! may read it). A zone named other than the kernel's five has no family here, and is skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::{read_text, read_uint, sorted_names};

/// A zone's energy: its family, index, path and joules.
type Energy = (u16, String, String, f64);

#[derive(Debug)]
pub(super) struct RaplCollector {
    /// `sys/class/powercap` under the root.
    dir: PathBuf,
    buf: Vec<u8>,
    energies: Vec<Energy>,
}

impl RaplCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sys/class/powercap"),
            buf: Vec::new(),
            energies: Vec::new(),
        }
    }
}

impl Families for RaplCollector {
    fn collect(&mut self) {
        self.energies.clear();
        let Some(zones) = zones(&self.dir, &mut self.buf) else {
            return;
        };
        for zone in zones {
            let Some(uj) = read_uint(&mut self.buf, &zone.path.join("energy_uj")) else {
                return;
            };
            let family = f::RAPL.iter().find(|(name, _)| *name == zone.name);
            if let Some(&(_, family)) = family {
                let path = zone.path.to_string_lossy().into_owned();
                let joules = uj as f64 / 1_000_000.0;
                self.energies
                    .push((family, zone.index.to_string(), path, joules));
            }
        }
    }

    fn series(&self, out: &mut dyn Series) {
        for (family, index, path, joules) in &self.energies {
            out.add(*family, &[index, path], *joules);
        }
    }
}

struct Zone {
    name: String,
    index: i64,
    path: PathBuf,
}

/// The zones under `dir` in name order; `None` when it cannot be listed or a zone's range
/// cannot be read (procfs' `GetRaplZones` fails then).
fn zones(dir: &Path, buf: &mut Vec<u8>) -> Option<Vec<Zone>> {
    let names = sorted_names(dir)?;
    let mut used: HashMap<String, i64> = HashMap::new();
    let mut zones = Vec::new();
    for entry in names {
        let path = dir.join(&entry);
        let Some(text) = read_text(buf, &path.join("name")) else {
            continue;
        };
        let (index, name) = index_and_name(&used, text.trim());
        read_uint(buf, &path.join("max_energy_range_uj"))?;
        used.insert(name.clone(), index.saturating_add(1));
        zones.push(Zone { name, index, path });
    }
    Some(zones)
}

/// procfs' `getIndexAndName`: `package-0` is `package` with index 0; a name that is not two
/// parts around a `-` with a number after it is itself, with the count of its uses so far.
fn index_and_name(used: &HashMap<String, i64>, name: &str) -> (i64, String) {
    let parts: Vec<&str> = name.split('-').collect();
    if let [base, index] = parts[..] {
        if let Ok(index) = index.parse() {
            return (index, base.to_owned());
        }
    }
    (used.get(name).copied().unwrap_or(0), name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::tests::FixtureTree;
    use super::*;

    fn listed(collector: &RaplCollector) -> Vec<(u16, Vec<String>, f64)> {
        super::super::families::listed::series(|out| collector.series(out))
    }

    #[test]
    fn each_zone_of_the_fixture_in_its_family() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/rapl");
        let mut collector = RaplCollector::new(&root);
        collector.collect();
        let dir = root.join("sys/class/powercap");
        let series = |zone: &str, index: &str, entry: &str, joules: f64| {
            let family = f::RAPL.iter().find(|(n, _)| *n == zone).unwrap().1;
            let path = dir.join(entry).to_string_lossy().into_owned();
            (family, vec![index.to_owned(), path], joules)
        };
        assert_eq!(
            listed(&collector),
            [
                series("package", "0", "intel-rapl:0", 25_382.466_413),
                series("core", "0", "intel-rapl:0:0", 8_612.102_945),
                series("dram", "0", "intel-rapl:0:1", 1_020.5),
                series("package", "1", "intel-rapl:1", 24_000.0),
                series("dram", "1", "intel-rapl:1:0", 0.000_001),
            ]
        );
    }

    #[test]
    fn a_range_that_fails_gives_nothing_and_an_energy_that_fails_ends_there() {
        let tree = FixtureTree::new("rapl");
        let zone = |entry: &str, name: &str, energy: &str| {
            tree.write(&format!("sys/class/powercap/{entry}/name"), name);
            tree.write(&format!("sys/class/powercap/{entry}/energy_uj"), energy);
            tree.write(
                &format!("sys/class/powercap/{entry}/max_energy_range_uj"),
                "262143328850\n",
            );
        };
        zone("intel-rapl:0", "package-0\n", "2000000\n");
        zone("intel-rapl:0:0", "core\n", "denied\n");
        zone("intel-rapl:0:1", "dram\n", "1000000\n");
        let mut collector = RaplCollector::new(&tree.0);
        collector.collect();
        assert_eq!(listed(&collector).len(), 1);
        tree.write("sys/class/powercap/intel-rapl:0:1/max_energy_range_uj", "");
        collector.collect();
        assert!(listed(&collector).is_empty());
    }

    #[test]
    fn names_split_as_procfs_splits_them() {
        let mut used = HashMap::new();
        assert_eq!(index_and_name(&used, "package-1"), (1, "package".into()));
        assert_eq!(index_and_name(&used, "dram"), (0, "dram".into()));
        used.insert("dram".to_owned(), 1);
        assert_eq!(index_and_name(&used, "dram"), (1, "dram".into()));
        assert_eq!(index_and_name(&used, "a-b-1"), (0, "a-b-1".into()));
        assert_eq!(index_and_name(&used, "psys-x"), (0, "psys-x".into()));
    }
}
