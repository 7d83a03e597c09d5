//! Bonded network interfaces, as node_exporter's bonding collector reads them: for each bond
//! in `/sys/class/net/bonding_masters`, its slaves (`<bond>/bonding/slaves`) and how many of
//! them have their link up (`mii_status`).
//!
//! As node_exporter, a slave or a bond that cannot be read gives no `node_bonding_*` series at
//! all: a half answer would hide the failed bond.

use std::path::{Path, PathBuf};

use agent_core::catalogue::{Series, f};

use super::families::Families;
use super::read::read_text;

/// Reads the bonds under `sys/class/net` of the root each sample; a host without bonds has
/// no `bonding_masters` file, one failed open a sample.
#[derive(Debug)]
pub(super) struct BondingCollector {
    /// `sys/class/net` under the root.
    net: PathBuf,
    buf: Vec<u8>,
    /// Each bond: its name, its slaves, and those whose link is up.
    bonds: Vec<(String, u32, u32)>,
}

impl BondingCollector {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            net: root.join("sys/class/net"),
            buf: Vec::new(),
            bonds: Vec::new(),
        }
    }
}

impl Families for BondingCollector {
    fn collect(&mut self) {
        self.bonds = read_bonds(&self.net, &mut self.buf).unwrap_or_default();
    }

    fn series(&self, out: &mut dyn Series) {
        for (master, slaves, active) in &self.bonds {
            out.add(f::BONDING_SLAVES, &[master], f64::from(*slaves));
            out.add(f::BONDING_ACTIVE, &[master], f64::from(*active));
        }
    }
}

/// Every bond's slaves and active slaves; `None` when any file of theirs cannot be read.
fn read_bonds(net: &Path, buf: &mut Vec<u8>) -> Option<Vec<(String, u32, u32)>> {
    let masters = read_text(buf, &net.join("bonding_masters"))?.into_owned();
    let mut bonds = Vec::new();
    for master in masters.split_whitespace() {
        let dir = net.join(master);
        let slaves = read_text(buf, &dir.join("bonding/slaves"))?.into_owned();
        let (mut all, mut up) = (0, 0);
        for slave in slaves.split_whitespace() {
            // `lower_<slave>` since Linux 4.x; `slave_<slave>` before.
            let mut status = |prefix: &str| {
                let path = dir.join(format!("{prefix}{slave}/bonding_slave/mii_status"));
                read_text(buf, &path).map(|s| s.trim() == "up")
            };
            let is_up = status("lower_").or_else(|| status("slave_"))?;
            all += 1;
            up += u32::from(is_up);
        }
        bonds.push((master.to_owned(), all, up));
    }
    Some(bonds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/fixtures/bonding")
    }

    #[test]
    fn bonds_with_their_slaves_and_links_up() {
        let mut collector = BondingCollector::new(&fixture());
        collector.collect();
        assert_eq!(
            collector.bonds,
            [
                ("bond0".to_owned(), 2, 1),
                ("bond1".to_owned(), 2, 2),
                ("bond2".to_owned(), 0, 0),
            ]
        );
        let listed = super::super::families::listed::series(|out| collector.series(out));
        assert_eq!(listed.len(), 6);
        assert!(listed.contains(&(f::BONDING_ACTIVE, vec!["bond0".to_owned()], 1.0)));
    }

    #[test]
    fn a_slave_that_cannot_be_read_gives_no_bond_at_all() {
        let dir = std::env::temp_dir().join(format!("vitals-bonding-{}", std::process::id()));
        let net = dir.join("sys/class/net");
        std::fs::create_dir_all(net.join("bond0/bonding")).unwrap();
        std::fs::write(net.join("bonding_masters"), "bond0\n").unwrap();
        std::fs::write(net.join("bond0/bonding/slaves"), "eth0\n").unwrap();
        let mut collector = BondingCollector::new(&dir);
        collector.collect();
        assert!(collector.bonds.is_empty());
        std::fs::create_dir_all(net.join("bond0/lower_eth0/bonding_slave")).unwrap();
        std::fs::write(
            net.join("bond0/lower_eth0/bonding_slave/mii_status"),
            "down\n",
        )
        .unwrap();
        collector.collect();
        assert_eq!(collector.bonds, [("bond0".to_owned(), 1, 0)]);
        std::fs::remove_dir_all(&dir).unwrap();
        collector.collect();
        assert!(collector.bonds.is_empty(), "no bonds, no series");
    }
}
